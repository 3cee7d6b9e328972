"""Mapped or read windows (cpp/include/flapwatch/io/block_buffer.hpp), under three states of
the page cache, in one run:

    python bench/bench_windows.py                 # ~1.5 min (the page-by-page fault-in ~10 s of it)
    python bench/bench_windows.py --repeat 7

On bench/out/mix_5000000.pcap (generated if missing). The states:

  read back     evicted, then read back once by the C loop: bench_cli.py's state, mostly 2 MiB folios
  written       a copy written with 8 KiB writes and fsynced: the small folios tcpdump's buffered
                writes leave a capture in, until it is evicted
  page by page  evicted, then faulted back a page at a time (MADV_RANDOM): what refaults after
                DAMON's pageout come to

For each state: what mapping each 16 MiB window costs (bench/peers/map_cost.c, µs per MiB, the
reader's way: 2 MiB-aligned, MADV_POPULATE_READ, unmapped); in process (numpy loaded), the
core's inspect on 1 and 2 threads and analyze on 1 and 2 threads with every window mapped,
every window read, and auto (the default), the rounds alternating the modes, medians; and
the whole processes the user runs (auto), against the raw C loop in the same state: inspect
--json and replay --format json on 1 thread. Checks (exit 1 if one fails): read and auto give
map's results. Writes bench/out/bench_windows.json.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_cli as bc  # noqa: E402  (flapwatch_cmd)
import bench_inspect as bi  # noqa: E402  (run, compile_raw_loop, drop_from_page_cache, machine, ...)

MODES = ("map", "read", "auto")


def fault_in_page_by_page(path: Path) -> None:
    """Evicted, then each page faulted back alone (no readahead): small folios throughout."""
    bi.drop_from_page_cache(path)
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        m.madvise(mmap.MADV_RANDOM)
        for off in range(0, len(m), mmap.PAGESIZE):
            m[off]


def write_in_small_writes(src: Path, dst: Path, chunk: int = 8 << 10) -> None:
    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            while block := fin.read(1 << 20):
                for off in range(0, len(block), chunk):
                    os.write(fd, block[off:off + chunk])
            os.fsync(fd)
        finally:
            os.close(fd)


def in_process(capture: Path, repeat: int) -> tuple[dict, dict]:
    """Medians (ms) of the core's work in each window mode, and each mode's results."""
    import numpy  # noqa: F401  (loaded, as after any analysis)

    from flapwatch import _core
    from flapwatch.config import Config

    cfg = Config.coerce(None).to_core()
    cfg.update(ports=[], until_ns=None)
    work = {
        "inspect, 1 thread": lambda: _core.inspect([str(capture)], False, 1),
        "inspect, 2 threads": lambda: _core.inspect([str(capture)], False, 2),
        "analyze, 1 thread": lambda: _core.analyze([str(capture)], cfg, False, 16384, None, [("", "")], [], 1),
        "analyze, 2 threads": lambda: _core.analyze([str(capture)], cfg, False, 16384, None, [("", "")], [], 2),
    }
    times = {(w, m): [] for w in work for m in MODES}
    results = {}
    for _ in range(repeat):
        for mode in MODES:
            _core.set_window_mode(mode)
            for name, fn in work.items():
                t = time.perf_counter()
                out = fn()
                times[(name, mode)].append(time.perf_counter() - t)
                if name.endswith("1 thread"):
                    results[(name, mode)] = out
    _core.set_window_mode("auto")
    return {k: round(1000 * statistics.median(v), 1) for k, v in times.items()}, results


def same_analysis(a: dict, b: dict) -> bool:
    import numpy as np

    if any(a[k] != b[k] for k in ("strings", "counts", "records", "warnings", "first_ns", "last_ns")):
        return False
    return all(np.array_equal(np.asarray(v), np.asarray(b["tables"][t][c]))
               for t, cols in a["tables"].items() for c, v in cols.items())


def whole_processes(capture: Path, raw_loop: Path, repeat: int) -> dict:
    fw = bc.flapwatch_cmd()
    rows = {"raw C loop": [str(raw_loop), str(capture)],
            "inspect --json, 1 thread": fw + ["inspect", "--json", "--threads", "1", str(capture)],
            "replay --format json, 1 thread": fw + ["replay", "--format", "json", "-q", "--threads", "1", str(capture)]}
    walls = {name: [] for name in rows}
    for _ in range(repeat):
        for name, cmd in rows.items():
            walls[name].append(bi.run(cmd)["wall"])
    return {name: round(statistics.median(w), 4) for name, w in walls.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--frames", type=int, default=5_000_000)
    args = ap.parse_args()
    bi.OUT.mkdir(exist_ok=True)
    capture = bi.OUT / f"mix_{args.frames}.pcap"
    bi.ensure_capture(capture, args.frames, None)
    raw_loop = bi.compile_raw_loop()
    map_cost = bi.OUT / "map_cost"
    subprocess.run(["cc", "-O2", "-o", str(map_cost), str(bi.PEERS / "map_cost.c")], check=True)
    written = bi.OUT / "written_8k.pcap"
    res = {"machine": bi.machine(), "states": {}}
    print(f"capture {capture}: {capture.stat().st_size / 1e6:,.0f} MB; load average {os.getloadavg()[0]:.2f}", flush=True)

    def read_back(path: Path) -> None:
        bi.drop_from_page_cache(path)
        bi.run([str(raw_loop), str(path)])

    states = [("read back", capture, read_back), ("written", written, lambda p: write_in_small_writes(capture, p)),
              ("page by page", capture, fault_in_page_by_page)]
    try:
        for state, path, prepare in states:
            prepare(path)
            costs = json.loads(subprocess.run([str(map_cost), str(path)], capture_output=True, text=True,
                                              check=True).stdout)
            ms, results = in_process(path, args.repeat)
            procs = whole_processes(path, raw_loop, args.repeat)
            for name in ("inspect, 1 thread", "analyze, 1 thread"):
                for mode in ("read", "auto"):
                    a, b = results[(name, "map")], results[(name, mode)]
                    bi.check(f"{state}: {name}, {mode} = map", a == b if name.startswith("inspect") else same_analysis(a, b))
            res["states"][state] = {"map_us_per_mib": costs, "in_process_ms": {f"{w} / {m}": v for (w, m), v in ms.items()},
                                    "process_s": procs}
            q = statistics.quantiles(costs, n=10)
            print(f"\n{state}: mapping a 16 MiB window, µs per MiB: median {statistics.median(costs):.0f}, "
                  f"10-90 % {q[0]:.0f}-{q[-1]:.0f}, max {max(costs):.0f}")
            print(f"  {'in process, ms':24s}" + "".join(f"{m:>9s}" for m in MODES))
            for w in ("inspect, 1 thread", "inspect, 2 threads", "analyze, 1 thread", "analyze, 2 threads"):
                print(f"  {w:24s}" + "".join(f"{ms[(w, m)]:9.1f}" for m in MODES))
            raw = procs["raw C loop"]
            for name, wall in procs.items():
                print(f"  {name:32s} {wall:.3f} s  {raw / wall:5.2f} x the raw C loop")
    finally:
        written.unlink(missing_ok=True)
    (bi.OUT / "bench_windows.json").write_text(json.dumps(res, indent=1))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; results: {bi.OUT / 'bench_windows.json'}")
    if bi.failures:
        print("FAILED:", ", ".join(bi.failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
