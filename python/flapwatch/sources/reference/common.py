"""What both reference backends share: the result type, the table builder, and the
DECODE_RULES text conventions (so an id prints the same whichever backend parsed it).

Nothing here parses a capture: each backend finds the fields its own way (dpkt/struct
or tshark's dissectors); only the formatting of a field into the schema is common.
"""

from __future__ import annotations

import ipaddress
import socket
import os
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from flapwatch.tables import schema

from flapwatch.tables.units import NS_PER_S  # noqa: E402


@dataclass
class RawCapture:
    """The record tables of one capture file, as columns (see schema.TABLES)."""

    tables: dict[str, dict[str, np.ndarray]]
    strings: list[str]
    counts: dict[str, int]
    frames: int
    warnings: list[str] = field(default_factory=list)


class TableBuilder:
    """Accumulates rows per table, interns strings, and counts each frame once."""

    def __init__(self) -> None:
        self._rows: dict[str, list[dict]] = {name: [] for name in schema.TABLES}
        self._strings: list[str] = []
        self._index: dict[str, int] = {}
        self.counts = {kind: 0 for kind in schema.COUNT_KINDS}
        self.frames = 0
        self.warnings: list[str] = []

    def intern(self, text: str | None) -> int:
        if text is None:
            return -1
        idx = self._index.get(text)
        if idx is None:
            idx = self._index[text] = len(self._strings)
            self._strings.append(text)
        return idx

    def add_frame(self, kind: str, rows: list[tuple[str, dict]] = ()) -> None:
        """Account one frame as ``kind`` and append its rows ((table, fields) pairs).
        STRING fields are given as text (or None) and interned here."""
        self.counts[kind] += 1
        self.frames += 1
        for table, values in rows:
            row = {}
            for name, kind_ in schema.TABLES[table]:
                # absent: None (STRING), -1 (signed), 0 (unsigned: speed_bps, mac)
                default = None if kind_ == schema.STRING else 0 if np.dtype(kind_).kind == "u" else -1
                value = values.get(name, default)
                row[name] = self.intern(value) if kind_ == schema.STRING else value
            self._rows[table].append(row)

    def warn(self, path: str, offset: int, reason: str) -> None:
        """Worded like CaptureError, so a warning and its strict error read the same."""
        self.warnings.append(f"{path}: offset {offset}: {reason}")

    def finish(self) -> RawCapture:
        tables = {}
        for table, columns in schema.TABLES.items():
            rows = self._rows[table]
            tables[table] = {
                name: np.array([r[name] for r in rows], dtype=schema.dtype_of(kind)) for name, kind in columns
            }
        return RawCapture(tables, list(self._strings), dict(self.counts), self.frames, list(self.warnings))


# ----------------------------------------------------------------- ports and time


def file_stem(path: str) -> str:
    """File name without ``.gz``, then without ``.pcapng`` / ``.pcap`` / ``.cap``."""
    name = os.path.basename(path)
    if name.endswith(".gz"):
        name = name[:-3]
    for ext in (".pcapng", ".pcap", ".cap"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def wire_port(if_name: str | None, stem: str, section: int, interface_id: int) -> str:
    """A wire frame's port: the IDB if_name (as text); without one the stem for
    interface 0 of the first section, else "{stem}#{id}" with the section-local id
    (decided per IDB: a streaming reader cannot know how many interfaces follow).
    A pcap file is (section 0, interface 0): its stem."""
    if if_name:
        return if_name
    return stem if section == 0 and interface_id == 0 else f"{stem}#{interface_id}"


def link_port(ifname: str | None, ifindex: int) -> str:
    """IFLA_IFNAME, else (absent or empty, as the core reads it) "if{ifindex}"."""
    return ifname if ifname else f"if{ifindex}"


def qualify(device: str | None, name: str) -> str:
    """"device:name", or the name as it is when it has a ':' already or there is no device."""
    return name if not device or ":" in name else f"{device}:{name}"


class Naming:
    """What names one file's ports (the core's PortNaming): ``device`` prefixes every port,
    ``iface`` replaces the file stem for frames the file names no interface for."""

    def __init__(self, path: str, device: str | None = None, iface: str | None = None) -> None:
        self.device = device or None
        self.stem = iface or file_stem(path)

    def wire(self, if_name: str | None, section: int, interface_id: int) -> str:
        return qualify(self.device, wire_port(if_name, self.stem, section, interface_id))

    def rows(self, rows):
        """(table, fields) pairs with the link rows' ports (IFLA_IFNAME) qualified."""
        for table, fields in rows:
            if table == "link" and self.device:
                fields = {**fields, "port": qualify(self.device, fields["port"])}
            yield table, fields


def ts_from_units(units: int, tsresol: int, tsoffset: int) -> int:
    """pcapng raw timestamp -> ns. Integer arithmetic only: 2^-n is floored."""
    exp = tsresol & 0x7F
    if tsresol & 0x80:
        ns = (units * NS_PER_S) >> exp
    elif exp <= 9:
        ns = units * 10 ** (9 - exp)
    else:
        ns = units // 10 ** (exp - 9)
    return ns + tsoffset * NS_PER_S


def epoch_text_to_ns(text: str) -> int:
    """tshark's frame.time_epoch ("1375675378.010903000", maybe negative) -> int ns,
    exactly (Decimal, never float)."""
    return int(Decimal(text).scaleb(9).to_integral_value())


# --------------------------------------------------------------- text conventions


def colon_hex(data: bytes) -> str:
    return ":".join(f"{b:02x}" for b in data)


def bytes_as_text(data: bytes) -> str:
    """Printable ASCII kept except backslash; every other byte as \\xNN. Trailing
    NULs dropped first."""
    data = data.rstrip(b"\0")
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}" for b in data)


def address_text(family: int, addr: bytes) -> str:
    """IANA address family 1 + 4 bytes -> dotted IPv4, 2 + 16 -> IPv6, else colon hex."""
    if family == 1 and len(addr) == 4:
        return str(ipaddress.IPv4Address(addr))
    if family == 2 and len(addr) == 16:  # RFC 5952 as inet_ntop writes it (::ffff:1.2.3.4)
        return socket.inet_ntop(socket.AF_INET6, addr)
    return colon_hex(addr)


def lldp_id_text(subtype: int, value: bytes, mac_subtype: int, addr_subtype: int) -> str:
    """Chassis id (mac 4, address 5) / port id (mac 3, address 4) -> text."""
    if subtype == mac_subtype:
        return colon_hex(value)
    if subtype == addr_subtype:  # value is >= 1 byte: id length >= 2 is checked first
        return address_text(value[0], value[1:])
    return bytes_as_text(value)


def int8(byte: int) -> int:
    """A u8 field stored in an int8 column (operstate, carrier) wraps as in C."""
    return byte - 256 if byte > 127 else byte


def mac_to_int(data: bytes) -> int:
    return int.from_bytes(data[:6], "big")
