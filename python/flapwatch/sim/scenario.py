"""Simulated fleets with known faults: pcapng captures plus their ground truth.

    flapwatch.simulate.simulate("oscillation", "out.pcapng", seed=7)   # -> SimResult
    flapwatch simulate oscillation -o out.pcapng --seed 7              # (cli/simulate_cmd.py)

writes ``out.pcapng`` through the project's own writer (pcapng.PcapngWriter) and the truth
next to it as ``out.pcapng.truth.json``.

One scenario is built in this order: the fleet (fleet.py), its faults (faults.py) placed in the
world (world.py), then the frames: each device's netlink (netlink.py), LLDP, PFC and traffic
(traffic.py); and the truth (truth.py).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass

from flapwatch.sim.faults import FAMILIES, FAMILY_BUILDERS, add_overlap
from flapwatch.sim.fleet import make_fleet
from flapwatch.sim.netlink import render_netlink
from flapwatch.sim.output import Frames
from flapwatch.sim.traffic import render_lldp, render_pfc, render_traffic
from flapwatch.sim.truth import truth_episodes, truth_json
from flapwatch.sim.world import World
from flapwatch.sources.pcapng import PcapngWriter
from flapwatch.tables.units import NS_PER_S as S

EPOCH0 = 1_790_000_000 * S  # late 2026: every scenario starts after this


@dataclass
class SimResult:
    path: str
    truth_path: str
    truth: dict
    frames: int
    manifest: list | None = None  # (ts_ns, interface, kind, fields) per frame, when asked for


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
        add_overlap(w)
    w.finalize()
    return w


def simulate(scenario: str, out: str | os.PathLike, seed: int = 0, *, duration_s: float | None = None,
             manifest: bool = False) -> SimResult:
    """Write a scenario's capture to ``out`` (pcapng) and its truth to ``<out>.truth.json``.
    ``duration_s`` overrides the family's duration (faults that no longer fit are left out);
    ``manifest`` keeps every frame's (ts_ns, interface, kind, fields) in the result."""
    w = build_world(scenario, seed, duration_s)
    frames = Frames(w.fleet, manifest)
    sent = render_netlink(w, frames)
    received = render_lldp(w, frames)
    render_pfc(w, frames)
    render_traffic(w, frames)
    frames.rows.sort(key=lambda r: r[0])
    out = os.fspath(out)
    with PcapngWriter(out, application=f"flapwatch simulate {scenario} --seed {seed}") as pw:
        for ts, iface, linktype, data, _, _ in frames.rows:
            pw.write(pw.add_interface(iface, linktype), ts, data)  # add_interface caches the id
    episodes = truth_episodes(w, sent, received)
    truth = truth_json(w, scenario, seed, episodes, frames, out)
    truth_path = out + ".truth.json"
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=1)
    man = [(ts, iface, kind, fields) for ts, iface, _, _, kind, fields in frames.rows] if manifest else None
    return SimResult(out, truth_path, truth, len(frames.rows), man)
