"""neighbor-change on real captures (issue 12, item 6): a veth pair in namespaces, lldpd on
both ends (tx-interval 1 s, TTL 4 s: the issue's 30 s cadence scaled down), tcpdump on the
host end's wire and nlrecord's link messages. A flap episode whose neighbor is the same
before and right after is no neighbor-change, even when a new chassis appears seconds
later (the old lldpd shut down, the switch end given another MAC and system name); a flap
across which the cable came back facing another chassis is one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flapwatch
import netns  # tests/support is on sys.path (conftest.py)
from conftest import require_tools

pytestmark = [pytest.mark.root, pytest.mark.tools]

NLRECORD = Path(flapwatch.__file__).parent / "sources" / "nlrecord.py"


def _start(lab, host, tmp_path: Path) -> tuple[list, Path, Path]:
    wire, links = tmp_path / "ens1.pcap", tmp_path / "links.pcap"
    procs = [lab.popen(host, ["tcpdump", "-i", "ens1", "-U", "--immediate-mode", "-w", str(wire)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             lab.popen(host, [sys.executable, str(NLRECORD), "-o", str(links), "--dump"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 10
    while not (wire.exists() and wire.stat().st_size >= 24 and links.exists() and links.stat().st_size > 24):
        assert time.monotonic() < deadline, "recorders did not start"
        time.sleep(0.05)
    return procs, wire, links


def _stop(procs) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        p.wait(10)


def _new_chassis(lab, sw, old: netns.Lldpd) -> netns.Lldpd:
    """The old lldpd stops (a shutdown LLDPDU when the link is up); the switch end gets
    another MAC (lldpd's chassis and port id) and a new lldpd another system name."""
    old.stop()
    sw.run(["ip", "link", "set", "swp1", "address", "02:fb:00:00:00:02"])
    return lab.lldpd(sw, "swp1", "leaf2")


def _episodes(wire: Path, links: Path) -> tuple[list[dict], list[tuple[str, str]]]:
    a = flapwatch.analyze([wire, links])
    events = [(e["event"], e["system_name"]) for e in a.lldp_events.records() if e["port"] == "ens1"]
    return [e for e in flapwatch.classify(a).to_records() if e["port"] == "ens1"], events


def test_a_new_chassis_after_a_flap_episode_is_no_neighbor_change_of_it(tmp_path):
    require_tools("ip", "tcpdump", "lldpd", "lldpcli")
    with netns.Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "ens1", same_ifindex=False)
        leaf1 = lab.lldpd(sw, "swp1", "leaf1")
        lab.lldpd(host, "ens1", "gpu-host7")
        procs, wire, links = _start(lab, host, tmp_path)
        time.sleep(2.5)
        for _ in range(3):  # the episode: leaf1 heard again within a second of each up
            sw.run(["ip", "link", "set", "swp1", "down"])
            time.sleep(0.2)
            sw.run(["ip", "link", "set", "swp1", "up"])
            time.sleep(1.2)
        time.sleep(5.0)  # a new chassis some seconds after the last flap (the 20 s, scaled)
        _new_chassis(lab, sw, leaf1)
        time.sleep(3.0)
        _stop(procs)

    episodes, events = _episodes(wire, links)
    assert events == [("added", "leaf1"), ("shutdown", None), ("added", "leaf2")], events  # a shutdown names no one
    (ep,) = episodes
    assert ep["flaps"] == 3, ep
    assert "neighbor-change" not in ep["labels"] and "silent-neighbor-loss" not in ep["labels"], ep


def test_a_link_back_facing_another_chassis_is_a_neighbor_change(tmp_path):
    require_tools("ip", "tcpdump", "lldpd", "lldpcli")
    with netns.Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "ens1", same_ifindex=False)
        leaf1 = lab.lldpd(sw, "swp1", "leaf1")
        lab.lldpd(host, "ens1", "gpu-host7")
        procs, wire, links = _start(lab, host, tmp_path)
        time.sleep(2.5)
        sw.run(["ip", "link", "set", "swp1", "down"])  # recabled while down: another chassis after
        _new_chassis(lab, sw, leaf1)
        time.sleep(0.5)
        sw.run(["ip", "link", "set", "swp1", "up"])
        time.sleep(3.0)
        _stop(procs)

    episodes, events = _episodes(wire, links)
    assert [k for k, _ in events][:1] == ["added"] and ("leaf2" in {n for _, n in events}), events
    (ep,) = episodes
    assert ep["flaps"] == 1 and "neighbor-change" in ep["labels"], ep
    features = ep["evidence"]["neighbor-change"]["features"]
    assert features["neighbor_before"].startswith("leaf1:") and features["neighbor_after"].startswith("leaf2:")
