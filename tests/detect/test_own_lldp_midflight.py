"""A port's own LLDPDUs before its first link message (issue 12, item 2): a wire capture
started seconds before the link recorder, which records as nlmon does (no dump), so the
port's own address (IFLA_ADDRESS) is in no link message yet when its own LLDPDUs are seen
leaving. Real tools on a veth pair in namespaces: lldpd on both ends, tcpdump or dumpcap
on the host end's wire, `nlrecord.py -o` (without --dump) started later, a link flap driven
from the switch end so a notification carries the port's address. The engine knows the
address before it judges the first LLDPDU (docs/DECODE_RULES.md, LLDP): no LLDP event
from the port's own LLDPDUs, the real neighbor added once."""

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
NS = 1_000_000_000


def _wait_for_file(path: Path, size: int, what: str) -> None:
    deadline = time.monotonic() + 10
    while not (path.exists() and path.stat().st_size >= size):
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.05)


def _record(tmp_path: Path, same_ifindex: bool, wire_tool: str) -> tuple[Path, Path, int]:
    """The captures: (wire, links, the host end's MAC)."""
    wire = tmp_path / ("ens1.pcap" if wire_tool == "tcpdump" else "ens1.pcapng")
    links = tmp_path / "links.pcap"
    with netns.Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "ens1", same_ifindex=same_ifindex)
        mac = int(host.read_sys("ens1", "address").replace(":", ""), 16)
        lab.lldpd(host, "ens1", "gpu-host7")  # the port's own LLDPDUs first, alone on the wire
        if wire_tool == "tcpdump":
            argv = ["tcpdump", "-i", "ens1", "-U", "--immediate-mode", "-w", str(wire)]
        else:
            argv = ["dumpcap", "-q", "-i", "ens1", "-w", str(wire)]
        procs = [lab.popen(host, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        _wait_for_file(wire, 24, wire_tool)
        time.sleep(2.5)  # own LLDPDUs only
        lab.lldpd(sw, "swp1", "leaf1")  # the real neighbor
        time.sleep(2.5)  # both ways, still no link message
        rec = lab.popen(host, [sys.executable, str(NLRECORD), "-o", str(links)], stderr=subprocess.PIPE, text=True)
        assert "listening" in rec.stderr.readline()  # subscribed: no dump follows
        procs.append(rec)
        time.sleep(0.5)
        sw.run(["ip", "link", "set", "swp1", "down"])  # the port's first link message: carrier down
        time.sleep(0.3)
        sw.run(["ip", "link", "set", "swp1", "up"])
        time.sleep(6.0)  # past the TTL (4 s) of any neighbor the own LLDPDUs would have made
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            assert p.wait(10) in (0, -signal.SIGINT), p.args
    return wire, links, mac


def _events(a) -> list[dict]:
    return [e for e in a.lldp_events.records() if e["port"] == "ens1"]


@pytest.mark.parametrize("same_ifindex, wire_tool", [(False, "tcpdump"), (True, "dumpcap")])
def test_own_lldpdus_before_the_first_link_message_are_no_neighbor(tmp_path, same_ifindex, wire_tool):
    require_tools("ip", wire_tool, "lldpd", "lldpcli")
    wire, links, mac = _record(tmp_path, same_ifindex, wire_tool)

    # The scenario as recorded: the own LLDPDUs seconds before the first link message.
    lldp = flapwatch.read_capture(wire).tables["lldp"]
    own = lldp["ts_ns"][lldp["src_mac"] == mac]
    link = flapwatch.read_capture(links).tables["link"]
    first_link = int(link["ts_ns"][link.text("port").index("ens1")]) if "ens1" in link.text("port") else None
    assert first_link is not None, link.records()
    assert (link["mac"][[p == "ens1" for p in link.text("port")]] == mac).all()
    assert len(own) >= 3 and first_link - int(own[0]) >= 4 * NS, (own, first_link)

    a = flapwatch.analyze([wire, links])
    events = _events(a)
    assert [(e["event"], e["system_name"]) for e in events] == [("added", "leaf1")], events
    assert not any("gpu-host7" in (e["system_name"], e["prev_system_name"]) for e in a.lldp_events.records())
    (port,) = [p for p in a.ports.records() if p["port"] == "ens1"]
    assert port["neighbor"] == "leaf1" and port["flaps"] == 1
    assert not any("source MACs" in w for w in a.warnings), a.warnings

    # The same captures given the other way round: the order of the inputs changes nothing.
    b = flapwatch.analyze([links, wire])
    assert [(e["event"], e["system_name"]) for e in _events(b)] == [("added", "leaf1")]

    # The wire alone: no link capture. With the port's MAC configured, the same; without,
    # the own LLDPDUs are taken as a neighbor and a warning says so (docs/DECODE_RULES.md).
    text = ":".join(f"{mac:012x}"[i:i + 2] for i in range(0, 12, 2))
    c = flapwatch.analyze([wire], config={"own_macs": {"ens1": text}})
    assert [(e["event"], e["system_name"]) for e in _events(c)] == [("added", "leaf1")]
    d = flapwatch.analyze([wire], device="gpu-host7", config={"own_macs": {"ens1": text}})
    assert [(e["event"], e["system_name"]) for e in d.lldp_events.records()] == [("added", "leaf1")]
    e = flapwatch.analyze([wire])
    assert "gpu-host7" in {x["system_name"] for x in _events(e)}
    assert any("ens1: LLDPDUs from 2 source MACs" in w and "own_macs" in w for w in e.warnings), e.warnings
