"""Fit the risk score's coefficients (flapwatch/assess/risk.py: INTERCEPT, WEIGHTS) on simulated
fleets, and check the acceptance figures (bench/README.md, "Risk").

    python bench/fit_risk.py                 # fit, then check the weights risk.py ships
    python bench/fit_risk.py --fit-only      # just print the coefficients to paste into risk.py
    python bench/fit_risk.py --check-only    # just the figures, for the shipped weights
    python bench/fit_risk.py --quick         # fewer scenarios (a smoke run)

Fit: each training scenario (seeds 100000+, disjoint from the checks' and bench/signatures.py's)
is simulated, analysed and replayed through RiskModel; every port's features are sampled after
each event and every 5 s, labelled 1 when the port really goes down (the simulator's truth)
within the next 60 s or is down in an outage over the job budget (labels()). A logistic regression with a little L2 where every weight is bounded below by 0
(projected Newton with an active set and a backtracking line search; numpy only) gives the
coefficients: with the features of risk.py (each non-decreasing in flaps, hidden flaps, storms
and down time), non-negative weights are what makes "more flaps never lower the score" hold.
Features in risk.PINNED_ZERO are left out of the fit (weight 0).

Check (the shipped weights, or the ones just fitted with --use-fitted):
- degrading scenarios (family "degrading", seeds 1..N): does the degrading port's peak cross
  the threshold (0.7) before its outage (the first down over 1 s, and the first over the job
  budget where there is one), and how long before (the lead time);
- stable scenarios (family "stable", seeds 1..N): does any port's score ever reach 0.7;
- calibration on held-out scenarios of every family (seeds 1..M, the benchmark's assignment):
  predicted probability against the observed rate of the label, in bins;
- every family (seeds 1..K each): how often the peak reaches 0.7;
- the real-kernel lab captures (captures/): each port's current and peak score, and when the
  peak crossed 0.7 against the flaps lab.truth.json drove.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:  # the installed package; a checkout without an install uses the source tree
    import flapwatch  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "python"))
import flapwatch  # noqa: E402
from flapwatch import simulate  # noqa: E402
from flapwatch.assess import risk  # noqa: E402

S = 1_000_000_000
WINDOW_S = 60.0
THRESHOLD = 0.7
BUDGET_S = flapwatch.Config().job_budget_s
BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0000001)


def run_scenario(family: str, seed: int, workdir: str, config: risk.RiskConfig | None = None):
    """Simulate, analyse and score one scenario: (timeline, truth)."""
    path = os.path.join(workdir, f"risk-{family}-{seed}.pcapng")
    r = simulate.simulate(family, path, seed)
    a = flapwatch.analyze(path, {"port_speeds": r.truth["config"]["port_speeds"]})
    tl = risk.score_analysis(a, end_ns=r.truth["end_ns"], config=config)
    truth = r.truth
    os.remove(path)
    os.remove(path + ".truth.json")
    return tl, truth


def labels(tl: risk.RiskTimeline, truth: dict, window_s: float = WINDOW_S, budget_s: float = BUDGET_S) -> np.ndarray:
    """What the score predicts (the simulator's truth), per sample at time t: 1 when the port
    goes down in (t, t + window_s] - any flap - or is down at t in an outage longer than the
    job budget (one that has not ended yet). budget_s None: flaps only (round 1's label)."""
    y = np.zeros(tl.ts_ns.size, bool)
    ports = np.array(tl.port, dtype=object)
    w = int(window_s * S)
    for p, v in truth["risk"].items():
        flaps = sorted((d, u) for d, u in map(tuple, v.get("flaps", [])))
        if not flaps:
            continue
        d = np.array([f[0] for f in flaps], np.int64)
        m = ports == p
        t = tl.ts_ns[m]
        nxt = d[np.minimum(np.searchsorted(d, t, "right"), d.size - 1)]
        yy = (nxt > t) & (nxt <= t + w)
        if budget_s is not None:
            for down, up in flaps:
                if up is None or up - down > budget_s * S:
                    yy |= (t >= down) & (t < (up if up is not None else np.iinfo(np.int64).max))
        y[m] = yy
    return y.astype(float)


def design(tl: risk.RiskTimeline) -> np.ndarray:
    return np.stack([tl.features[k] for k in risk.FEATURES], axis=1)


# ------------------------------------------------------------------------------------ the fit


def _loss(Xb: np.ndarray, y: np.ndarray, beta: np.ndarray, reg: np.ndarray) -> float:
    z = Xb @ beta
    return float(np.sum(np.logaddexp(0, z) - y * z) + 0.5 * np.sum(reg * beta * beta))


def fit_bounded(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 100) -> np.ndarray:
    """Logistic regression, intercept free, every weight >= 0: projected Newton (Bertsekas 1982).
    Weights at the bound whose gradient pushes them below it stay fixed for the step; the
    others take a Newton step on their own block; a backtracking search on the projected path."""
    Xb = np.hstack([np.ones((X.shape[0], 1)), X])
    n = Xb.shape[1]
    lower = np.zeros(n)
    lower[0] = -np.inf
    reg = np.full(n, l2)
    reg[0] = 0.0
    beta = np.zeros(n)
    f = _loss(Xb, y, beta, reg)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(Xb @ beta)))
        g = Xb.T @ (p - y) + reg * beta
        at_bound = (beta <= lower + 1e-12) & (g > 0)
        free = ~at_bound
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(reg)
        step = np.zeros(n)
        step[free] = np.linalg.solve(H[np.ix_(free, free)] + 1e-9 * np.eye(free.sum()), g[free])
        t = 1.0
        while True:
            nb = np.maximum(beta - t * step, lower)
            fn = _loss(Xb, y, nb, reg)
            if fn <= f - 1e-4 * float(g @ (beta - nb)) or t < 1e-10:
                break
            t *= 0.5
        moved = np.abs(nb - beta).max()
        beta, f = nb, fn
        if moved < 1e-7:
            break
    return beta


def fit(first_seed: int, scenarios: int, workdir: str) -> tuple[float, dict, str]:
    t0 = time.time()
    Xs, ys = [], []
    fams: dict[str, int] = {}
    for seed in range(first_seed, first_seed + scenarios):
        family = simulate.family_for_seed(seed)
        fams[family] = fams.get(family, 0) + 1
        tl, truth = run_scenario(family, seed, workdir)
        Xs.append(design(tl))
        ys.append(labels(tl, truth))
    X, y = np.vstack(Xs), np.concatenate(ys)
    used = [j for j, k in enumerate(risk.FEATURES) if k not in risk.PINNED_ZERO]
    beta_used = fit_bounded(X[:, used], y)
    weights = {k: 0.0 for k in risk.FEATURES}
    for j, b in zip(used, beta_used[1:]):
        weights[risk.FEATURES[j]] = float(b)
    z = beta_used[0] + X[:, used] @ beta_used[1:]
    loss = float(np.mean(np.logaddexp(0, z) - y * z))
    summary = (f"{scenarios} simulated scenarios, seeds {first_seed}-{first_seed + scenarios - 1} "
               f"({len(fams)} families): {X.shape[0] / 1e6:.2f} M port-samples, {int(y.sum())} positive, "
               f"log-loss {loss:.3f}")
    print(f"fit: {summary} ({time.time() - t0:.0f} s)")
    return float(beta_used[0]), weights, summary


def print_coefficients(intercept: float, weights: dict, summary: str) -> None:
    print(f'FIT_SUMMARY = "{summary}"')
    print(f"INTERCEPT = {intercept:.3f}")
    print("WEIGHTS = {")
    for k in risk.FEATURES:
        print(f'    "{k}": {weights[k]:.3f},')
    print("}")


# ---------------------------------------------------------------------------------- the checks


def check_degrading(n: int, workdir: str, cfg, budget_s: float) -> dict:
    crossed, crossed_budget, with_budget, leads, leads_budget, after_first = 0, 0, 0, [], [], 0
    misses = []
    for seed in range(1, n + 1):
        tl, truth = run_scenario("degrading", seed, workdir, cfg)
        port, v = next((p, v) for p, v in truth["risk"].items() if "degrading_outage_ns" in v)
        outage = v["degrading_outage_ns"]
        over = [d for d, u in sorted(map(tuple, v["flaps"])) if u is None or (u - d) > budget_s * S]
        cross = tl.first_crossing(port, THRESHOLD)
        if cross is not None and cross < outage:
            crossed += 1
            leads.append((outage - cross) / S)
            after_first += cross > v["flaps"][0][0]
        else:
            misses.append(seed)
        if over:
            with_budget += 1
            if cross is not None and cross < over[0]:
                crossed_budget += 1
                leads_budget.append((over[0] - cross) / S)
    return {"n": n, "crossed": crossed, "after_first_flap": after_first, "leads": leads, "with_budget": with_budget,
            "crossed_budget": crossed_budget, "leads_budget": leads_budget, "misses": misses}


def check_stable(n: int, workdir: str, cfg) -> dict:
    hit, ports, ports_hit, peaks = 0, 0, 0, []
    for seed in range(1, n + 1):
        tl, _ = run_scenario("stable", seed, workdir, cfg)
        peak = tl.max_score()
        ports += len(peak)
        ports_hit += sum(s >= THRESHOLD for s in peak.values())
        hit += any(s >= THRESHOLD for s in peak.values())
        peaks.append(max(peak.values(), default=0.0))
    return {"n": n, "hit": hit, "ports": ports, "ports_hit": ports_hit, "max_peak": max(peaks, default=0.0)}


def check_families(n: int, workdir: str, cfg) -> dict:
    """Every family, seeds 1..n each: the share of scenarios where some port's peak reaches
    THRESHOLD, and of the ports that flapped (the truth) whose peak did."""
    out = {}
    for family in simulate.FAMILIES:
        hit, ports, ports_hit, few, few_hit = 0, 0, 0, 0, 0
        for seed in range(1, n + 1):
            tl, truth = run_scenario(family, seed, workdir, cfg)
            peak = tl.max_score()
            hit += any(s >= THRESHOLD for s in peak.values())
            flapped = {p: len(v["flaps"]) for p, v in truth["risk"].items() if v.get("flaps")}
            ports += len(flapped)
            ports_hit += sum(peak.get(p, 0.0) >= THRESHOLD for p in flapped)
            few += sum(k <= 2 for k in flapped.values())  # one flap, or a bounce
            few_hit += sum(peak.get(p, 0.0) >= THRESHOLD for p, k in flapped.items() if k <= 2)
        out[family] = {"n": n, "hit": hit, "ports": ports, "ports_hit": ports_hit, "few": few, "few_hit": few_hit}
    return out


def check_calibration(n: int, workdir: str, cfg) -> dict:
    ps, ys = [], []
    for seed in range(1, n + 1):
        tl, truth = run_scenario(simulate.family_for_seed(seed), seed, workdir, cfg)
        ps.append(tl.score)
        ys.append(labels(tl, truth))
    p, y = np.concatenate(ps), np.concatenate(ys)
    rows = []
    for lo, hi in zip(BINS[:-1], BINS[1:]):
        m = (p >= lo) & (p < hi)
        if m.any():
            rows.append((lo, min(hi, 1.0), int(m.sum()), float(p[m].mean()), float(y[m].mean())))
    pc = np.clip(p, 1e-12, 1 - 1e-12)
    loss = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
    base = float(y.mean())
    return {"n": n, "samples": int(p.size), "positive": int(y.sum()), "bins": rows, "log_loss": loss,
            "brier": float(np.mean((p - y) ** 2)), "brier_base": base * (1 - base)}


def check_lab(cfg) -> list[dict]:
    """Each port that ever scored >= 0.1: current, peak, when it crossed THRESHOLD, and the
    outage lab.truth.json drove (the 2 s one), all in s from the capture's first frame."""
    truth = json.loads((ROOT / "captures" / "lab.truth.json").read_text())
    outage = next(f["down_ns"] for f in truth["flaps"] if f["kind"] == "outage")
    out = []
    for name, paths in (("lab.pcapng", ["lab.pcapng"]),
                        ("lab-tcpdump.pcap + lab-netlink.pcap", ["lab-tcpdump.pcap", "lab-netlink.pcap"])):
        a = flapwatch.analyze([str(ROOT / "captures" / p) for p in paths])
        tl = risk.score_analysis(a, end_ns=a.last_ns, config=cfg)
        current = tl.current()
        for port, (peak, when) in tl.peak().items():
            if peak < 0.1:
                continue
            cross = tl.first_crossing(port, THRESHOLD)
            out.append({"input": name, "port": port, "current": current[port], "peak": peak,
                        "peak_s": (when - a.first_ns) / S, "cross_s": None if cross is None else (cross - a.first_ns) / S,
                        "outage_s": (outage - a.first_ns) / S})
    return out


def pct(a: int, b: int) -> str:
    return f"{a}/{b} = {100.0 * a / b:.1f} %" if b else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=600, help="training scenarios (default 600)")
    ap.add_argument("--first-seed", type=int, default=100000)
    ap.add_argument("--degrading", type=int, default=200, help="degrading scenarios checked (default 200)")
    ap.add_argument("--stable", type=int, default=200, help="stable scenarios checked (default 200)")
    ap.add_argument("--calibration", type=int, default=240, help="held-out scenarios, every family (default 240)")
    ap.add_argument("--families", type=int, default=40, help="scenarios per family for the crossing rates (default 40)")
    ap.add_argument("--fit-only", action="store_true")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--use-fitted", action="store_true", help="check the weights just fitted, not risk.py's")
    ap.add_argument("--quick", action="store_true", help="60 / 30 / 30 / 36 scenarios")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    if args.quick:
        args.scenarios, args.degrading, args.stable, args.calibration, args.families = 60, 30, 30, 36, 10
    t0 = time.time()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cfg = None
    with tempfile.TemporaryDirectory() as d:
        if not args.check_only:
            intercept, weights, summary = fit(args.first_seed, args.scenarios, d)
            print_coefficients(intercept, weights, summary)
            if args.use_fitted:
                cfg = risk.RiskConfig(intercept=intercept, weights=weights)
        if args.fit_only:
            return 0
        cfg = cfg or risk.RiskConfig()
        budget = flapwatch.Config().job_budget_s
        t1 = time.time()
        deg = check_degrading(args.degrading, d, cfg, budget)
        stab = check_stable(args.stable, d, cfg)
        fams = check_families(args.families, d, cfg)
        cal = check_calibration(args.calibration, d, cfg)
        lab = check_lab(cfg)
    leads = np.array(deg["leads"]) if deg["leads"] else np.zeros(1)
    lb = np.array(deg["leads_budget"]) if deg["leads_budget"] else np.zeros(1)
    print(f"\nchecks ({time.time() - t1:.0f} s), threshold {THRESHOLD}:")
    print(f"  degrading: peak crosses before the outage (first down > 1 s): {pct(deg['crossed'], deg['n'])}"
          f" (after the first precursor flap: {deg['after_first_flap']}); misses: seeds {deg['misses'][:20]}")
    print(f"  degrading: before the first outage over the job budget ({budget:g} s): "
          f"{pct(deg['crossed_budget'], deg['with_budget'])}")
    print(f"  lead time before the outage: median {np.median(leads):.1f} s, p10 {np.percentile(leads, 10):.1f} s, "
          f"p90 {np.percentile(leads, 90):.1f} s; before the over-budget one: median {np.median(lb):.1f} s, "
          f"p10 {np.percentile(lb, 10):.1f} s")
    print(f"  stable: any port reaches {THRESHOLD}: {pct(stab['hit'], stab['n'])} of scenarios, "
          f"{pct(stab['ports_hit'], stab['ports'])} of ports; highest peak {stab['max_peak']:.3f}")
    print(f"  per family (seeds 1-{args.families} each): scenarios where some port's peak reaches {THRESHOLD}; "
          "ports that flapped whose peak did; ports that flapped once or twice whose peak did:")
    for fam, r in fams.items():
        print(f"    {fam:22s} {pct(r['hit'], r['n']):>18s}   {pct(r['ports_hit'], r['ports']):>18s}   "
              f"{pct(r['few_hit'], r['few']):>18s}")
    print(f"  calibration ({cal['n']} held-out scenarios, {cal['samples']} samples, {cal['positive']} positive; "
          f"log-loss {cal['log_loss']:.3f}, Brier {cal['brier']:.4f} against {cal['brier_base']:.4f} for the base rate):")
    print("    | predicted | samples | mean predicted | observed |")
    print("    |---|---:|---:|---:|")
    for lo, hi, n, mp, ob in cal["bins"]:
        print(f"    | {lo:.2f}-{hi:.2f} | {n} | {mp:.3f} | {ob:.3f} |")
    print("  lab captures (real kernel):")
    for r in lab:
        cross = "never" if r["cross_s"] is None else f"+{r['cross_s']:.2f} s"
        print(f"    {r['input']}  {r['port']}: current {r['current']:.3f}, peak {r['peak']:.3f} at +{r['peak_s']:.2f} s, "
              f"crosses {THRESHOLD} at {cross}; the 2 s outage at +{r['outage_s']:.2f} s")
    print(f"total {time.time() - t0:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"degrading": deg, "stable": stab, "families": fams, "calibration": cal, "lab": lab},
                                              default=float, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
