"""captures/make_captures.py, run for real (root, namespaces, lldpd, mausezahn), checked with tshark.

The script is run once per module into a temporary directory with --quick (about 13 s).
Every expectation comes from the script's own lab.truth.json, so these tests say: what the
script drove is what the real tools recorded. Missing tools fail these tests; they never skip.
"""

from __future__ import annotations

import heapq
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import netns  # tests/ is on sys.path (conftest.py)

pytestmark = [pytest.mark.root, pytest.mark.tools, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "captures" / "make_captures.py"
TOOLS = ("tshark", "lldpd", "lldpcli", "mausezahn", "dumpcap", "tcpdump", "mergecap", "stdbuf")
WIRE_FILES = ("lab-wire.pcapng", "lab-tcpdump.pcap", "lab.pcapng")
IFF_UP = 0x1


def check_environment() -> None:
    try:
        netns.require_root_and_tools(*TOOLS)
    except RuntimeError as e:
        pytest.fail(f"make_captures needs root and real tools: {e}")


def test_root_and_tools_present():
    check_environment()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    check_environment()
    out = tmp_path_factory.mktemp("captures")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--quick"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"make_captures failed:\n{proc.stdout}\n{proc.stderr}"
    truth = json.loads((out / "lab.truth.json").read_text())
    return out, truth, proc.stderr


def tshark(path: Path, display_filter: str, *fields: str) -> list[list[str]]:
    """One row per matching frame, one string per field (multiple values comma-joined)."""
    argv = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    if display_filter:
        argv += ["-Y", display_filter]
    for f in fields:
        argv += ["-e", f]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def expand(sent: list[dict]) -> list[dict]:
    """Each mausezahn invocation sent `count` identical frames."""
    return [frame for entry in sent for frame in [entry] * entry["count"]]


def test_outputs_exist_small_and_namespaces_gone(lab):
    out, truth, stderr = lab
    for name in (*WIRE_FILES, "lab-netlink.pcap"):
        size = (out / name).stat().st_size
        assert 0 < size < 300_000, (name, size)
        assert truth["files"][name]["bytes"] == size
    created = next(line.split()[1:] for line in stderr.splitlines() if line.startswith("namespaces:"))
    assert len(created) == 2
    assert not set(created) & set(netns.leftover_namespaces()), "the script left namespaces behind"


@pytest.mark.parametrize("name", WIRE_FILES)
def test_pfc_frames_are_exactly_those_sent(lab, name):
    out, truth, _ = lab
    fields = ["eth.src", "eth.dst", "vlan.id", "vlan.priority", "macc.cbfc.enbv",
              *[f"macc.cbfc.pause_time.c{i}" for i in range(8)]]
    got = tshark(out / name, "macc.opcode == 0x0101", *fields)
    want = [[f["src"], f["dst"], "" if f["vlan"] is None else str(f["vlan"]),
             "" if f["vlan"] is None else str(f["pcp"]), f"0x{f['class_enable_vector']:04x}",
             *map(str, f["quanta"])] for f in expand(truth["pfc"])]
    assert got == want
    # The storm, the XON zeros and 0xffff are all in there.
    assert any(int(f["count"]) > 10 for f in truth["pfc"])
    assert {"65535", "0"} <= {q for row in got for q in row[5:]}


@pytest.mark.parametrize("name", WIRE_FILES)
def test_pause_frames_are_exactly_those_sent(lab, name):
    out, truth, _ = lab
    got = tshark(out / name, "macc.opcode == 0x0001", "eth.src", "eth.dst", "vlan.id", "macc.pause_time")
    want = [[f["src"], f["dst"], "" if f["vlan"] is None else str(f["vlan"]), str(f["quanta"])]
            for f in expand(truth["pause"])]
    assert got == want


@pytest.mark.parametrize("name", WIRE_FILES)
def test_lldp_from_both_ends_with_shutdown(lab, name):
    out, truth, _ = lab
    rows = tshark(out / name, "lldp", "lldp.chassis.id.mac", "lldp.tlv.system.name", "lldp.time_to_live")
    assert {entry["system_name"] for entry in truth["lldp"]} == {"leaf1", "gpu-host7"}
    for entry in truth["lldp"]:
        mine = [r for r in rows if r[0] == entry["chassis_mac"]]
        named = [r for r in mine if r[1] == entry["system_name"] and r[2] == str(entry["ttl_s"])]
        assert len(named) >= 3, f"too few LLDPDUs from {entry['system_name']}"
        # lldpd's exit sends a shutdown LLDPDU: TTL 0, no optional TLVs, the last one it sends.
        assert [r[2] for r in mine].count("0") == 1
        assert mine[-1][1:3] == ["", "0"]


def test_lldp_pfc_configuration_tlv(lab):
    out, truth, _ = lab
    rows = tshark(out / "lab-wire.pcapng", "lldp.ieee.802_1.subtype == 0x0b",
                  "lldp.chassis.id.mac", "lldp.dcbx.ieee.willing", "lldp.dcbx.ieee.pfc.numtcs",
                  "lldp.dcbx.feature.pfc.prio3")
    seen = {tuple(r) for r in rows}
    for entry in truth["lldp"]:
        tlv = entry["pfc_tlv"]
        prio3 = str(tlv["enable"] >> 3 & 1)
        assert (entry["chassis_mac"], str(tlv["willing"]), str(tlv["cap"]), prio3) in seen


def link_messages(path: Path, ifname: str) -> list[dict]:
    """RTM_NEWLINK messages about ifname, in file order (one dump frame holds several)."""
    names = ["netlink-route.nltype", "netlink-route.ifla_ifname", "netlink-route.ifi_flags",
             "netlink-route.ifla_carrier", "netlink-route.ifla_carrier_up_count",
             "netlink-route.ifla_carrier_down_count"]
    msgs = []
    for row in tshark(path, "netlink-route.ifla_ifname", "frame.time_epoch", *names):
        ts = int(row[0].replace(".", ""))  # ns pcap: 9 decimals
        columns = [cell.split(",") for cell in row[1:]]
        for nltype, name, flags, carrier, up, down in zip(*columns):
            if name == ifname and nltype == "16":
                msgs.append(dict(ts_ns=ts, flags=int(flags, 0), carrier=int(carrier), up=int(up), down=int(down)))
    return msgs


@pytest.mark.parametrize("name", ["lab-netlink.pcap", "lab.pcapng"])
def test_netlink_carrier_counts_grow_by_the_flaps_driven(lab, name):
    out, truth, _ = lab
    flaps = truth["flaps"]
    msgs = link_messages(out / name, truth["links"]["host"]["iface"])
    assert msgs[0]["flags"] & IFF_UP == 0, "the dump records the initial (down) state"
    first_down = flaps[0]["down_ns"]
    before = [m for m in msgs if m["ts_ns"] < first_down][-1]
    after = msgs[-1]
    assert (before["up"], before["down"]) == (truth["host_carrier_before"]["up_count"],
                                              truth["host_carrier_before"]["down_count"])
    assert after["up"] - before["up"] == len(flaps)
    assert after["down"] - before["down"] == len(flaps)
    assert (after["up"], after["down"]) == (truth["host_carrier_after"]["up_count"],
                                            truth["host_carrier_after"]["down_count"])
    assert all(a["up"] <= b["up"] and a["down"] <= b["down"] for a, b in zip(msgs, msgs[1:]))
    # The long outage is notified as a carrier-down message while it lasts.
    outage = flaps[-1]
    assert any(m["carrier"] == 0 and outage["down_ns"] < m["ts_ns"] < outage["up_ns"] for m in msgs)


def test_merged_file_has_both_interfaces_in_time_order(lab):
    """mergecap interleaves its inputs by time. An input may itself hold a frame stamped a few ns
    before the one it follows (the kernel stamps packets on several CPUs; seen in CI, 65 ns), and
    mergecap keeps each input's order: so the merged file is the time-merge of the two inputs as
    the tools wrote them, and out of order only where an input is."""
    out, _, _ = lab
    rows = tshark(out / "lab.pcapng", "", "frame.interface_name", "frame.time_epoch")
    counts = {}
    for iface, _ts in rows:
        counts[iface] = counts.get(iface, 0) + 1
    wire = epoch_ns(tshark(out / "lab-wire.pcapng", "", "frame.time_epoch"))
    netlink = epoch_ns(tshark(out / "lab-netlink.pcap", "", "frame.time_epoch"))
    assert counts == {"ens1f0np0": len(wire), "nlmon0": len(netlink)}
    merged = epoch_ns([[ts] for _, ts in rows])
    assert merged == list(heapq.merge(wire, netlink))
    inversions = sum(a > b for a, b in zip(merged, merged[1:]))
    own = sum(a > b for seq in (wire, netlink) for a, b in zip(seq, seq[1:]))
    assert inversions <= own


def epoch_ns(rows: list[list[str]]) -> list[int]:
    return [int(Decimal(r[0]) * 1_000_000_000) for r in rows]


def test_busy_wire_falls_silent_during_the_outage(lab):
    out, truth, _ = lab
    outage = truth["flaps"][-1]
    times = [int(r[0].replace(".", "")) for r in tshark(out / "lab-wire.pcapng", "udp.dstport == 4791",
                                                         "frame.time_epoch")]
    gaps = [(a, b) for a, b in zip(times, times[1:]) if b - a > outage["planned_down_ms"] * 1e6 * 0.9]
    assert len(gaps) == 1
    a, b = gaps[0]
    assert a <= outage["down_done_ns"] and b >= outage["up_ns"]


def test_tcpdump_and_dumpcap_saw_the_same_frames(lab):
    out, _, _ = lab
    fields = ("frame.time_epoch", "frame.len", "eth.src", "eth.type")
    assert tshark(out / "lab-tcpdump.pcap", "", *fields) == tshark(out / "lab-wire.pcapng", "", *fields)
    magic = (out / "lab-tcpdump.pcap").read_bytes()[:4]
    assert magic in (bytes.fromhex("a1b23c4d"), bytes.fromhex("4d3cb2a1")), "classic pcap, ns magic"
