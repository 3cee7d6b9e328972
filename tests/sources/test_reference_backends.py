"""The two pure-Python reference readers against each other, against third-party
decodes, and against what the capture writers put in.

- dpkt backend: containers walked in Python, DECODE_RULES.md in struct.
- pyshark backend: tshark's dissectors mapped onto the same rules.
They must agree on every field of the pfc / pause / lldp / link tables, every
timestamp to the ns and the counts, except the tshark divergences listed in
flapwatch/reference/pyshark_backend.py (tested explicitly below). tshark missing is a
failure, not a skip.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capture_writers as cw
from flapwatch import wire
from reference_loader import load_package_module, load_reference
from table_compare import assert_tables_equal, check_schema, table_rows, without_frames

pytestmark = [pytest.mark.tools]

ref = load_reference()
schema = load_package_module("schema")
CaptureError = load_package_module("errors").CaptureError

PUBLIC = Path(__file__).resolve().parents[3] / "shared" / "captures-public"
PUBLIC_CAPTURES = [
    "dcbx/dcb_ets.pcap",
    "dcbx/dcb_pfc.pcap",
    "dcbx/dcb_qcn.pcap",
    "dcbx/evb.pcap",
    "lldp/LLDP_and_CDP.pcap",
    "lldp/lldp-app-priority.pcap",
    "lldp/lldp_8021_linkagg.pcap",
    "lldp/lldp_mudurl.pcap",
    "lldp-malformed/hoobr_safeputs.pcap",
    "lldp-malformed/lldp-infinite-loop-1.pcap",
    "lldp-malformed/lldp-infinite-loop-2.pcap",
    "lldp-malformed/lldp_8023_mtu-oobr.pcap",
    "lldp-malformed/lldp_asan.pcap",
    "lldp-malformed/lldp_mgmt_addr_tlv_asan.pcap",
    "netlink/nl0.pcap",
]
BACKENDS = ("dpkt", "pyshark")

_cache: dict[tuple[str, str], object] = {}


def decode(path: Path | str, backend: str):
    key = (str(path), backend)
    if key not in _cache:
        _cache[key] = ref.read_tables(str(path), backend)
    return _cache[key]


def assert_backends_agree(path: Path):
    """Every table (malformed too, but for the wording of reasons) and the counts."""
    a, b = decode(path, "dpkt"), decode(path, "pyshark")
    check_schema(a, label="dpkt")
    check_schema(b, label="pyshark")
    assert a.frames == b.frames == sum(a.counts.values()) == sum(b.counts.values())
    assert_tables_equal(a, b, ignore_columns={"reason"}, labels=("dpkt", "pyshark"))
    return a, b


def test_tshark_is_installed():
    assert shutil.which("tshark"), "tshark is required for the pyshark reference backend"


def test_pyshark_backend_leaves_no_sigchld_handler(tmp_path):
    """pyshark attaches a child watcher to the main thread's loop for tshark's exit status (a
    SIGCHLD handler and a wakeup fd). Left behind, every later child exit in the process wrote
    to a fd nobody read, until Python printed "Exception ignored ... BlockingIOError" for each."""
    path = _write(tmp_path, "few.pcap", cw.pcap_bytes([cw.Record(T0 + i, f) for i, f in enumerate(mixed_frames()[:3])]))
    before = signal.getsignal(signal.SIGCHLD)
    assert ref.read_tables(str(path), "pyshark").frames == 3
    assert signal.getsignal(signal.SIGCHLD) == before
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    assert wakeup == -1, "a wakeup fd is still set after the read"


# ------------------------------------------------------------ public captures


@pytest.mark.parametrize("name", PUBLIC_CAPTURES)
def test_public_capture_backends_agree(name):
    path = PUBLIC / name
    assert path.is_file(), f"{path} missing (the CI clones the repo next to shared/)"
    a, _ = assert_backends_agree(path)
    assert not a.warnings


def test_public_capture_counts():
    """Spot values, so agreement cannot hide both backends being wrong the same way."""
    counts = {name: decode(PUBLIC / name, "dpkt").counts for name in PUBLIC_CAPTURES}
    assert counts["dcbx/dcb_ets.pcap"] == dict(pfc=0, pause=0, lldp=31, link=0, other=36, malformed=0)
    assert counts["lldp/LLDP_and_CDP.pcap"]["lldp"] == 8  # + 4 CDP as other
    # org-specific TLV where the Chassis ID must be: malformed (tcpdump prints it anyway)
    assert counts["lldp/lldp_8021_linkagg.pcap"]["malformed"] == 2
    # linktype 0x30000001 (FCS bits set): still Ethernet, and a bad first TLV
    assert counts["lldp-malformed/hoobr_safeputs.pcap"]["malformed"] == 1
    assert counts["netlink/nl0.pcap"] == dict(pfc=0, pause=0, lldp=0, link=3, other=16, malformed=0)


def _tcpdump_packets(text: str) -> dict[int, str]:
    """tcpdump -tttt-style output -> {packet number: its text}."""
    packets: dict[int, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^\s{0,6}(\d+)\s+\d{4}-\d\d-\d\d ", line)
        if m:
            current = int(m.group(1))
            packets[current] = []
        if current is not None:
            packets[current].append(line)
    return {k: "\n".join(v) for k, v in packets.items()}


TCPDUMP_DECODES = sorted(p.relative_to(PUBLIC).as_posix() for p in PUBLIC.glob("*/*.tcpdump-*.out"))


def test_tcpdump_decodes_present():
    assert len(TCPDUMP_DECODES) >= 6, f"tcpdump decodes missing under {PUBLIC}"


@pytest.mark.parametrize("decode_name", TCPDUMP_DECODES or ["missing"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_lldp_matches_tcpdump(decode_name, backend):
    out = PUBLIC / decode_name
    pcap = out.with_name(out.name.split(".tcpdump-")[0] + ".pcap")
    packets = _tcpdump_packets(out.read_text())
    cap = decode(pcap, backend)
    rows = {r["frame"]: r for r in table_rows(cap, "lldp")}
    checked = 0
    for number, text in packets.items():
        if "Chassis ID TLV (1)" not in text or number - 1 not in rows:
            continue
        row = rows[number - 1]
        chassis = re.search(r"Chassis ID TLV \(1\), length \d+\n\s+Subtype [^(]*\((\d+)\): (.*)", text)
        assert int(chassis.group(1)) == row["chassis_subtype"]
        assert chassis.group(2).strip() == row["chassis_id"]
        assert int(re.search(r"TTL (\d+)s", text).group(1)) == row["ttl"]
        name = re.search(r"System Name TLV \(5\), length \d+: (.*)", text)
        assert (name.group(1) if name else None) == row["system_name"]
        pvid = re.search(r"port vlan id \(PVID\): (\d+)", text)
        assert (int(pvid.group(1)) if pvid else -1) == row["port_vlan"]
        mau = re.search(r"MAU type .*\((0x[0-9a-f]+)\)", text)
        assert (int(mau.group(1), 16) if mau else -1) == row["mau_type"]
        pfc = re.search(r"Willing: (\d), MBC: (\d), RES: \d+, PFC cap:(\d+)", text)
        if pfc:
            assert [int(g) for g in pfc.groups()] == [row["pfc_willing"], row["pfc_mbc"], row["pfc_cap"]]
        checked += 1
    assert checked == len(rows), f"{len(rows) - checked} decoded LLDPDUs not found in {decode_name}"
    # lldp_8021_linkagg has no Chassis ID TLV at all: tcpdump prints it, the rules reject it
    assert checked > 0 or cap.counts["malformed"] == len(packets)


@pytest.mark.parametrize("backend", BACKENDS)
def test_netlink_matches_pyroute2(backend):
    """nl0.pyroute2-decoded.json holds pyroute2's decode of the first message of the
    rtnetlink frames; every ifinfmsg there is our first link row of that frame."""
    entries = json.loads((PUBLIC / "netlink" / "nl0.pyroute2-decoded.json").read_text())
    cap = decode(PUBLIC / "netlink" / "nl0.pcap", backend)
    links = table_rows(cap, "link")
    first_by_ts: dict[int, dict] = {}
    for r in links:
        first_by_ts.setdefault(r["ts_ns"], r)
    checked = 0
    for entry in entries:
        sec, usec = map(int, re.search(r"ts_sec=(\d+), ts_usec=(\d+)", entry["pcap header"]).groups())
        ts = sec * 1_000_000_000 + usec * 1000
        data = entry["data"]
        if not (isinstance(data, dict) and "ifinfmsg" in entry["message class"]):
            assert ts not in first_by_ts  # requests, address messages: no link rows
            continue
        attrs = dict((a[0], a[1]) for a in data["attrs"] if isinstance(a[1], (str, int)))
        row = first_by_ts[ts]
        assert (row["ifindex"], row["flags"], row["port"]) == (data["index"], data["flags"], attrs["IFLA_IFNAME"])
        assert schema.OPERSTATES[row["operstate"]] == attrs["IFLA_OPERSTATE"].lower()
        assert (row["carrier"], row["carrier_changes"]) == (attrs["IFLA_CARRIER"], attrs["IFLA_CARRIER_CHANGES"])
        assert row["carrier_up_count"] == attrs["IFLA_CARRIER_UP_COUNT"]
        assert row["carrier_down_count"] == attrs["IFLA_CARRIER_DOWN_COUNT"]
        assert row["mac"] == int(attrs.get("IFLA_ADDRESS", "0").replace(":", ""), 16)
        assert (row["dev_type"], row["change"]) == (data["ifi_type"], data["change"])
        header = data["header"]  # these are replies to a dump (NLM_F_MULTI, the requester's pid)
        assert row["dump"] == int(bool(header["flags"] & 2) and header["pid"] != 0) == 1
        checked += 1
    assert checked == 3
    # the dump replies carry several interfaces each: every one becomes a row
    assert len(links) > 3 and {"lo", "virbr1", "gretap0"} <= {r["port"] for r in links}


# --------------------------------------------------------- generated captures

T0 = 1_700_000_000_123_456_789
SRC = "02:11:22:33:44:55"


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def write_frames(directory: Path, name: str, frames: list[bytes], step_ns: int = 1, **pcap) -> Path:
    """A pcap of ``frames`` at T0, T0 + step, ... (``pcap``: capture_writers.pcap_bytes options)."""
    records = [cw.Record(T0 + i * step_ns, f) for i, f in enumerate(frames)]
    return _write(directory, name, cw.pcap_bytes(records, **pcap))


def mixed_frames() -> list[bytes]:
    """PFC with several class-enable vectors, PAUSE, LLDP, other."""
    frames = []
    for enable in (0x0000, 0x0001, 0x0080, 0x00FF, 0xFF00, 0xFFFF, 0x00A5):
        frames.append(wire.pfc_frame(SRC, enable, [0, 1, 255, 256, 4096, 32768, 65534, 65535]))
    frames += [wire.pause_frame(SRC, 0), wire.pause_frame("02:00:00:00:00:01", 0xFFFF)]
    frames.append(wire.lldp_frame(SRC, wire.chassis_id(4, SRC), wire.port_id(5, "Ethernet1"), wire.ttl(120)))
    frames.append(wire.ethernet_frame("ff:ff:ff:ff:ff:ff", SRC, wire.ETH_IPV4, bytes(46)))
    return frames


@pytest.mark.parametrize("nano", [False, True], ids=["us", "ns"])
@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_pcap_magic_and_byte_order(tmp_path, nano, big_endian):
    frames = mixed_frames()
    stamps = [T0 + i * 1_001_001 + (i % 3) for i in range(len(frames))]
    records = [cw.Record(ts, f) for ts, f in zip(stamps, frames)]
    records[2] = cw.Record(stamps[2], frames[2], origlen=1500)  # origlen > caplen
    records[3] = cw.Record(stamps[3], frames[3], origlen=20)  # origlen < caplen
    path = _write(tmp_path, "mix.pcap", cw.pcap_bytes(records, nano=nano, big_endian=big_endian, snaplen=40))
    a, b = assert_backends_agree(path)  # caplen > snaplen (40) is read as it is
    assert a.counts == dict(pfc=7, pause=2, lldp=1, link=0, other=1, malformed=0)
    expected = [cw.pcap_ts_ns(ts, nano) for ts in stamps]
    for cap in (a, b):
        ts = np.concatenate([cap.tables[t]["ts_ns"] for t in ("pfc", "pause", "lldp")])
        assert sorted(ts.tolist()) == sorted(expected[:10])
        assert set(table_rows(cap, "pfc", ["port"])[0].values()) == {"mix"}
    pfc = table_rows(a, "pfc")
    assert [r["class_enable"] for r in pfc] == [0x00, 0x01, 0x80, 0xFF, 0x00, 0xFF, 0xA5]
    assert [pfc[0][f"quanta_{i}"] for i in range(8)] == [0, 1, 255, 256, 4096, 32768, 65534, 65535]
    assert [r["quanta"] for r in table_rows(a, "pause")] == [0, 0xFFFF]


def build_multi_section_pcapng() -> tuple[bytes, list[tuple[int, str]]]:
    """Three sections (LE, BE, LE), six interfaces with different if_tsresol (incl.
    2^-n) and if_tsoffset, named and unnamed; EPB, SPB, ISB, custom and unknown blocks.
    Returns the bytes and the expected (ts_ns, port) of each frame in file order."""
    w = cw.PcapngBuilder()
    expected = []
    w.section(big_endian=False)
    eth0 = w.interface(name="eth0", tsresol=9)
    eth1 = w.interface(name="eth1", tsresol=0x80 | 20, tsoffset=1000)
    anon = w.interface(tsresol=3, tsoffset=-5)  # no name -> "multi#2"
    frames = mixed_frames()
    expected.append((w.packet_at(eth0, T0, frames[0]), "eth0"))
    expected.append((w.packet_at(eth1, T0 + 7, frames[1]), "eth1"))
    w.stats(eth0, 12345)
    expected.append((w.packet_at(anon, T0 + 5_000_000, frames[2]), "multi#2"))
    w.simple_packet(frames[3])  # interface 0, previous frame's timestamp
    expected.append((expected[-1][0], "eth0"))
    w.unknown(0x40000BAD, struct.pack("<I", 32473) + b"custom block, copy")  # custom block
    w.unknown(0x0000BEEF, b"\x01" * 10)  # a type no reader knows
    w.unknown(4, struct.pack("<HH", 0, 0))  # name resolution block
    expected.append((w.packet_at(eth0, T0 + 9_999, frames[4]), "eth0"))
    w.section(big_endian=True)
    be0 = w.interface(name="be0", tsresol=0x80 | 30)
    be1 = w.interface(name="be1")  # default: µs
    expected.append((w.packet_at(be1, T0 + 123_456, frames[5]), "be1"))
    expected.append((w.packet_at(be0, T0 + 1, frames[6]), "be0"))
    w.simple_packet(frames[7])  # interface 0 of this section: be0
    expected.append((expected[-1][0], "be0"))
    w.stats(be1, 1)
    expected.append((w.packet_at(be1, T0 + 2, frames[8], origlen=9000), "be1"))
    w.section(big_endian=False)  # unnamed interface 0 of a later section: "{stem}#0"
    again = w.interface(tsresol=0x80 | 10, tsoffset=-1)
    expected.append((w.packet_at(again, T0 + 3, frames[9]), "multi#0"))
    return w.getvalue(), expected


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
def test_pcapng_sections_interfaces_tsresol(tmp_path, compressed):
    data, expected = build_multi_section_pcapng()
    name = "multi.pcapng.gz" if compressed else "multi.pcapng"
    path = _write(tmp_path, name, gzip.compress(data) if compressed else data)
    a, b = assert_backends_agree(path)
    for cap in (a, b):
        got = sorted(
            (r["frame"], r["ts_ns"], r["port"]) for t in ("pfc", "pause", "lldp") for r in table_rows(cap, t)
        )
        assert [(ts, port) for _, ts, port in got] == expected
    # the 2^-20 interface: floor(units * 1e9 / 2^20) + 1000 s
    assert expected[1][0] == (cw.units_for(T0 + 7, 0x94, 1000) * 10**9 >> 20) + 1000 * 10**9


def test_pcapng_single_unnamed_interface_takes_file_stem(tmp_path):
    w = cw.PcapngBuilder()
    w.section()
    iface = w.interface(tsresol=6)
    ts = w.packet_at(iface, T0, wire.pause_frame(SRC, 7))
    path = _write(tmp_path, "rack3-sw1.pcapng", w.getvalue())
    a, b = assert_backends_agree(path)
    assert table_rows(a, "pause", ["ts_ns", "port"]) == [{"ts_ns": ts, "port": "rack3-sw1"}]


def test_pcapng_fine_tsresol_dpkt_backend_is_exact(tmp_path):
    """tshark 4.0 overflows for ticks finer than ~2^-34 s / 10^-10 s (documented);
    the dpkt backend must still be exact."""
    w = cw.PcapngBuilder()
    w.section()
    stamps = []
    # (the 64-bit counter spans only 213 days at 10^-12 s, 194 days at 2^-40 s)
    for tsresol, units in ((12, 12_345_678_123_456_789_012), (0x80 | 40, (1 << 40) * 10_000_000 + 987_654_321),
                           (0x80 | 63, (1 << 64) - 1), (19, 9_000_000_000_000_000_000), (0, 1_700_000_000)):
        iface = w.interface(name=f"r{tsresol}", tsresol=tsresol)
        w.packet(iface, units, wire.pause_frame(SRC, 1))
        stamps.append(cw.ts_from_units(units, tsresol))
    path = _write(tmp_path, "fine.pcapng", w.getvalue())
    assert table_rows(decode(path, "dpkt"), "pause", ["ts_ns"]) == [{"ts_ns": t} for t in stamps]
    assert stamps[0] == 12_345_678_123_456_789 and stamps[2] == 1_999_999_999 and stamps[3] == 900_000_000


@pytest.mark.parametrize("linktype", [cw.LINKTYPE_LINUX_SLL, cw.LINKTYPE_LINUX_SLL2], ids=["sll", "sll2"])
def test_cooked_linux_captures(tmp_path, linktype):
    cook = wire.sll if linktype == cw.LINKTYPE_LINUX_SLL else wire.sll2
    frames = [
        cook(wire.ETH_MAC_CONTROL, wire.pfc(0x81, [1, 2, 3, 4, 5, 6, 7, 8]), addr=SRC),
        cook(wire.ETH_MAC_CONTROL, wire.pause(5), addr=SRC, tags=[wire.vlan_tag(10), wire.vlan_tag(11)]),
        cook(wire.ETH_LLDP, wire.lldpdu(wire.chassis_id(4, SRC), wire.port_id(3, SRC), wire.ttl(0)),
             addr=b"\1\2\3\4", halen=4, hatype=772),
        cook(wire.ETH_MAC_CONTROL, wire.pause(6), addr=bytes(range(1, 9)), halen=8),
        cook(wire.ETH_IPV4, bytes(40), addr=SRC),
        bytes(10),  # shorter than the cooked header: other
    ]
    path = write_frames(tmp_path, "any.pcap", frames, nano=True, linktype=linktype)
    a, _ = assert_backends_agree(path)
    assert a.counts == dict(pfc=1, pause=2, lldp=1, link=0, other=2, malformed=0)
    pause = table_rows(a, "pause", ["src_mac", "vlan", "quanta"])
    assert pause == [{"src_mac": wire.mac_int(SRC), "vlan": 10, "quanta": 5}, {"src_mac": 0, "vlan": -1, "quanta": 6}]
    assert table_rows(a, "lldp", ["src_mac", "ttl"]) == [{"src_mac": 0, "ttl": 0}]


def test_stacked_vlan_tags(tmp_path):
    Q, AD, OLD = wire.TPID_8021Q, wire.TPID_8021AD, wire.TPID_QINQ_OLD
    stacks = [
        [], [(Q, 100)], [(AD, 200), (Q, 300)], [(OLD, 7), (Q, 8)],
        [(AD, 1), (AD, 2), (OLD, 3)], [(Q, 4095), (Q, 0), (Q, 5)],
    ]
    frames = []
    for stack in stacks:
        tags = [wire.vlan_tag(vid, tpid, pcp=5) for tpid, vid in stack]
        frames.append(wire.pfc_frame(SRC, 0x3, [9] * 8, tags=tags))
        frames.append(wire.lldp_frame(SRC, wire.chassis_id(7, "c"), wire.port_id(7, "p"), wire.ttl(1), tags=tags))
    frames.append(wire.mac_bytes(wire.MAC_CONTROL_DST) + wire.mac_bytes(SRC) + b"\x81\x00\x00")  # tag cut short
    frames.append(b"\x01\x02\x03")  # shorter than Ethernet
    path = write_frames(tmp_path, "qinq.pcap", frames)
    a, _ = assert_backends_agree(path)
    assert [r["vlan"] for r in table_rows(a, "pfc")] == [-1, 100, 200, 7, 1, 4095]
    assert a.counts["lldp"] == 6 and a.counts["other"] == 2


def lldp_all_tlvs_frames() -> list[bytes]:
    full = [
        wire.chassis_id(4, SRC), wire.port_id(5, "Ethernet1/1"), wire.ttl(120), wire.port_desc("uplink to spine-1"),
        wire.system_name("leaf-01.example"), wire.system_desc("NOS 4.2 \\ build\x01"), wire.capabilities(0x14, 0x04),
        wire.mgmt_addr("10.0.0.1"), wire.port_vlan(100), wire.pfc_config(1, 0, 8, 0x18), wire.mac_phy(0x10),
        wire.max_frame_size(9216),
    ]
    frames = [wire.lldp_frame(SRC, *full)]
    mac_ids = (wire.chassis_id(4, SRC), wire.port_id(3, SRC))
    for mau in (5, 16, 30, 40, 54, 70, 75, 78, 79, 0):
        frames.append(wire.lldp_frame(SRC, *mac_ids, wire.ttl(30), wire.mac_phy(mau), wire.pfc_config(0, 1, 4, mau & 0xFF)))
    frames.append(wire.lldp_frame(SRC, wire.chassis_id(5, "2001:db8::1"), wire.port_id(4, "192.0.2.7"), wire.ttl(0),
                                wire.mgmt_addr("2001:db8::2")))
    frames.append(wire.lldp_frame(SRC, wire.chassis_id(5, "::ffff:1.2.3.4"), wire.port_id(4, b"\x06" + wire.mac_bytes(SRC)),
                                wire.ttl(1), wire.mgmt_addr(wire.mac_bytes(SRC), subtype=6), wire.mgmt_addr("10.9.9.9")))
    for subtype in (1, 2, 3, 6, 7, 0, 9):  # the text subtypes (chassis 3 too) and reserved ones
        ids = wire.chassis_id(subtype, b"id\\\xff\x00"), wire.port_id(subtype if subtype != 3 else 7, b"p\x7f\x00\x00")
        frames.append(wire.lldp_frame(SRC, *ids, wire.ttl(65535)))
    ids = wire.chassis_id(4, SRC), wire.port_id(7, "p")
    frames.append(wire.lldp_frame(SRC, wire.chassis_id(4, SRC), wire.port_id(7, "x" * 255), wire.ttl(9),
                                wire.system_name("a"), wire.system_name("b"), wire.capabilities(1, 1), wire.capabilities(2, 2),
                                wire.port_vlan(1), wire.port_vlan(2), wire.system_name(b"")))
    frames.append(wire.lldp_frame(SRC, *ids, wire.ttl(9), wire.system_name("no end"), end=False))
    frames.append(wire.lldp_frame(SRC, *ids, wire.ttl(9), wire.tlv(9, b"?"), wire.tlv(126, b"reserved"),
                                wire.org_tlv(0x0026E1, 1, b"\x01"), wire.org_tlv(wire.OUI_8021, 7, b"\x03\x00\x00\x00\x64")))
    return frames


def test_lldp_all_tlvs(tmp_path):
    frames = lldp_all_tlvs_frames()
    path = write_frames(tmp_path, "lldp.pcap", frames, step_ns=30 * 10**9, nano=True)
    a, _ = assert_backends_agree(path)
    assert a.counts["lldp"] == len(frames)
    rows = table_rows(a, "lldp")
    assert rows[0] == {
        "ts_ns": T0, "port": "lldp", "frame": 0, "src_mac": wire.mac_int(SRC),
        "chassis_subtype": 4, "chassis_id": SRC, "port_subtype": 5, "port_id": "Ethernet1/1", "ttl": 120,
        "port_desc": "uplink to spine-1", "system_name": "leaf-01.example", "system_desc": "NOS 4.2 \\x5c build\\x01",
        "caps_supported": 0x14, "caps_enabled": 0x04, "mgmt_addr": "10.0.0.1", "port_vlan": 100,
        "pfc_willing": 1, "pfc_mbc": 0, "pfc_cap": 8, "pfc_enable": 0x18, "mau_type": 0x10,
        "speed_bps": 100_000_000, "max_frame_size": 9216,
    }
    maus = (5, 16, 30, 40, 54, 70, 75, 78, 79, 0)
    assert [r["speed_bps"] for r in rows[1:11]] == [schema.mau_speed_bps(m) for m in maus]
    assert rows[11]["chassis_id"] == "2001:db8::1" and rows[11]["port_id"] == "192.0.2.7" and rows[11]["ttl"] == 0
    assert rows[12]["chassis_id"] == "::ffff:1.2.3.4"  # as inet_ntop prints it (RFC 5952)
    assert rows[12]["port_id"] == SRC and rows[12]["mgmt_addr"] == SRC  # family 6: colon hex
    assert rows[13]["chassis_id"] == "id\\x5c\\xff" and rows[13]["port_id"] == "p\\x7f"
    dup = rows[20]
    assert (dup["system_name"], dup["caps_supported"], dup["port_vlan"]) == ("a", 1, 1)
    assert rows[21]["system_name"] == "no end"


def netlink_frames(big_endian: bool) -> list[bytes]:
    be = {"big_endian": big_endian}
    u32 = ">I" if big_endian else "<I"

    def cooked(*messages: bytes, family: int = wire.NETLINK_ROUTE) -> bytes:
        return wire.nlmon_frame(b"".join(messages), family=family)

    def newlink(*attrs: bytes, index: int = 4, flags: int = 1) -> bytes:
        return wire.nlmsg(wire.RTM_NEWLINK, wire.ifinfomsg(index, flags, **be) + b"".join(attrs), **be)

    done = wire.nlmsg(wire.NLMSG_DONE, b"\0" * 4, **be)
    return [
        cooked(
            wire.link_msg(2, 0x11043, ifname="eth0", address=SRC, operstate=6, carrier=1, carrier_changes=5,
                        carrier_up_count=3, carrier_down_count=2, **be),
            wire.link_msg(3, 0x1002, operstate=2, carrier=0, msg_type=wire.RTM_DELLINK, **be),
            done,
        ),
        cooked(done),
        cooked(wire.nlmsg(wire.RTM_NEWADDR, bytes.fromhex("0218000002000000"), **be), wire.link_msg(7, 1, ifname="x", **be)),
        cooked(wire.link_msg(2**31 - 1, 0xFFFFFFFF, ifname="very-long-name0", address=b"\1\2\3\4",
                           carrier_changes=2**32 - 1, **be)),
        cooked(wire.link_msg(4, 0, mtu=None, operstate=200, carrier=255, **be)),
        # a dump reply for the loopback (NLM_F_MULTI, seq and pid), ifi_change set
        cooked(wire.nlmsg(wire.RTM_NEWLINK, wire.ifinfomsg(1, 0x10049, change=0x100, ifi_type=772, **be)
                          + wire.rtattr(wire.IFLA_IFNAME, b"dumped\0", **be), flags=wire.NLM_F_MULTI, seq=9, pid=4242,
                          **be)),
        cooked(wire.nlmsg(wire.RTM_NEWLINK, wire.ifinfomsg(5, 1, **be) + wire.rtattr(wire.IFLA_IFNAME, b"m\0", **be),
                          flags=wire.NLM_F_MULTI, **be)),
        cooked(wire.link_msg(9, 1, ifname="gen", **be), family=wire.NETLINK_GENERIC),
        # malformed by the rules, and by tshark's fields too
        cooked(wire.link_msg(2, 1, ifname="a", **be), wire.nlmsg(wire.NLMSG_DONE, b"\0" * 4, length=8, **be)),
        cooked(wire.link_msg(2, 1, ifname="a", **be), wire.nlmsg(wire.NLMSG_DONE, b"\0" * 4, length=60, **be)),
        cooked(wire.nlmsg(wire.RTM_NEWLINK, b"\0" * 8, **be)),
        cooked(newlink(wire.rtattr(wire.IFLA_IFNAME, b"ab\0", length=2, **be), b"\0" * 4)),
        cooked(newlink(wire.rtattr(wire.IFLA_IFNAME, b"ab\0", length=40, **be))),
        cooked(newlink(wire.rtattr(wire.IFLA_CARRIER_CHANGES, b"\1\0", **be))),
        cooked(newlink(wire.rtattr(wire.IFLA_OPERSTATE, b"", **be))),
        cooked(),  # no message: no nlmsg_len to guess from
        cooked(b"\xff" * 20),
        b"\x00\x04\x03\x38",  # shorter than the cooked header: other
        # NLA_F_NESTED / NLA_F_NET_BYTEORDER set: masked by the rules
        cooked(newlink(
            wire.rtattr(wire.IFLA_IFNAME | 0x8000, b"nest\0", **be),
            wire.rtattr(wire.IFLA_OPERSTATE | 0x4000, b"\x06", **be),
            wire.rtattr(wire.IFLA_CARRIER_UP_COUNT | 0x4000, struct.pack(u32, 77), **be),
            index=9, flags=0x10043,
        )),
    ]


@pytest.mark.parametrize("big_endian", [False, True], ids=["le", "be"])
def test_netlink_both_byte_orders(tmp_path, big_endian):
    frames = netlink_frames(big_endian)
    path = write_frames(tmp_path, "nlmon0.pcap", frames, nano=True, linktype=cw.LINKTYPE_NETLINK)
    a, _ = assert_backends_agree(path)
    assert a.counts == dict(pfc=0, pause=0, lldp=0, link=7, other=3, malformed=9)
    rows = table_rows(a, "link")
    assert rows[0] == {
        "ts_ns": T0, "port": "eth0", "frame": 0, "msg_type": 16, "ifindex": 2, "flags": 0x11043, "operstate": 6,
        "carrier": 1, "carrier_changes": 5, "carrier_up_count": 3, "carrier_down_count": 2, "mac": wire.mac_int(SRC),
        "dev_type": 1, "change": 0, "dump": 0,
    }
    # a dump reply (NLM_F_MULTI and the requester's pid), the loopback's ifi_type, ifi_change
    assert (rows[5]["port"], rows[5]["dump"], rows[5]["dev_type"], rows[5]["change"]) == ("dumped", 1, 772, 0x100)
    assert rows[6]["dump"] == 0  # NLM_F_MULTI without a requester: not a dump reply
    assert (rows[1]["port"], rows[1]["msg_type"], rows[1]["carrier_changes"], rows[1]["mac"]) == ("if3", 17, -1, 0)
    assert rows[3]["flags"] == 0xFFFFFFFF and rows[3]["carrier_changes"] == 2**32 - 1 and rows[3]["mac"] == 0
    assert (rows[4]["operstate"], rows[4]["carrier"]) == (200 - 256, -1)  # u8 into int8, as C casts it
    assert (rows[-1]["port"], rows[-1]["operstate"], rows[-1]["carrier_up_count"]) == ("nest", 6, 77)
    malformed = table_rows(a, "malformed")
    assert [r["frame"] for r in malformed] == list(range(8, 17))
    # offsets: the message / rtattr where decoding failed (record data starts at 24 + 16)
    first_data = 24 + 16
    assert malformed[0]["offset"] == sum(16 + len(f) for f in frames[:8]) + first_data + 16 + 48


# ------------------------------------------------- where tshark and the rules differ


def test_netlink_where_tshark_stops(tmp_path):
    """The next message starts at align4(nlmsg_len) (rules, kernel's NLMSG_NEXT);
    tshark 4.0 steps by the unaligned length and finds garbage."""
    frames = [
        wire.nlmon_frame(wire.nlmsg(wire.NLMSG_DONE, b"\x00") + wire.link_msg(5, 1, ifname="z")),
        # an empty IFLA_ADDRESS: tshark 4.0 hits a dissector assertion ("len > 0") and stops
        wire.nlmon_frame(wire.link_msg(6, 1, ifname="y", address=b"")),
        # an RTM_NEWADDR shorter than its ifaddrmsg: skipped by length (rules), tshark stops
        wire.nlmon_frame(wire.nlmsg(wire.RTM_NEWADDR, b"\x02\x18\x00\x00") + wire.link_msg(7, 1, ifname="x")),
    ]
    path = write_frames(tmp_path, "nl.pcap", frames, linktype=cw.LINKTYPE_NETLINK)
    a, b = decode(path, "dpkt"), decode(path, "pyshark")
    expected = [{"port": p, "ifindex": i} for p, i in (("z", 5), ("y", 6), ("x", 7))]
    assert table_rows(a, "link", ["port", "ifindex"]) == expected
    assert b.counts["malformed"] == 3 and a.counts["link"] == 3


def rules_edge_frames() -> tuple[list[bytes], set[int]]:
    """LLDP and MAC control edge cases; returns the frames and the indices where tshark
    4.0 stops dissecting early while DECODE_RULES decode on (the backends differ)."""
    C, P, T = wire.chassis_id(4, SRC), wire.port_id(5, "Ethernet1/1"), wire.ttl(120)
    kept = wire.system_name("kept")
    frames = [
        # tshark gives up on the LLDPDU here (see pyshark_backend's docstring)
        wire.lldp_frame(SRC, C, P, T, wire.tlv(7, b"\x00\x14"), kept),  # capabilities of 2 bytes: ignored
        wire.lldp_frame(SRC, wire.chassis_id(5, b"\x01\x0a\x00\x00\x01\x05"), P, T),  # IPv4 family, 5 bytes
        wire.lldp_frame(SRC, wire.chassis_id(4, b"\x02\x11\x22\x33\x44"), P, T),  # MAC id of 5 bytes
        wire.lldp_frame(SRC, C, P, T, wire.tlv(7, b"\x00\x14\x00\x04\x00"), kept),  # capabilities of 5 bytes: valid
        wire.lldp_frame(SRC, C, P, T, wire.tlv(8, b"\x05\x01\x0a\x00\x00\x01"), kept),  # mgmt address, no ifnumber/OID
        wire.lldp_frame(SRC, C, P, T, wire.port_id(5, "second"), kept),  # a repeated Port ID is just ignored
        wire.lldp_frame(SRC, C, P, T, wire.tlv(8, b"\x09\x01\x0a\x00\x00\x01"), kept),  # addr_len past the TLV: ignored
        # agreed: lengths tshark tolerates (longer org TLVs; the address size after the subtype)
        wire.lldp_frame(SRC, C, P, T,
                      wire.org_tlv(wire.OUI_8021, 1, b"\x00\x64\x00"), wire.org_tlv(wire.OUI_8021, 0x0B, b"\x88\x18\x00"),
                      wire.org_tlv(wire.OUI_8023, 4, b"\x23\x00\x00"),
                      wire.org_tlv(wire.OUI_8023, 1, b"\x03\x6c\x00\x00\x10\x00"),
                      wire.mgmt_addr(b"\x0a\x00\x00\x01\x02", subtype=1), kept),
        # agreed malformed
        wire.lldp_frame(SRC, C, P, T, wire.tlv(5, b"abc", length=40), end=False),  # TLV past the end
        wire.lldp_frame(SRC, P, C, T),  # order
        wire.lldp_frame(SRC, wire.tlv(1, b"\x04"), P, T),  # chassis id length 1
        wire.lldp_frame(SRC, C, P, wire.tlv(3, b"\x00")),  # TTL length 1
        wire.lldp_frame(SRC, C, P),  # no TTL
        wire.lldp_frame(SRC, C, P, T, end=False) + b"\x00",  # a stray byte: padding to the rules, malformed to tshark
        wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, b"\x00\x01\x00"),  # PAUSE short
        wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, b"\x01\x01" + bytes(17)),  # PFC: 19 of 20 bytes
        wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, b"\x01"),
        wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, b""),
        wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, wire.mac_control_pdu(0x0002, bytes(44))),  # other opcode
    ]
    return frames, {0, 1, 2, 3, 4, 5, 6, 13}


def test_rules_edges_and_documented_tshark_divergences(tmp_path):
    frames, diverging = rules_edge_frames()
    path = write_frames(tmp_path, "edges.pcap", frames)
    a, b = decode(path, "dpkt"), decode(path, "pyshark")
    assert_tables_equal(
        without_frames(a, diverging), without_frames(b, diverging), ignore_columns={"reason"}, counts=False
    )
    # the rules (dpkt backend): a bad optional TLV is ignored and the LLDPDU goes on
    lldp = {r["frame"]: r for r in table_rows(a, "lldp")}
    assert lldp[0]["caps_supported"] == -1 and lldp[0]["system_name"] == "kept"
    assert lldp[1]["chassis_id"] == "0a:00:00:01:05" and lldp[2]["chassis_id"] == "02:11:22:33:44"
    assert (lldp[3]["caps_supported"], lldp[3]["caps_enabled"], lldp[3]["system_name"]) == (0x14, 0x04, "kept")
    assert (lldp[4]["mgmt_addr"], lldp[4]["system_name"]) == ("10.0.0.1", "kept")
    assert (lldp[5]["port_id"], lldp[5]["system_name"]) == ("Ethernet1/1", "kept")
    assert (lldp[6]["mgmt_addr"], lldp[6]["system_name"]) == (None, "kept")
    tolerated = lldp[7]
    assert [tolerated[k] for k in ("port_vlan", "pfc_enable", "max_frame_size", "mau_type")] == [-1, -1, -1, -1]
    assert (tolerated["mgmt_addr"], tolerated["system_name"]) == ("0a:00:00:01:02", "kept")
    # tshark stops in each diverging frame: counted malformed by the pyshark backend
    assert {r["frame"] for r in table_rows(b, "malformed")} & diverging == diverging
    assert a.counts == dict(pfc=0, pause=0, lldp=9, link=0, other=1, malformed=9)
    assert b.counts == dict(pfc=0, pause=0, lldp=1, link=0, other=1, malformed=17)
    offsets = {  # offset in the file -> position in the frame
        r["frame"]: r["offset"] - 24 - 16 * (r["frame"] + 1) - sum(map(len, frames[: r["frame"]]))
        for r in table_rows(a, "malformed")
    }
    # the position in the frame: the offending TLV; the fields after the opcode, or the
    # MAC control payload when even the opcode is missing
    assert offsets == {8: 14 + 9 + 14 + 4, 9: 14, 10: 14, 11: 37, 12: 37, 14: 16, 15: 16, 16: 14, 17: 14}


# ----------------------------------------------------------------- truncation


def test_truncated_pcap_keeps_frames_and_warns(tmp_path):
    frames = mixed_frames()[:4]
    data = cw.pcap_bytes([cw.Record(T0 + i, f) for i, f in enumerate(frames)], nano=True)
    path = _write(tmp_path, "cut.pcap", data[:-10])
    a, b = assert_backends_agree(path)
    for cap in (a, b):
        assert cap.frames == 3 and len(cap.warnings) == 1 and "offset" in cap.warnings[0]
    last_record = len(data) - 16 - len(frames[-1])
    assert f"offset {last_record}:" in a.warnings[0] and f"offset {last_record}:" in b.warnings[0]
    for backend in BACKENDS:
        with pytest.raises(CaptureError) as err:
            ref.read_tables(str(path), backend, strict=True)
        assert err.value.offset == last_record


def test_truncated_pcapng_and_gzip_keep_frames(tmp_path):
    data, expected = build_multi_section_pcapng()
    cut = _write(tmp_path, "multi.pcapng", data[:-30])
    a, b = assert_backends_agree(cut)
    assert a.frames == b.frames == len(expected) - 1 and a.warnings and b.warnings
    gz = gzip.compress(data)
    cut_gz = _write(tmp_path, "multi2.pcapng.gz", gz[: len(gz) * 2 // 3])
    a = decode(cut_gz, "dpkt")
    assert 0 < a.frames < len(expected) and any("gzip" in w for w in a.warnings)


def test_strict_raises_on_malformed(tmp_path):
    frames = [wire.pause_frame(SRC, 1), wire.ethernet_frame(wire.MAC_CONTROL_DST, SRC, wire.ETH_MAC_CONTROL, b"\x00\x01")]
    path = _write(tmp_path, "bad.pcap", cw.pcap_bytes([cw.Record(T0, f) for f in frames]))
    for backend in BACKENDS:
        with pytest.raises(CaptureError) as err:
            ref.read_tables(str(path), backend, strict=True)
        assert err.value.offset == 24 + 16 + len(frames[0]) + 16 + 14 + 2  # the missing pause time


def test_not_a_capture(tmp_path):
    path = _write(tmp_path, "notes.pcap", b"this is not a capture file at all")
    with pytest.raises(CaptureError):
        ref.read_tables(str(path), "dpkt")


# --------------------------------------------------------------- random frames

_mac = st.binary(min_size=6, max_size=6)
_tpid = st.sampled_from([wire.TPID_8021Q, wire.TPID_8021AD, wire.TPID_QINQ_OLD])
_tags = st.lists(st.tuples(_tpid, st.integers(0, 0xFFFF)), max_size=3)
_u16 = st.integers(0, 0xFFFF)
_plain_ethertype = st.integers(0x0600, 0xFFFF).filter(lambda t: t not in (0x8808, 0x88CC, 0x8100, 0x88A8, 0x9100))
_text = st.binary(max_size=40)


@st.composite
def _frame(draw):
    kind = draw(st.sampled_from(["pfc", "pause", "lldp", "other"]))
    src, tags = draw(_mac), draw(_tags)
    if kind == "pfc":
        return wire.pfc_frame(src, draw(_u16), draw(st.lists(_u16, min_size=8, max_size=8)), tags)
    if kind == "pause":
        return wire.pause_frame(src, draw(st.integers(0, 0xFFFF)), tags)
    if kind == "other":
        return wire.ethernet_frame(draw(_mac), src, draw(_plain_ethertype), draw(_text), tags)
    ip = st.ip_addresses().map(lambda a: a.compressed)
    chassis = draw(st.one_of(
        st.tuples(st.sampled_from([1, 2, 3, 6, 7]), _text.map(lambda t: b"c" + t)),
        st.tuples(st.just(4), _mac),
        st.tuples(st.just(5), ip),
    ))
    port = draw(st.one_of(
        st.tuples(st.sampled_from([1, 2, 5, 6, 7]), _text.map(lambda t: b"p" + t)),
        st.tuples(st.just(3), _mac),
        st.tuples(st.just(4), ip),
    ))
    tlvs = [wire.chassis_id(*chassis), wire.port_id(*port), wire.ttl(draw(st.integers(0, 0xFFFF)))]
    optional = [
        wire.port_desc(draw(_text)), wire.system_name(draw(_text)), wire.system_desc(draw(_text)),
        wire.capabilities(draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF))),
        wire.port_vlan(draw(st.integers(0, 0xFFFF))), wire.mac_phy(draw(st.integers(0, 0xFFFF))),
        wire.pfc_config(*draw(st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 15), st.integers(0, 255)))),
        wire.max_frame_size(draw(st.integers(0, 0xFFFF))), wire.mgmt_addr(draw(st.ip_addresses()).compressed),
    ]
    tlvs += draw(st.permutations(optional))[: draw(st.integers(0, len(optional)))]
    return wire.lldp_frame(src, *tlvs, tags=tags)


@st.composite
def _netlink_frame(draw, big_endian: bool):
    be = {"big_endian": big_endian}
    msgs = b""
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            # bodies of the size tshark expects (shorter ones: tested on their own below)
            msg_type, size = draw(st.sampled_from([(wire.NLMSG_DONE, 4), (wire.RTM_NEWADDR, 8), (18, 16), (2, 20)]))
            msgs += wire.nlmsg(msg_type, draw(st.binary(min_size=size, max_size=size)), **be)
            continue
        msgs += wire.link_msg(
            draw(st.integers(-(2**31), 2**31 - 1)),
            draw(st.integers(0, 2**32 - 1)),
            ifname=draw(st.none() | st.text("abcdefghijklmnopqrstuvwxyz0123456789-.@", min_size=1, max_size=15)),
            address=draw(st.none() | _mac | st.binary(min_size=1, max_size=8)),  # empty: tested below
            operstate=draw(st.none() | st.integers(0, 6)),
            carrier=draw(st.none() | st.integers(0, 1)),
            carrier_changes=draw(st.none() | st.integers(0, 2**32 - 1)),
            carrier_up_count=draw(st.none() | st.integers(0, 2**32 - 1)),
            carrier_down_count=draw(st.none() | st.integers(0, 2**32 - 1)),
            mtu=draw(st.none() | st.integers(68, 65535)),
            msg_type=draw(st.sampled_from([wire.RTM_NEWLINK, wire.RTM_DELLINK])),
            seq=draw(st.integers(0, 2**32 - 1)),
            **be,
        )
    return wire.nlmon_frame(msgs)


_EXAMPLES = int(os.environ.get("FLAPWATCH_HYPOTHESIS_EXAMPLES", "15"))  # more for a deeper local run
_hypothesis = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fresh(path: Path) -> Path:
    """Hypothesis reuses tmp_path: forget the decodes of the previous example."""
    _cache.pop((str(path), "dpkt"), None)
    _cache.pop((str(path), "pyshark"), None)
    return path


@_hypothesis
@given(frames=st.lists(_frame(), min_size=1, max_size=12), nano=st.booleans(), big_endian=st.booleans())
def test_random_frames_backends_agree(tmp_path, frames, nano, big_endian):
    data = cw.pcap_bytes([cw.Record(T0 + i * 997, f) for i, f in enumerate(frames)], nano=nano, big_endian=big_endian)
    a, _ = assert_backends_agree(_fresh(_write(tmp_path, "random.pcap", data)))
    assert a.frames == len(frames) and a.counts["malformed"] == 0


@_hypothesis
@given(data=st.data())
def test_random_pcapng_layout_backends_agree(tmp_path, data):
    """Sections, byte orders, interfaces (named or not, if_tsresol within what tshark
    converts exactly, if_tsoffset), EPB / SPB / ISB / custom blocks in any order."""
    w = cw.PcapngBuilder()
    expected = []  # (ts_ns, port) per frame
    last_ts = 0
    for section in range(data.draw(st.integers(1, 3))):
        w.section(big_endian=data.draw(st.booleans()))
        names = []
        for _ in range(data.draw(st.integers(1, 3))):
            name = data.draw(st.none() | st.sampled_from(["eth0", "eth1", "swp1s0", "ib0"]))
            tsresol = data.draw(st.none() | st.integers(0, 10) | st.integers(0, 33).map(lambda n: 0x80 | n))
            local = w.interface(name=name, tsresol=tsresol, tsoffset=data.draw(st.none() | st.integers(-10**6, 10**6)))
            names.append(name or ("random" if section == 0 and local == 0 else f"random#{local}"))
        for _ in range(data.draw(st.integers(1, 6))):
            block = data.draw(st.sampled_from(["epb", "epb", "epb", "spb", "isb", "custom"]))
            frame = wire.pause_frame(SRC, data.draw(st.integers(0, 0xFFFF)))
            if block == "epb":
                iface = data.draw(st.integers(0, len(names) - 1))
                last_ts = w.packet_at(iface, T0 + data.draw(st.integers(-10**15, 10**15)), frame)
                expected.append((last_ts, names[iface]))
            elif block == "spb":
                w.simple_packet(frame)
                expected.append((last_ts, names[0]))
            elif block == "isb":
                w.stats(0, data.draw(st.integers(0, 2**40)))
            else:
                w.unknown(0x00000BAD, struct.pack("<I", 32473) + data.draw(st.binary(max_size=9)))
    path = _fresh(_write(tmp_path, "random.pcapng", w.getvalue()))
    a, b = assert_backends_agree(path)
    for cap in (a, b):
        assert [(r["ts_ns"], r["port"]) for r in table_rows(cap, "pause", ["ts_ns", "port"])] == expected


@_hypothesis
@given(data=st.data(), big_endian=st.booleans())
def test_random_netlink_backends_agree(tmp_path, data, big_endian):
    frames = data.draw(st.lists(_netlink_frame(big_endian), min_size=1, max_size=6))
    path = _fresh(write_frames(tmp_path, "nlmon.pcap", frames, nano=True, linktype=cw.LINKTYPE_NETLINK))
    a, _ = assert_backends_agree(path)
    assert a.counts["malformed"] == 0
