"""The risk score's contract (assess/risk.py docstring, README "Risk"): all else equal, more
flaps, more hidden flaps, more storms and longer outages never lower the score; the current
score and the peak are in every output; --fail-on thresholds."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CAPTURES
from flapwatch.assess import risk

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S
PORT = "leaf1:swp3"
EPS = 1e-12

# --------------------------------------------------------------------- streams that differ in one thing

flap_st = st.tuples(st.floats(0, 900), st.one_of(st.just(-1.0), st.floats(0.5, 30_000)), st.booleans())
storm_st = st.floats(0, 900)


def _flap(t_s: float, duration_ms: float, hidden: bool) -> dict:
    return {"kind": "flap", "ts_ns": T0 + int(t_s * S), "port": PORT,
            "duration_ns": -1 if duration_ms < 0 else int(duration_ms * MS), "hidden": int(hidden)}


def _storm(t_s: float) -> dict:
    return {"kind": "storm", "ts_ns": T0 + int(t_s * S), "port": PORT}


def _stream(flaps, storms) -> list[dict]:
    return sorted([_flap(*f) for f in flaps] + [_storm(t) for t in storms], key=lambda e: e["ts_ns"])


def _run(events: list[dict], times_s: list[float], config: risk.RiskConfig | None = None) -> list[risk.RiskScore]:
    """The port's RiskScore at each time (in order), from the events known by then."""
    model, out, i = risk.RiskModel(config), [], 0
    for t in sorted(times_s):
        now = T0 + int(t * S)
        while i < len(events) and events[i]["ts_ns"] <= now:
            model.update(events[i])
            i += 1
        out.append(model.score(PORT, now))
    return out


def _scores(events: list[dict], times_s: list[float], config: risk.RiskConfig | None = None) -> list[float]:
    return [s.score for s in _run(events, times_s, config)]


def _check(a: list[dict], b: list[dict], times: list[float]) -> None:
    """b scores at least as high as a at every time, with the shipped weights, and every
    feature of b is at least a's (so any non-negative weights keep the order; micro_flaps,
    pinned to 0, is not monotone in outage length by nature)."""
    last = max([e["ts_ns"] for e in a + b], default=T0)
    # also just after the last event and a few FADE_S / window edges later
    times = sorted(times + [(last - T0) / S + d for d in (0, 0.001, 1.5, risk.FADE_S, risk.RECENT_S + 0.5)])
    for sa, sb in zip(_run(a, times), _run(b, times)):
        assert sb.score >= sa.score - EPS
        for k in set(risk.FEATURES) - set(risk.PINNED_ZERO):
            assert sb.features[k] >= sa.features[k] - EPS, k


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
times_st = st.lists(st.floats(0, 1500), min_size=1, max_size=6)


@COMMON
@given(st.lists(flap_st, max_size=25), st.lists(storm_st, max_size=3), flap_st, times_st)
def test_another_flap_never_lowers_the_score(flaps, storms, extra, times):
    _check(_stream(flaps, storms), _stream(flaps + [extra], storms), times)


@COMMON
@given(st.lists(flap_st, min_size=1, max_size=25), st.lists(storm_st, max_size=3), st.data(), times_st)
def test_a_hidden_flap_never_lowers_the_score(flaps, storms, data, times):
    k = data.draw(st.integers(0, len(flaps) - 1))
    t, d, _ = flaps[k]
    shown = [(t, d, False) if j == k else f for j, f in enumerate(flaps)]
    hidden = [(t, d, True) if j == k else f for j, f in enumerate(flaps)]
    _check(_stream(shown, storms), _stream(hidden, storms), times)


@COMMON
@given(st.lists(flap_st, max_size=25), st.lists(storm_st, max_size=3), storm_st, times_st)
def test_another_storm_never_lowers_the_score(flaps, storms, extra, times):
    _check(_stream(flaps, storms), _stream(flaps, storms + [extra]), times)


@COMMON
@given(st.lists(flap_st, min_size=1, max_size=25), st.lists(storm_st, max_size=3), st.data(),
       st.floats(0.01, 60_000), times_st)
def test_a_longer_outage_never_lowers_the_score(flaps, storms, data, longer_ms, times):
    k = data.draw(st.integers(0, len(flaps) - 1))
    t, d, h = flaps[k]
    base = max(d, 0.5)  # a known duration (a hidden flap's is unknown: -1)
    short = [(t, base, h) if j == k else f for j, f in enumerate(flaps)]
    long = [(t, base + longer_ms, h) if j == k else f for j, f in enumerate(flaps)]
    _check(_stream(short, storms), _stream(long, storms), times)


# Flaps close together (the acceleration features' range: intervals under 2 s and 5 s, a 10 s
# window), some revealed together (one timestamp, as hidden flaps are).
close_st = st.tuples(st.sampled_from([0.0, 0.3, 0.5, 1.0, 1.9, 2.0, 2.1, 4.9, 5.0, 9.9, 10.0, 30.0, 59.9, 60.0]),
                     st.one_of(st.just(-1.0), st.floats(0.5, 30_000)), st.booleans())


def _cumulative(steps) -> list[tuple[float, float, bool]]:
    t, out = 0.0, []
    for gap, d, h in steps:
        t += gap
        out.append((t, d, h))
    return out


@COMMON
@given(st.lists(close_st, max_size=20), st.data(), times_st)
def test_another_flap_among_close_ones_never_lowers_any_feature(steps, data, times):
    """Adding a flap splits an interval in two shorter ones (min_gap up, short_2s/short_5s
    not down), adds to a 10 s window (peak_10s not down), or makes the last flap later."""
    flaps = _cumulative(steps)
    hi = flaps[-1][0] + 2 if flaps else 5.0
    extra_t = data.draw(st.one_of(st.sampled_from([f[0] for f in flaps] or [0.0]), st.floats(0, hi)))
    extra = (extra_t, data.draw(st.one_of(st.just(-1.0), st.floats(0.5, 100))), data.draw(st.booleans()))
    _check(_stream(flaps, []), _stream(flaps + [extra], []), [min(t, hi + 70) for t in times])


def test_acceleration_features_see_intervals_shrink():
    """Flaps 20, 10, 5, 2.5, 1.2 s apart: each flap raises min_gap, short_2s/short_5s count
    the short intervals, peak_10s the most flaps in 10 s; all fade within seconds."""
    t, ts = 0.0, [0.0]
    for gap in (20, 10, 5, 2.5, 1.2):
        t += gap
        ts.append(t)
    model = risk.RiskModel()
    seen = []
    for x in ts:
        model.update(_flap(x, 5, False))
        seen.append(model.score(PORT, T0 + int(x * S)).features)
    assert [f["min_gap"] for f in seen] == sorted(f["min_gap"] for f in seen)
    last = seen[-1]
    assert last["min_gap"] == pytest.approx(math.log1p(60 / 1.2))
    assert last["short_2s"] == pytest.approx(math.log1p(1)) and last["short_5s"] == pytest.approx(math.log1p(2))
    assert last["peak_10s"] == pytest.approx(math.log1p(4))  # 28.7 .. 38.7 s: four flaps (35, 37.5, 38.7 and 30)
    later = model.score(PORT, T0 + int((t + 3 * risk.FADE_S) * S)).features
    assert later["min_gap"] < 0.06 * last["min_gap"]
    gone = model.score(PORT, T0 + int((t + risk.RECENT_S + 1) * S)).features
    assert gone["min_gap"] == gone["short_5s"] == gone["peak_10s"] == 0


def test_flaps_revealed_together_are_a_short_interval():
    """Hidden flaps come with one timestamp (revealed together): an interval of MIN_GAP_S."""
    model = risk.RiskModel()
    for _ in range(3):
        model.update(_flap(7, -1, True))
    f = model.score(PORT, T0 + 7 * S).features
    assert f["min_gap"] == pytest.approx(math.log1p(60 / risk.MIN_GAP_S))
    assert f["short_2s"] == pytest.approx(math.log1p(2)) and f["peak_10s"] == pytest.approx(math.log1p(3))


def test_a_micro_flap_does_not_outscore_an_outage():
    """The case that pins micro_flaps to 0: a 5 ms down against a 5 s one, at the same time."""
    micro = _scores([_flap(0, 5, False), _flap(20, 5, False)], [21])[0]
    outage = _scores([_flap(0, 5, False), _flap(20, 5000, False)], [21])[0]
    assert outage >= micro
    assert all(w >= 0 for w in risk.WEIGHTS.values()) and all(risk.WEIGHTS[k] == 0 for k in risk.PINNED_ZERO)


def test_32_flaps_do_not_score_like_an_idle_port():
    flaps = [_flap(2 * k, 40, False) for k in range(32)]
    busy = _scores(flaps, [63])[0]
    idle = _scores([], [63])[0]
    assert busy > idle + 0.2


def test_peak_tracker_window():
    tr = risk.PeakTracker(window_s=10)
    tr.update("p", T0, 0.2)
    tr.update("p", T0 + 1 * S, 0.9)
    tr.update("p", T0 + 2 * S, 0.9)  # a tie keeps the first time
    tr.update("p", T0 + 5 * S, 0.3)
    assert tr.peak("p") == (0.9, T0 + 1 * S)
    tr.update("p", T0 + 12 * S, 0.1)
    assert tr.peak("p") == (0.9, T0 + 2 * S)
    tr.update("p", T0 + 13 * S, 0.1)
    assert tr.peak("p") == (0.3, T0 + 5 * S)
    assert risk.PeakTracker(window_s=None).peak("q") is None


# --------------------------------------------------------------------------- the CLI: outputs, --fail-on

LAB = str(CAPTURES / "lab.pcapng")


def _replay(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flapwatch", "replay", LAB, "-q", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def lab_ports() -> list[dict]:
    r = _replay("--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["ports"]


def _flappy(ports: list[dict]) -> dict:
    return max(ports, key=lambda p: p["flaps"])


def test_json_has_current_and_peak(lab_ports):
    p = _flappy(lab_ports)
    assert {"risk", "risk_peak", "risk_peak_ns"} <= set(p)
    assert p["risk_peak"] >= p["risk"] and p["risk_peak"] > 0.3  # the lab's flaps and storm
    a_first = json.loads(_replay("--format", "json").stdout)["first_ns"]
    assert p["risk_peak_ns"] > a_first
    for q in lab_ports:
        assert q["risk_peak"] >= q["risk"]
        assert (q["risk_peak_ns"] == -1) == (q["risk_peak"] == 0 and q["risk_peak_ns"] < 0)


def test_until_cut_gives_a_lower_or_equal_peak(lab_ports):
    p = _flappy(lab_ports)
    # Cut 1 s after the peak: the peak is the same, the current score is the one at the cut.
    cut = (p["risk_peak_ns"] + S) / S
    r = _replay("--format", "json", "--until", f"{cut:.9f}")
    q = next(x for x in json.loads(r.stdout)["ports"] if x["port"] == p["port"])
    assert q["risk_peak"] == p["risk_peak"] and q["risk_peak_ns"] == p["risk_peak_ns"]


def test_jsonl_csv_table_and_parquet_have_the_peak(lab_ports, tmp_path):
    p = _flappy(lab_ports)
    lines = [json.loads(x) for x in _replay("--format", "jsonl").stdout.splitlines()]
    row = next(x for x in lines if x["type"] == "port" and x["port"] == p["port"])
    assert row["risk_peak"] == p["risk_peak"] and row["risk_peak_ns"] == p["risk_peak_ns"]
    rows = list(csv.DictReader(io.StringIO(_replay("--format", "csv").stdout)))
    row = next(x for x in rows if x["port"] == p["port"])
    assert float(row["risk_peak"]) == p["risk_peak"] and int(row["risk_peak_ns"]) == p["risk_peak_ns"]
    text = _replay().stdout
    header = next(line for line in text.splitlines() if line.startswith("port "))
    assert "risk" in header and "peak" in header and "peak at" in header
    assert f"{p['risk_peak']:.2f}" in next(line for line in text.splitlines() if line.startswith(p["port"]))
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "ports.parquet"
    assert _replay("--format", "parquet", "-o", str(out)).returncode == 0
    t = pq.read_table(out)
    j = t.column("port").to_pylist().index(p["port"])
    when = t.column("risk_peak_ns")
    if str(when.type).startswith("timestamp"):  # Parquet times: timestamp[ns, UTC]
        import pyarrow as pa

        when = when.cast(pa.int64())
    assert t.column("risk_peak").to_pylist()[j] == p["risk_peak"] and when.to_pylist()[j] == p["risk_peak_ns"]


def test_fail_on_risk_reads_the_peak(lab_ports):
    peak = _flappy(lab_ports)["risk_peak"]
    below = math.floor(peak * 100) / 100
    r = _replay("--fail-on", f"risk>={below:.2f}")
    assert r.returncode == 1 and f"risk>={below:.2f}" in r.stderr
    assert _replay("--fail-on", "risk>=0.99").returncode == 0  # the lab's peak is below 0.99
    # The lab's port: 6 flaps in ~6 s, 3 of them hidden (revealed together), then a 2 s outage.
    # An SRE calls that a port in trouble: the peak is over 0.7, and the gate fails on it.
    assert peak >= 0.7
    r = _replay("--fail-on", "risk>=0.7")
    assert r.returncode == 1 and "risk>=0.7" in r.stderr
    # plain "risk": the peak reached 0.5
    assert _replay("--fail-on", "risk").returncode == (1 if peak >= 0.5 else 0)
    # risk_now: the score at the end, which has decayed
    now = _flappy(lab_ports)["risk"]
    assert _replay("--fail-on", f"risk_now>={min(1.0, now + 0.01):.2f}").returncode == 0


def test_fail_on_flaps_threshold(lab_ports):
    n = _flappy(lab_ports)["flaps"]
    assert n >= 2
    r = _replay("--fail-on", f"flaps>={n}")
    assert r.returncode == 1 and f"flaps>={n}" in r.stderr
    assert _replay("--fail-on", f"flaps>={n + 1}").returncode == 0
    assert _replay("--fail-on", f"flaps>={n + 1},flap").returncode == 1  # the old kinds still work


@pytest.mark.parametrize("term,says", [
    ("risk>=high", "'risk>=high'"),
    ("risk>=1.5", "'risk>=1.5'"),
    ("flaps>=0", "'flaps>=0'"),
    ("flaps>=2.5", "'flaps>=2.5'"),
    ("flap,bogus", "'bogus'"),
    ("risk>0.7", "'risk>0.7'"),
])
def test_fail_on_parse_errors_name_the_term(term, says):
    r = _replay("--fail-on", term)
    assert r.returncode == 2
    assert says in r.stderr and "--fail-on" in r.stderr
