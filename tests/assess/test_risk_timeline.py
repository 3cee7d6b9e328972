"""score_events (replay's risk timeline, scored a chunk of times at a time) against the live
agent's incremental model on random event streams: several ports, every event kind, events
that share a time, chunks from one cell up."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flapwatch.assess import risk

S = 1_000_000_000
T0 = 1_800_000_000 * S
PORTS = ("leaf1:swp1", "leaf1:swp2", "gpu-host7:eth0")

time_st = st.integers(0, 400 * S).map(lambda t: T0 + t - t % (S // 4))  # quarter seconds: ties happen
port_st = st.sampled_from(PORTS)
event_st = st.one_of(
    st.builds(lambda t, p, d, h: {"kind": "flap", "ts_ns": t, "port": p, "duration_ns": d, "hidden": h},
              time_st, port_st, st.one_of(st.just(-1), st.integers(0, 30 * S)), st.integers(0, 1)),
    st.builds(lambda t, p: {"kind": "storm", "ts_ns": t, "port": p}, time_st, port_st),
    st.builds(lambda t, p, d: {"kind": "pause", "ts_ns": t, "port": p, "duty": d}, time_st, port_st,
              st.floats(0, 1)),
    st.builds(lambda t, p: {"kind": "lldp_rx", "ts_ns": t, "port": p}, time_st, port_st),
    st.builds(lambda t, p, e: {"kind": "lldp_event", "ts_ns": t, "port": p, "event": e}, time_st, port_st,
              st.sampled_from(("aged_out", "changed"))),
)


def incremental(events: list[dict], step_s: float, end_ns: int | None) -> list[tuple]:
    """(time, port, score, features) rows as the agent's model gives them at each scoring time."""
    times, known = risk.score_times(events, step_s, end_ns)
    model, i, rows = risk.RiskModel(), 0, []
    for t, k in zip(times.tolist(), known.tolist()):
        while i < k:
            model.update(events[i])
            i += 1
        names, p, f = model.score_array(t)
        for j, name in enumerate(names):
            rows.append((t, name, float(p[j]), tuple(float(f[k][j]) for k in risk.FEATURES)))
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_st, min_size=1, max_size=60), st.sampled_from([1, 2, 5, 64, risk.CHUNK_CELLS]),
       st.sampled_from([0.5, 5.0]), st.one_of(st.none(), st.integers(0, 500 * S).map(lambda t: T0 + t)))
def test_timeline_is_the_incremental_model(events, chunk_cells, step_s, end_ns):
    events = sorted(events, key=lambda e: e["ts_ns"])
    old = risk.CHUNK_CELLS
    risk.CHUNK_CELLS = chunk_cells
    try:
        tl = risk.score_events(events, step_s, end_ns=end_ns)
    finally:
        risk.CHUNK_CELLS = old
    got = [(t, name, s, tuple(tl.features[k][j] for k in risk.FEATURES))
           for j, (t, name, s) in enumerate(zip(tl.ts_ns.tolist(), tl.port, tl.score.tolist()))]
    assert got == incremental(events, step_s, end_ns)


def test_no_events_no_rows():
    tl = risk.score_events([])
    assert tl.ts_ns.size == 0 and tl.port == [] and tl.score.size == 0
    assert set(tl.features) == set(risk.FEATURES)


@pytest.mark.parametrize("cells", [1, 3])
def test_ports_appear_when_first_seen(cells, monkeypatch):
    """A port is scored from the time its first event is known, not before."""
    monkeypatch.setattr(risk, "CHUNK_CELLS", cells)
    events = [{"kind": "pause", "ts_ns": T0, "port": PORTS[0], "duty": 0.5},
              {"kind": "flap", "ts_ns": T0 + 7 * S, "port": PORTS[1], "duration_ns": S, "hidden": 0}]
    tl = risk.score_events(events, 5.0)
    assert list(zip(((tl.ts_ns - T0) // S).tolist(), tl.port)) == [
        (0, PORTS[0]), (5, PORTS[0]), (7, PORTS[0]), (7, PORTS[1])]
    assert tl.features["ongoing"][-1] > 0 and tl.features["ongoing"][:-1].tolist() == [0, 0, 0]


@pytest.mark.parametrize("cells", [7, risk.CHUNK_CELLS])
def test_more_ports_than_the_model_starts_with(cells, monkeypatch):
    """A switch has more ports than the model's first arrays (64): they grow as ports come,
    and the timeline follows the grown arrays."""
    monkeypatch.setattr(risk, "CHUNK_CELLS", cells)
    events = [{"kind": "pause", "ts_ns": T0 + i * S // 4, "port": f"leaf1:swp{i % 80}", "duty": (i % 7) / 7}
              for i in range(240)]
    events += [{"kind": "flap", "ts_ns": T0 + 61 * S, "port": "leaf1:swp79", "duration_ns": S, "hidden": 0}]
    tl = risk.score_events(events, 5.0)
    got = [(t, name, s, tuple(tl.features[k][j] for k in risk.FEATURES))
           for j, (t, name, s) in enumerate(zip(tl.ts_ns.tolist(), tl.port, tl.score.tolist()))]
    assert len({*tl.port}) == 80 and got == incremental(events, 5.0, None)
