"""Config: every threshold the detection engine uses, as a dataclass loadable from TOML.

Human units here (seconds, milliseconds, "400G"); ``to_core()`` turns it into the
nanosecond dict the C++ engine takes. Presets follow the network OSes' defaults.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields

from flapwatch.errors import ConfigError
from flapwatch.tables.units import NS_PER_S as NS

TYPE_CHECKING = False  # pathlib is not imported before the core's run (sources/devices.py)
if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class WindowPolicy:
    """errdisable-style flap detection: ``count`` flaps within ``window_s`` trips."""

    name: str
    count: int
    window_s: float


@dataclass(frozen=True)
class DampeningPolicy:
    """Exponential-decay dampening: each flap adds ``penalty``; the penalty halves every
    ``half_life_s``; above ``suppress`` the port is suppressed, below ``reuse`` reused;
    it never exceeds reuse x 2^(max_suppress_s / half_life_s)."""

    name: str
    penalty: float
    half_life_s: float
    reuse: float
    suppress: float
    max_suppress_s: float


WINDOW_PRESETS = {
    # Arista, Catalyst, OcNOS, Huawei errdisable flap detection
    "5-in-10s": WindowPolicy("5-in-10s", 5, 10.0),
    # Extreme Networks
    "10-in-5s": WindowPolicy("10-in-5s", 10, 5.0),
}

DAMPENING_PRESETS = {
    "ios": DampeningPolicy("ios", 1000, 5.0, 1000, 2000, 20.0),  # IOS event dampening
    "ios-xr": DampeningPolicy("ios-xr", 1000, 60.0, 750, 2000, 240.0),  # max-suppress 4 x half-life
    "junos": DampeningPolicy("junos", 1000, 5.0, 1000, 2000, 20.0),  # damping: 1000 per down
}

STORM_RULES = {"pfcwd": 1.0, "pfcwd-99": 0.99}  # continuously paused / paused > 99 % of the window


def parse_speed(value: str | int | float) -> int:
    """'400G', '100g', '25Gbps', 10e9 -> bits per second."""
    if isinstance(value, (int, float)):
        return int(value)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgGtT]?)(?:b(?:ps|it/s)?)?\s*", value)
    if not m:
        raise ConfigError(f"not a link speed: {_short(value)} (use e.g. 100G or 400G)")
    scale = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _policy(cls, table: dict, what: str):
    """A custom policy from its TOML table: every field, each of the right kind."""
    names = [f.name for f in fields(cls)]
    missing = [n for n in names if n not in table]
    if missing:
        raise ConfigError(f"{what} {table.get('name', '')!r} needs {', '.join(missing)} (fields: {', '.join(names)})")
    policy = strict_from_dict(cls, table, f"{what} keys")
    for f in fields(cls):
        value = getattr(policy, f.name)
        if f.name == "name":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{what} name must be a non-empty string, not {_short(value)}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{what} {policy.name!r}: {f.name} must be a positive number, not {_short(value)}")
    return policy


def _window(p: str | WindowPolicy | dict) -> WindowPolicy:
    if isinstance(p, WindowPolicy):
        return p
    if isinstance(p, dict):
        return _policy(WindowPolicy, p, "window policy")
    if p not in WINDOW_PRESETS:
        raise ConfigError(f"unknown window policy {p!r}: presets {sorted(WINDOW_PRESETS)} or a table with count/window_s")
    return WINDOW_PRESETS[p]


def _dampening(p: str | DampeningPolicy | dict) -> DampeningPolicy:
    if isinstance(p, DampeningPolicy):
        return p
    if isinstance(p, dict):
        return _policy(DampeningPolicy, p, "dampening policy")
    if p not in DAMPENING_PRESETS:
        raise ConfigError(f"unknown dampening policy {p!r}: presets {sorted(DAMPENING_PRESETS)} or a table")
    return DAMPENING_PRESETS[p]


def load_toml(path: str | os.PathLike, what: str) -> dict:
    """A TOML file's tables; ConfigError naming the file (and line) when it is missing,
    unreadable or not TOML."""
    import tomllib  # here: most runs read no TOML, and its import is a tenth of replay's start

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", path) from None
    except OSError as e:
        raise ConfigError(f"cannot read the {what}: {e.strerror}", path) from None
    except tomllib.TOMLDecodeError as e:
        line = getattr(e, "lineno", None)
        if line is None:  # Python 3.11 says it only in the message: "... (at line 3, column 7)"
            m = re.search(r"at line (\d+)", str(e))
            line = int(m.group(1)) if m else None
        raise ConfigError(f"not valid TOML: {e}", path, line) from None


def strict_from_dict(cls, data: dict, what: str):
    """A dataclass from a dict, refusing keys it does not have (a typo must not pass silently)."""
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {what}: {sorted(unknown)}")
    return cls(**data)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# Fields that are numbers, and what the number means (for the error message).
_NUMBERS = {"job_budget_s": "seconds", "micro_flap_ms": "milliseconds", "hold_time_ms": "milliseconds",
            "pfc_detection_ms": "milliseconds", "pfc_restoration_ms": "milliseconds", "pause_window_s": "seconds",
            "ring_capacity": "records"}


_MAC = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")


def _parse_mac(port, mac) -> int:
    """own_macs' "02:fa:00:00:00:01" as the 48-bit integer the core compares."""
    if not isinstance(port, str) or not port:
        raise ConfigError(f"own_macs: a port name, not {_short(port)}")
    if not isinstance(mac, str) or not _MAC.fullmatch(mac) or int(mac.replace(":", ""), 16) == 0:
        raise ConfigError(f'own_macs["{port}"] must be a MAC like "02:fa:00:00:00:01", not {_short(mac)}')
    return int(mac.replace(":", ""), 16)


@dataclass
class Config:
    # links
    job_budget_s: float = 7.0  # a RoCE training job dies when one outage outlasts this
    micro_flap_ms: float = 10.0
    hold_time_ms: float = 0.0  # what-if: a down shorter than this would never be reported (0: off)
    window_policies: list = field(default_factory=lambda: ["5-in-10s"])
    dampening_policies: list = field(default_factory=lambda: ["ios"])
    # PFC
    storm_rule: str = "pfcwd"
    pfc_detection_ms: float = 200.0
    pfc_restoration_ms: float = 200.0
    pause_window_s: float = 1.0
    default_speed: str | int = "100G"  # when neither LLDP nor port_speeds gives one
    port_speeds: dict = field(default_factory=dict)  # {"swp*": "400G"}: shell patterns, first match
    # LLDP
    own_macs: dict = field(default_factory=dict)  # {"ens1f0np0": "02:fa:00:00:00:01"}: a port's own address
    # pipeline
    ring_capacity: int = 1 << 14

    def __post_init__(self) -> None:
        for name, unit in _NUMBERS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
                raise ConfigError(f"{name} must be a non-negative number of {unit}, not {_short(value)}")
        if not isinstance(self.window_policies, list) or not isinstance(self.dampening_policies, list):
            raise ConfigError("window_policies and dampening_policies are lists (of preset names or tables)")
        if not isinstance(self.port_speeds, dict):
            raise ConfigError('port_speeds is a table of pattern = speed, e.g. [port_speeds] "swp*" = "400G"')
        if not isinstance(self.own_macs, dict):
            raise ConfigError('own_macs is a table of port = MAC, e.g. [own_macs] "ens1f0np0" = "02:fa:00:00:00:01"')
        for port, mac in self.own_macs.items():
            _parse_mac(port, mac)
        self.window_policies = [_window(p) for p in self.window_policies]
        self.dampening_policies = [_dampening(p) for p in self.dampening_policies]
        if self.storm_rule not in STORM_RULES:
            raise ConfigError(f"storm_rule must be one of {sorted(STORM_RULES)}, not {_short(self.storm_rule)}")
        if self.ring_capacity < 2 or self.ring_capacity & (self.ring_capacity - 1):
            raise ConfigError(f"ring_capacity must be a power of two, not {self.ring_capacity}")

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        return strict_from_dict(cls, data, "config keys")

    @classmethod
    def coerce(cls, config: "Config | dict | str | os.PathLike | None") -> "Config":
        """A Config from what callers pass: None (defaults), a dict of fields, a TOML path."""
        if config is None:
            return cls()
        if isinstance(config, dict):
            return cls.from_dict(config)
        if isinstance(config, (str, os.PathLike)):
            return cls.from_toml(config)
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> "Config":
        path = os.fspath(path)
        data = load_toml(path, "configuration file")
        try:
            return cls.from_dict(data)
        except ConfigError as e:
            raise ConfigError(str(e), path) from None
        except (TypeError, ValueError) as e:
            raise ConfigError(str(e), path) from None

    def to_core(self) -> dict:
        """The flat, nanosecond configuration the C++ engine takes."""
        return {
            "job_budget_ns": int(self.job_budget_s * NS),
            "micro_flap_ns": int(self.micro_flap_ms * 1e6),
            "hold_down_ns": int(self.hold_time_ms * 1e6),
            "windows": [(w.name, w.count, int(w.window_s * NS)) for w in self.window_policies],
            "dampening": [
                (d.name, float(d.penalty), float(d.reuse), float(d.suppress), int(d.half_life_s * NS),
                 int(d.max_suppress_s * NS))
                for d in self.dampening_policies
            ],
            "detection_ns": int(self.pfc_detection_ms * 1e6),
            "restoration_ns": int(self.pfc_restoration_ms * 1e6),
            "storm_duty": STORM_RULES[self.storm_rule],
            "pause_window_ns": int(self.pause_window_s * NS),
            "default_speed_bps": parse_speed(self.default_speed),
            "port_speeds": [(pattern, parse_speed(v)) for pattern, v in self.port_speeds.items()],
            "own_macs": [(port, _parse_mac(port, mac)) for port, mac in self.own_macs.items()],
        }
