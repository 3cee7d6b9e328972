#!/usr/bin/env python3
"""The real-kernel corpus as a bench: drive the sessions, analyse, classify, score.

    sudo python bench/realkernel/run.py --episodes 60 --seed 1      # ~12 min
    sudo python bench/realkernel/run.py --episodes 14 --seed 2 --profiles same-ifindex --keep /tmp/rk
    python bench/realkernel/run.py --rescore /tmp/rk/*   # kept sessions, scored by today's code

Sessions (corpus.py) take turns between the profiles; each holds every family. Prints the
per-label table, the flap recall and the per-episode misses; writes everything to
bench/out/realkernel-<seed>.json (git-ignored). --keep DIR keeps each session's captures
and truth.json; --rescore analyses and scores kept sessions again (after a change to the
engine or the classifier: the same real-kernel bytes). Driving needs root and the tools in
corpus.TOOLS; run it alone (flock /tmp/flapwatch-heavy.lock on the shared machines): a busy
CPU delays the driver's flaps, and labs take turns (tests/support/netns.py's lock).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:  # the installed package; a checkout without an install uses the source tree
    import flapwatch  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parents[1] / "python"))
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=60, help="at least this many truth episodes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profiles", default=",".join(corpus.PROFILES), help="comma-separated, taken in turn")
    ap.add_argument("--json", type=Path, default=None, help="default: bench/out/realkernel-<seed>.json")
    ap.add_argument("--keep", type=Path, default=None, help="keep each session's captures and truth here")
    ap.add_argument("--rescore", type=Path, nargs="+", metavar="SESSION_DIR", help="score kept sessions again")
    args = ap.parse_args(argv)
    if args.rescore:
        results = [corpus.analyse(d, json.loads((d / "truth.json").read_text())) for d in args.rescore]
        print(corpus.format_table(corpus.summarize(results)))
        if args.json:
            args.json.write_text(json.dumps({"summary": corpus.summarize(results), "sessions": results}, indent=1,
                                            default=corpus._json_default) + "\n")
        return 0
    corpus.require()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the labs remove their namespaces
    profiles = tuple(args.profiles.split(","))
    plans = corpus.session_plans(args.episodes, args.seed, profiles)
    print(f"{len(plans)} sessions, {sum(len(p.episodes) for p in plans)} episodes", flush=True)
    results, t0 = [], time.monotonic()
    for plan in plans:
        work = (args.keep / plan.name) if args.keep else Path(tempfile.mkdtemp(prefix="fwrk-"))
        try:
            t = time.monotonic()
            print(f"{plan.name}: {plan.profile}, {'dump' if plan.dump else 'no dump'}, {plan.wire_tool}"
                  f"{', mid-outage' if plan.mid_outage else ''}", flush=True)
            r = corpus.run_session(plan, work, log=lambda m: print(m, flush=True))
            r["seconds"] = time.monotonic() - t
            results.append(r)
            f = r["flaps"]
            print(f"  -> {f['found']}/{f['driven']} flaps ({len(f['missed'])} missed, {len(f['extra'])} extra), "
                  f"{sum(m['truth'] == m['predicted'] for m in r['matches'])}/{len(r['matches'])} episodes right, "
                  f"{r['seconds']:.0f} s", flush=True)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    summary = corpus.summarize(results)
    print()
    print(corpus.format_table(summary))
    print(f"\n{time.monotonic() - t0:.0f} s")
    out = args.json or HERE.parent / "out" / f"realkernel-{args.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "sessions": results, "argv": sys.argv[1:]}, indent=1,
                              default=corpus._json_default) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
