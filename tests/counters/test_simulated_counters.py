"""Simulated counter series (issue 13, "Simulator"; flapwatch/sim/counters.py): storms and
PHY flaps found from counters alone with precision and recall >= 0.98 per profile, and a
32-bit wrap mid-storm or a reset mid-run gives no false detection. The full run (>= 200
scenarios) is bench/bench_counter_detection.py; this is a subset that runs in seconds."""

from __future__ import annotations

from collections import defaultdict

import pytest

import flapwatch
from flapwatch.counters.ethtool import read_log
from flapwatch.sim import counters as sim

MS = sim.MS
S = sim.S


def _run_all(cases, workdir):
    per = defaultdict(lambda: {"storms": sim.Score(), "phy_flaps": sim.Score()})
    bad = []
    for sc in cases:
        _, r = sim.run(sc, workdir)
        for k in r:
            per[sc.profile][k].add(r[k])
        if any(v.fp or v.fn for v in r.values()):
            bad.append(sc.name)
    return per, bad


def test_precision_and_recall_per_profile(tmp_path):
    cases = sim.scenarios(80, first_seed=1000)
    assert {c.profile for c in cases} == set(sim.PROFILES)
    assert {c.family for c in cases} == set(sim.FAMILIES)
    assert any(c.anomalies and c.anomalies != ["repeats"] for c in cases)
    per, bad = _run_all(cases, tmp_path)
    for profile, scores in per.items():
        for what, s in scores.items():
            assert s.precision >= 0.98 and s.recall >= 0.98, (profile, what, s, bad)
    assert sum(s["storms"].tp for s in per.values()) >= 40
    assert sum(s["phy_flaps"].tp for s in per.values()) >= 10


def test_wrap_mid_storm_and_reset_mid_run_give_no_false_detection(tmp_path):
    cases = sim.wrap_and_reset_cases()
    wraps = [c for c in cases if "wrap" in c.anomalies and c.family == "storm"]
    assert len(wraps) == len(sim.PROFILES) and all(c.wrap32 for c in wraps)
    for sc in cases:
        a, r = sim.run(sc, tmp_path)
        assert r["storms"].fp == r["phy_flaps"].fp == 0, sc.name
        assert r["storms"].fn == r["phy_flaps"].fn == 0, sc.name
        if sc.wrap32:
            assert any("wrapped" in w for w in a.warnings), sc.name
        if sc.resets:
            assert any("reset" in w for w in a.warnings), sc.name


def test_samples_and_logs_give_the_same_detections(tmp_path):
    """The scenario as `ethtool -S` logs (the reader, the profile detection) and as
    samples (the push form) are one input."""
    cases = [c for c in (sim.make_scenario(seed) for seed in range(30)) if c.log_ok]
    assert {c.profile for c in cases} == set(sim.PROFILES)
    for sc in cases[::3]:
        by_log = flapwatch.analyze(sc.write_logs(tmp_path / sc.name))
        by_samples = flapwatch.analyze([], counter_samples=sc.samples())
        for table in ("pfc_storms", "flaps", "policy_events"):
            assert by_log.tables[table].records() == by_samples.tables[table].records(), (sc.name, table)


def test_series_carry_the_driver_quirks(tmp_path):
    bnxt = sim.make_scenario(1, "bnxt_en", "storm", [])
    assert bnxt.refresh_ns == S and "repeats" in bnxt.anomalies
    reads = [v for ts, p, v in bnxt.reads() if p == bnxt.ports[0]]
    repeats = sum(a == b for a, b in zip(reads, reads[1:]))
    assert repeats >= 0.8 * (len(reads) - 1)  # nine reads in ten repeat the driver's copy
    ice = sim.make_scenario(2, "ice", "storm", [])
    names = {n for _, _, v in ice.reads() for n in v}
    assert names and not any("duration" in n for n in names) and any("xoff" in n for n in names)
    mlx5 = sim.make_scenario(0, "mlx5_core", "phy-flap", ["wrap"])
    phy = [v["link_down_events_phy"] for _, p, v in mlx5.reads() if p == mlx5.flaps[0].port]
    assert phy[0] == 2**32 - 1 and phy[-1] < 10  # the 32-bit counter wrapped at the flap
    reset = sim.make_scenario(5, "mlx5_core", "pfc", ["reset"])
    (port, (t,)), = reset.resets.items()
    vals = [(ts, v["rx_pause_ctrl_phy"], sum(x for k, x in v.items() if "duration" in k))
            for ts, p, v in reset.reads() if p == port]
    assert any(a[2] > b[2] for a, b in zip(vals, vals[1:]))  # went backwards
    i40e_old = next(c for c in (sim.make_scenario(s, "i40e", "storm", []) for s in range(1, 20, 2)))
    assert any(n.endswith("_xoff") for _, _, v in i40e_old.reads() for n in v)
    relist = sim.make_scenario(4, "i40e", "pfc", ["relist"])
    spellings = {n.endswith("_xoff") for _, _, v in relist.reads() for n in v if "xoff" in n and "priority" in n}
    assert spellings == {True, False}  # both generations over the run
    logs = sim.make_scenario(6, "sonic", "storm", []).write_logs(tmp_path / "sonic")
    dumps = read_log(logs[0])
    assert dumps and any(n.startswith("SAI_PORT_STAT_PFC_") for n in dumps[0].names)


def test_a_copying_driver_does_not_take_90_percent_pauses_for_a_storm():
    """bnxt copies once a second; a poll every 100 ms sees each copy once. Pauses of 90 %
    of every second are healthy PFC: the paused time is over the copies' whole second,
    not over the second less the last poll gap (which let 0.9 s pass 99 % of 0.9 s)."""
    from flapwatch.counters.profiles import BNXT
    from flapwatch.counters.samples import sample

    t0 = 1_760_000_000 * S
    out, dur = [], 0
    for i in range(101):
        if i % 10 == 0 and i:
            dur += 900_000  # 0.9 s of each second
        out.append(sample(t0 + i * 100 * MS + 30 * MS, "eth0",
                          [(BNXT.counter("pfc_pri3_rx_duration_us"), dur),
                           (BNXT.counter("rx_pfc_ena_frames_pri3"), dur // 100)], refresh_s=1.0))
    a = flapwatch.analyze([], counter_samples=out)
    assert a.tables["pfc_storms"].records() == []


def test_the_other_direction_does_not_hold_a_storm_open():
    """An rx storm (the port paused) ends; the port's own tx PFC (pausing its peer, light
    and healthy) goes on: the storm restores, and a later rx storm is a second one."""
    from flapwatch.counters.profiles import MLX5
    from flapwatch.counters.samples import sample

    t0 = 1_760_000_000 * S
    out, rx, tx = [], 0, 0
    for i in range(101):
        s = i / 10
        if 1 < s <= 3 or 6 < s <= 8:
            rx += 100_000
        tx += 30_000  # 30 % of every poll
        out.append(sample(t0 + i * 100 * MS, "eth0", [(MLX5.counter("rx_prio3_pause_duration"), rx),
                                                     (MLX5.counter("tx_prio3_pause_duration"), tx),
                                                     (MLX5.counter("rx_prio3_pause"), rx // 100),
                                                     (MLX5.counter("tx_prio3_pause"), tx // 100)]))
    storms = flapwatch.analyze([], counter_samples=out).tables["pfc_storms"].records()
    assert [(r["start_ns"] - t0, r["end_ns"] - t0) for r in storms] == [(1000 * MS, 3000 * MS),
                                                                        (6000 * MS, 8000 * MS)]


@pytest.mark.parametrize("profile", sim.PROFILES)
def test_scenarios_are_deterministic(profile):
    a, b = sim.make_scenario(7, profile), sim.make_scenario(7, profile)
    assert a.samples() == b.samples() and a.storms == b.storms and a.flaps == b.flaps
