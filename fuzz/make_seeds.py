#!/usr/bin/env python3
"""Cut seed corpora for the fuzz targets from the project's captures.

Sources: captures/ (the lab captures made by real tools), ../shared/captures-public/
(third-party samples, some deliberately malformed), and small synthetic captures from
tests/support/capture_writers.py and flapwatch.wire (ns magic, big-endian, several pcapng sections, if_tsresol,
SPB/ISB/unknown blocks, SLL/SLL2, netlink in both byte orders) and from the core's own
PcapngWriter when the extension is importable.

Reader targets get whole files (fuzz_pcap: pcap, fuzz_pcapng: pcapng, fuzz_engine and fuzz_ranges: both,
fuzz_gzip: a mode
byte + the gzip-compressed file, or + the plain file, see fuzz_gzip.cpp); the big lab
captures are also cut to their first records, so the fuzzer has small, fast inputs.
Decoder targets get individual frame payloads: fuzz_mac_control the bytes after
ethertype 0x8808, fuzz_lldp after 0x88cc, fuzz_netlink whole LINKTYPE_NETLINK frames,
fuzz_dispatch a 2-byte link type + the frame.

    python3 fuzz/make_seeds.py [--out build/fuzz/seeds]

Files are named by the SHA-1 of their contents (duplicates collapse). The standard
library only (the frame walk below is independent of the C++ reader on purpose).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import shutil
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))

TARGETS = (
    "fuzz_pcap", "fuzz_pcapng", "fuzz_gzip", "fuzz_mac_control", "fuzz_lldp", "fuzz_netlink", "fuzz_dispatch", "fuzz_engine",
    "fuzz_ranges",
)
# fuzz_dispatch's link-type selector: 0..3 stand for these (see fuzz_dispatch.cpp).
DISPATCH_LINKTYPE = {1: 0, 113: 1, 276: 2, 253: 3}
MAX_DECODER_SEEDS = 400  # per target: plenty of variety, still a quick first pass


def capture_sources() -> list[Path]:
    dirs = [ROOT / "captures", ROOT.parent / "shared" / "captures-public"]
    files: list[Path] = []
    for d in dirs:
        if d.is_dir():
            files += sorted(p for p in d.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file())
    return files


def counter_blocks() -> list[bytes]:
    """The custom data (from the PEN on, little-endian) of a counter sample ("FWcs") and of a
    link event ("FWle"), as cpp/include/flapwatch/io/counter_block.hpp lays them out."""
    def name(n: bytes) -> bytes:
        return n + b"\0" * (-len(n) % 4)

    ts = 1_700_000_000_000_000_000
    sample = struct.pack("<I4sHHqqqIHH", 32473, b"FWcs", 1, 0, ts, 20_000, 1_000_000_000, 7, 2, 4) + name(b"eth0")
    sample += struct.pack("<BbbBB3xQ", 1, 0, 3, 0, 64, 12345) + struct.pack("<BbbBB3xQ", 2, 1, -1, 1, 32, 2**32 - 5)
    event = struct.pack("<I4sHHqqqqiHH", 32473, b"FWle", 1, 1, ts, 4, 2, 2, 3, 4, 0) + name(b"swp1")
    return [sample, event]


# ------------------------------------------------------------------ frame walk


def frames(data: bytes) -> tuple[str, list[tuple[int, int, int]]]:
    """(format, [(linktype, start, end)]) of every frame; stops quietly at damage.
    Also returns record boundaries as the third element's end for cutting prefixes."""
    if len(data) < 4:
        return "?", []
    magic = data[:4]
    out: list[tuple[int, int, int]] = []
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        if len(data) < 24:
            return "pcap", []
        linktype = struct.unpack_from(e + "I", data, 20)[0] & 0xFFFF
        pos = 24
        while pos + 16 <= len(data):
            caplen = struct.unpack_from(e + "I", data, pos + 8)[0]
            if pos + 16 + caplen > len(data):
                break
            out.append((linktype, pos + 16, pos + 16 + caplen))
            pos += 16 + caplen
        return "pcap", out
    if magic == b"\x0a\x0d\x0d\x0a":
        pos, e, ifaces = 0, "<", []
        while pos + 12 <= len(data):
            if data[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
                e = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                ifaces = []
            btype, blen = struct.unpack_from(e + "II", data, pos)
            if blen < 12 or pos + blen > len(data):
                break
            if btype == 1 and blen >= 20:
                ifaces.append(struct.unpack_from(e + "H", data, pos + 8)[0])
            elif btype == 6 and blen >= 32:
                iface, caplen = struct.unpack_from(e + "I", data, pos + 8)[0], struct.unpack_from(e + "I", data, pos + 20)[0]
                if iface < len(ifaces) and caplen <= blen - 32:
                    out.append((ifaces[iface], pos + 28, pos + 28 + caplen))
            elif btype == 3 and blen >= 16 and ifaces:
                origlen = struct.unpack_from(e + "I", data, pos + 8)[0]
                out.append((ifaces[0], pos + 12, pos + 12 + min(origlen, blen - 16)))
            pos += blen
        return "pcapng", out
    return "?", []


def l2_payload(linktype: int, frame: bytes) -> tuple[int, bytes] | None:
    """(ethertype, payload after it and any VLAN tags), as DECODE_RULES describe."""
    if linktype == 1 and len(frame) >= 14:
        pos, et = 14, struct.unpack_from(">H", frame, 12)[0]
    elif linktype == 113 and len(frame) >= 16:
        pos, et = 16, struct.unpack_from(">H", frame, 14)[0]
    elif linktype == 276 and len(frame) >= 20:
        pos, et = 20, struct.unpack_from(">H", frame, 0)[0]
    else:
        return None
    while et in (0x8100, 0x88A8, 0x9100):
        if len(frame) < pos + 4:
            return None
        et = struct.unpack_from(">H", frame, pos + 2)[0]
        pos += 4
    return et, frame[pos:]


def pcap_prefix(data: bytes, records: int) -> bytes:
    """The pcap file header and its first `records` records."""
    fmt, fr = frames(data)
    if fmt != "pcap" or len(fr) <= records:
        return data
    return data[: fr[records - 1][2]]


def pcapng_prefix(data: bytes, blocks: int) -> bytes:
    pos, e, n = 0, "<", 0
    while pos + 12 <= len(data) and n < blocks:
        if data[pos:pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(e + "I", data, pos + 4)[0]
        if blen < 12 or pos + blen > len(data):
            break
        pos += blen
        n += 1
    return data[:pos]


# ------------------------------------------------------------ synthetic inputs


def synthetic_captures() -> list[tuple[str, bytes]]:
    """Small captures of every shape DESIGN.md lists: containers from tests/support/capture_writers.py,
    frames from flapwatch.wire."""
    import capture_writers as cw
    from flapwatch import wire

    src = "02:00:00:00:00:07"
    t0 = 1_700_000_000_123_456_789
    lldp = wire.lldp_frame(
        src, wire.chassis_id(4, src), wire.port_id(5, "swp1"), wire.ttl(120), wire.port_desc("to gpu7"),
        wire.system_name("leaf1"), wire.system_desc("SONiC"), wire.capabilities(0x14, 0x14), wire.mgmt_addr("10.0.0.1"),
        wire.port_vlan(100), wire.pfc_config(1, 0, 8, 0x18), wire.mac_phy(77), wire.max_frame_size(9216),
    )
    lldp6 = wire.lldp_frame(src, wire.chassis_id(5, "fe80::1"), wire.port_id(4, "10.1.1.1"), wire.ttl(0),
                          wire.mgmt_addr("2001:db8::7"))
    eth = [
        wire.pfc_frame(src, 0xFF, [0xFFFF, 0, 1, 2, 3, 4, 5, 6]),
        wire.pfc_frame(src, 0x08, [0, 0, 0, 0xFFFF, 0, 0, 0, 0], tags=[wire.vlan_tag(3), wire.vlan_tag(5, wire.TPID_8021AD)]),
        wire.pause_frame(src, 0xFFFF),
        wire.pause_frame(src, 0, tags=[wire.vlan_tag(7, wire.TPID_QINQ_OLD)]),
        lldp,
        lldp6,
    ]
    nl = [
        wire.nlmon_frame(wire.link_msg(2, 0x11043, ifname="swp1", address="02:00:00:00:00:01", operstate=6, carrier=1,
                                      carrier_changes=4, carrier_up_count=2, carrier_down_count=2)),
        wire.nlmon_frame(wire.link_msg(3, 0x1003, ifname="ens1f0np0", operstate=2, carrier=0, big_endian=True,
                                      msg_type=wire.RTM_DELLINK)
                          + wire.link_msg(4, 0x1, carrier_changes=9, big_endian=True)),
        wire.nlmon_frame(wire.nlmsg(wire.NLMSG_DONE, b"\0" * 4)),
    ]
    out: list[tuple[str, bytes]] = []
    for nano in (False, True):
        for be in (False, True):
            recs = [(t0 + 1000 * i, f) for i, f in enumerate(eth)]
            out.append(("pcap", cw.pcap_bytes(recs, nano=nano, big_endian=be)))
    out.append(("pcap", cw.pcap_bytes([(t0, f) for f in nl], linktype=cw.LINKTYPE_NETLINK)))
    sll = [wire.sll(wire.ETH_MAC_CONTROL, wire.pfc(1, [5] * 8)), wire.sll(wire.ETH_LLDP, wire.lldpdu(
        wire.chassis_id(7, "c"), wire.port_id(7, "p"), wire.ttl(5)), tags=[wire.vlan_tag(9)])]
    out.append(("pcap", cw.pcap_bytes([(t0, f) for f in sll], linktype=cw.LINKTYPE_LINUX_SLL)))
    sll2 = [wire.sll2(wire.ETH_MAC_CONTROL, wire.pause(3)), wire.sll2(wire.ETH_LLDP, wire.lldpdu(
        wire.chassis_id(4, src), wire.port_id(3, src), wire.ttl(120)), halen=0)]
    out.append(("pcap", cw.pcap_bytes([(t0, f) for f in sll2], linktype=cw.LINKTYPE_LINUX_SLL2)))
    out.append(("pcap", cw.pcap_bytes([cw.Record(t0, eth[0], origlen=1500)], snaplen=64)))

    w = cw.PcapngBuilder().section()
    a = w.interface(name="swp1", tsresol=9)
    b = w.interface(linktype=cw.LINKTYPE_NETLINK, name="nlmon0", tsresol=0x80 | 20, tsoffset=3)
    c = w.interface(tsresol=3)  # no name: "{stem}#2"
    for i, f in enumerate(eth):
        w.packet_at(a, t0 + i, f)
    for f in nl:
        w.packet_at(b, t0 + 99, f)
    w.packet_at(c, t0, eth[2])
    w.simple_packet(eth[0])
    w.stats(a, 5, received=10, dropped=1)
    w.unknown()
    w.section(big_endian=True)
    d = w.interface(name="swp2")
    w.packet_at(d, t0 + 5, eth[4])
    w.simple_packet(eth[3], origlen=200)
    out.append(("pcapng", w.getvalue()))
    w = cw.PcapngBuilder().section(big_endian=True)
    e = w.interface(linktype=cw.LINKTYPE_LINUX_SLL2, tsresol=0x80 | 32)
    w.packet_at(e, t0, sll2[0])
    w.packet(e, 1 << 40, sll2[1], flags=1)
    out.append(("pcapng", w.getvalue()))
    try:  # the project's own writer, when the extension is built
        from flapwatch.sources.pcapng import LINKTYPE_NETLINK, PcapngWriter

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "own.pcapng"
            with PcapngWriter(path) as ow:
                i = ow.add_interface("swp1")
                j = ow.add_interface("nlmon0", LINKTYPE_NETLINK)
                for k, f in enumerate(eth):
                    ow.write(i, t0 + k, f)
                ow.write(j, t0 + 10, nl[0])
            out.append(("pcapng", path.read_bytes()))
    except ImportError:
        pass
    return out


# ------------------------------------------------------------------------ main


class Corpus:
    def __init__(self, root: Path):
        self.root = root
        self.counts: dict[str, int] = {}

    def add(self, target: str, data: bytes) -> None:
        d = self.root / target
        d.mkdir(parents=True, exist_ok=True)
        name = d / hashlib.sha1(data).hexdigest()
        if not name.exists():
            if target not in ("fuzz_pcap", "fuzz_pcapng", "fuzz_gzip", "fuzz_engine", "fuzz_ranges") and self.counts.get(target, 0) >= MAX_DECODER_SEEDS:
                return
            name.write_bytes(data)
            self.counts[target] = self.counts.get(target, 0) + 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz" / "seeds")
    args = ap.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    corpus = Corpus(args.out)

    files: list[tuple[str, bytes]] = []
    for path in capture_sources():
        data = path.read_bytes()
        fmt, _ = frames(data)
        if fmt in ("pcap", "pcapng"):
            files.append((fmt, data))
    synthetic = synthetic_captures()

    # Reader targets: whole files, and short prefixes of the big ones.
    for fmt, data in files + synthetic:
        target = "fuzz_pcap" if fmt == "pcap" else "fuzz_pcapng"
        for t in (target, "fuzz_engine", "fuzz_ranges"):
            corpus.add(t, data)
            if len(data) > 4096:
                for n in (2, 8, 32, 128):
                    corpus.add(t, pcap_prefix(data, n) if fmt == "pcap" else pcapng_prefix(data, n + 2))
        small = data if len(data) <= 16384 else (pcap_prefix(data, 16) if fmt == "pcap" else pcapng_prefix(data, 18))
        corpus.add("fuzz_gzip", b"\x00" + gzip.compress(small, compresslevel=6, mtime=0))
        corpus.add("fuzz_gzip", b"\x01" + small)
    # a cut stream and two concatenated members
    one = synthetic[0][1]
    packed = gzip.compress(one, mtime=0)
    corpus.add("fuzz_gzip", b"\x00" + packed[: len(packed) // 2])
    corpus.add("fuzz_gzip", b"\x00" + gzip.compress(one[:40], mtime=0) + gzip.compress(one[40:], mtime=0))

    # fuzz_dispatch on a counter block (link type 0xfc5a, io/counter_block.hpp): a sample of
    # two values and a pushed link event, so every run starts inside that path too.
    for block in counter_blocks():
        corpus.add("fuzz_dispatch", struct.pack(">H", 0xFC5A) + block)

    # Decoder targets: the frames inside every capture.
    for _fmt, data in synthetic + files:
        for linktype, start, end in frames(data)[1]:
            frame = data[start:end]
            if linktype in DISPATCH_LINKTYPE:
                corpus.add("fuzz_dispatch", struct.pack(">H", DISPATCH_LINKTYPE[linktype]) + frame)
            if linktype == 253:
                corpus.add("fuzz_netlink", frame)
                continue
            l2 = l2_payload(linktype, frame)
            if l2 is None:
                continue
            ethertype, payload = l2
            if ethertype == 0x8808:
                corpus.add("fuzz_mac_control", payload)
            elif ethertype == 0x88CC:
                corpus.add("fuzz_lldp", payload)

    for t in TARGETS:
        n = corpus.counts.get(t, 0)
        print(f"{t:18} {n:4} seeds in {args.out / t}")
        if n == 0:
            print(f"make_seeds: no seeds for {t}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
