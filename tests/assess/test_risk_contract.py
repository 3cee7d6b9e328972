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


def _scores(events: list[dict], times_s: list[float], config: risk.RiskConfig | None = None) -> list[float]:
    """The port's score at each time (in order), from the events known by then."""
    model, out, i = risk.RiskModel(config), [], 0
    for t in sorted(times_s):
        now = T0 + int(t * S)
        while i < len(events) and events[i]["ts_ns"] <= now:
            model.update(events[i])
            i += 1
        out.append(model.score(PORT, now).score)
    return out


def _check(a: list[dict], b: list[dict], times: list[float]) -> None:
    """b scores at least as high as a at every time, with the shipped weights and with any
    non-negative ones (the features themselves are monotone)."""
    last = max([e["ts_ns"] for e in a + b], default=T0)
    times = sorted(times + [(last - T0) / S, (last - T0) / S + 0.001])
    weights = {k: (0.0 if k in risk.PINNED_ZERO else 1.0 + (j % 3)) for j, k in enumerate(risk.FEATURES)}
    for cfg in (None, risk.RiskConfig(weights=weights)):
        for sa, sb in zip(_scores(a, times, cfg), _scores(b, times, cfg)):
            assert sb >= sa - EPS


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
    if peak >= 0.7:
        assert _replay("--fail-on", "risk>=0.7").returncode == 1
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
