"""Counter samples for the engine (docs/DESIGN.md, "Counters"): driver profiles in the
core's form (the live agent classifies names itself), `ethtool -S` logs as samples for
replay, and the sample tuples the push API takes.

A sample tuple is ``(ts_ns, read_ns, interface, refresh_ns, flags, values)`` with values
``[(meaning, direction, priority, unit, width, value), ...]``: meaning an index of
``MEANINGS``, direction 0 none / 1 rx / 2 tx, priority -1 for none, unit an index of
``UNITS``, width 32 or 64 (cpp/include/flapwatch/counters.hpp)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flapwatch.sources.files import is_capture_head
from flapwatch.counters.ethtool import Dump, parse_timestamp, read_log
from flapwatch.counters.profiles import BUILTIN, MEANINGS, UNITS, Counter, DriverProfile, detect, profile_for
from flapwatch.errors import ConfigError

MEANING_INDEX = {name: i for i, name in enumerate(MEANINGS)}
DIRECTIONS = {"": 0, "rx": 1, "tx": 2}
_PRIO = re.compile(r"\(\?P<prio>")


_INTERVAL = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|s)?\s*")
_INTERVAL_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, None: 1_000_000_000}


def interval_ns(text: str | float) -> int:
    """A polling interval: seconds as a number, or "100ms", "0.5s", "250us"."""
    if not isinstance(text, str):
        ns = int(float(text) * 1e9)
    else:
        m = _INTERVAL.fullmatch(text)
        if not m:
            raise ConfigError(f"not an interval: {text!r} (e.g. 100ms, 0.5s)")
        ns = int(float(m.group(1)) * _INTERVAL_UNITS[m.group(2)])
    if ns <= 0:
        raise ConfigError(f"the interval must be > 0 (got {text!r})")
    return ns


def value(counter: Counter, v: int) -> tuple:
    """One classified value in the core's form."""
    return (MEANING_INDEX[counter.meaning], DIRECTIONS[counter.direction], counter.priority,
            UNITS.index(counter.unit), counter.width, int(v) & (2**64 - 1))


def sample(ts_ns: int, interface: str, counters: list[tuple[Counter, int]], *, read_ns: int = 0,
           refresh_s: float = 0.0, names_reread: bool = False) -> tuple:
    """A sample tuple from (Counter, value) pairs."""
    return (int(ts_ns), int(read_ns), interface, int(refresh_s * 1e9), 1 if names_reread else 0,
            [value(c, v) for c, v in counters])


def core_profiles(profiles: dict[str, DriverProfile] | None = None) -> list[tuple]:
    """The profiles as the core's live counter source takes them: std::regex has no
    named groups, so ``(?P<prio>`` becomes a plain group and its number is passed."""
    out = []
    for p in (BUILTIN if profiles is None else profiles).values():
        rules = []
        for rule in p.rules:
            group = re.compile(rule.pattern).groupindex.get("prio", 0)
            rules.append((_PRIO.sub("(", rule.pattern), group, MEANING_INDEX[rule.meaning],
                          DIRECTIONS[rule.direction], UNITS.index(rule.unit), rule.width))
        out.append((p.driver, list(p.aliases), int(p.refresh_s * 1e9), rules))
    return out


def dump_samples(dumps: list[Dump], interface: str, profile: DriverProfile | None) -> tuple[list[tuple], list[str]]:
    """The samples of a log's dumps (classified by ``profile``), and notices: a dump
    whose name list differs from the one before is flagged (a new epoch for every
    counter), as the live source flags a re-read list."""
    out, notices = [], []
    names, classified = None, {}
    for d in dumps:
        reread = names is not None and d.names != names
        if d.names != names:
            names = d.names
            classified = profile.classify(names) if profile else {}
            if reread:
                notices.append(f"{interface}: the counter list changed at {d.ts_ns} ns ({len(names)} names)")
        iface = d.interface or interface
        out.append(sample(d.ts_ns, iface, [(c, d.values[i]) for i, c in classified.items()],
                          refresh_s=profile.refresh_s if profile else 0.0, names_reread=reread))
    return out, notices


def is_counter_log(path: str | os.PathLike) -> bool:
    """An `ethtool -S` polling log: by content (the first meaningful line is a
    timestamp or an `ethtool -S IFACE` line), so a `.log` capture is still a capture."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if is_capture_head(head):
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        return parse_timestamp(line) is not None or bool(re.match(r"^(?:[#$]\s*)?ethtool\s+(?:-S|--statistics)\s", line))
    return False


def _interface_of(path: str) -> str:
    """eth0.ethtool.log, eth0.log -> eth0."""
    name = Path(path).name
    for suffix in (".ethtool.log", ".ethtool", ".log", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def log_samples(path: str | os.PathLike, *, driver: str | None = None,
                profiles: dict[str, DriverProfile] | None = None,
                device: str = "") -> tuple[list[tuple], list[str]]:
    """The samples of one timestamped `ethtool -S` log (and notices): the profile is
    ``driver``'s, else the one knowing most of the first dump's names."""
    path = os.fspath(path)
    dumps = read_log(path)
    notices = []
    profile = None
    if driver:
        profile = profile_for(driver, profiles)
        if profile is None:
            raise ConfigError(f"no counter profile for driver {driver!r} (built in: {', '.join(BUILTIN)})")
    elif dumps:
        profile = detect(dumps[0].names, profiles)
        if profile is None:
            notices.append(f"{path}: no driver profile knows these counters; no PFC, PAUSE or link-down counters")
    iface = _interface_of(path)
    samples, more = dump_samples(dumps, iface, profile)
    if device:
        samples = [(s[0], s[1], s[2] if ":" in s[2] else f"{device}:{s[2]}", *s[3:]) for s in samples]
    return samples, notices + more


def split_counter_logs(paths: list[str], naming: list[tuple[str, str]], *, driver: str | None = None,
                       profiles: dict[str, DriverProfile] | None = None):
    """(captures, their naming, samples of the counter logs, notices)."""
    captures, capture_naming, samples, notices = [], [], [], []
    for i, p in enumerate(paths):
        if is_counter_log(p):
            device = naming[i][0] if i < len(naming) else ""
            s, n = log_samples(p, driver=driver, profiles=profiles, device=device)
            samples += s
            notices += n
        else:
            captures.append(p)
            if i < len(naming):
                capture_naming.append(naming[i])
    return captures, capture_naming, samples, notices
