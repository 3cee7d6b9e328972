"""The live counter source on real ioctls (issue 13 acceptance): a veth pair in a
namespace, the agent's counter thread sampling at 100 Hz for 5 s; halfway `ethtool -L`
changes the queue count, so the driver's name list changes under the poller."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from conftest import require_tools

pytestmark = [pytest.mark.root, pytest.mark.tools]

SAMPLER = r"""
import json, sys, time
from flapwatch.live.agent import Agent
agent = Agent([], netlink=False, counters=True, counter_interfaces=["va"], counter_interval="10ms",
              keep_counter_samples=100000)
agent.start()
print("started", flush=True)
sys.stdin.readline()  # the test changed the queue count when it writes a line; ends with another
sys.stdin.readline()
agent.stop()
out = [dict(ts=s[0], read_ns=s[1], iface=s[2], reread=s[3], names=s[4], values=s[5]) for s in agent.counter_samples()]
print(json.dumps({"samples": out, "stats": agent.stats["counters"], "notices": agent.stats["notices"]}))
"""


def _ethtool_names(ns, iface):
    text = ns.run(["ethtool", "-S", iface], capture_output=True, text=True, check=True).stdout
    return [line.split(":")[0].strip() for line in text.splitlines()[1:] if ":" in line]


def test_veth_100hz_for_5s_and_a_queue_change(tmp_path):
    require_tools("ip", "ethtool")
    from netns import Lab

    with Lab() as lab:
        ns = lab.namespace("ctr")
        ns.run(["ip", "link", "add", "va", "numtxqueues", "4", "numrxqueues", "4", "type", "veth", "peer", "name", "vb",
                "numtxqueues", "4", "numrxqueues", "4"])
        ns.run(["ip", "link", "set", "va", "up"])
        ns.run(["ip", "link", "set", "vb", "up"])
        peer = ns.ifindexes()["vb"]
        before = _ethtool_names(ns, "va")
        proc = lab.popen(ns, [sys.executable, "-c", SAMPLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "started"
        t_start = time.monotonic()
        time.sleep(2.5)
        ns.run(["ethtool", "-L", "va", "rx", "2", "tx", "2"])
        changed_at = time.time_ns()
        after = _ethtool_names(ns, "va")
        time.sleep(max(0.0, 5.0 - (time.monotonic() - t_start)))
        out, _ = proc.communicate("\n\n", timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    samples = result["samples"]
    assert before != after and len(after) < len(before)
    assert len(samples) >= 490, (len(samples), result["stats"])
    ts = [s["ts"] for s in samples]
    assert all(b > a for a, b in zip(ts, ts[1:])), "timestamps must be strictly increasing"
    assert all(s["read_ns"] > 0 for s in samples)
    assert samples[0]["names"] == before  # the real veth names, in the driver's order
    assert "peer_ifindex" in before and any(n.startswith("rx_queue_3_xdp_") for n in before)
    # every sample: as many values as names, and peer_ifindex is the peer's ifindex, before and after
    for s in samples:
        assert len(s["values"]) == len(s["names"])
        assert s["values"][s["names"].index("peer_ifindex")] == peer
        if s["ts"] > changed_at + 50_000_000:
            assert s["names"] == after  # the new list was read: no stale name -> index map
        # no value under a queue name that is not in the list any more: names and values come from one read
        if s["names"] == after:
            assert not any(n.startswith("rx_queue_3_") for n in s["names"])
    assert any(s["reread"] for s in samples[1:]), "the changed list must have been re-read"
    assert any("counter list changed" in n for n in result["notices"])
    assert any("PAUSE_GET" in n for n in result["notices"])  # veth has no pause stats: skipped with a notice
