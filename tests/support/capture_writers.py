"""Capture containers crafted byte by byte, for tests of the readers and for bad input.

pcap and pcapng files with every option real files have, and the awkward cases: ns magic,
big-endian files, several pcapng sections, per-interface if_tsresol and if_tsoffset, Simple
Packet Blocks, statistics and unknown blocks, lying lengths, truncated trailing blocks. The
frames inside come from flapwatch.wire (the one set of frame builders); pcapng as flapwatch
writes it is flapwatch.sources.pcapng.PcapngWriter. No dependency beyond the standard library
and flapwatch's pure-Python modules.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from flapwatch.sources.pcapng import LINKTYPE_ETHERNET, LINKTYPE_NETLINK  # noqa: F401  (container arguments)
from flapwatch.wire import LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2  # noqa: F401


# --------------------------------------------------------------------------- pcap


@dataclass
class Record:
    """One pcap record. ``caplen`` overrides the header field (to write lying or
    truncated records); by default it is len(data). ``origlen`` defaults to caplen."""

    ts_ns: int
    data: bytes
    origlen: int | None = None
    caplen: int | None = None


def pcap_bytes(
    records: list[Record] | list[tuple[int, bytes]],
    *,
    linktype: int = LINKTYPE_ETHERNET,
    nano: bool = False,
    big_endian: bool = False,
    snaplen: int = 262144,
) -> bytes:
    """A whole pcap file. With µs magic the timestamp is floored to the microsecond."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for rec in records:
        if not isinstance(rec, Record):
            rec = Record(*rec)
        sec, rem = divmod(rec.ts_ns, 1_000_000_000)
        frac = rem if nano else rem // 1000
        caplen = len(rec.data) if rec.caplen is None else rec.caplen
        origlen = caplen if rec.origlen is None else rec.origlen
        out += struct.pack(e + "IIII", sec, frac, caplen, origlen)
        out += rec.data
    return bytes(out)


def pcap_ts_ns(ts_ns: int, nano: bool) -> int:
    """What a reader must report for ``ts_ns`` written by pcap_bytes."""
    return ts_ns if nano else ts_ns // 1000 * 1000


# ------------------------------------------------------------------------- pcapng


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


class PcapngBuilder:
    """Craft a pcapng file block by block (any option, any byte order, odd blocks).

    ``section()`` starts a section (SHB) in either byte order; ``interface()`` adds an
    IDB to the current section and returns its section-local id; ``packet()`` writes an
    EPB whose timestamp is given in the interface's own units (see ``units_for``).
    """

    def __init__(self) -> None:
        self._out = bytearray()
        self._e = "<"
        self._ifaces: list[tuple[int | None, int]] = []  # per section: (tsresol, tsoffset)

    # -- blocks
    def _block(self, btype: int, body: bytes) -> None:
        body = _pad4(body)
        total = len(body) + 12
        self._out += struct.pack(self._e + "II", btype, total) + body + struct.pack(self._e + "I", total)

    def _options(self, opts: list[tuple[int, bytes]]) -> bytes:
        if not opts:
            return b""
        out = bytearray()
        for code, value in opts:
            out += struct.pack(self._e + "HH", code, len(value)) + _pad4(value)
        out += struct.pack(self._e + "HH", 0, 0)  # opt_endofopt
        return bytes(out)

    def section(self, big_endian: bool = False, section_length: int = -1, options: list | None = None) -> "PcapngBuilder":
        self._e = ">" if big_endian else "<"
        self._ifaces = []
        body = struct.pack(self._e + "IHHq", 0x1A2B3C4D, 1, 0, section_length)
        self._block(0x0A0D0D0A, body + self._options(options or [(4, b"capture_writers")]))
        return self

    def interface(
        self,
        linktype: int = LINKTYPE_ETHERNET,
        name: str | None = None,
        tsresol: int | None = None,
        tsoffset: int | None = None,
        snaplen: int = 0,
        description: str | None = None,
    ) -> int:
        """``tsresol`` is the raw option byte: n -> 10^-n s, 0x80|n -> 2^-n s; None omits
        it (µs). ``tsoffset`` is in seconds (signed 64-bit), None omits it."""
        opts: list[tuple[int, bytes]] = []
        if name is not None:
            opts.append((2, name.encode()))
        if description is not None:
            opts.append((3, description.encode()))
        if tsresol is not None:
            opts.append((9, bytes([tsresol])))
        if tsoffset is not None:
            opts.append((14, struct.pack(self._e + "q", tsoffset)))
        self._block(1, struct.pack(self._e + "HHI", linktype, 0, snaplen) + self._options(opts))
        self._ifaces.append((tsresol, tsoffset or 0))
        return len(self._ifaces) - 1

    def packet(self, iface: int, units: int, data: bytes, origlen: int | None = None, flags: int | None = None) -> None:
        """Enhanced Packet Block; ``units`` is the raw 64-bit timestamp."""
        body = struct.pack(
            self._e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data),
            len(data) if origlen is None else origlen,
        ) + _pad4(data)
        opts = [(2, struct.pack(self._e + "I", flags))] if flags is not None else []
        self._block(6, body + self._options(opts))

    def packet_at(self, iface: int, ts_ns: int, data: bytes, origlen: int | None = None) -> int:
        """EPB at (about) ``ts_ns``; returns the exact ns a reader must report."""
        tsresol, tsoffset = self._ifaces[iface]
        units = units_for(ts_ns, tsresol, tsoffset)
        self.packet(iface, units, data, origlen)
        return ts_from_units(units, tsresol, tsoffset)

    def simple_packet(self, data: bytes, origlen: int | None = None) -> None:
        """Simple Packet Block: no interface id (always 0), no timestamp."""
        self._block(3, struct.pack(self._e + "I", len(data) if origlen is None else origlen) + _pad4(data))

    def stats(self, iface: int, units: int, received: int = 0, dropped: int = 0) -> None:
        """Interface Statistics Block (not a frame: readers must skip it)."""
        opts = [(4, struct.pack(self._e + "Q", received)), (5, struct.pack(self._e + "Q", dropped))]
        self._block(5, struct.pack(self._e + "III", iface, units >> 32, units & 0xFFFFFFFF) + self._options(opts))

    def unknown(self, btype: int = 0x40000BAD, body: bytes = b"unknown block body") -> None:
        """Any block type a reader does not know (custom 0x00000BAD / 0x40000BAD, NRB 4, ...)."""
        self._block(btype, body)

    def raw(self, data: bytes) -> None:
        """Append bytes as they are (to write a truncated trailing block)."""
        self._out += data

    def getvalue(self) -> bytes:
        return bytes(self._out)


def _tsresol_units_per_sec(tsresol: int | None) -> tuple[int, int]:
    """(base, exponent): the timestamp unit is base^-exponent seconds."""
    if tsresol is None:
        return 10, 6
    return (2, tsresol & 0x7F) if tsresol & 0x80 else (10, tsresol)


def ts_from_units(units: int, tsresol: int | None, tsoffset: int = 0) -> int:
    """The ns timestamp DECODE_RULES assign to a raw pcapng timestamp."""
    base, exp = _tsresol_units_per_sec(tsresol)
    if base == 10:
        ns = units * 10 ** (9 - exp) if exp <= 9 else units // 10 ** (exp - 9)
    else:
        ns = units * 1_000_000_000 >> exp  # floor(units * 1e9 / 2^n)
    return ns + tsoffset * 1_000_000_000


def units_for(ts_ns: int, tsresol: int | None, tsoffset: int = 0) -> int:
    """Raw units nearest below ``ts_ns`` (after removing ``tsoffset``)."""
    base, exp = _tsresol_units_per_sec(tsresol)
    rel = ts_ns - tsoffset * 1_000_000_000
    return rel * base**exp // 1_000_000_000
