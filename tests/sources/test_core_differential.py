"""The C++ core against the oracles: tshark's dissectors (the pyshark backend) and the
pure-Python rules (the dpkt backend), table by table, row by row, every PFC, PAUSE, LLDP
and link field and every timestamp to the ns: on every real capture (captures/ and
the public ones) and on generated ones (pcap µs/ns in both byte orders, multi-section
pcapng with mixed if_tsresol, SLL/SLL2, stacked tags, every LLDP TLV, netlink in
both byte orders)."""

from __future__ import annotations

import gzip

import pytest

import capture_writers as cw
from flapwatch import wire
import flapwatch
import test_reference_backends as refs
from conftest import CAPTURES, require_tools
from table_compare import assert_tables_equal, without_frames

pytestmark = [pytest.mark.tools]

OWN_CAPTURES = sorted(p.name for p in CAPTURES.glob("*.pcap*"))


def core(path):
    return flapwatch.read_capture(path)


def check_against_oracles(path, *, diverging: set[int] = frozenset()):
    c = core(path)
    assert c.frames == sum(c.counts.values())
    rules = refs.decode(path, "dpkt")
    # the rules: everything, malformed offsets included (reason wording differs)
    assert_tables_equal(c, rules, ignore_columns={"reason"}, labels=("core", "rules"))
    tshark = refs.decode(path, "pyshark")
    # tshark: everything but the frames where tshark 4.0 stops early (documented in pyshark_backend)
    assert_tables_equal(without_frames(c, diverging), without_frames(tshark, diverging), ignore_columns={"reason"},
                        counts=not diverging, labels=("core", "tshark"))
    return c


def test_tshark_present():
    require_tools("tshark")


@pytest.mark.parametrize("name", refs.PUBLIC_CAPTURES)
def test_public_captures(name):
    check_against_oracles(refs.PUBLIC / name)


@pytest.mark.parametrize("name", OWN_CAPTURES)
def test_own_captures_made_by_real_tools(name):
    c = check_against_oracles(CAPTURES / name)
    assert c.frames > 0


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_variants(tmp_path, nano, big_endian):
    path = refs.write_frames(tmp_path, "mixed.pcap", refs.mixed_frames(), step_ns=1_234_567, nano=nano,
                             big_endian=big_endian)
    check_against_oracles(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_multi_section_pcapng(tmp_path, compressed):
    data, _ = refs.build_multi_section_pcapng()
    path = tmp_path / ("multi.pcapng.gz" if compressed else "multi.pcapng")
    path.write_bytes(gzip.compress(data) if compressed else data)
    check_against_oracles(path)


@pytest.mark.parametrize("linktype", [cw.LINKTYPE_LINUX_SLL, cw.LINKTYPE_LINUX_SLL2])
def test_cooked_and_qinq(tmp_path, linktype):
    tags = [wire.vlan_tag(100, wire.TPID_8021AD), wire.vlan_tag(7)]
    build = wire.sll if linktype == cw.LINKTYPE_LINUX_SLL else wire.sll2
    frames = [build(wire.ETH_MAC_CONTROL, wire.pfc(0xA5, [1, 2, 3, 4, 5, 6, 7, 8]), tags=tags),
              build(wire.ETH_MAC_CONTROL, wire.pause(300)), build(wire.ETH_LLDP, wire.lldpdu(wire.chassis_id(4, refs.SRC), wire.port_id(5, "swp1"),
                                                               wire.ttl(120)))]
    check_against_oracles(refs.write_frames(tmp_path, "cooked.pcap", frames, linktype=linktype))
    qinq = [wire.pfc_frame(refs.SRC, 0xFF, [9] * 8, tags=tags), wire.pause_frame(refs.SRC, 7, tags=[wire.vlan_tag(5, 0x9100)])]
    check_against_oracles(refs.write_frames(tmp_path, "qinq.pcap", qinq))


def test_lldp_every_tlv(tmp_path):
    check_against_oracles(refs.write_frames(tmp_path, "lldp.pcap", refs.lldp_all_tlvs_frames()))


@pytest.mark.parametrize("big_endian", [False, True])
def test_netlink_byte_orders(tmp_path, big_endian):
    frames = refs.netlink_frames(big_endian)
    check_against_oracles(refs.write_frames(tmp_path, "nl.pcap", frames, linktype=cw.LINKTYPE_NETLINK))


def test_rules_edges(tmp_path):
    frames, diverging = refs.rules_edge_frames()
    check_against_oracles(refs.write_frames(tmp_path, "edges.pcap", frames), diverging=diverging)
