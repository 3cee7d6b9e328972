"""The libFuzzer targets (fuzz/): they build, each runs for a bounded time without a
crash, leak or sanitizer report, and every input that once crashed one
(tests/regressions/<target>/) replays clean under ASan+UBSan.

Needs Debian's clang (clang libclang-rt-14-dev llvm; .ci/run installs them): a missing
compiler fails the tests, it never skips them. FLAPWATCH_FUZZ_SECONDS sets the time
per target (default 25: 8 targets stay under ~5 minutes on a 2-core machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = [pytest.mark.tools, pytest.mark.slow]

FUZZ = REPO / "fuzz"
OUT = REPO / "build" / "fuzz"
TARGETS = [
    "fuzz_pcap", "fuzz_pcapng", "fuzz_gzip", "fuzz_mac_control", "fuzz_lldp", "fuzz_netlink", "fuzz_dispatch", "fuzz_engine",
    "fuzz_ranges",
]
SECONDS = int(os.environ.get("FLAPWATCH_FUZZ_SECONDS", "25"))
REGRESSIONS = REPO / "tests" / "regressions"


def _clang() -> None:
    if not any(shutil.which(c) for c in ("clang++", "clang++-14")):
        pytest.fail("clang++ not installed: apt-get install -y clang libclang-rt-14-dev llvm (.ci/run does)")


@pytest.fixture(scope="module")
def built() -> Path:
    _clang()
    proc = subprocess.run([str(FUZZ / "build.sh")], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for t in TARGETS:
        assert (OUT / t).is_file(), t
    proc = subprocess.run(["python3", str(FUZZ / "make_seeds.py"), "--out", str(OUT / "seeds")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return OUT


def test_every_fuzz_source_is_a_listed_target():
    assert sorted(p.stem for p in FUZZ.glob("fuzz_*.cpp")) == sorted(TARGETS)
    run_sh = (FUZZ / "run.sh").read_text()
    for t in TARGETS:
        assert t in run_sh


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_bounded_run(built, target):
    """fuzz/run.sh SECONDS TARGET: libFuzzer under ASan+UBSan on the seeds, the corpus
    kept in build/fuzz/corpus and the regressions; fails on any report."""
    proc = subprocess.run([str(FUZZ / "run.sh"), str(SECONDS), target], capture_output=True, text=True,
                          timeout=SECONDS + 600)
    log = OUT / "logs" / f"asan-{SECONDS}s" / f"{target}.log"
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + tail
    execs = [line for line in tail.splitlines() if line.startswith("stat::number_of_executed_units")]
    assert execs and int(execs[-1].split()[-1]) > 100, tail


def _regression_inputs(target: str) -> list[Path]:
    d = REGRESSIONS / target
    return sorted(p for p in d.iterdir() if p.is_file() and not p.name.endswith(".md")) if d.is_dir() else []


@pytest.mark.parametrize("target", [t for t in TARGETS if _regression_inputs(t)])
def test_regressions_replay_clean_under_sanitizers(built, target):
    """Each saved crash input once through the ASan+UBSan target, with every report fatal
    and no suppressions (fuzz/known_bugs.supp only lets fuzzing go on past a reported
    bug): this fails until the bug behind each input is fixed."""
    inputs = _regression_inputs(target)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    failures = []
    for path in inputs:
        proc = subprocess.run([str(OUT / target), "-runs=1", "-timeout=10", "-rss_limit_mb=2048", str(path)],
                              capture_output=True, text=True, timeout=120, env=env)
        if proc.returncode != 0 or "runtime error" in proc.stderr or "ERROR: " in proc.stderr:
            lines = [ln for ln in proc.stderr.splitlines()
                     if "runtime error" in ln or "ERROR" in ln or "SUMMARY" in ln or "invariant" in ln]
            failures.append(f"{path.relative_to(REPO)}: {' | '.join(lines[:3])}")
    assert not failures, "\n".join(failures)
