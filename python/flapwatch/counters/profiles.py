"""Driver profiles: counter name patterns -> meaning, direction, priority, unit, width.

Facts (docs/DESIGN.md, "Counters"): mlx5 has per-priority PFC frame counts and pause
durations in µs (listed only for PFC-enabled priorities), link-level ("global") pause, a
32-bit `link_down_events_phy`, and storm-watchdog events; bnxt_en has per-priority frames,
durations in µs and transitions, refreshed by a 1 s timer; ice and i40e (two spellings)
have XON/XOFF frame counts only, no durations; SONiC's COUNTERS_DB has the SAI port stats.
A TOML table adds a profile or overrides one (`load_profiles`). Names are matched after
trimming whitespace (old mlx5 had "tx_pause_storm_warning_events ")."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from flapwatch.config import load_toml
from flapwatch.errors import ConfigError

# What a counter means. Frame counts are frames, *_us microseconds, events and transitions counts.
MEANINGS = {
    "pfc_frames": "PFC frames of one priority (rx: the port was paused; tx: it paused its peer)",
    "pfc_frames_all": "PFC frames of every priority together",
    "pfc_pause_us": "time paused (rx) or pausing (tx) on one priority",
    "pfc_xon": "XON (resume) PFC frames of one priority",
    "pfc_xoff": "XOFF (pause) PFC frames of one priority",
    "pfc_transitions": "pause state transitions of one priority (which way: see the rule's note)",
    "pause_frames": "802.3x link-level PAUSE frames",
    "pause_us": "time paused by 802.3x PAUSE",
    "pause_xon": "802.3x XON frames",
    "pause_xoff": "802.3x XOFF frames",
    "mac_pause_frames": "IEEE 802.3 aPAUSEMACCtrlFrames",
    "link_down_events": "PHY link-down events (counted even when the carrier never moved)",
    "storm_watchdog_events": "the NIC's own pause-storm watchdog fired",
    "vendor_pause_events": "vendor pause events of undocumented meaning (reported, not judged)",
    "mac_faults": "MAC local/remote faults",
}
UNITS = ("frames", "us", "events")


@dataclass(frozen=True)
class CounterRule:
    """One name pattern. ``pattern`` is a regex matched against the whole trimmed name; a
    group named ``prio`` gives the priority."""

    pattern: str
    meaning: str
    direction: str = ""  # "rx", "tx" or "" (no direction)
    unit: str = "frames"
    width: int = 64  # 32-bit counters wrap at 2**32
    note: str = ""

    def __post_init__(self) -> None:
        if self.meaning not in MEANINGS:
            raise ConfigError(f"counter rule {self.pattern!r}: unknown meaning {self.meaning!r} "
                              f"(one of {', '.join(MEANINGS)})")
        if self.unit not in UNITS or self.width not in (32, 64) or self.direction not in ("", "rx", "tx"):
            raise ConfigError(f"counter rule {self.pattern!r}: unit is one of {UNITS}, width 32 or 64, "
                              "direction rx, tx or empty")
        try:
            re.compile(self.pattern)
        except re.error as e:
            raise ConfigError(f"counter rule {self.pattern!r}: not a regular expression: {e}") from None


@dataclass(frozen=True)
class Counter:
    """What one counter of a dump is."""

    name: str
    meaning: str
    direction: str
    priority: int  # -1: none (link-level, all priorities, PHY)
    unit: str
    width: int


@dataclass(frozen=True)
class DriverProfile:
    driver: str  # as `ethtool -i` names it (mlx5_core, bnxt_en, ice, i40e), or a NOS ("sonic")
    rules: tuple[CounterRule, ...]
    refresh_s: float = 0.0  # the driver's own copy period: a faster poll sees repeats, not "no pause"
    aliases: tuple[str, ...] = ()
    _compiled: tuple = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(r.pattern) for r in self.rules))

    def counter(self, name: str) -> Counter | None:
        """What ``name`` means under this profile, or None."""
        trimmed = name.strip()
        for rule, rx in zip(self.rules, self._compiled):
            m = rx.fullmatch(trimmed)
            if m:
                prio = int(m.group("prio")) if "prio" in rx.groupindex else -1
                return Counter(trimmed, rule.meaning, rule.direction, prio, rule.unit, rule.width)
        return None

    def classify(self, names) -> dict[int, Counter]:
        """{index: Counter} for the names this profile knows, in dump order."""
        out = {}
        for i, name in enumerate(names):
            c = self.counter(name)
            if c is not None:
                out[i] = c
        return out


def _rx_tx(pattern: str, meaning: str, **kw) -> tuple[CounterRule, CounterRule]:
    """The rx and tx spellings of one counter: ``{d}`` stands for rx / tx in the pattern."""
    return (CounterRule(pattern.format(d="rx"), meaning, "rx", **kw), CounterRule(pattern.format(d="tx"), meaning, "tx", **kw))


P = r"(?P<prio>[0-7])"

MLX5 = DriverProfile("mlx5_core", (
    *_rx_tx(rf"{{d}}_prio{P}_pause", "pfc_frames"),
    *_rx_tx(rf"{{d}}_prio{P}_pause_duration", "pfc_pause_us", unit="us"),
    CounterRule(rf"rx_prio{P}_pause_transition", "pfc_transitions", "rx", unit="events", note="XOFF -> XON"),
    *_rx_tx(r"{d}_global_pause", "pause_frames"),
    *_rx_tx(r"{d}_global_pause_duration", "pause_us", unit="us"),
    *_rx_tx(r"{d}_pause_ctrl_phy", "mac_pause_frames"),
    CounterRule(r"link_down_events_phy", "link_down_events", unit="events", width=32),
    CounterRule(r"tx_pause_storm_(?:warning|error)_events", "storm_watchdog_events", "tx", unit="events"),
), aliases=("mlx5",))

BNXT = DriverProfile("bnxt_en", (
    *_rx_tx(r"{d}_pause_frames", "pause_frames"),
    *_rx_tx(r"{d}_pfc_frames", "pfc_frames_all"),
    *_rx_tx(rf"{{d}}_pfc_ena_frames_pri{P}", "pfc_frames"),
    *_rx_tx(rf"pfc_pri{P}_{{d}}_duration_us", "pfc_pause_us", unit="us"),
    *_rx_tx(rf"pfc_pri{P}_{{d}}_transitions", "pfc_transitions", unit="events", note="XON <-> XOFF, both ways"),
    CounterRule(rf"rx_pfc_xon2xoff_frames_pri{P}", "pfc_transitions", "rx", unit="events", note="XON -> XOFF"),
    CounterRule(r"link_down_events", "link_down_events", unit="events"),
    CounterRule(r"(?:continuous|resume)(?:_roce)?_pause_events", "vendor_pause_events", unit="events"),
), refresh_s=1.0, aliases=("bnxt",))

ICE = DriverProfile("ice", (
    *_rx_tx(r"link_xon_{d}\.nic", "pause_xon"),
    *_rx_tx(r"link_xoff_{d}\.nic", "pause_xoff"),
    *_rx_tx(rf"{{d}}_priority_{P}_xon\.nic", "pfc_xon"),
    *_rx_tx(rf"{{d}}_priority_{P}_xoff\.nic", "pfc_xoff"),
    CounterRule(r"mac_(?:local|remote)_faults\.nic", "mac_faults", unit="events"),
))

I40E = DriverProfile("i40e", (
    *_rx_tx(r"port\.link_xon_{d}", "pause_xon"),
    *_rx_tx(r"port\.link_xoff_{d}", "pause_xoff"),
    # both generations: port.tx_priority_N_xon_tx (2.3+) and port.tx_priority_N_xon (older)
    *_rx_tx(rf"port\.{{d}}_priority_{P}_xon(?:_{{d}})?", "pfc_xon"),
    *_rx_tx(rf"port\.{{d}}_priority_{P}_xoff(?:_{{d}})?", "pfc_xoff"),
    CounterRule(rf"port\.rx_priority_{P}_xon_2_xoff", "pfc_transitions", "rx", unit="events", note="XON -> XOFF"),
    CounterRule(r"port\.mac_(?:local|remote)_faults", "mac_faults", unit="events"),
))

SONIC = DriverProfile("sonic", (
    CounterRule(rf"SAI_PORT_STAT_PFC_{P}_RX_PKTS", "pfc_frames", "rx"),
    CounterRule(rf"SAI_PORT_STAT_PFC_{P}_TX_PKTS", "pfc_frames", "tx"),
    CounterRule(rf"SAI_PORT_STAT_PFC_{P}_RX_PAUSE_DURATION_US", "pfc_pause_us", "rx", unit="us"),
    CounterRule(rf"SAI_PORT_STAT_PFC_{P}_TX_PAUSE_DURATION_US", "pfc_pause_us", "tx", unit="us"),
    CounterRule(rf"SAI_PORT_STAT_PFC_{P}_ON2OFF_RX_PKTS", "pfc_transitions", "rx", unit="events", note="XON -> XOFF"),
    CounterRule(r"SAI_PORT_STAT_PAUSE_RX_PKTS", "pause_frames", "rx"),
    CounterRule(r"SAI_PORT_STAT_PAUSE_TX_PKTS", "pause_frames", "tx"),
), refresh_s=0.2, aliases=("sai",))

BUILTIN = {p.driver: p for p in (MLX5, BNXT, ICE, I40E, SONIC)}


def profile_for(driver: str, profiles: dict[str, DriverProfile] | None = None) -> DriverProfile | None:
    """The profile of a driver name (as `ethtool -i` prints it) or an alias."""
    profiles = BUILTIN if profiles is None else profiles
    if driver in profiles:
        return profiles[driver]
    return next((p for p in profiles.values() if driver in p.aliases), None)


def detect(names, profiles: dict[str, DriverProfile] | None = None) -> DriverProfile | None:
    """The profile that knows most of these names (at least one), when the driver is unknown."""
    profiles = BUILTIN if profiles is None else profiles
    names = list(names)
    scored = [(len(p.classify(names)), p.driver) for p in profiles.values()]
    best = max(scored, default=(0, ""))
    return profiles[best[1]] if best[0] else None


def load_profiles(path: str | os.PathLike, base: dict[str, DriverProfile] | None = None) -> dict[str, DriverProfile]:
    """Built-in profiles plus the TOML file's: each ``[drivers.NAME]`` table (refresh_s,
    aliases, and ``counters = [{pattern, meaning, direction, unit, width}, ...]``) adds a
    driver or replaces the built-in one of that name."""
    path = os.fspath(path)
    data = load_toml(path, "counter profile file")
    out = dict(BUILTIN if base is None else base)
    unknown = set(data) - {"drivers"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)} (profiles go in [drivers.NAME] tables)", path)
    for driver, table in data.get("drivers", {}).items():
        extra = set(table) - {"refresh_s", "aliases", "counters"}
        if extra:
            raise ConfigError(f"drivers.{driver}: unknown keys {sorted(extra)}", path)
        try:
            rules = tuple(CounterRule(**rule) for rule in table.get("counters", []))
        except TypeError as e:
            raise ConfigError(f"drivers.{driver}: a counter needs pattern and meaning ({e})", path) from None
        except ConfigError as e:
            raise ConfigError(f"drivers.{driver}: {e}", path) from None
        if not rules:
            raise ConfigError(f"drivers.{driver}: no counters", path)
        out[driver] = DriverProfile(driver, rules, float(table.get("refresh_s", 0.0)), tuple(table.get("aliases", ())))
    return out
