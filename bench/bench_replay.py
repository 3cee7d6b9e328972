"""Issue 3/5 speed: `analyze` in process and the whole `flapwatch replay --format json`
process on the 5-million-frame bench capture, against the dpkt inspect script, in one run.

    python bench/bench_replay.py [--capture bench/out/mix_5000000.pcap]

Run it alone (2 shared cores): every figure moves with load. Writes bench/out/bench_replay.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", default=str(OUT / "mix_5000000.pcap"))
    args = ap.parse_args()
    cap = Path(args.capture)
    if not cap.exists():
        subprocess.run([sys.executable, str(HERE / "generate.py"), "--frames", "5000000", "--out", str(cap)], check=True)
    import flapwatch

    truth = cap.with_name(cap.name + ".truth.json")  # generate.py's sidecar, else count them
    if truth.exists():
        frames = json.loads(truth.read_text())["frames"]
    else:
        frames = sum(flapwatch.analyze(str(cap)).counts.values())
    flapwatch_bin = Path(sys.executable).with_name("flapwatch")
    replay = [str(flapwatch_bin) if flapwatch_bin.exists() else "flapwatch", "replay", str(cap), "--format", "json",
              "-o", os.devnull, "-q"]
    subprocess.run(replay, check=True)  # warm the page cache
    t_replay = best_of(3, lambda: subprocess.run(replay, check=True))
    t_analyze = best_of(3, lambda: flapwatch.analyze(str(cap)))
    t_dpkt = best_of(1, lambda: subprocess.run([sys.executable, str(HERE / "peers" / "dpkt_inspect.py"), str(cap)],
                                               check=True, stdout=subprocess.DEVNULL))
    rows = {
        "flapwatch replay --format json (process)": t_replay,
        "flapwatch.analyze (in process)": t_analyze,
        "dpkt inspect script (process)": t_dpkt,
    }
    print(f"{frames:,} frames, load average {os.getloadavg()[0]:.2f}")
    for name, s in rows.items():
        print(f"  {name:45s} {s:8.3f} s  {frames / s / 1e6:8.2f} M frames/s")
    ratios = {"replay_vs_dpkt": round(t_dpkt / t_replay, 1), "analyze_vs_dpkt": round(t_dpkt / t_analyze, 1)}
    print(f"  replay / dpkt: {ratios['replay_vs_dpkt']}x (goal >= 30x)   analyze / dpkt: "
          f"{ratios['analyze_vs_dpkt']}x (goal >= 50x)")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_replay.json").write_text(json.dumps({"frames": frames, "seconds": rows, "ratios": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
