"""Open outages live: the agent's --events log has a `link_down` row as soon as the kernel
notifies a carrier loss, while the link is still down, and the flap row when it comes back.
A real veth pair in namespaces; the peer end is set down with `ip link`, and the delay is
measured on the test's own clock from the command to the event in the log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import require_tools

pytestmark = [pytest.mark.root, pytest.mark.tools]

LATENCY_LIMIT_NS = 100_000_000  # issue 17: within 100 ms of the kernel's notification


def _rows(path, kind: str, port: str) -> list[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return [r for r in rows if r["type"] == kind and r["port"] == port]


def _carrier(ns, iface: str) -> int:
    return int(ns.read_sys(iface, "carrier"))


def test_link_down_event_arrives_within_100ms_while_the_link_is_down(tmp_path):
    require_tools("ip")
    from netns import Lab

    events = tmp_path / "events.jsonl"
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        # different ifindexes: every carrier change is notified at once (urgent linkwatch)
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        agent = lab.popen(host, [sys.executable, "-m", "flapwatch", "agent", "-i", "eth0", "--events", str(events)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # The agent has started when it says what it watches (after its netlink dump request).
        line = agent.stderr.readline()
        assert "watching eth0" in line, line
        time.sleep(0.3)  # the dump replies are in
        latencies, notified = [], []
        for k in range(3):
            t_cmd = time.time_ns()
            subprocess.run(["ip", "-n", sw.name, "link", "set", "swp1", "down"], check=True)
            seen = None
            deadline = time.monotonic() + 2.0
            while seen is None and time.monotonic() < deadline:
                rows = _rows(events, "link_down", "eth0")
                if len(rows) > k:
                    seen = time.time_ns()
                    break
                time.sleep(0.001)
            assert seen is not None, f"no link_down event for outage {k + 1}"
            # before the link is back: this end still has no carrier, and no flap row closed it
            assert _carrier(host, "eth0") == 0
            assert len(_rows(events, "flap", "eth0")) == k
            event = _rows(events, "link_down", "eth0")[k]
            assert t_cmd <= event["down_ns"] <= seen and event["ts_ns"] == event["down_ns"]
            latencies.append(seen - t_cmd)
            notified.append(seen - event["down_ns"])  # from the agent's receipt of the notification
            time.sleep(0.3)
            subprocess.run(["ip", "-n", sw.name, "link", "set", "swp1", "up"], check=True)
            deadline = time.monotonic() + 2.0
            while len(_rows(events, "flap", "eth0")) <= k and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=20)
        assert agent.returncode == 0, err
    print(f"link_down latency from `ip link set down`: {[round(l / 1e6, 1) for l in latencies]} ms; "
          f"from the agent's receipt: {[round(n / 1e6, 1) for n in notified]} ms")
    assert max(latencies) < LATENCY_LIMIT_NS, latencies
    flaps = _rows(events, "flap", "eth0")
    downs = _rows(events, "link_down", "eth0")
    assert len(flaps) == 3 and len(downs) == 3
    assert [f["down_ns"] for f in flaps] == [d["down_ns"] for d in downs]  # each outage: opened, then closed
    assert all(250e6 <= f["duration_ns"] <= 1e9 for f in flaps), flaps
