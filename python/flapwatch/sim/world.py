"""The world: what the fleet does over a scenario, in true time (outages per port, storms,
LLDP silences and losses, recabling) and the truth episodes the faults drove; plus the draws
and PFC timing that the faults and the rendering share."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field

from flapwatch.sim.fleet import Fleet
from flapwatch.tables.units import NS_PER_S as S

FOREVER = 1 << 62
PFC_QUANTUM_BITS = 512


def full_pause_ns(speed_bps: int) -> int:
    """How long 0xffff pause quanta last at this speed (335.5 us at 100G, 83.9 us at 400G)."""
    return 65535 * PFC_QUANTUM_BITS * S // speed_bps


def refresh_interval(rng: random.Random, speed_bps: int) -> int:
    """How often a paused-for-good sender refreshes XOFF: before 0xffff quanta run out."""
    return int(full_pause_ns(speed_bps) * rng.uniform(0.4, 0.85))


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


@dataclass
class Storm:
    port: str  # the port that receives the pause frames (is paused)
    priority: int
    start_ns: int
    end_ns: int  # planned end (an XON), unless the link goes down first
    refresh_ns: int
    observed: tuple[int, int] | None = None  # (first frame, last pause end) as sent


@dataclass
class TruthEpisode:
    port: str
    fault: int
    family: str
    shape: str | None  # single / oscillation / burst / degrading; None: LLDP only or shapeless
    flaps: list[list]  # [down_ns, up_ns or None]
    period_ns: int | None = None
    labels: set = field(default_factory=set)
    notified: list[bool] = field(default_factory=list)
    start_ns: int = 0
    end_ns: int | None = None


class World:
    """Everything the fleet does over the scenario, in true time (netlink.py and traffic.py turn
    it into frames): outages per port, storms, LLDP silences and losses, recabling, and the
    truth episodes the faults drove."""

    def __init__(self, rng: random.Random, fleet: Fleet, t0: int, duration_ns: int, lldp_tx_s: int = 30):
        self.rng, self.fleet, self.t0, self.t_end = rng, fleet, t0, t0 + duration_ns
        self.lldp_tx_ns = lldp_tx_s * S
        self.lldp_ttl = 4 * lldp_tx_s
        self.down: dict[str, list[list]] = {p: [] for p in fleet.ports}  # [down, up or None]
        self.storms: list[Storm] = []
        self.lldp_stops: dict[str, int] = {}  # port -> when its lldpd stops sending (crash: no shutdown)
        self.rx_loss: list[tuple[str, int, int, float]] = []  # (rx port, from, to, max loss probability)
        self.creep: list[tuple[str, int, int]] = []  # (rx port, from, to): congestion ramps up
        self.recabling: list[tuple[int, dict[str, str | None]]] = []  # (t, {port: new peer})
        self.desc_changes: list[tuple[int, str, str]] = []  # (t, device, new system description)
        self.faults: list[dict] = []
        self.episodes: list[TruthEpisode] = []
        self._reserved: list[tuple[str, int, int]] = []  # (port, from, to)

    # -- placing faults without unintended interactions
    def _conflict(self, ports: list[str], start: int, end: int) -> bool:
        devs = {self.fleet.ports[p].device for p in ports}
        near = set(ports) | {self.fleet.peer0.get(p) for p in ports}
        for port, a, b in self._reserved:
            if port in ports and a - 70 * S < end and start < b + 70 * S:
                return True  # the same port: keep episodes apart by more than the 60 s episode gap
            if (port in near or self.fleet.ports[port].device in devs) and a - 6 * S < end and start < b + 6 * S:
                return True  # the same device or the other end: keep them from looking together
        return False

    def place(self, ports: list[str], span_ns: int, lo_s: float = 15, tail_s: float = 10, within: tuple | None = None) -> int | None:
        """A start time for a fault on ``ports`` lasting ``span_ns``, clear of other faults."""
        lo = self.t0 + int(lo_s * S)
        hi = self.t_end - int(tail_s * S) - span_ns
        if within:
            lo, hi = max(lo, within[0]), min(hi, within[1])
        for _ in range(60):
            if hi <= lo:
                return None
            t = self.rng.randint(lo, hi)
            if not self._conflict(ports, t, t + span_ns):
                for p in ports:
                    self._reserved.append((p, t, t + span_ns))
                return t
        return None

    # -- faults
    def new_fault(self, family: str, kind: str, ports: list[str], **params) -> int:
        fid = len(self.faults)
        self.faults.append({"id": fid, "family": family, "kind": kind, "ports": ports, **params})
        return fid

    def flaps(self, port: str, t: int, pattern: list[tuple[int, int | None]], fault: int, family: str,
              shape: str | None, period_ns: int | None = None) -> TruthEpisode:
        """Drive ``pattern`` ((offset, duration or None = still down at the end)) on a port."""
        ep = TruthEpisode(port, fault, family, shape, [], period_ns)
        for off, dur in pattern:
            down = t + off
            up = None if dur is None else down + dur
            self.down[port].append([down, up])
            ep.flaps.append([down, up])
        self.episodes.append(ep)
        return ep

    # -- the world's state at a time
    def finalize(self) -> None:
        for p, iv in self.down.items():
            iv.sort(key=lambda x: x[0])
            for a, b in zip(iv, iv[1:]):
                assert a[1] is not None and a[1] < b[0], f"overlapping outages on {p}"
        self._down_starts = {p: [iv[0] for iv in ivs] for p, ivs in self.down.items()}
        self.recabling.sort(key=lambda x: x[0])

    def is_down(self, port: str, t: int) -> bool:
        ivs = self.down[port]
        i = bisect.bisect_right(self._down_starts[port], t) - 1
        if i < 0:
            return False
        up = ivs[i][1]
        return up is None or t < up

    def peer_at(self, port: str, t: int) -> str | None:
        peer = self.fleet.peer0.get(port)
        for when, changes in self.recabling:
            if when > t:
                break
            if port in changes:
                peer = changes[port]
        return peer

    def link_up(self, a: str, b: str | None, t: int) -> bool:
        return b is not None and not self.is_down(a, t) and not self.is_down(b, t)
