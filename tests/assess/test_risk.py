"""RiskModel: one incremental model for replay and the live agent; its score over simulated
degrading ports and stable fleets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import flapwatch
from conftest import CAPTURES
from flapwatch import simulate
from flapwatch.assess import risk

pytestmark = [pytest.mark.slow]

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S


def flap(t_s: float, port: str = "leaf1:swp3", duration_ms: float = 4.0, hidden: int = 0) -> dict:
    return {"kind": "flap", "ts_ns": T0 + int(t_s * S), "port": port, "duration_ns": int(duration_ms * MS),
            "hidden": hidden}


def test_accelerating_micro_flaps_raise_the_score_before_an_outage():
    model = risk.RiskModel()
    assert model.score("leaf1:swp3", T0).score < 0.1  # nothing known
    t, gap, scores = 0.0, 30.0, []
    for _ in range(7):
        model.update(flap(t))
        scores.append(model.score("leaf1:swp3", T0 + int((t + 1) * S)).score)
        t += gap
        gap *= 0.7
    assert scores[0] < 0.5  # one micro-flap says little
    # the monotone model (no reward for acceleration as such: bench/README.md, "Risk") rises
    # with every flap; seven flaps in two minutes, the last 5 s apart: about even odds
    assert scores[-1] >= 0.4 and scores == sorted(scores)
    s = model.score("leaf1:swp3", T0 + int(t * S))
    assert s.features["cadence"] > s.features["ongoing"] > 0 and s.features["micro_flaps"] > 1


def test_an_isolated_flap_and_an_ended_episode_stay_low():
    model = risk.RiskModel()
    model.update(flap(0, duration_ms=300))
    assert model.score("leaf1:swp3", T0 + S).score < 0.5
    for k in range(10):  # an oscillation at 2 s ...
        model.update(flap(10 + 2 * k, duration_ms=50))
    assert model.score("leaf1:swp3", T0 + 29 * S).score >= 0.5
    assert model.score("leaf1:swp3", T0 + 200 * S).score < 0.2  # ... long over


def test_contributions_explain_the_score():
    model = risk.RiskModel()
    for t in (0, 20, 35, 45):
        model.update(flap(t))
    s = model.score("leaf1:swp3", T0 + 46 * S)
    z = model.cfg.intercept + sum(s.contributions.values())
    assert s.score == pytest.approx(1 / (1 + math.exp(-z)))
    assert set(s.features) == set(risk.FEATURES)


def test_lldp_gaps_count_missed_lldpdus():
    model = risk.RiskModel()
    for k in range(5):
        model.update({"kind": "lldp_rx", "ts_ns": T0 + k * 30 * S, "port": "p"})
    assert model.score("p", T0 + 121 * S).features["lldp_missed"] == 0
    model.update({"kind": "lldp_rx", "ts_ns": T0 + 210 * S, "port": "p"})  # two LLDPDUs lost
    f = model.score("p", T0 + 211 * S).features
    assert f["lldp_missed"] == pytest.approx(math.log1p(2), rel=0.01)
    assert model.score("p", T0 + 300 * S).features["lldp_gap"] > 1  # silent again, longer than 1.5 intervals


def test_pause_creep_is_seen():
    model = risk.RiskModel()
    for k in range(600):  # 10 minutes at 0.1 % duty, then 20 s at 8 %
        model.update({"kind": "pause", "ts_ns": T0 + k * S, "port": "p", "duty": 0.001})
    for k in range(600, 620):
        model.update({"kind": "pause", "ts_ns": T0 + k * S, "port": "p", "duty": 0.08})
    assert model.score("p", T0 + 620 * S).features["pfc_creep"] > math.log1p(3)


@pytest.mark.parametrize("family, chunk_cells", [("degrading", risk.CHUNK_CELLS), ("device-wide", risk.CHUNK_CELLS),
                                                 ("device-wide", 7), ("silent-neighbor-loss", 64)])
def test_replay_is_the_incremental_model(tmp_path, monkeypatch, family, chunk_cells):
    """score_analysis scores a chunk of times in one pass; every row is what the live agent's
    incremental model (update, then score_array) gives at that time, to the bit. A chunk of 7
    cells holds one time of device-wide's ports; 64 a few times."""
    monkeypatch.setattr(risk, "CHUNK_CELLS", chunk_cells)
    r = simulate.simulate(family, tmp_path / "d.pcapng", 11)
    a = flapwatch.analyze(r.path, r.truth["config"])
    timeline = risk.score_analysis(a, end_ns=r.truth["end_ns"])
    events = risk.events_from_analysis(a)
    assert sum(e["kind"] == "lldp_rx" for e in events) > 10  # the LLDP gap is scored from lldp_rx
    assert sum(e["kind"] == "flap" for e in events) > 3
    assert risk.event_fields(a)[1] == [risk._event_fields(e) for e in events]  # what score_analysis feeds
    times, known = risk.score_times(events, end_ns=r.truth["end_ns"])
    model, i, row = risk.RiskModel(risk.RiskConfig.for_config(a.config)), 0, 0
    for t, k in zip(times.tolist(), known.tolist()):
        while i < k:
            model.update(events[i])
            i += 1
        names, p, f = model.score_array(t)
        n = len(names)
        assert timeline.ts_ns[row:row + n].tolist() == [t] * n and timeline.port[row:row + n] == names
        assert timeline.score[row:row + n].tolist() == p.tolist()
        for name in risk.FEATURES:
            assert timeline.features[name][row:row + n].tolist() == f[name].tolist(), name
        row += n
    assert row == timeline.score.size and len({*timeline.port}) == len(model.ports)
    if family == "device-wide":
        assert len(model.ports) > 2


def test_lldp_rx_leaves_out_our_own_advertisements():
    a = flapwatch.analyze(CAPTURES / "lab.pcapng")
    cap = flapwatch.read_capture(CAPTURES / "lab.pcapng")
    # The capture's own tables: LLDPDUs whose source MAC is not the port's own (its
    # IFLA_ADDRESS, from the link messages) came from the neighbor. gpu-host7's own,
    # seen leaving on the same wire, are left out.
    own = {p: m for p, m in zip(cap.link.text("port"), cap.link["mac"].tolist()) if m}
    lldp = cap.lldp
    rows = list(zip(lldp["ts_ns"].tolist(), lldp.text("port"), lldp["ttl"].tolist(), lldp["src_mac"].tolist(),
                    lldp.text("system_name")))
    received = [(t, p, ttl) for t, p, ttl, src, _ in rows if own.get(p) != src]
    rx = a.tables["lldp_rx"]
    assert list(zip(rx["ts_ns"].tolist(), rx.text("port"), rx["ttl"].tolist())) == received
    assert {name for _, p, ttl, src, name in rows if own.get(p) != src and ttl} == {"leaf1"}
    assert any(name == "gpu-host7" for *_, name in rows) and len(received) < len(rows)
    events = [e for e in risk.events_from_analysis(a) if e["kind"] == "lldp_rx"]
    assert [e["ts_ns"] for e in events] == [t for t, _, ttl in received if ttl]  # shutdowns are lldp_events


@pytest.mark.parametrize("seed", [11, 23])
def test_degrading_port_is_flagged_before_its_outage(tmp_path, seed):
    assert simulate.family_for_seed(seed) == "degrading"
    r = simulate.simulate("degrading", tmp_path / "d.pcapng", seed)
    a = flapwatch.analyze(r.path, r.truth["config"])
    timeline = risk.score_analysis(a, end_ns=r.truth["end_ns"])
    port, v = next((p, v) for p, v in r.truth["risk"].items() if "degrading_outage_ns" in v)
    crossing = timeline.first_crossing(port)
    assert crossing is not None and crossing < v["degrading_outage_ns"]
    assert v["flaps"][0][0] < crossing  # warned by the precursors, not by chance before them


@pytest.mark.parametrize("seed", [12, 24])
def test_stable_fleet_stays_low(tmp_path, seed):
    assert simulate.family_for_seed(seed) == "stable"
    r = simulate.simulate("stable", tmp_path / "s.pcapng", seed)
    timeline = risk.score_analysis(flapwatch.analyze(r.path, r.truth["config"]), end_ns=r.truth["end_ns"])
    assert len(timeline.max_score()) >= 4 and max(timeline.max_score().values()) < 0.5


def test_live_detections_feed_the_same_model():
    """The agent hands out Detection(kind, row) with strings decoded: the same events."""
    a = flapwatch.analyze(CAPTURES / "lab.pcapng")
    live = []
    from flapwatch.live.agent import DETECTION_KINDS  # what the agent hands out

    for kind in DETECTION_KINDS:
        rows = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in a.tables[kind].to_dict().items()}
        for values in zip(*rows.values()):
            e = risk.event_from_detection(kind, dict(zip(rows, values)))
            if e is not None:
                live.append(e)
    live.sort(key=lambda e: e["ts_ns"])
    assert live == risk.events_from_analysis(a) and {e["kind"] for e in live} == {"flap", "storm", "pause", "lldp_event",
                                                                            "lldp_rx"}
    # replay's events made from the columns (no dict per row) are these, field for field
    times, fields = risk.event_fields(a)
    assert fields == [risk._event_fields(e) for e in live] and times.tolist() == [e["ts_ns"] for e in live]
