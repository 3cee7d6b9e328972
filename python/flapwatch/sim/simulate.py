"""Simulated fleets with known faults: pcapng captures plus their ground truth.

    flapwatch.simulate.simulate("oscillation", "out.pcapng", seed=7)   # -> SimResult
    flapwatch simulate oscillation -o out.pcapng --seed 7              # (add_cli)

writes ``out.pcapng`` through the project's own writer (pcapng.PcapngWriter) and the truth
next to it as ``out.pcapng.truth.json``.

The fleet: 1-2 leaf switches and 2-6 GPU hosts with one or two RoCE ports each (100/200/400G),
plus leaf uplinks to a spine that is not captured. Every captured device contributes an
nlmon interface ``<device>:nlmon0`` (RTM_GETLINK dump, promiscuity changes as the captures
start, then the RTM_NEWLINK notifications its kernel's linkwatch sends: see linkwatch.py) and
one Ethernet interface per port, named ``<device>:<port>`` like its IFLA_IFNAME, holding
what the port receives plus its own LLDPDUs leaving. On the wire: lldpd every 30 s (TTL 120,
random phase; faster in some silent-neighbor-loss fleets), one LLDPDU soon after the port
comes up; PFC storms refreshed before the pause runs out (0xffff quanta every 40-85 % of
its 335.5 us at 100G, 83.9 us at 400G); background PFC congestion blips (a few XOFF then
XON), rare 802.3x PAUSE, RoCEv2 data and ARP. Nothing flows while either end is down.

Faults, one family per label of DESIGN.md's flap signatures, each with random parameters
(ports, times, durations, periods, jitter) and, in a third of the scenarios, an unrelated
fault on another device overlapping it in time:
  stable            no fault (noise only; sometimes an LLDP content change)
  micro-flap        1-3 ports, a 1.5-8 ms down (sometimes two)
  single            1-3 ports, one down of 20 ms - 15 s (some over the job budget)
  oscillation       3-25 flaps at a period of 0.15-8 s (+-3 %), one down time (micro in a quarter)
  burst             10-40+ flaps over >= 3 s at a rate that keeps changing
  hidden            a bounce: down again 50-400 ms after coming back (linkwatch hides the second)
  pfc-linked        a pause storm (0.3-4 s), the link going down during it or up to 3 s after
  neighbor-change   two hosts' cables swapped on a leaf (four ports, each facing another after)
  silent-neighbor-loss  the peer's lldpd stops sending (one port, or the whole daemon)
  device-wide       a NIC/ASIC reset: 2-8 ports of one device within 20 ms (single or a reset loop)
  both-ends         a bad cable or optic: both ends of a link flap together
  degrading         micro (or short) flaps coming faster and faster, then an outage > 1 s; often
                    LLDPDUs lost and pause time creeping up from a minute or two before
A *port* fault is seen by its own end only (a receiver losing lock while the peer's PHY rides
through: true of short glitches, a simplification for long outages), a *link* fault by both
ends, a *device* fault by several ports of one device.

The truth labels are DESIGN.md's definitions applied to what the simulator did, with
perfect knowledge: true down/up times, which flaps the kernel never notified, the storms
driven, the LLDPDUs each port really received (so "paired by LLDP" and "the MSAP differs"
mean what they say), the cabling at every moment. The shape labels (single, oscillation,
burst, degrading) are the shape the fault drove.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import random
from dataclasses import dataclass, field

from flapwatch.tables import schema
from flapwatch.wire import frames as wire
from flapwatch.kernel.linkwatch import notifications
from flapwatch.sources.pcapng import LINKTYPE_ETHERNET, LINKTYPE_NETLINK, PcapngWriter
from flapwatch.assess.signatures import LABELS

from flapwatch.tables.units import NS_PER_S as S  # noqa: E402
MS = 1_000_000
US = 1_000
FOREVER = 1 << 62

FAMILIES = ("stable", "micro-flap", "single", "oscillation", "burst", "hidden", "pfc-linked", "neighbor-change",
            "silent-neighbor-loss", "device-wide", "both-ends", "degrading")

# The definitions' thresholds the truth is computed with, on true times. (signatures.py uses
# the same, except 1.5 s for "together": it sees downs through linkwatch, up to a second late.)
DEFINITIONS = {
    "micro_flap_ms": 10.0,  # micro-flap: down shorter than this
    "together_s": 1.0,  # device-wide / both-ends: first downs this close
    "pfc_link_s": 5.0,  # pfc-linked: a storm overlapping the episode or ending this soon before its first down
    "storm_min_ms": 200.0,  # a storm: continuously paused this long (SONiC pfcwd detection time)
}

PFC_QUANTUM_BITS = 512
EPOCH0 = 1_790_000_000 * S  # late 2026: every scenario starts after this


def _mau_for(speed_bps: int) -> int:
    """An 802.3 MAU type the decoder maps to this speed; 0 (unknown) when it has none."""
    for mau in range(1, 79):
        if schema.mau_speed_bps(mau) == speed_bps:
            return mau
    return 0


# ------------------------------------------------------------------------------ fleet


@dataclass
class Port:
    name: str  # "leaf1:swp3": the IDB if_name and the IFLA_IFNAME
    device: str
    short: str  # "swp3": the LLDP port id (subtype 5, interface name)
    ifindex: int
    mac: bytes
    speed_bps: int = 100 * 10**9
    lossless: int = 3  # the PFC priority RoCE uses
    ip: str = ""


@dataclass
class Device:
    name: str
    kind: str  # "leaf", "host", "spine" (spines are not captured)
    chassis_mac: bytes
    mgmt_ip: str
    ports: list[str] = field(default_factory=list)
    captured: bool = True
    clock_offset_ns: int = 0  # this device's capture clock against true time
    system_desc: str = ""


@dataclass
class Fleet:
    devices: dict[str, Device]
    ports: dict[str, Port]
    peer0: dict[str, str]  # the cabling at the start, both directions

    def device_of(self, port: str) -> Device:
        return self.devices[self.ports[port].device]

    def captured_ports(self) -> list[str]:
        return [p for p, port in self.ports.items() if self.devices[port.device].captured]


def make_fleet(rng: random.Random) -> Fleet:
    devices: dict[str, Device] = {}
    ports: dict[str, Port] = {}
    peer0: dict[str, str] = {}
    n_leaves = rng.choice((1, 1, 2))
    n_hosts = rng.randint(2, 6)
    dual = rng.random() < 0.5 and n_hosts <= 4  # dual-port hosts: one port per leaf (rail-optimised)
    oui = rng.choice(("b8:ce:f6", "1c:34:da", "98:03:9b"))

    def add_device(name: str, kind: str, captured: bool = True) -> Device:
        k = len(devices) + 1
        base = f"{oui}:{k:02x}:{rng.randrange(256):02x}"
        desc = {"leaf": "Cumulus Linux 5.9 on Spectrum-4", "host": "Ubuntu 22.04 (GPU node)",
                "spine": "SONiC 202311 on Tomahawk-5"}[kind]
        d = Device(name, kind, wire.mac_bytes(base + ":00"), f"10.{k}.0.1", captured=captured,
                   clock_offset_ns=rng.randint(-200 * US, 200 * US), system_desc=desc)
        devices[name] = d
        return d

    def add_port(dev: Device, short: str, speed: int) -> Port:
        k = len(dev.ports) + 1
        mac = bytearray(dev.chassis_mac)
        mac[5] = k
        p = Port(f"{dev.name}:{short}", dev.name, short, k + 1, bytes(mac), speed,
                 ip=f"10.{len(devices)}.{k}.{rng.randint(2, 250)}")
        dev.ports.append(p.name)
        ports[p.name] = p
        return p

    def cable(a: Port, b: Port) -> None:
        peer0[a.name], peer0[b.name] = b.name, a.name

    spine = add_device("spine1", "spine", captured=False)
    leaves = [add_device(f"leaf{i + 1}", "leaf") for i in range(n_leaves)]
    leaf_next = {leaf.name: 1 for leaf in leaves}
    for leaf in leaves:  # uplinks towards a spine nobody captures
        for u in range(rng.randint(1, 2)):
            up = add_port(leaf, f"swp{60 + u}", 400 * 10**9)
            sp = add_port(spine, f"Ethernet{len(spine.ports) * 8}", 400 * 10**9)
            cable(up, sp)
    for h in range(n_hosts):
        host = add_device(f"gpu-host{rng.randint(1, 9)}{h}", "host")
        speed = rng.choice((100, 100, 200, 400)) * 10**9
        n_ports = 2 if dual else 1
        for k in range(n_ports):
            leaf = leaves[(h + k) % n_leaves] if n_ports == 2 else leaves[0 if h < 2 else h % n_leaves]
            hp = add_port(host, f"ens{1 + k}f0np0" if rng.random() < 0.5 else f"ens1f{k}np{k}", speed)
            lp = add_port(leaf, f"swp{leaf_next[leaf.name]}", speed)
            leaf_next[leaf.name] += rng.randint(1, 3)
            cable(hp, lp)
    for p in ports.values():
        p.lossless = 3 if rng.random() < 0.85 else 4
    return Fleet(devices, ports, peer0)


# ------------------------------------------------------------------------------ world


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
    """Everything the fleet does over the scenario, in true time (the _render_* functions turn
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


# --------------------------------------------------------------------- flap patterns


def _log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def micro_ns(rng: random.Random) -> int:
    """A micro-flap: 1.5-8 ms down (longer than the 0.3-0.9 ms notification delay, so the
    kernel can show it; clear of the 10 ms threshold by more than the timing jitter)."""
    return int(rng.uniform(1.5, 8.0) * MS)


def oscillation_pattern(rng: random.Random, period_ns: int, n: int, micro: bool) -> list[tuple[int, int]]:
    down = micro_ns(rng) if micro else int(rng.uniform(0.015, min(0.4 * period_ns / S, 2.0)) * S)
    out, t = [], 0
    for _ in range(n):
        d = max(MS, int(down * rng.uniform(0.9, 1.1)))  # one fault, one down time (+-10 %)
        out.append((t, d))
        t += int(period_ns * rng.gauss(1.0, 0.03))
    return out


def burst_pattern(rng: random.Random, n: int, min_span_s: float = 3.0) -> list[tuple[int, int]]:
    """Many flaps, irregular: a rate that keeps changing (1.5-10 flaps/s, redrawn every
    0.5-2 s: the chatter of a failing optic swells and fades), gaps capped below a second,
    over at least ``min_span_s``; each down 15-100 ms. (Shorter bursts fall inside one or two
    linkwatch seconds, where only counts survive and nothing on netlink tells them from an
    oscillation. A burst's later flaps are hidden, so nobody watching netlink knows their
    durations either: micro-flaps are left to the families that show them.)"""
    gaps: list[int] = []
    rate, until = 0.0, 0
    t = 0
    while len(gaps) < n - 1 or t < min_span_s * S:
        if t >= until:
            rate = _log_uniform(rng, 1.5, 10.0)
            until = t + int(rng.uniform(0.5, 2.0) * S)
        gap = min(int(rng.expovariate(rate) * S), int(0.95 * S))
        gap = max(gap, 30 * MS)
        gaps.append(gap)
        t += gap
    out, t = [], 0
    for gap in gaps + [S]:
        dur = min(int(_log_uniform(rng, 0.015, 0.1) * S), gap - 10 * MS)
        out.append((t, max(dur, 15 * MS)))
        t += gap
    return out


def degrading_pattern(rng: random.Random, micro: bool) -> tuple[list[tuple[int, int]], int]:
    """Precursor flaps coming faster and faster, then an outage over 1 s. Returns the
    pattern and the outage's offset."""
    gap = rng.uniform(18, 40) * S
    q = rng.uniform(0.6, 0.8)
    end_gap = rng.uniform(0.8, 3.0) * S
    out, t = [], 0
    while True:
        d = micro_ns(rng) if micro else int(_log_uniform(rng, 0.015, 0.25) * S)
        out.append((t, d))
        if gap < end_gap or len(out) >= 30:
            break
        t += int(gap * rng.uniform(0.8, 1.2))
        gap *= q
    t += int(max(gap, 0.6 * S) * rng.uniform(0.8, 1.2))
    out.append((t, int(_log_uniform(rng, 1.5, 30) * S)))
    return out, t


def span_of(pattern: list[tuple[int, int | None]]) -> int:
    return max(off + (dur or 0) for off, dur in pattern)


# ---------------------------------------------------------------------- families


def _pick(rng: random.Random, items: list, k: int) -> list:
    return rng.sample(items, min(k, len(items)))


def _host_ports(w: World) -> list[str]:
    return [p for p in w.fleet.captured_ports() if w.fleet.device_of(p).kind == "host"]


def _shape_fault(w: World, family: str, port: str, shape: str, kind: str = "port", within=None) -> bool:
    """A one-sided fault of a given shape on one port."""
    rng = w.rng
    period = None
    if shape == "micro":
        pattern = [(0, micro_ns(rng))]
        if rng.random() < 0.3:  # a second micro-flap soon after
            pattern.append((int(rng.uniform(0.2, 5) * S), micro_ns(rng)))
        shape_label = "single" if len(pattern) == 1 else None
    elif shape == "single":
        pattern = [(0, int(_log_uniform(rng, 0.02, 15) * S))]
        shape_label = "single"
    elif shape == "oscillation":
        period = int(_log_uniform(rng, 0.15, 8) * S)
        n = rng.randint(3, max(3, min(25, int(100 * S / period))))
        pattern = oscillation_pattern(rng, period, n, micro=rng.random() < 0.25)
        shape_label = "oscillation"
    elif shape == "burst":
        pattern = burst_pattern(rng, rng.randint(10, 40))
        shape_label = "burst"
    elif shape == "hidden":  # a bounce: the link drops again right after it came back (a link-training retry)
        d1 = int(rng.uniform(0.015, 0.3) * S)
        pattern = [(0, d1), (d1 + int(rng.uniform(0.05, 0.4) * S), int(rng.uniform(0.015, 0.3) * S))]
        shape_label = None
    else:
        raise ValueError(shape)
    t = w.place([port], span_of(pattern), within=within)
    if t is None:
        return False
    fid = w.new_fault(family, kind, [port], shape=shape)
    w.flaps(port, t, pattern, fid, family, shape_label, period)
    return True


def fam_stable(w: World) -> None:
    """No fault: the noise every fleet has, and sometimes a device's LLDP description changing."""
    if w.rng.random() < 0.3:  # a benign LLDP content change: software upgraded in place
        dev = w.rng.choice([d for d in w.fleet.devices.values() if d.captured])
        w.desc_changes.append((w.rng.randint(w.t0 + 20 * S, w.t_end - 20 * S), dev.name, dev.system_desc + " (patched)"))


def _simple(shape: str, family: str):
    """A family of one-sided faults of one shape on a few random ports."""
    def build(w: World) -> None:
        ports = w.fleet.captured_ports()
        for p in _pick(w.rng, ports, w.rng.randint(1, 3 if shape in ("micro", "single", "hidden") else 2)):
            _shape_fault(w, family, p, shape)
    return build


def fam_pfc_linked(w: World) -> None:
    """A port paused for good (its peer's queue stuck), then the link goes down: during the
    storm (its frames stop with the link) or up to 3 s after it ends; sometimes with pause
    time creeping up before."""
    rng = w.rng
    for port in _pick(rng, w.fleet.captured_ports(), rng.randint(1, 2)):
        speed = w.fleet.ports[port].speed_bps
        storm_len = int(rng.uniform(0.3, 1.0 if speed > 200e9 else 4.0) * S)
        cut = rng.random() < 0.5  # the link goes down during the storm, else after it
        gap = 0 if cut else int(rng.uniform(0.05, 3.0) * S)
        flap_at = int(storm_len * rng.uniform(0.6, 1.0)) if cut else storm_len + gap
        shape = rng.choices(("single", "micro", "burst"), (0.7, 0.15, 0.15))[0]
        if shape == "single":
            pattern = [(0, int(_log_uniform(rng, 0.05, 10) * S))]
        elif shape == "micro":
            pattern = [(0, micro_ns(rng))]
        else:
            pattern = burst_pattern(rng, rng.randint(10, 25))
        creep_s = rng.uniform(20, 60) if rng.random() < 0.3 else 0
        t = w.place([port], flap_at + span_of(pattern), lo_s=15 + creep_s)
        if t is None:
            continue
        fid = w.new_fault("pfc-linked", "port", [port], storm_s=storm_len / S, cut=cut)
        w.storms.append(Storm(port, w.fleet.ports[port].lossless, t, t + storm_len, _refresh(rng, speed)))
        if creep_s:
            w.creep.append((port, t - int(creep_s * S), t))
        w.flaps(port, t + flap_at, pattern, fid, "pfc-linked", "burst" if shape == "burst" else "single")


def _refresh(rng: random.Random, speed_bps: int) -> int:
    """How often a paused-for-good sender refreshes XOFF: before 0xffff quanta run out."""
    pause_ns = 65535 * PFC_QUANTUM_BITS * S // speed_bps
    return int(pause_ns * rng.uniform(0.4, 0.85))


def fam_neighbor_change(w: World) -> None:
    """Two hosts' cables swapped on one leaf: each of the four ports goes down, comes back
    facing another port."""
    rng, fleet = w.rng, w.fleet
    by_leaf: dict[str, list[str]] = {}
    for hp in _host_ports(w):
        by_leaf.setdefault(fleet.ports[fleet.peer0[hp]].device, []).append(hp)
    leaves = [ps for ps in by_leaf.values() if len(ps) >= 2]
    if not leaves:
        return _simple("single", "neighbor-change")(w)
    a, b = rng.sample(rng.choice(leaves), 2)
    x, y = fleet.peer0[a], fleet.peer0[b]
    d12, d23, d34 = (int(rng.uniform(*r) * S) for r in ((3, 15), (5, 30), (3, 15)))
    span = d12 + d23 + d34
    t1 = w.place([a, b, x, y], span, tail_s=45)
    if t1 is None:
        return
    t2, t3 = t1 + d12, t1 + d12 + d23
    t4 = t3 + d34
    fid = w.new_fault("neighbor-change", "swap", [a, b, x, y])
    jit = lambda: rng.randint(20 * US, 3 * MS)  # noqa: E731  the two ends of one cable, not at the same instant
    for port, down, up in ((a, t1, t3), (x, t1 + jit(), t4), (b, t2, t4 + jit()), (y, t2 + jit(), t3 + jit())):
        w.flaps(port, down, [(0, up - down)], fid, "neighbor-change", "single")
    w.recabling.append((t1, {a: None, x: None}))
    w.recabling.append((t2, {b: None, y: None}))
    w.recabling.append((t3, {a: y, y: a}))
    w.recabling.append((t4, {b: x, x: b}))


def fam_silent_neighbor_loss(w: World) -> None:
    """The peer stops sending LLDP with the link up: its lldpd crashed (every port) or was
    turned off on one port; no shutdown LLDPDU."""
    rng, fleet = w.rng, w.fleet
    ttl = w.lldp_ttl * S
    candidates = [p for p in fleet.captured_ports() if fleet.peer0.get(p)]
    for port in _pick(rng, candidates, rng.randint(1, 2)):
        peer = fleet.peer0[port]
        whole_daemon = rng.random() < 0.3 and fleet.devices[fleet.ports[peer].device].captured
        silenced = [q for q in fleet.devices[fleet.ports[peer].device].ports] if whole_daemon else [peer]
        victims = [fleet.peer0[q] for q in silenced if fleet.peer0.get(q)]
        t = w.place(victims, ttl + w.lldp_tx_ns + 5 * S, tail_s=15)
        if t is None:
            continue
        w.new_fault("silent-neighbor-loss", "lldpd-crash" if whole_daemon else "lldp-tx-off", victims)
        for q in silenced:
            w.lldp_stops[q] = min(w.lldp_stops.get(q, FOREVER), t)


def fam_device_wide(w: World) -> None:
    """A NIC or ASIC reset: several ports of one device go down within milliseconds."""
    rng, fleet = w.rng, w.fleet
    devs = [d for d in fleet.devices.values() if d.captured and len(d.ports) >= 2]
    if not devs:
        return _simple("single", "device-wide")(w)
    dev = rng.choice(devs)
    ports = _pick(rng, dev.ports, rng.randint(2, min(8, len(dev.ports))))
    shape = rng.choices(("single", "oscillation"), (0.8, 0.2))[0]
    if shape == "single":
        base = int(_log_uniform(rng, 0.05, 20) * S)
        patterns = {p: [(rng.randint(0, 20 * MS), int(base * rng.uniform(0.9, 1.1)))] for p in ports}
        period = None
    else:
        period = int(_log_uniform(rng, 1.5, 6) * S)  # a reset loop
        pat = oscillation_pattern(rng, period, rng.randint(3, 8), micro=False)
        patterns = {p: [(o + rng.randint(0, 20 * MS), d) for o, d in pat] for p in ports}
    t = w.place(ports, max(span_of(pt) for pt in patterns.values()))
    if t is None:
        return
    fid = w.new_fault("device-wide", "device", ports, device=dev.name, shape=shape)
    for p, pattern in patterns.items():
        w.flaps(p, t, pattern, fid, "device-wide", shape, period)


def fam_both_ends(w: World) -> None:
    """A bad cable or optic: both ends of one link flap together."""
    rng, fleet = w.rng, w.fleet
    links = [(p, fleet.peer0[p]) for p in _host_ports(w)]
    for a, b in _pick(rng, links, rng.randint(1, 2)):
        shape = rng.choices(("single", "micro", "oscillation"), (0.5, 0.25, 0.25))[0]
        period = None
        if shape == "oscillation":
            period = int(_log_uniform(rng, 0.15, 8) * S)
            base = oscillation_pattern(rng, period, rng.randint(3, max(3, min(15, int(60 * S / period)))), rng.random() < 0.25)
        elif shape == "micro":
            base = [(0, micro_ns(rng))]
        else:
            base = [(0, int(_log_uniform(rng, 0.02, 15) * S))]
        t = w.place([a, b], span_of(base) + 5 * MS)
        if t is None:
            continue
        fid = w.new_fault("both-ends", "link", [a, b], shape=shape)
        for port in (a, b):
            pattern = [(o + rng.randint(0, 2 * MS), d if shape == "micro" else int(d * rng.uniform(0.97, 1.03)))
                       for o, d in base]
            w.flaps(port, t, pattern, fid, "both-ends", "oscillation" if shape == "oscillation" else "single", period)


def fam_degrading(w: World) -> None:
    """A port getting worse: flaps (mostly micro) coming faster, then an outage over 1 s.
    Often its receiver's errors show first: LLDPDUs from the neighbor lost more and more, and
    pause time creeping up, from a minute or two before the first flap."""
    rng = w.rng
    port = rng.choice(w.fleet.captured_ports())
    pattern, outage_at = degrading_pattern(rng, micro=rng.random() < 0.8)
    span = span_of(pattern)
    early = int(rng.uniform(30, 120) * S)
    t = w.place([port], span, lo_s=10 + early / S)
    if t is None:
        return
    fid = w.new_fault("degrading", "port", [port], outage_offset_s=outage_at / S)
    w.flaps(port, t, pattern, fid, "degrading", "degrading")
    if rng.random() < 0.5:
        w.creep.append((port, t - early, t + outage_at))
    if rng.random() < 0.5:
        w.rx_loss.append((port, t - early, t + outage_at, rng.uniform(0.3, 0.7)))


FAMILY_BUILDERS = {
    "stable": fam_stable,
    "micro-flap": _simple("micro", "micro-flap"),
    "single": _simple("single", "single"),
    "oscillation": _simple("oscillation", "oscillation"),
    "burst": _simple("burst", "burst"),
    "hidden": _simple("hidden", "hidden"),
    "pfc-linked": fam_pfc_linked,
    "neighbor-change": fam_neighbor_change,
    "silent-neighbor-loss": fam_silent_neighbor_loss,
    "device-wide": fam_device_wide,
    "both-ends": fam_both_ends,
    "degrading": fam_degrading,
}
OVERLAP_SHAPES = ("micro", "single", "oscillation", "burst")


def _add_overlap(w: World) -> None:
    """An unrelated fault on a device the scenario's own faults leave alone, overlapping them in time."""
    busy = [(p, a, b) for p, a, b in w._reserved]
    if not busy:
        return
    _, a, b = w.rng.choice(busy)
    ports = w.fleet.captured_ports()
    w.rng.shuffle(ports)
    shape = w.rng.choice(OVERLAP_SHAPES)
    for p in ports[:6]:
        if _shape_fault(w, "overlap", p, shape, within=(a - 5 * S, b)):
            return


# ------------------------------------------------------------------------- rendering


@dataclass
class SimResult:
    path: str
    truth_path: str
    truth: dict
    frames: int
    manifest: list | None = None  # (ts_ns, interface, kind, fields) per frame, when asked for


class _Frames:
    """Frames to write: (ts_ns, interface name, linktype, bytes, kind, fields)."""

    def __init__(self, fleet: Fleet, keep_fields: bool):
        self.fleet = fleet
        self.rows: list[tuple] = []
        self.keep = keep_fields

    def add(self, t: int, device: str, iface: str, linktype: int, data: bytes, kind: str, fields=None) -> None:
        ts = t + self.fleet.devices[device].clock_offset_ns
        self.rows.append((ts, iface, linktype, data, kind, fields if self.keep else None))


def _render_netlink(w: World, out: _Frames) -> dict[str, list]:
    """Each captured device's nlmon recording. Returns every notification per port (truth)."""
    rng, fleet = w.rng, w.fleet
    sent: dict[str, list] = {}
    for dev in fleet.devices.values():
        if not dev.captured:
            continue
        names = dev.ports
        counts = [rng.randint(0, 12) for _ in names]
        ups, downs = [c + 1 for c in counts], counts
        transitions = []
        for i, p in enumerate(names):
            for down, up in w.down[p]:
                transitions.append((down, i, False))
                if up is not None:
                    transitions.append((up, i, True))
        msgs = notifications(transitions, [True] * len(names), ups, downs, rng)
        iface = f"{dev.name}:nlmon0"
        pid, seq = rng.randint(2000, 60000), w.t0 // S
        t = w.t0 + rng.randint(1 * MS, 40 * MS)

        def stats(t_: int) -> tuple[int, ...]:  # rx/tx packets and bytes growing with time
            e = t_ - w.t0
            return int(e / 1e3), int(e / 1.1e3), int(e * 4.1), int(e * 3.9)

        port_of = {p: fleet.ports[p] for p in names}
        dump = [wire.newlink_msg(ifindex=1, ifname=f"{dev.name}:lo", mac=bytes(6), up=True, changes=0, up_count=0,
                                 down_count=0, mtu=65536, loopback=True, flags=wire.NLM_F_MULTI, seq=seq, pid=pid)]
        fields = [(f"{dev.name}:lo", 1, 0, 0)]
        for i, p in enumerate(names):
            dump.append(wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                         changes=ups[i] + downs[i], up_count=ups[i], down_count=downs[i],
                                         stats=stats(t), flags=wire.NLM_F_MULTI, seq=seq, pid=pid))
            fields.append((p, 1, ups[i], downs[i]))
        out.add(t, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(b"".join(dump)), "netlink", fields)
        out.add(t + 30 * US, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(wire.done_msg(seq, pid)), "netlink", [])
        # The captures starting on each port turn promiscuous mode on: RTM_NEWLINK, no carrier change.
        t += rng.randint(20 * MS, 200 * MS)
        for i, p in enumerate(names):
            t += rng.randint(1 * MS, 30 * MS)
            msg = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                   changes=ups[i] + downs[i], up_count=ups[i], down_count=downs[i], stats=stats(t),
                                   change=0x100, promisc=True)
            out.add(t, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg), "netlink", [(p, 1, ups[i], downs[i])])
        for m in msgs:
            p = names[m.port]
            if m.t_ns >= w.t_end:
                continue
            msg = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=m.up,
                                   changes=m.up_count + m.down_count, up_count=m.up_count, down_count=m.down_count,
                                   stats=stats(m.t_ns), promisc=True)
            out.add(m.t_ns, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg), "netlink",
                    [(p, int(m.up), m.up_count, m.down_count)])
            sent.setdefault(p, []).append(m)
            # Sometimes a second notification follows with nothing changed (addrconf, qdisc).
            if m.up and rng.random() < 0.15:
                t2 = m.t_ns + rng.randint(50 * US, 5 * MS)
                if not _changes_between(w, p, m.t_ns, t2) and t2 < w.t_end:
                    msg2 = wire.newlink_msg(ifindex=port_of[p].ifindex, ifname=p, mac=port_of[p].mac, up=True,
                                            changes=m.up_count + m.down_count, up_count=m.up_count,
                                            down_count=m.down_count, stats=stats(t2), promisc=True)
                    out.add(t2, dev.name, iface, LINKTYPE_NETLINK, wire.nlmon_frame(msg2), "netlink",
                            [(p, 1, m.up_count, m.down_count)])
    return sent


def _changes_between(w: World, port: str, a: int, b: int) -> bool:
    return any(a <= d <= b or (u is not None and a <= u <= b) for d, u in w.down[port])


def _lldp_bytes(w: World, port: str, ttl: int, desc_at: dict) -> bytes:
    p = w.fleet.ports[port]
    dev = w.fleet.devices[p.device]
    host = dev.kind == "host"
    return wire.lldp_frame(
        p.mac, chassis_mac=dev.chassis_mac, port_id=p.short, ttl=ttl, port_desc=f"{p.short} to fabric" if host else p.short,
        system_name=dev.name, system_desc=desc_at.get(dev.name, dev.system_desc),
        caps=(wire.CAP_STATION | wire.CAP_ROUTER, wire.CAP_STATION) if host else (wire.CAP_BRIDGE | wire.CAP_ROUTER, wire.CAP_ROUTER),
        mgmt_ip=dev.mgmt_ip, ifindex=p.ifindex, pfc=(1 if host else 0, 0, 8, 1 << p.lossless),
        mau_type=_mau_for(p.speed_bps), max_frame=9216)


def _render_lldp(w: World, out: _Frames) -> dict[str, list]:
    """lldpd on every port (spines too). Returns each port's receptions: (t, MSAP) (truth)."""
    rng, fleet = w.rng, w.fleet
    received: dict[str, list] = {p: [] for p in fleet.ports}
    cache: dict[tuple, bytes] = {}
    changes = sorted(w.desc_changes)
    for port, p in fleet.ports.items():
        dev = fleet.devices[p.device]
        tx_times = []
        t = w.t0 + rng.randint(0, w.lldp_tx_ns)
        while t < w.t_end:
            tx_times.append(t)
            t += w.lldp_tx_ns + rng.randint(-2 * MS, 2 * MS)
        for down, up in w.down[port]:  # lldpd notices the port came up and sends at once
            if up is not None:
                tx_times.append(up + rng.randint(200 * MS, 2 * S))
        stop = w.lldp_stops.get(port, FOREVER)
        for t in sorted(tx_times):
            if t >= w.t_end or t >= stop or w.is_down(port, t):
                continue
            desc_at = {d: txt for when, d, txt in changes if when <= t}
            key = (port, desc_at.get(dev.name))
            if key not in cache:
                cache[key] = _lldp_bytes(w, port, w.lldp_ttl, desc_at)
            frame = cache[key]
            fields = (wire.mac_text(dev.chassis_mac), p.short, w.lldp_ttl, dev.name)
            if dev.captured:  # our own advertisement, seen leaving
                out.add(t, dev.name, port, LINKTYPE_ETHERNET, frame, "lldp", fields)
            peer = w.peer_at(port, t)
            if not w.link_up(port, peer, t):
                continue
            if _lost(w, peer, t):
                continue
            received[peer].append((t, (wire.mac_text(dev.chassis_mac), p.short)))
            if fleet.devices[fleet.ports[peer].device].captured:
                out.add(t + rng.randint(1 * US, 5 * US), fleet.ports[peer].device, peer, LINKTYPE_ETHERNET, frame,
                        "lldp", fields)
    for rx in received.values():
        rx.sort()
    return received


def _lost(w: World, rx_port: str, t: int) -> bool:
    for port, a, b, p_max in w.rx_loss:
        if port == rx_port and a <= t <= b:
            return w.rng.random() < p_max * (t - a) / max(1, b - a)
    return False


def _render_pfc(w: World, out: _Frames) -> None:
    rng, fleet = w.rng, w.fleet
    for storm in w.storms:
        rx = fleet.ports[storm.port]
        peer = w.peer_at(storm.port, storm.start_ns)
        tx = fleet.ports[peer]
        quanta = [0] * 8
        quanta[storm.priority] = 0xFFFF
        xoff = wire.pfc_frame(tx.mac, 1 << storm.priority, quanta)
        pause_ns = 65535 * PFC_QUANTUM_BITS * S // rx.speed_bps
        t, first, last = storm.start_ns, None, None
        while t < storm.end_ns and w.link_up(storm.port, peer, t):
            out.add(t, rx.device, storm.port, LINKTYPE_ETHERNET, xoff, "pfc", (wire.mac_text(tx.mac), 1 << storm.priority, tuple(quanta)))
            first = t if first is None else first
            last = t + pause_ns
            t += int(storm.refresh_ns * rng.uniform(0.9, 1.1))
        if t >= storm.end_ns and w.link_up(storm.port, peer, t):  # ended by the sender: XON
            out.add(t, rx.device, storm.port, LINKTYPE_ETHERNET, wire.pfc_frame(tx.mac, 1 << storm.priority, [0] * 8),
                    "pfc", (wire.mac_text(tx.mac), 1 << storm.priority, (0,) * 8))
            last = t
        storm.observed = (first, last) if first is not None else None
    # Background: congestion blips (a few XOFF, then XON), rarer 802.3x PAUSE; more of both
    # where a creep ramps up.
    for port in fleet.captured_ports():
        rx = fleet.ports[port]
        rate = _log_uniform(rng, 0.03, 0.5)  # blips per second
        ramps = [(a, b) for p, a, b in w.creep if p == port]
        t = w.t0 + int(rng.expovariate(rate) * S)
        while t < w.t_end:
            boost = 0.0
            for a, b in ramps:
                if a <= t <= b:
                    boost = (t - a) / max(1, b - a)
            peer = w.peer_at(port, t)
            if w.link_up(port, peer, t):
                tx = fleet.ports[peer]
                prio = rx.lossless if rng.random() < 0.9 else (rx.lossless + 1) % 8
                n = rng.randint(1, 4) + int(boost * rng.randint(0, 40))
                refresh = _refresh(rng, rx.speed_bps)
                vlan = rng.randint(2, 4000) if rng.random() < 0.01 else None
                for k in range(n + 1):
                    q = [0] * 8
                    if k < n:
                        q[prio] = 0xFFFF if rng.random() < 0.7 else rng.randint(0x100, 0xFFFE)
                    out.add(t + k * refresh, rx.device, port, LINKTYPE_ETHERNET,
                            wire.pfc_frame(tx.mac, 1 << prio, q, vlan, prio if vlan else 0), "pfc",
                            (wire.mac_text(tx.mac), 1 << prio, tuple(q)))
            t += int(rng.expovariate(rate + boost * 6.0) * S) + 1
        if fleet.device_of(port).kind == "leaf" and rng.random() < 0.2:  # a host sending global PAUSE now and then
            t = w.t0 + int(rng.uniform(0, 60) * S)
            while t < w.t_end:
                peer = w.peer_at(port, t)
                if w.link_up(port, peer, t):
                    out.add(t, rx.device, port, LINKTYPE_ETHERNET, wire.pause_frame(fleet.ports[peer].mac, rng.choice((0xFFFF, 0x400, 0))),
                            "pause", None)
                t += int(rng.uniform(20, 90) * S)


def _render_traffic(w: World, out: _Frames) -> None:
    """RoCEv2 data and ARP: what a busy port receives (a sample: a few frames a second)."""
    rng, fleet = w.rng, w.fleet
    for port in fleet.captured_ports():
        rx = fleet.ports[port]
        rate = rng.uniform(1.0, 3.0)
        t = w.t0 + int(rng.expovariate(rate) * S)
        psn = rng.randrange(1 << 24)
        while t < w.t_end:
            peer = w.peer_at(port, t)
            if w.link_up(port, peer, t):
                tx = fleet.ports[peer]
                if rng.random() < 0.97:
                    data = wire.roce_frame(tx.mac, rx.mac, tx.ip or "10.0.0.1", rx.ip or "10.0.0.2", psn)
                else:
                    data = wire.arp_request(tx.mac, tx.ip or "10.0.0.1", rx.ip or "10.0.0.2")
                out.add(t, rx.device, port, LINKTYPE_ETHERNET, data, "other", None)
                psn += 1
            t += int(rng.expovariate(rate) * S) + 1


# ---------------------------------------------------------------------------- truth


def _truth(w: World, sent: dict[str, list], received: dict[str, list]) -> list[TruthEpisode]:
    """Apply DESIGN.md's definitions to what really happened."""
    fleet = w.fleet
    micro = int(DEFINITIONS["micro_flap_ms"] * MS)
    together = int(DEFINITIONS["together_s"] * S)
    link_s = int(DEFINITIONS["pfc_link_s"] * S)
    eps = [e for e in w.episodes if fleet.devices[fleet.ports[e.port].device].captured]
    for e in eps:
        e.flaps.sort(key=lambda f: f[0])
        e.start_ns = e.flaps[0][0]
        e.end_ns = e.flaps[-1][1]
        msgs = sent.get(e.port, [])
        e.notified = [any(not m.up and d <= m.t_ns < (u if u is not None else FOREVER) for m in msgs) for d, u in e.flaps]
        if any(u is not None and u - d < micro for d, u in e.flaps):
            e.labels.add("micro-flap")
        if not all(e.notified):
            e.labels.add("hidden")
        if e.shape and e.shape != "micro":
            e.labels.add(e.shape)
        if len(e.flaps) == 1:
            e.labels.add("single")
        last = e.end_ns if e.end_ns is not None else w.t_end
        for s in w.storms:
            if s.port == e.port and s.observed and s.observed[1] - s.observed[0] >= DEFINITIONS["storm_min_ms"] * MS:
                if s.observed[0] <= last and s.observed[1] >= e.start_ns - link_s:
                    e.labels.add("pfc-linked")
        # The MSAP the port's LLDP knew before the flap against the first one after it.
        before = _heard(received, e.port, e.start_ns, last=True)
        after = _heard(received, e.port, last, last=False)
        if before is not None and after is not None and before != after:
            e.labels.add("neighbor-change")
    port_of_msap = {(wire.mac_text(fleet.devices[p.device].chassis_mac), p.short): name for name, p in fleet.ports.items()}

    def lldp_peer(port: str, t: int) -> str | None:
        """The port a port's LLDP names at t: its last neighbor heard, else its first one after."""
        msap = _heard(received, port, t, last=True) or _heard(received, port, t, last=False)
        return port_of_msap.get(msap)

    for e in eps:
        dev = fleet.ports[e.port].device
        for o in eps:
            if o is e or abs(o.start_ns - e.start_ns) > together:
                continue
            if fleet.ports[o.port].device == dev and o.port != e.port:
                e.labels.add("device-wide")
            # Paired by LLDP: either end names the other.
            if lldp_peer(e.port, e.start_ns) == o.port or lldp_peer(o.port, o.start_ns) == e.port:
                e.labels.add("both-ends")
    # LLDP: a neighbor aging out with the link up and no other neighbor left.
    ttl = w.lldp_ttl * S
    for port, rx in received.items():
        if not fleet.devices[fleet.ports[port].device].captured:
            continue
        live: dict[tuple, int] = {}
        checkpoints = [t for t, _ in rx] + [w.t_end]
        items = iter(rx)
        for t in checkpoints:
            for msap, exp in sorted(live.items(), key=lambda kv: kv[1]):
                if exp < t:
                    del live[msap]
                    if not live and not w.is_down(port, exp):
                        _silent_loss(w, eps, port, exp, ttl)
            nxt = next(items, None)
            if nxt is not None:
                live[nxt[1]] = nxt[0] + ttl
    return eps


def _heard(received: dict[str, list], port: str, t: int, last: bool):
    """The MSAP of the last LLDPDU the port received before t (last=True) or the first after."""
    rx = received.get(port, [])
    i = bisect.bisect_left(rx, (t,))
    if last:
        return rx[i - 1][1] if i > 0 else None
    return rx[i][1] if i < len(rx) else None


def _silent_loss(w: World, eps: list[TruthEpisode], port: str, expired: int, ttl: int) -> None:
    for e in eps:
        end = e.end_ns if e.end_ns is not None else w.t_end
        if e.port == port and e.start_ns - 5 * S <= expired <= end + 5 * S:
            e.labels.add("silent-neighbor-loss")
            return
    e = TruthEpisode(port, -1, "silent-neighbor-loss", None, [], labels={"silent-neighbor-loss"},
                     start_ns=expired - ttl, end_ns=expired)
    eps.append(e)


# ------------------------------------------------------------------------------- API


def family_for_seed(seed: int) -> str:
    """The bench's assignment: seeds cycle through the families."""
    return FAMILIES[seed % len(FAMILIES)]


def build_world(scenario: str, seed: int, duration_s: float | None = None) -> World:
    if scenario not in FAMILY_BUILDERS:
        raise ValueError(f"unknown scenario {scenario!r}: one of {', '.join(FAMILIES)}")
    rng = random.Random(f"{scenario}/{seed}")
    fleet = make_fleet(rng)
    lldp_tx = 30
    if scenario == "silent-neighbor-loss":
        lldp_tx = rng.choice((30, 10, 5))  # lldpd tx-interval; TTL = 4 x interval
    duration = duration_s
    duration_s = {"degrading": rng.uniform(330, 420), "silent-neighbor-loss": 4 * lldp_tx + lldp_tx + rng.uniform(60, 100),
                  "neighbor-change": rng.uniform(150, 220)}.get(scenario, rng.uniform(120, 220))
    t0 = EPOCH0 + rng.randrange(0, 200 * 86400) * S + rng.randrange(S)
    w = World(rng, fleet, t0, int((duration if duration is not None else duration_s) * S), lldp_tx)
    FAMILY_BUILDERS[scenario](w)
    if scenario != "stable" and rng.random() < 0.35:
        _add_overlap(w)
    w.finalize()
    return w


def simulate(scenario: str, out: str | os.PathLike, seed: int = 0, *, duration_s: float | None = None,
             manifest: bool = False) -> SimResult:
    """Write a scenario's capture to ``out`` (pcapng) and its truth to ``<out>.truth.json``.
    ``duration_s`` overrides the family's duration (faults that no longer fit are left out);
    ``manifest`` keeps every frame's (ts_ns, interface, kind, fields) in the result."""
    w = build_world(scenario, seed, duration_s)
    frames = _Frames(w.fleet, manifest)
    sent = _render_netlink(w, frames)
    received = _render_lldp(w, frames)
    _render_pfc(w, frames)
    _render_traffic(w, frames)
    frames.rows.sort(key=lambda r: r[0])
    out = os.fspath(out)
    with PcapngWriter(out, application=f"flapwatch simulate {scenario} --seed {seed}") as pw:
        for ts, iface, linktype, data, _, _ in frames.rows:
            pw.write(pw.add_interface(iface, linktype), ts, data)  # add_interface caches the id
    episodes = _truth(w, sent, received)
    truth = _truth_json(w, scenario, seed, episodes, frames, out)
    truth_path = out + ".truth.json"
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=1)
    man = [(ts, iface, kind, fields) for ts, iface, _, _, kind, fields in frames.rows] if manifest else None
    return SimResult(out, truth_path, truth, len(frames.rows), man)


def _truth_json(w: World, scenario: str, seed: int, episodes: list[TruthEpisode], frames: _Frames, out: str) -> dict:
    fleet = w.fleet
    # Pause frames can come before the first LLDPDU (with its MAU type), and 200/400G have no
    # MAU type the decoder maps: the operator's configuration gives every port's speed.
    speeds = {p: f"{fleet.ports[p].speed_bps // 10**9}G" for p in fleet.captured_ports()}
    eps = sorted(episodes, key=lambda e: (e.start_ns, e.port))
    risk = {}
    for p in fleet.captured_ports():
        flaps = sorted(w.down[p], key=lambda f: f[0])
        if flaps:
            risk[p] = {"flaps": flaps}
    for f in w.faults:
        if f["family"] == "degrading":
            p = f["ports"][0]
            outage = next(d for d, u in sorted(w.down[p], key=lambda x: x[0]) if u is None or u - d > S)
            risk.setdefault(p, {})["degrading_outage_ns"] = outage
    return {
        "about": "flapwatch simulate: what the simulator drove and the labels DESIGN.md's definitions give it",
        "scenario": scenario,
        "seed": seed,
        "start_ns": w.t0,
        "end_ns": w.t_end,
        "frames": len(frames.rows),
        "bytes": os.path.getsize(out),
        "lldp": {"tx_interval_s": w.lldp_tx_ns // S, "ttl_s": w.lldp_ttl},
        "config": {"port_speeds": speeds},  # flapwatch.analyze(path, truth["config"])
        "definitions": DEFINITIONS,
        "devices": [{"name": d.name, "kind": d.kind, "captured": d.captured, "chassis_mac": wire.mac_text(d.chassis_mac),
                     "ports": d.ports} for d in fleet.devices.values()],
        "ports": [{"name": p.name, "device": p.device, "mac": wire.mac_text(p.mac), "speed_bps": p.speed_bps,
                   "peer": fleet.peer0.get(p.name), "lossless_priority": p.lossless} for p in fleet.ports.values()],
        "faults": w.faults,
        "recabling": [[t, ch] for t, ch in w.recabling],
        "storms": [{"port": s.port, "priority": s.priority, "start_ns": s.observed[0], "end_ns": s.observed[1]}
                   for s in w.storms if s.observed],
        "episodes": [{"port": e.port, "device": fleet.ports[e.port].device, "fault": e.fault, "family": e.family,
                      "start_ns": e.start_ns, "end_ns": e.end_ns, "flaps": len(e.flaps),
                      "labels": sorted(e.labels, key=LABELS.index), "period_ns": e.period_ns,
                      "flap_times": [[d, u, n] for (d, u), n in zip(e.flaps, e.notified)]} for e in eps],
        "risk": risk,
    }
