"""neighbor-change and silent-neighbor-loss on hand-made detection tables (issue 12, item
6): neighbor-change compares the MSAP heard last before an episode's first down with the
first one heard after its last up, not any later LLDPDU; an age-out during a flap episode
is part of it, not a silent-neighbor-loss. The real-capture and simulator checks are in
tests/assess/test_neighbor_change_real.py and tests/assess/test_signatures.py."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from flapwatch.assess.signatures import classify
from flapwatch.tables import schema

S = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * S
STRINGS = ["p1", "p2", "p3", "leaf-a", "Ethernet1", "00:00:00:00:00:0a", "leaf-b", "Ethernet2", "00:00:00:00:00:0b"]
P1, P2, P3, NAME_A, PORT_A, CH_A, NAME_B, PORT_B, CH_B = range(len(STRINGS))
A = (CH_A, PORT_A, NAME_A)
B = (CH_B, PORT_B, NAME_B)


def _table(name: str, rows: list[dict]) -> dict:
    cols = {}
    for col, dtype in schema.DETECTION_TABLES[name]:
        dt = np.int32 if dtype is schema.STRING else dtype
        cols[col] = np.array([r.get(col, -1 if col.startswith("prev") else 0) for r in rows], dtype=dt)
    return cols


def _flap(port: int, down_s: float, up_s: float) -> dict:
    down, up = T0 + int(down_s * S), T0 + int(up_s * S)
    return {"ts_ns": up, "port": port, "down_ns": down, "up_ns": up, "duration_ns": up - down, "held": -1}


def _event(port: int, t_s: float, kind: str, msap: tuple, prev: tuple | None = None, ttl: int = 4) -> dict:
    ch, pt, name = msap
    row = {"ts_ns": T0 + int(t_s * S), "port": port, "event": schema.LLDP_EVENTS.index(kind), "chassis_id": ch,
           "port_id": pt, "system_name": name, "ttl": ttl}
    if prev:
        row.update(prev_chassis_id=prev[0], prev_port_id=prev[1], prev_system_name=prev[2])
    return row


def _analysis(flaps: list[dict], events: list[dict], rx: list[tuple[int, float]]):
    events = sorted(events, key=lambda r: r["ts_ns"])
    rx_rows = sorted(({"ts_ns": T0 + int(t * S), "port": p, "ttl": 4} for p, t in rx), key=lambda r: r["ts_ns"])
    tables = {"flaps": _table("flaps", sorted(flaps, key=lambda r: r["ts_ns"])),
              "lldp_events": _table("lldp_events", events), "lldp_rx": _table("lldp_rx", rx_rows),
              "pfc_storms": _table("pfc_storms", [])}
    return SimpleNamespace(tables=tables, strings=list(STRINGS), config=None, paths=[])


def _by_port(episodes) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for e in episodes.to_records():
        out.setdefault(e["port"], []).append(e)
    return out


def _every(port: int, start: float, stop: float, step: float = 1.0) -> list[tuple[int, float]]:
    return [(port, t) for t in np.arange(start, stop, step).tolist()]


def test_a_new_chassis_after_the_flaps_is_no_neighbor_change_of_them():
    """p1: neighbor A heard before and right after three flaps; A shuts down and B appears
    20 s after the last flap. p2: the cable moved: the first LLDPDU after the up is B's."""
    flaps = [_flap(P1, 100, 100.2), _flap(P1, 101, 101.2), _flap(P1, 102, 102.2), _flap(P2, 100, 101)]
    events = [_event(P1, 1, "added", A), _event(P1, 121, "shutdown", A, ttl=0), _event(P1, 122.2, "added", B, A),
              _event(P2, 1, "added", A), _event(P2, 101.5, "changed", B, A)]
    rx = (_every(P1, 1, 100) + [(P1, 100.5), (P1, 101.5), (P1, 102.5)] + _every(P1, 103, 121) + [(P1, 121)]
          + _every(P1, 122.2, 130) + _every(P2, 1, 100) + _every(P2, 101.5, 130))
    eps = _by_port(classify(_analysis(flaps, events, rx)))
    (p1,) = eps["p1"]
    assert "neighbor-change" not in p1["labels"], p1
    (p2,) = eps["p2"]
    assert "neighbor-change" in p2["labels"], p2
    features = p2["evidence"]["neighbor-change"]["features"]
    assert (features["neighbor_before"], features["neighbor_after"]) == ("leaf-a:Ethernet1", "leaf-b:Ethernet2")
    assert features["lldp_change_ns"] == T0 + int(101.5 * S)


def test_the_old_neighbor_heard_first_then_a_new_one_is_no_neighbor_change():
    """Without lldp_rx the events alone decide: the first new MSAP after the up."""
    flaps = [_flap(P1, 100, 100.2)]
    events = [_event(P1, 1, "added", A), _event(P1, 110, "changed", B, A)]
    rx = _every(P1, 1, 100) + _every(P1, 100.5, 130)
    assert "neighbor-change" not in _by_port(classify(_analysis(flaps, events, rx)))["p1"][0]["labels"]
    no_rx = _analysis(flaps, events, [])
    del no_rx.tables["lldp_rx"]
    assert "neighbor-change" in _by_port(classify(no_rx))["p1"][0]["labels"]  # nothing says A came first


def test_an_age_out_during_a_flap_episode_is_part_of_it():
    """p1: flaps every 2 s for 30 s; the neighbor ages out between two of them (link up):
    part of the episode. p2: an age-out with the link up and no flap near: its own episode."""
    flaps = [_flap(P1, 100 + 2 * i, 100 + 2 * i + 0.5) for i in range(16)]
    events = [_event(P1, 1, "added", A), _event(P1, 112, "aged_out", A), _event(P1, 131, "added", A, A),
              _event(P2, 1, "added", A), _event(P2, 64, "aged_out", A)]
    rx = _every(P1, 1, 108) + _every(P1, 131, 140) + _every(P2, 1, 60)
    eps = _by_port(classify(_analysis(flaps, events, rx)))
    (p1,) = eps["p1"]
    assert p1["flaps"] == 16 and "silent-neighbor-loss" not in p1["labels"], p1
    assert "neighbor-change" not in p1["labels"]  # A before, A again after
    (p2,) = eps["p2"]
    assert p2["labels"] == ["silent-neighbor-loss"], p2
