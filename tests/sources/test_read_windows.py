"""Big windows of a regular capture come in mapped or read with pread
(cpp/include/flapwatch/io/block_buffer.hpp: WindowMode, chosen per window by what each
costs in `auto`). Which kind a window is must not show in any result: the same summary,
detections, strings, counts and warnings from each, on one reader, on ranges and on the
one reader feeding the ring, with records cut by every 512 KiB read window's end. Which kind
auto picks depends on the page cache's folios and is measured in bench/bench_windows.py;
its rules are tested in tests/cpp/test_capture_split.cpp."""

from __future__ import annotations

import sys

import pytest

from flapwatch import _core

from conftest import REPO
from engine_runs import assert_same, run_core

sys.path.insert(0, str(REPO / "bench"))
import generate  # noqa: E402  (bench/generate.py: the PFC-heavy capture of the benchmarks)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """bench/generate.py's PFC-heavy mix, 130,000 frames (~21 MB: two 16 MiB mapped windows,
    ~40 read ones)."""
    out = tmp_path_factory.mktemp("windows") / "mix.pcap"
    generate.generate(out, 130_000, None, 11, 5_000, False, quiet=True)
    assert out.stat().st_size > 20 << 20
    return out


@pytest.fixture
def window_mode():
    """Sets the process's window mode for a test, and auto again after it."""
    yield _core.set_window_mode
    _core.set_window_mode("auto")


def _moved(before: dict, after: dict) -> tuple[int, int]:
    return after["mapped_bytes"] - before["mapped_bytes"], after["read_bytes"] - before["read_bytes"]


def test_mapped_and_read_windows_give_the_same_results(capture, window_mode):
    results = {}
    for mode in ("map", "read", "auto"):
        window_mode(mode)
        assert _core.window_stats()["mode"] == mode
        before = _core.window_stats()
        summary = _core.inspect([str(capture)], False, 1)
        assert _core.inspect([str(capture)], False, 2, 1 << 20) == summary
        runs = [run_core(capture, threads, range_bytes) for threads, range_bytes in ((0, 0), (1, 4 << 20), (2, 1 << 20))]
        mapped, read = _moved(before, _core.window_stats())
        if mode == "map":
            assert mapped > 4 * capture.stat().st_size and read == 0
        elif mode == "read":
            assert read > 4 * capture.stat().st_size and mapped == 0
        results[mode] = summary, runs
    summary, runs = results["map"]
    assert summary["frames"] == 130_000 and len(summary["lldp_neighbors"]) == 3
    assert runs[0]["counts"]["pfc"] > 50_000
    for mode in ("read", "auto"):
        assert results[mode][0] == summary, mode
        for one, other in zip(runs, results[mode][1]):
            assert_same(one, other)


def test_a_cut_capture_warns_the_same_from_read_windows(capture, tmp_path, window_mode):
    """The file ends inside a record, past the first read window: the same warning, at the
    same offset, and the same frames before it."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture.read_bytes()[: (3 << 20) + 12345])
    window_mode("map")
    mapped = _core.inspect([str(cut)], False, 1)
    window_mode("read")
    read = _core.inspect([str(cut)], False, 1)
    assert read == mapped
    assert any("runs past the end of the file" in w for w in mapped["warnings"]), mapped["warnings"]


def test_an_unknown_window_mode_is_refused():
    with pytest.raises(ValueError, match="auto, map or read"):
        _core.set_window_mode("mmap")
    assert _core.window_stats()["mode"] == "auto"
