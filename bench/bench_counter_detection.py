"""Issue 13, "Simulator": storms and PHY flaps found from counters alone, scored against
the simulator's truth (flapwatch/sim/counters.py).

    python bench/bench_counter_detection.py [--scenarios 250] [--first-seed 0] [--samples-only]

Runs `--scenarios` seeded scenarios (profiles mlx5_core, bnxt_en, ice, i40e, sonic in
turn; families pfc, storm and, for the drivers with a PHY link-down counter, phy-flap;
anomalies wrap / reset / vanish / relist by seed, bnxt's repeats always) plus the
acceptance's adversarial cases (per profile a 32-bit counter wrapping mid-storm and a
reset mid-run without storm) through `flapwatch.analyze`: as `ethtool -S` polling logs
where the scenario can be one, as samples where a counter is 32-bit against its profile.
Prints precision / recall per profile and family (storms and PHY flaps counted
separately) and writes bench/out/bench_counter_detection.json. See bench/README.md,
"Counters: detection on simulated series".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine_at_start  # noqa: E402

from flapwatch.sim import counters as sim  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=250)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--samples-only", action="store_true", help="feed samples, not `ethtool -S` logs")
    args = ap.parse_args()
    machine = machine_at_start(0)
    cases = sim.scenarios(args.scenarios, args.first_seed)
    adversarial = sim.wrap_and_reset_cases()
    per = defaultdict(lambda: {"storms": sim.Score(), "phy_flaps": sim.Score(), "scenarios": 0, "anomalies": 0})
    misses, adversarial_fp = [], []
    t = time.perf_counter()
    samples = 0
    with tempfile.TemporaryDirectory() as d:
        for sc in cases + adversarial:
            _, r = sim.run(sc, None if args.samples_only else d)
            samples += len(sc.reads())
            row = per[(sc.profile, sc.family)]
            row["scenarios"] += 1
            row["anomalies"] += bool(sc.anomalies and sc.anomalies != ["repeats"])
            for k in ("storms", "phy_flaps"):
                row[k].add(r[k])
            if any(v.fp or v.fn for v in r.values()):
                misses.append({"scenario": sc.name, **{k: [v.tp, v.fp, v.fn] for k, v in r.items()}})
            if sc in adversarial and (r["storms"].fp or r["phy_flaps"].fp or r["storms"].fn or r["phy_flaps"].fn):
                adversarial_fp.append(sc.name)
    wall = time.perf_counter() - t
    total = {"storms": sim.Score(), "phy_flaps": sim.Score()}
    print(f"{'profile':10} {'family':9} {'scen':>4} {'anom':>4}  {'storms tp/fp/fn':>16} {'P':>6} {'R':>6}"
          f"  {'PHY flaps tp/fp/fn':>18} {'P':>6} {'R':>6}")
    table = []
    for (profile, family), row in sorted(per.items()):
        s, f = row["storms"], row["phy_flaps"]
        total["storms"].add(s)
        total["phy_flaps"].add(f)
        table.append({"profile": profile, "family": family, "scenarios": row["scenarios"], "with_anomalies": row["anomalies"],
                      "storms": [s.tp, s.fp, s.fn], "storm_precision": s.precision, "storm_recall": s.recall,
                      "phy_flaps": [f.tp, f.fp, f.fn], "phy_precision": f.precision, "phy_recall": f.recall})
        print(f"{profile:10} {family:9} {row['scenarios']:4} {row['anomalies']:4}  {f'{s.tp}/{s.fp}/{s.fn}':>16} "
              f"{s.precision:6.3f} {s.recall:6.3f}  {f'{f.tp}/{f.fp}/{f.fn}':>18} {f.precision:6.3f} {f.recall:6.3f}")
    s, f = total["storms"], total["phy_flaps"]
    print(f"{'all':10} {'':9} {len(cases) + len(adversarial):4} {'':4}  {f'{s.tp}/{s.fp}/{s.fn}':>16} "
          f"{s.precision:6.3f} {s.recall:6.3f}  {f'{f.tp}/{f.fp}/{f.fn}':>18} {f.precision:6.3f} {f.recall:6.3f}")
    print(f"adversarial (wrap mid-storm, reset mid-run) with a false or missed detection: {adversarial_fp or 'none'}")
    print(f"{samples} samples in {wall:.1f} s ({'samples' if args.samples_only else 'ethtool -S logs where possible'})")
    for m in misses:
        print("miss:", m)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_counter_detection.json").write_text(json.dumps({
        "machine": machine, "scenarios": len(cases), "adversarial": len(adversarial), "samples": samples,
        "wall_s": wall, "input": "samples" if args.samples_only else "logs", "table": table,
        "total": {"storm_precision": s.precision, "storm_recall": s.recall, "phy_precision": f.precision,
                  "phy_recall": f.recall, "storms": [s.tp, s.fp, s.fn], "phy_flaps": [f.tp, f.fp, f.fn]},
        "adversarial_failures": adversarial_fp, "misses": misses}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
