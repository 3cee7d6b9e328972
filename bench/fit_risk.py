"""Fit the risk score's coefficients (flapwatch/risk.py: INTERCEPT, WEIGHTS) on simulated fleets.

    python bench/fit_risk.py [--scenarios 600] [--first-seed 100000]

Each training scenario (seeds disjoint from bench/signatures.py's) is simulated, analysed and
replayed through RiskModel; every port's features are sampled after each event and every 5 s,
labelled 1 when the port really flaps (the simulator's truth) within the next 60 s. A logistic
regression with a little L2 (Newton's method, numpy only) gives the coefficients to paste into
risk.py; the script prints them with the fit's log-loss.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import flapwatch  # noqa: E402
from flapwatch import simulate
from flapwatch.assess import risk  # noqa: E402

S = 1_000_000_000


def samples(seed: int, workdir: str, window_s: float = 60.0):
    family = simulate.family_for_seed(seed)
    path = os.path.join(workdir, f"fit{seed}.pcapng")
    r = simulate.simulate(family, path, seed)
    a = flapwatch.analyze(path, {"port_speeds": r.truth["config"]["port_speeds"]})
    tl = risk.score_analysis(a, end_ns=r.truth["end_ns"])
    os.remove(path)
    os.remove(path + ".truth.json")
    downs = {p: np.array(sorted(d for d, _ in v.get("flaps", [])), np.int64) for p, v in r.truth["risk"].items()}
    y = np.zeros(tl.ts_ns.size)
    w = int(window_s * S)
    for p, d in downs.items():
        if d.size == 0:
            continue
        m = np.array([q == p for q in tl.port])
        t = tl.ts_ns[m]
        nxt = d[np.minimum(np.searchsorted(d, t, "right"), d.size - 1)]
        y[m] = (nxt > t) & (nxt <= t + w)
    X = np.stack([tl.features[k] for k in risk.FEATURES], axis=1)
    return X, y


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 30) -> np.ndarray:
    Xb = np.hstack([np.ones((X.shape[0], 1)), X])
    beta = np.zeros(Xb.shape[1])
    reg = np.full(Xb.shape[1], l2)
    reg[0] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-Xb @ beta))
        g = Xb.T @ (p - y) + reg * beta
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(reg)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.abs(step).max() < 1e-6:
            break
    return beta


NEGATIVE_OK = {"overdue"}  # every other feature is trouble: its weight may not be negative


def fit_monotone(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic fit where a risk factor never lowers the risk: features whose weight comes
    out negative are dropped (weight 0) and the rest refitted."""
    keep = list(range(X.shape[1]))
    while True:
        beta = fit_logistic(X[:, keep], y)
        bad = [j for j, b in zip(keep, beta[1:]) if b < 0 and risk.FEATURES[j] not in NEGATIVE_OK]
        if not bad:
            full = np.zeros(X.shape[1] + 1)
            full[0] = beta[0]
            full[[j + 1 for j in keep]] = beta[1:]
            return full
        keep = [j for j in keep if j not in bad]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=600)
    ap.add_argument("--first-seed", type=int, default=100000)
    args = ap.parse_args()
    t0 = time.time()
    Xs, ys = [], []
    with tempfile.TemporaryDirectory() as d:
        for seed in range(args.first_seed, args.first_seed + args.scenarios):
            X, y = samples(seed, d)
            Xs.append(X)
            ys.append(y)
    X, y = np.vstack(Xs), np.concatenate(ys)
    beta = fit_monotone(X, y)
    p = 1 / (1 + np.exp(-(np.hstack([np.ones((X.shape[0], 1)), X]) @ beta)))
    loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
    print(f"{X.shape[0]} samples, {int(y.sum())} positive, log-loss {loss:.4f}, {time.time() - t0:.0f} s")
    print(f"INTERCEPT = {beta[0]:.3f}")
    print("WEIGHTS = {")
    for k, b in zip(risk.FEATURES, beta[1:]):
        print(f'    "{k}": {b:.3f},')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
