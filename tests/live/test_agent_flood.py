"""The live agent under a flood (issue 7): a veth flooded with PFC and LLDP frames for 10 s.
No crash, memory flat, and every frame either handled or counted as dropped.

The sender is tests/l2flood.c (compiled here with cc): one send() per frame on an
AF_PACKET socket, so it knows exactly how many frames the kernel accepted (on a veth:
handed to the peer) and how many it refused (ENOBUFS, which the veth counts in
tx_dropped). Two senders in the peer namespace, 9 PFC frames to 1 LLDPDU, for 10 s.
The agent is the real `flapwatch agent` command, without --record and with
--no-netlink: then every frame it counts is a flood frame, so the accounting is exact.
In the middle of the flood the agent is stopped (SIGSTOP) for 1 s, so its kernel ring
overflows and the loss has to show up in the counters, not only the happy path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TESTS, require_tools

pytestmark = [pytest.mark.root, pytest.mark.tools, pytest.mark.slow]

FLOOD_S, STALL_AT_S, STALL_S, SENDERS = 10.0, 5.0, 1.0, 2
WARMUP_SAMPLES = 2  # RSS samples (1 s apart) before the rings have been touched all over
MAX_RSS_GROWTH_KB = 8 * 1024  # detections are handed out and dropped: flat


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _if_stats(ns, iface: str) -> dict[str, int]:
    names = ("tx_packets", "tx_dropped", "rx_dropped")
    out = ns.run(["cat", *[f"/sys/class/net/{iface}/statistics/{k}" for k in names]]).stdout.split()
    return dict(zip(names, map(int, out)))


def _wait_bound(pid: int, ifindex: int, timeout: float = 20.0) -> None:
    """Until the agent (in its namespace) has an AF_PACKET socket bound to ifindex."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = Path(f"/proc/{pid}/net/packet").read_text().splitlines()[1:]
        if any(int(r.split()[4]) == ifindex for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"the agent never bound a packet socket to ifindex {ifindex}")


def _summary(stderr: str) -> dict[str, int]:
    """`flapwatch agent: stopped; F frames, R records, D dropped in the ring, K dropped by the kernel`"""
    line = next((l for l in stderr.splitlines() if "flapwatch agent: stopped;" in l), None)
    assert line is not None, stderr
    parts = [p.strip() for p in line.split(";", 1)[1].split(",")]
    assert [p.split(None, 1)[1] for p in parts] == ["frames", "records", "dropped in the ring",
                                                     "dropped by the kernel"], line
    return dict(zip(("frames", "records", "ring_dropped", "kernel_drops"), (int(p.split()[0]) for p in parts)))


def test_agent_flood_pfc_lldp_counts_every_frame(tmp_path):
    require_tools("ip", "cc")
    from netns import Lab

    flood = tmp_path / "l2flood"
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(flood), str(TESTS / "support" / "l2flood.c")], check=True,
                   capture_output=True, text=True)
    with Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=False)
        agent = lab.popen(host, [sys.executable, "-m", "flapwatch", "agent", "-i", "eth0", "--no-netlink"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_bound(agent.pid, host.ifindexes()["eth0"])
        sw0, eth0 = _if_stats(sw, "swp1"), _if_stats(host, "eth0")
        senders = [lab.popen(sw, [str(flood), "swp1", "--seconds", str(FLOOD_S), "--lldp-every", "10"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(SENDERS)]
        t0, rss, stalled = time.monotonic(), [], False
        for i in range(1, int(FLOOD_S) + 1):  # one RSS sample a second; the stall in the middle
            while time.monotonic() < t0 + i:
                if not stalled and time.monotonic() >= t0 + STALL_AT_S:
                    os.kill(agent.pid, signal.SIGSTOP)
                    time.sleep(STALL_S)
                    os.kill(agent.pid, signal.SIGCONT)
                    stalled = True
                time.sleep(0.02)
            assert agent.poll() is None, f"the agent died during the flood: {agent.stderr.read()}"
            rss.append(_rss_kb(agent.pid))
        sent = []
        for s in senders:
            out, err = s.communicate(timeout=30)
            assert s.returncode == 0, err
            sent.append(json.loads(out))
        time.sleep(1.0)  # the last kernel block retires (10 ms) and the tracker drains the ring
        assert agent.poll() is None, f"the agent died after the flood: {agent.stderr.read()}"
        sw1, eth1 = _if_stats(sw, "swp1"), _if_stats(host, "eth0")
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=30)
        assert agent.returncode == 0, err

    accepted = sum(s["sent"] for s in sent)
    refused = sum(s["enobufs"] for s in sent)
    stats = _summary(err)
    rx_dropped = eth1["rx_dropped"] - eth0["rx_dropped"]  # dropped at eth0 before any socket
    print(json.dumps({"accepted": accepted, "refused": refused, "agent": stats, "eth0_rx_dropped": rx_dropped,
                      "sent_per_s": round(accepted / max(s["seconds"] for s in sent)), "rss_kb": rss}))
    assert sum(s["errors"] for s in sent) == 0, sent
    assert sum(s["sent_lldp"] for s in sent) > 0 and sum(s["sent_pfc"] for s in sent) > 0, sent
    # The sender's count is the interface's: accepted frames left swp1, refused ones are its tx_dropped.
    assert accepted == sw1["tx_packets"] - sw0["tx_packets"], (sent, sw0, sw1)
    assert refused == sw1["tx_dropped"] - sw0["tx_dropped"], (sent, sw0, sw1)
    # Every accepted frame was read by the agent or counted as dropped on the way.
    assert accepted == stats["frames"] + stats["kernel_drops"] + rx_dropped, (accepted, stats, rx_dropped)
    # The stall overflowed the kernel ring: the loss is real and it is counted.
    assert stats["kernel_drops"] > 0, stats
    # Every frame read became a record the trackers consumed or one counted as dropped in
    # the ring; the one extra record is eth0's port_info (sent before a port's first record).
    assert stats["records"] + stats["ring_dropped"] == stats["frames"] + 1, stats
    assert stats["frames"] > 100_000, stats  # it was a flood
    # Memory flat: after warm-up the RSS grows by less than 8 MB over the flood.
    growth = max(rss[WARMUP_SAMPLES:]) - rss[WARMUP_SAMPLES - 1]
    assert growth < MAX_RSS_GROWTH_KB, f"RSS grew {growth} kB after warm-up: {rss}"
