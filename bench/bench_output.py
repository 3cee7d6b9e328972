"""What a replay with many rows pays after the core: the risk timeline and the writers.

    python bench/bench_output.py                       # ~1 min
    python bench/bench_output.py --base /tmp/basepkg/python --repeat 5

bench_cli.py's capture gives a few dozen rows; a long capture gives many (a pause_stats row
per priority and window, and the risk model scores each window's end). The same capture
with `pause_window_s = 0.0001` (13,000 windows: ~117,000 rows, ~20 MB of JSON) stands in for
one. Rows, each a median of --repeat whole-process runs in alternating rounds:

  raw C loop                 bench/peers/raw_loop.c: the read limit (bench_cli.py)
  replay (table)             the per-port table only: the core, the risk timeline, no rows written
  replay json / jsonl / csv  every row (csv: --table pause_stats), stdout to a file
  ... PYTHONUNBUFFERED=1     the same with the variable many container images set: each write
                             to stdout is then a system call

With --base DIR, every replay row also runs with PYTHONPATH=DIR (a copy of an older package,
its built _core beside it) in the same rounds, and every output is checked byte for byte
against the base's. Results in bench/out/bench_output.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import bench_inspect as bi  # noqa: E402
from bench_cli import flapwatch_cmd  # noqa: E402

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as bench_cli.py: bytecode cached as pip leaves it
WINDOW_S = 0.0001


def rows_for(capture: Path, config: Path, raw_loop: Path, base: str | None) -> dict[str, list[str]]:
    replay = flapwatch_cmd() + ["replay", "-q", "--config", str(config), str(capture)]
    forms = {"table": [], "json": ["--format", "json"], "jsonl": ["--format", "jsonl"],
             "csv": ["--format", "csv", "--table", "pause_stats"]}
    rows = {"raw C loop": [str(raw_loop), str(capture)]}
    for build, path in [("", None)] + ([(" [base]", base)] if base else []):
        pythonpath = [f"PYTHONPATH={path}"] if path else []
        for form, extra in forms.items():
            rows[f"replay {form}{build}"] = ["env", "-u", "PYTHONUNBUFFERED"] + pythonpath + replay + extra
            if form != "table":
                rows[f"replay {form}, PYTHONUNBUFFERED=1{build}"] = ["env", "PYTHONUNBUFFERED=1"] + pythonpath + replay + extra
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--frames", type=int, default=5_000_000)
    p.add_argument("--base", help="an older package's directory (PYTHONPATH) to run beside this one")
    args = p.parse_args()
    capture = bi.OUT / f"mix_{args.frames}.pcap"
    truth = bi.ensure_capture(capture, args.frames, None)
    raw_loop = bi.compile_raw_loop()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "windows.toml"
        config.write_text(f"pause_window_s = {WINDOW_S}\n")
        rows = rows_for(capture, config, raw_loop, args.base)
        bi.drop_from_page_cache(capture)
        bi.run(rows["raw C loop"])  # read back in one go, as bench_cli.py
        walls, cpus, outputs = bi.rounds(rows, args.repeat)
    doc = json.loads(outputs["replay json"])
    bi.check("replay counted every frame of the truth", doc["counts"] == truth["counts"], str(doc["counts"]))
    bi.check("many rows", len(doc["pause_stats"]) > 100_000, str(len(doc["pause_stats"])))
    for name in rows:
        if ", PYTHONUNBUFFERED=1" in name:
            bi.check(f"{name}: the same bytes", outputs[name] == outputs[name.replace(", PYTHONUNBUFFERED=1", "")])
        if name.endswith(" [base]"):
            bi.check(f"{name}: the same bytes as this build", outputs[name] == outputs[name.removesuffix(" [base]")])
    raw = statistics.median(walls["raw C loop"])
    table = [{"row": n, "median_s": round(statistics.median(w), 3), "cpu_s": round(statistics.median(cpus[n]), 3),
              "vs_raw_loop": round(raw / statistics.median(w), 3), "output_mb": round(len(outputs[n]) / 1e6, 1)}
             for n, w in walls.items()]
    print(f"\n{'row':44} {'median s':>9} {'cpu s':>7} {'vs raw loop':>12} {'output MB':>10}")
    for r in table:
        print(f"{r['row']:44} {r['median_s']:9.3f} {r['cpu_s']:7.3f} {r['vs_raw_loop']:10.3f} x {r['output_mb']:10.1f}")
    res = {"machine": bi.machine(), "capture": str(capture), "pause_window_s": WINDOW_S, "repeat": args.repeat,
           "base": args.base, "rows": table, "failures": bi.failures}
    (bi.OUT / "bench_output.json").write_text(json.dumps(res, indent=1) + "\n")
    return 1 if bi.failures else 0


if __name__ == "__main__":
    sys.exit(main())
