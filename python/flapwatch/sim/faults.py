"""The faults: flap patterns and one family per label of docs/DESIGN.md's flap signatures, each with
random parameters (ports, times, durations, periods, jitter) and, in a third of the scenarios,
an unrelated fault on another device overlapping it in time:
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
"""

from __future__ import annotations

import random

from flapwatch.sim.world import FOREVER, Storm, World, log_uniform, refresh_interval
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
from flapwatch.tables.units import NS_PER_US as US

# ----------------------------------------------------------------------------- flap patterns


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
            rate = log_uniform(rng, 1.5, 10.0)
            until = t + int(rng.uniform(0.5, 2.0) * S)
        gap = min(int(rng.expovariate(rate) * S), int(0.95 * S))
        gap = max(gap, 30 * MS)
        gaps.append(gap)
        t += gap
    out, t = [], 0
    for gap in gaps + [S]:
        dur = min(int(log_uniform(rng, 0.015, 0.1) * S), gap - 10 * MS)
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
        d = micro_ns(rng) if micro else int(log_uniform(rng, 0.015, 0.25) * S)
        out.append((t, d))
        if gap < end_gap or len(out) >= 30:
            break
        t += int(gap * rng.uniform(0.8, 1.2))
        gap *= q
    t += int(max(gap, 0.6 * S) * rng.uniform(0.8, 1.2))
    out.append((t, int(log_uniform(rng, 1.5, 30) * S)))
    return out, t


def span_of(pattern: list[tuple[int, int | None]]) -> int:
    return max(off + (dur or 0) for off, dur in pattern)


# ---------------------------------------------------------------------------------- families


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
        pattern = [(0, int(log_uniform(rng, 0.02, 15) * S))]
        shape_label = "single"
    elif shape == "oscillation":
        period = int(log_uniform(rng, 0.15, 8) * S)
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
            pattern = [(0, int(log_uniform(rng, 0.05, 10) * S))]
        elif shape == "micro":
            pattern = [(0, micro_ns(rng))]
        else:
            pattern = burst_pattern(rng, rng.randint(10, 25))
        creep_s = rng.uniform(20, 60) if rng.random() < 0.3 else 0
        t = w.place([port], flap_at + span_of(pattern), lo_s=15 + creep_s)
        if t is None:
            continue
        fid = w.new_fault("pfc-linked", "port", [port], storm_s=storm_len / S, cut=cut)
        w.storms.append(Storm(port, w.fleet.ports[port].lossless, t, t + storm_len, refresh_interval(rng, speed)))
        if creep_s:
            w.creep.append((port, t - int(creep_s * S), t))
        w.flaps(port, t + flap_at, pattern, fid, "pfc-linked", "burst" if shape == "burst" else "single")


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
        base = int(log_uniform(rng, 0.05, 20) * S)
        patterns = {p: [(rng.randint(0, 20 * MS), int(base * rng.uniform(0.9, 1.1)))] for p in ports}
        period = None
    else:
        period = int(log_uniform(rng, 1.5, 6) * S)  # a reset loop
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
            period = int(log_uniform(rng, 0.15, 8) * S)
            base = oscillation_pattern(rng, period, rng.randint(3, max(3, min(15, int(60 * S / period)))), rng.random() < 0.25)
        elif shape == "micro":
            base = [(0, micro_ns(rng))]
        else:
            base = [(0, int(log_uniform(rng, 0.02, 15) * S))]
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
FAMILIES = tuple(FAMILY_BUILDERS)  # the scenarios, in this order
OVERLAP_SHAPES = ("micro", "single", "oscillation", "burst")


def add_overlap(w: World) -> None:
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
