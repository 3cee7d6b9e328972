"""pcap / pcapng / gzip containers -> frames with exact ns timestamps and file offsets.

dpkt's readers are not used for the walk because they get the pitfalls wrong:
dpkt.pcap.Reader returns float seconds for µs files and gives no record offsets nor
a truncation signal (a short last record is yielded as if whole); dpkt.pcapng.Reader
applies the first IDB's if_tsresol/if_tsoffset to every interface, reads only the first
section's interfaces and does not know Simple Packet Blocks. So pcap headers are parsed
with dpkt's header classes, pcapng with struct, per DECODE_RULES.md; gzip with zlib.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import dpkt

from .common import NS_PER_S, ts_from_units

PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_IDB = 1
PCAPNG_PB = 2  # obsolete Packet Block: still a frame when old files have it
PCAPNG_SPB = 3
PCAPNG_EPB = 6
PCAPNG_BOM = 0x1A2B3C4D


@dataclass
class Frame:
    ts_ns: int
    interface: int  # index into Container.interfaces (IDBs of all sections, in file order)
    data: bytes
    offset: int  # offset of data[0] in the (decompressed) file


@dataclass
class Interface:
    linktype: int
    name: bytes | None  # raw if_name
    section: int = 0  # 0-based section number
    local_id: int = 0  # the interface id within its section


@dataclass
class Container:
    interfaces: list[Interface]
    frames: list[Frame]
    warnings: list[tuple[int, str]]  # (offset in the decompressed file, what ended the read)


def read_container(path: str) -> Container:
    raw, warnings = _read_maybe_gzip(path)
    if len(raw) >= 4 and struct.unpack_from("<I", raw)[0] == PCAPNG_SHB:
        result = _read_pcapng(raw)
    else:
        result = _read_pcap(raw)
    result.warnings.extend(warnings)  # after any truncated record it caused
    return result


def _read_maybe_gzip(path: str) -> tuple[bytes, list[tuple[int, str]]]:
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.startswith(b"\x1f\x8b"):
        return raw, []
    # zlib rather than gzip.GzipFile: GzipFile.read() raises on a cut stream and drops
    # what it decompressed, and the rule is to keep everything before the damage.
    out = bytearray()
    while raw:
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member
        try:
            out += d.decompress(raw)
        except zlib.error as exc:
            return bytes(out), [(len(out), f"gzip stream is corrupt: {exc}")]
        if not d.eof:
            return bytes(out), [(len(out), "gzip stream ends early")]
        raw = d.unused_data  # concatenated members (gzip -c a b > c) continue the file
    return bytes(out), []


# ------------------------------------------------------------------------- pcap


def _read_pcap(raw: bytes) -> Container:
    if len(raw) < 24:
        raise ValueError("not a pcap or pcapng file (shorter than a pcap header)")
    be_magic = struct.unpack_from(">I", raw)[0]  # the magic read big-endian tells the byte order
    little = be_magic in (dpkt.pcap.PMUDPCT_MAGIC, dpkt.pcap.PMUDPCT_MAGIC_NANO)
    if not little and be_magic not in (dpkt.pcap.TCPDUMP_MAGIC, dpkt.pcap.TCPDUMP_MAGIC_NANO):
        raise ValueError(f"not a pcap or pcapng file (magic {raw[:4].hex()})")
    fh = (dpkt.pcap.LEFileHdr if little else dpkt.pcap.FileHdr)(raw[:24])
    nano = be_magic in (dpkt.pcap.TCPDUMP_MAGIC_NANO, dpkt.pcap.PMUDPCT_MAGIC_NANO)
    pkt_hdr = dpkt.pcap.MAGIC_TO_PKT_HDR[be_magic]
    frac_ns = 1 if nano else 1000
    frames, warnings = [], []
    off = 24
    while off < len(raw):
        if len(raw) - off < 16:
            warnings.append((off, f"truncated record header ({len(raw) - off} of 16 bytes)"))
            break
        hdr = pkt_hdr(raw[off : off + 16])
        start = off + 16
        if start + hdr.caplen > len(raw):
            warnings.append((off, f"truncated record: caplen {hdr.caplen}, {len(raw) - start} bytes left"))
            break
        frames.append(Frame(hdr.tv_sec * NS_PER_S + hdr.tv_usec * frac_ns, 0, raw[start : start + hdr.caplen], start))
        off = start + hdr.caplen
    # The linktype field's top bits carry FCS information (LT_LINKTYPE = low 26 bits, as
    # libpcap and wiretap mask it); a tcpdump test file sets them.
    return Container([Interface(fh.linktype & 0x03FFFFFF, None)], frames, warnings)


# ----------------------------------------------------------------------- pcapng


@dataclass
class _IfaceState:
    index: int  # file-global
    tsresol: int = 6
    tsoffset: int = 0


def _options(body: bytes, start: int, e: str):
    """Yield (code, value) for the options from ``start`` to the end of ``body``."""
    pos = start
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(e + "HH", body, pos)
        if code == 0:
            return
        value = body[pos + 4 : pos + 4 + length]
        if len(value) < length:
            return
        yield code, value
        pos += 4 + ((length + 3) & ~3)


def _read_pcapng(raw: bytes) -> Container:
    interfaces: list[Interface] = []
    section: list[_IfaceState] = []
    frames: list[Frame] = []
    warnings: list[tuple[int, str]] = []
    e = "<"
    n_sections = 0
    last_ts = 0
    off = 0
    while off < len(raw):
        if len(raw) - off < 12:
            warnings.append((off, "truncated block header"))
            break
        btype = struct.unpack_from(e + "I", raw, off)[0]
        if btype == PCAPNG_SHB:  # palindromic type; the BOM gives this section's byte order
            bom = raw[off + 8 : off + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                e = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                e = ">"
            else:
                warnings.append((off, "bad section byte-order magic"))
                break
            section = []
            n_sections += 1
        total = struct.unpack_from(e + "I", raw, off + 4)[0]
        if total < 12 or total % 4 or off + total > len(raw):
            warnings.append((off, f"truncated or corrupt block (type {btype:#x}, length {total})"))
            break
        body = raw[off + 8 : off + total - 4]
        body_off = off + 8
        if btype == PCAPNG_IDB:
            linktype = struct.unpack_from(e + "H", body)[0]
            state = _IfaceState(len(interfaces))
            name = None
            for code, value in _options(body, 8, e):
                if code == 2:
                    name = value
                elif code == 9 and value:
                    state.tsresol = value[0]
                elif code == 14 and len(value) == 8:
                    state.tsoffset = struct.unpack(e + "q", value)[0]
            interfaces.append(Interface(linktype, name, n_sections - 1, len(section)))
            section.append(state)
        elif btype in (PCAPNG_EPB, PCAPNG_PB):
            if btype == PCAPNG_EPB:
                iface, hi, lo, caplen = struct.unpack_from(e + "IIII", body)
            else:
                iface, _drops, hi, lo, caplen = struct.unpack_from(e + "HHIII", body)
            if iface >= len(section) or 20 + caplen > len(body):
                warnings.append((off, f"corrupt packet block (interface {iface}, caplen {caplen})"))
                break
            st = section[iface]
            last_ts = ts_from_units((hi << 32) | lo, st.tsresol, st.tsoffset)
            frames.append(Frame(last_ts, st.index, body[20 : 20 + caplen], body_off + 20))
        elif btype == PCAPNG_SPB:
            if not section:
                warnings.append((off, "simple packet block before any interface"))
                break
            origlen = struct.unpack_from(e + "I", body)[0]
            caplen = min(origlen, len(body) - 4)  # the block is padded: origlen bounds the data
            frames.append(Frame(last_ts, section[0].index, body[4 : 4 + caplen], body_off + 4))
        # every other block (SHB done above, ISB, NRB, DSB, custom, unknown) is skipped by length
        off += total
    return Container(interfaces, frames, warnings)
