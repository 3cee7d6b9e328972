"""`ethtool -S` dumps and the timestamped logs operators' polling loops write.

A dump: optional `NIC statistics:` header, then `name: value` lines, indented by spaces or
tabs or not at all (ethq's fixtures), names that may hold spaces or a ring prefix
(`[0]: rx_ucast_packets`, bnxt), `#` comments. A log: samples, each a timestamp line then a
dump, as a loop like

    while sleep 0.1; do date +%s.%N; ethtool -S eth0; done >> eth0.log

writes. The timestamp line may be (docs/DECODE_RULES.md, "Counter logs"):
- epoch seconds, with a fraction: `1764775162.123456789` (`date +%s.%N`, `date +%s`);
- ISO 8601 with `T` or a space, `.` or `,` before the fraction, `Z` or an offset, naive = UTC:
  `2026-12-03T15:19:22,123456789+00:00` (`date -Ins`), `2026-12-03 15:19:22.123`;
- `date`'s default form in UTC: `Thu Dec  3 15:19:22 UTC 2026`;
each optionally wrapped in `=== ... ===`, `--- ... ---`, `[...]`, or after `#`, `ts=` or `time:`.
A line `ethtool -S IFACE` (optionally after `#` or `$ `) names the interface of the dumps after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flapwatch.errors import CaptureError
from flapwatch.tables.units import NS_PER_S

_EPOCH = re.compile(r"(\d{9,11})(?:\.(\d{1,9}))?")
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?")
_DATE = re.compile(r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))? (?:UTC|GMT) (\d{4})")
_WRAP = re.compile(r"^(?:=+|-+|#+|\[|ts=|time:)\s*(.*?)\s*(?:=+|-+|\])?$")
_IFACE = re.compile(r"^(?:[#$]\s*)?ethtool\s+(?:-S|--statistics)\s+(\S+)\s*$")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                       "Dec"), 1)}


def _frac_ns(frac: str | None) -> int:
    return int((frac or "").ljust(9, "0")[:9] or 0)


def parse_timestamp(line: str) -> int | None:
    """The line as a timestamp (ns since the epoch), or None when it is not one."""
    text = line.strip()
    m = _WRAP.match(text)
    if m and m.group(1) != text:
        text = m.group(1)
    m = _EPOCH.fullmatch(text)
    if m:
        return int(m.group(1)) * NS_PER_S + _frac_ns(m.group(2))
    m = _ISO.fullmatch(text)
    if m:
        day, clock, frac, zone = m.groups()
        dt = datetime.fromisoformat(f"{day}T{clock}")
        offset = 0
        if zone and zone not in ("Z", "UTC"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        seconds = int(dt.replace(tzinfo=timezone.utc).timestamp()) - offset
        return seconds * NS_PER_S + _frac_ns(frac)
    m = _DATE.fullmatch(text)
    if m:
        month, day, clock, frac, year = m.groups()
        if month not in _MONTHS:
            return None
        dt = datetime.fromisoformat(f"{year}-{_MONTHS[month]:02d}-{int(day):02d}T{clock}")
        return int(dt.replace(tzinfo=timezone.utc).timestamp()) * NS_PER_S + _frac_ns(frac)
    return None


@dataclass
class Dump:
    """One `ethtool -S` reading: names and values in the driver's order (a name may repeat)."""

    names: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    ts_ns: int = -1  # -1: a dump with no time (a single `ethtool -S`)
    interface: str | None = None

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self.names, self.values))


def _stat(line: str) -> tuple[str, int] | None:
    name, sep, value = line.strip().rpartition(":")
    value = value.strip()
    if not sep or not name.strip() or not value.lstrip("-").isdigit():
        return None
    return name.strip(), int(value)


def _is_header(line: str) -> bool:
    text = line.strip()
    return not text or text.startswith("#") or text.endswith(":") and " " not in text.rstrip(":").strip() \
        or text == "NIC statistics:"


def parse_dump(text: str, source: str = "<text>") -> Dump:
    """One `ethtool -S` output. A line that is neither a header, a comment nor `name: value`
    is an error naming the line."""
    dump = Dump()
    for number, line in enumerate(text.splitlines(), 1):
        stat = _stat(line)
        if stat:
            dump.names.append(stat[0])
            dump.values.append(stat[1])
        elif not _is_header(line) and not _IFACE.match(line.strip()):
            raise CaptureError(source, number, f"line {number} is not 'name: value': {line.strip()[:60]!r}")
        elif _IFACE.match(line.strip()):
            dump.interface = _IFACE.match(line.strip()).group(1)
    return dump


def parse_log(text: str, source: str = "<text>") -> list[Dump]:
    """Timestamped dumps, in file order. CaptureError.offset is the line number."""
    samples: list[Dump] = []
    interface = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        iface = _IFACE.match(stripped)
        if iface:
            interface = iface.group(1)
            if samples and not samples[-1].names:
                samples[-1].interface = interface
            continue
        ts = parse_timestamp(stripped) if stripped else None
        if ts is not None:
            samples.append(Dump(ts_ns=ts, interface=interface))
            continue
        stat = _stat(line)
        if stat:
            if not samples:
                raise CaptureError(source, number, f"line {number}: counters before any timestamp line")
            samples[-1].names.append(stat[0])
            samples[-1].values.append(stat[1])
        elif not _is_header(line):
            raise CaptureError(source, number, f"line {number} is neither a timestamp nor 'name: value': "
                                               f"{stripped[:60]!r}")
    return [s for s in samples if s.names]


def read_log(path) -> list[Dump]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_log(f.read(), str(path))
