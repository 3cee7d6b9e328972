"""Bad input: every error names the file offset and the reason; truncation keeps what
came before; random mutations give only records, warnings or CaptureError."""

from __future__ import annotations

import gzip
import random
import struct
import warnings

import pytest

import capture_writers as cw
from flapwatch import wire
import flapwatch
from flapwatch import CaptureError, CaptureWarning

SRC = "02:00:00:00:00:07"
T0 = 1_700_000_000_000_000_000


def _write(tmp_path, data: bytes, name: str = "bad.pcap"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _good_pcap(n: int = 3) -> bytes:
    return cw.pcap_bytes([(T0 + i, wire.pfc_frame(SRC, 1, [i] + [0] * 7)) for i in range(n)])


def _raises(path, offset: int, reason: str, **kw) -> CaptureError:
    with pytest.raises(CaptureError) as info:
        flapwatch.read_capture(path, **kw)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.offset == offset and reason in err.reason, (err.offset, err.reason)
    assert str(path) in str(err) and f"offset {offset}" in str(err)
    return err


def test_wrong_magic(tmp_path):
    _raises(_write(tmp_path, b"GIF89a" + b"\0" * 40), 0, "not a pcap or pcapng file")


def test_empty_and_truncated_file_header(tmp_path):
    _raises(_write(tmp_path, b""), 0, "empty file")
    _raises(_write(tmp_path, _good_pcap()[:10]), 0, "truncated pcap file header")


def test_missing_file_is_file_not_found(tmp_path):
    """As open() says it, in every entry point (issue 17: it was a CaptureError)."""
    for call in (flapwatch.read_capture, flapwatch.analyze, lambda p: list(flapwatch.iter_capture(p))):
        with pytest.raises(FileNotFoundError) as e:
            call(tmp_path / "nope.pcap")
        assert e.value.filename == str(tmp_path / "nope.pcap")
    with pytest.raises(IsADirectoryError):
        flapwatch.read_capture(tmp_path)


def test_truncated_last_record_warns_and_keeps_the_rest(tmp_path):
    data = _good_pcap(3)
    path = _write(tmp_path, data[:-5])
    last_record = len(data) - (16 + len(wire.pfc_frame(SRC, 1, [0] * 8)))
    with pytest.warns(CaptureWarning, match=f"offset {last_record}: record of .* runs past the end"):
        cap = flapwatch.read_capture(path)
    assert cap.counts["pfc"] == 2 and cap.pfc["quanta_0"].tolist() == [0, 1]
    assert len(cap.warnings) == 1
    _raises(path, last_record, "runs past the end of the file", strict=True)


def test_truncated_record_header(tmp_path):
    data = _good_pcap(1) + b"\x01\x02\x03"
    with pytest.warns(CaptureWarning, match="truncated record header"):
        cap = flapwatch.read_capture(_write(tmp_path, data))
    assert cap.frames == 1


def test_absurd_caplen(tmp_path):
    data = cw.pcap_bytes([cw.Record(T0, b"\0" * 64, caplen=0x7FFFFFF0)])
    _raises(_write(tmp_path, data), 24 + 8, "absurd caplen")


def test_pcapng_block_lengths_disagree(tmp_path):
    w = cw.PcapngBuilder().section()
    w.interface()
    good = w.getvalue()
    w.packet(0, 0, wire.pause_frame(SRC, 1))
    data = bytearray(w.getvalue())
    data[-4:] = struct.pack("<I", 999)  # the trailing copy of the length
    _raises(_write(tmp_path, bytes(data), "b.pcapng"), len(data) - 4, "block lengths disagree")
    # a length that is not a multiple of 4
    data = bytearray(w.getvalue())
    data[len(good) + 4:len(good) + 8] = struct.pack("<I", 33)
    _raises(_write(tmp_path, bytes(data), "c.pcapng"), len(good) + 4, "invalid block length")


def test_pcapng_packet_for_undefined_interface(tmp_path):
    w = cw.PcapngBuilder().section()
    w.interface()
    start = len(w.getvalue())
    w.packet(5, 0, wire.pause_frame(SRC, 1))
    _raises(_write(tmp_path, w.getvalue(), "d.pcapng"), start + 8, "names interface 5")


def test_malformed_lldp_is_counted_and_strict_raises(tmp_path):
    # Port ID TLV claims 40 bytes; only 5 follow.
    bad = wire.lldp_frame(SRC, wire.chassis_id(4, SRC), wire.tlv(2, b"\x05eth0", length=40), end=False)
    good = wire.lldp_frame(SRC, wire.chassis_id(4, SRC), wire.port_id(5, "eth0"), wire.ttl(120))
    path = _write(tmp_path, cw.pcap_bytes([(T0, good), (T0 + 1, bad)]))
    cap = flapwatch.read_capture(path)
    assert cap.counts == {"pfc": 0, "pause": 0, "lldp": 1, "link": 0, "other": 0, "malformed": 1}
    bad_tlv = 24 + 16 + len(good) + 16 + 14 + len(wire.chassis_id(4, SRC))
    assert cap.malformed["offset"].tolist() == [bad_tlv]
    assert cap.malformed["frame"].tolist() == [1]
    assert cap.malformed.text("reason") == ["LLDP TLV runs past the end of the frame"]
    _raises(path, bad_tlv, "frame 1: LLDP TLV runs past the end", strict=True)


def test_malformed_netlink_attribute(tmp_path):
    msg = wire.nlmsg(wire.RTM_NEWLINK, wire.ifinfomsg(2, 1) + wire.rtattr(wire.IFLA_CARRIER_CHANGES, b"\1\0"))
    path = _write(tmp_path, cw.pcap_bytes([(T0, wire.nlmon_frame(msg))], linktype=cw.LINKTYPE_NETLINK))
    cap = flapwatch.read_capture(path)
    assert cap.counts["malformed"] == 1 and cap.link.rows == 0
    attr = 24 + 16 + 16 + 16 + 16
    _raises(path, attr, "IFLA_CARRIER_* counter attribute too short", strict=True)
    # nlmsg_len pointing past the frame in both byte orders
    msg = wire.nlmsg(wire.RTM_NEWLINK, wire.ifinfomsg(2, 1), length=0x7000)
    path = _write(tmp_path, cw.pcap_bytes([(T0, wire.nlmon_frame(msg))], linktype=cw.LINKTYPE_NETLINK), "n2.pcap")
    _raises(path, 24 + 16 + 16, "fits neither byte order", strict=True)


def test_gzip_truncated_and_corrupt(tmp_path):
    packed = gzip.compress(_good_pcap(200))
    with pytest.warns(CaptureWarning, match="gzip stream truncated|runs past the end|truncated record"):
        cap = flapwatch.read_capture(_write(tmp_path, packed[: len(packed) // 2], "t.pcap.gz"))
    assert 0 < cap.frames < 200
    corrupt = bytearray(packed)
    corrupt[len(corrupt) // 2:] = bytes(len(corrupt) - len(corrupt) // 2)
    with pytest.raises(CaptureError, match="corrupt gzip stream|runs past"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flapwatch.read_capture(_write(tmp_path, bytes(corrupt), "c.pcap.gz"), strict=True)


def _seed_captures() -> list[bytes]:
    w = cw.PcapngBuilder().section()
    i = w.interface(name="swp1", tsresol=9)
    n = w.interface(linktype=cw.LINKTYPE_NETLINK, name="nlmon0")
    w.packet_at(i, T0, wire.pfc_frame(SRC, 0xFF, list(range(8)), tags=[wire.vlan_tag(3)]))
    w.packet_at(i, T0 + 1, wire.lldp_frame(SRC, wire.chassis_id(4, SRC), wire.port_id(5, "e1"), wire.ttl(120),
                                          wire.system_name("leaf"), wire.mgmt_addr("10.1.1.1"), wire.mac_phy(16)))
    w.packet_at(n, T0 + 2, wire.nlmon_frame(wire.link_msg(2, 1, ifname="e1", carrier=1, carrier_changes=4)))
    w.simple_packet(wire.pause_frame(SRC, 9))
    return [w.getvalue(), _good_pcap(4)]


def test_random_mutations_give_records_warnings_or_errors(tmp_path):
    rng = random.Random(20261128)
    seeds = _seed_captures()
    outcomes = {"ok": 0, "warning": 0, "error": 0}
    for k in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.6:
                data[pos] = rng.randrange(256)
            elif op < 0.8:
                del data[pos:pos + rng.randint(1, 16)]
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        path = _write(tmp_path, bytes(data), f"m{k % 7}.pcapng")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                cap = flapwatch.read_capture(path)
            except CaptureError as e:
                assert e.reason and 0 <= e.offset <= len(data)
                outcomes["error"] += 1
                continue
        tables = cap.tables
        # every frame is in exactly one kind, and rows agree with the counts
        assert cap.frames == sum(cap.counts.values())
        for kind in ("pfc", "pause", "lldp", "malformed"):
            assert tables[kind].rows == cap.counts[kind]
        assert len(set(tables["link"]["frame"].tolist())) == cap.counts["link"]
        assert all(issubclass(w.category, CaptureWarning) for w in caught)
        outcomes["warning" if caught else "ok"] += 1
    assert min(outcomes.values()) > 50, outcomes  # the mutations reached every outcome
