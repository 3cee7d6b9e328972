"""The C++ push example (cpp/examples/push.cpp), built against the installed CMake package
as an embedder would build it: link events and classified counter samples pushed into the
engine give the detections that the same input as a capture (netlink) plus an `ethtool -S`
log gives to `flapwatch.analyze` -- the same flaps (netlink and PHY counter), storms and
policy events (issue 13, "the push API")."""

from __future__ import annotations

import subprocess

import pytest

import flapwatch
from conftest import REPO, require_tools
from flapwatch.counters.profiles import MEANINGS, UNITS
from test_counter_detections import _link_events, _mlx5_series, _samples, _t0, _write_inputs

pytestmark = pytest.mark.tools

DIRS = {0: "-", 1: "rx", 2: "tx"}


def _build(tmp_path):
    build, prefix, example = tmp_path / "build", tmp_path / "prefix", tmp_path / "example"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, text=True, timeout=900)  # noqa: E731
    run("cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release")
    run("cmake", "--build", str(build), "-j2")
    run("cmake", "--install", str(build), "--component", "dev", "--prefix", str(prefix))
    run("cmake", "-S", str(REPO / "cpp" / "examples"), "-B", str(example), f"-DCMAKE_PREFIX_PATH={prefix}")
    run("cmake", "--build", str(example), "--target", "flapwatch_example_push")
    return example / "flapwatch_example_push"


def _events_text(t0, samples) -> str:
    """The example's input: the link events and the samples (as classified tuples), in time order."""
    lines = [(ts, f"link {ts} eth0 {'up' if up else 'down'} {changes} {ups} {downs}")
             for ts, up, changes, ups, downs in _link_events(t0)]
    for ts, _read, iface, refresh_ns, _flags, values in samples:
        vals = " ".join(f"{list(MEANINGS)[m]}:{DIRS[d]}:{p}:{UNITS[u]}:{w}={v}" for m, d, p, u, w, v in values)
        lines.append((ts, f"sample {ts} {iface} {refresh_ns} {vals}"))
    return "# pushed by tests/counters/test_push_example.py\n" + "\n".join(t for _, t in sorted(lines, key=lambda x: x[0])) + "\n"


def _parse(out: str) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for line in out.splitlines():
        line, _, source = line.partition(" source=")  # the last field; "PHY counter" has a space
        kind, *fields = line.split(" ")
        row = {"source": source} if source else {}
        for f in fields:
            k, v = f.split("=", 1)
            row[k] = int(v) if v.lstrip("-").isdigit() else v
        rows.setdefault(kind, []).append(row)
    return rows


def _expected(analysis) -> dict[str, list[dict]]:
    """analyze()'s rows in the example's words."""
    def rows(table):
        return analysis.tables[table].records()

    return {
        "flap": [dict(port=r["port"], down_ns=r["down_ns"], up_ns=r["up_ns"], duration_ns=r["duration_ns"],
                      hidden=int(r["hidden"]), source=r["source"]) for r in rows("flaps")],
        "link_down": [dict(port=r["port"], down_ns=r["down_ns"]) for r in rows("link_down")],
        "policy": [dict(port=r["port"], policy=r["policy"], event="trip" if r["event"] in (1, "trip") else "clear",
                        ts_ns=r["ts_ns"]) for r in rows("policy_events")],
        "pfc_storm": [dict(port=r["port"], priority=r["priority"], start_ns=r["start_ns"], end_ns=r["end_ns"],
                           paused_ns=r["paused_ns"], frames=r["frames"]) for r in rows("pfc_storms")],
    }


def test_cpp_push_example_equals_capture_plus_ethtool_log(tmp_path):
    require_tools("cmake", "c++")
    binary = _build(tmp_path)
    t0 = _t0()
    series = _mlx5_series(t0)
    cap, log = _write_inputs(tmp_path, t0, series)
    events = tmp_path / "events.txt"
    events.write_text(_events_text(t0, _samples(series)))
    proc = subprocess.run([str(binary), str(events)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = _parse(proc.stdout)
    want = _expected(flapwatch.analyze([cap, log]))
    for kind in ("flap", "link_down", "policy", "pfc_storm"):
        key = (lambda r: (r.get("ts_ns", 0), r.get("down_ns", 0), r.get("start_ns", 0), r["port"], str(r)))
        assert sorted(got.get(kind, []), key=key) == sorted(want[kind], key=key), kind
    # what the input holds: a netlink flap, a PHY-only flap, one storm on priority 3 with its policy
    assert [f["source"] for f in sorted(want["flap"], key=lambda f: f["down_ns"])] == ["netlink", "PHY counter"]
    assert [(s["port"], s["priority"]) for s in want["pfc_storm"]] == [("eth0", 3)]
    assert ("pfc-storm:p3", "trip") in [(p["policy"], p["event"]) for p in want["policy"]]
