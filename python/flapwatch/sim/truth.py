"""The ground truth: the labels are docs/DESIGN.md's definitions applied to what the simulator did, with
perfect knowledge: true down/up times, which flaps the kernel never notified, the storms
driven, the LLDPDUs each port really received (so "paired by LLDP" and "the MSAP differs"
mean what they say), the cabling at every moment. The shape labels (single, oscillation,
burst, degrading) are the shape the fault drove.
"""

from __future__ import annotations

import bisect
import os

from flapwatch.assess.episodes import LABELS
from flapwatch.sim.output import Frames
from flapwatch.sim.world import FOREVER, TruthEpisode, World
from flapwatch.tables.units import NS_PER_MS as MS
from flapwatch.tables.units import NS_PER_S as S
from flapwatch import wire

# The definitions' thresholds the truth is computed with, on true times. (signatures.py uses
# the same, except 1.5 s for "together": it sees downs through linkwatch, up to a second late.)
DEFINITIONS = {
    "micro_flap_ms": 10.0,  # micro-flap: down shorter than this
    "together_s": 1.0,  # device-wide / both-ends: first downs this close
    "pfc_link_s": 5.0,  # pfc-linked: a storm overlapping the episode or ending this soon before its first down
    "storm_min_ms": 200.0,  # a storm: continuously paused this long (SONiC pfcwd detection time)
}


def truth_episodes(w: World, sent: dict[str, list], received: dict[str, list]) -> list[TruthEpisode]:
    """Apply docs/DESIGN.md's definitions to what really happened."""
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
    for e in eps:  # an age-out during a flap episode (first down to last up) is part of it
        end = e.end_ns if e.end_ns is not None else w.t_end
        if e.port == port and e.start_ns <= expired <= end:
            return
    for e in eps:
        end = e.end_ns if e.end_ns is not None else w.t_end
        if e.port == port and e.start_ns - 5 * S <= expired <= end + 5 * S:
            e.labels.add("silent-neighbor-loss")
            return
    e = TruthEpisode(port, -1, "silent-neighbor-loss", None, [], labels={"silent-neighbor-loss"},
                     start_ns=expired - ttl, end_ns=expired)
    eps.append(e)


def truth_json(w: World, scenario: str, seed: int, episodes: list[TruthEpisode], frames: Frames, out: str) -> dict:
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
        "about": "flapwatch simulate: what the simulator drove and the labels docs/DESIGN.md's definitions give it",
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
