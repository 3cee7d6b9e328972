"""Each flap's true down time, bounded by what linkwatch allows (kernel/linkwatch.py), and
the periods a run of flaps so bounded admits.

- Every flap's true down time is bounded. A message is a delayed run ("tick") when its
  device sent one a second (+ a jiffy) before; otherwise it ran at once, within ~1 ms of the
  change. A visible down's message is its latest possible start; at a tick it may have waited
  a second. Hidden flaps lie between the port's previous message and the one revealing them,
  within the second before it at a tick - or the millisecond before it otherwise, which makes
  them micro-flaps.
- Hidden flaps' estimated times spread evenly over their bounds; a visible flap's is its message.
"""

from __future__ import annotations

import math

import numpy as np

from flapwatch.kernel.bounds import NOTIFY_NS, TICK_NS, flap_bounds  # noqa: F401 (the classifier's names)

OPEN_END_NS = np.iinfo(np.int64).max // 4  # the up time of a flap still down at the end: after everything


def estimate_flap_times(port: np.ndarray, down_ns: np.ndarray, up_ns: np.ndarray, hidden: np.ndarray,
                        lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(down, up) estimates per flap. Visible flaps: as measured (up = OPEN_END_NS while still down).
    Hidden: the flaps one message revealed spread evenly over their bounds (lo, message], up = down."""
    t = down_ns.astype(np.int64).copy()
    u = np.where(up_ns < 0, OPEN_END_NS, up_ns).astype(np.int64)
    h = np.flatnonzero(hidden)
    if h.size:
        o = np.lexsort((h, up_ns[h], port[h]))  # group by (port, revealing message)
        hs = h[o]
        new = np.r_[True, (port[hs][1:] != port[hs][:-1]) | (up_ns[hs][1:] != up_ns[hs][:-1])]
        gstart = np.flatnonzero(new)
        gid = np.cumsum(new) - 1
        k = np.diff(np.r_[gstart, hs.size])[gid]
        rank = np.arange(hs.size) - gstart[gid]
        hi = up_ns[hs]
        lo_h = np.minimum(lo[hs], hi)
        t[hs] = lo_h + ((rank + 1) * (hi - lo_h).astype(np.float64) / (k + 1)).astype(np.int64)
        u[hs] = t[hs]
    return t, u


PERIOD_LAGS = tuple(range(1, 17)) + (24, 32, 48, 64)


def period_range(lo: np.ndarray, hi: np.ndarray, ep_of: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 jitter: float, group_first: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per episode, the periods P for which flaps i < j (in order, bounds [lo, hi]) can be
    (j - i) periods apart within +-jitter: [max (lo_j - hi_i) / ((j-i)(1+jitter)),
    min (hi_j - lo_i) / ((j-i)(1-jitter))] over pairs at the lags in PERIOD_LAGS and first to
    last, and - ``group_first`` marking the first flap of each run revealed by one message -
    across each such run. Empty (min < max) when no period fits: the flaps are irregular."""
    n = lo.size
    low = np.full(n, -np.inf)
    high = np.full(n, np.inf)
    lo_f, hi_f = lo.astype(np.float64), hi.astype(np.float64)
    longest = int(np.max(ends - starts)) if n else 0
    for lag in PERIOD_LAGS:
        if lag >= longest:
            break
        other = ep_of[lag:] != ep_of[:-lag]
        tol = jitter / math.sqrt(lag)  # independent jitter per interval: it grows as sqrt(lag) periods
        lb = lo_f[lag:] - hi_f[:-lag]
        lb *= 1 / (lag * (1 + tol))
        lb[other] = -np.inf
        np.maximum(low[:-lag], lb, out=low[:-lag])
        ub = hi_f[lag:] - lo_f[:-lag]
        ub *= 1 / (lag * (1 - tol))
        ub[other] = np.inf
        np.minimum(high[:-lag], ub, out=high[:-lag])
    if group_first is not None and n:
        gs = np.flatnonzero(group_first)
        ge = np.r_[gs[1:], n] - 1
        k = (ge - gs).astype(np.float64)
        big = k > PERIOD_LAGS[-1]
        if big.any():
            a, b, kk = gs[big], ge[big], k[big]
            tol = jitter / np.sqrt(kk)
            low[a] = np.maximum(low[a], (lo_f[b] - hi_f[a]) / (kk * (1 + tol)))
            high[a] = np.minimum(high[a], (hi_f[b] - lo_f[a]) / (kk * (1 - tol)))
    p_lo = np.maximum.reduceat(low, starts) if n else np.zeros(0)
    p_hi = np.minimum.reduceat(high, starts) if n else np.zeros(0)
    if n:
        span = (ends - starts - 1).astype(np.float64)
        first, last = starts, ends - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            tol = jitter / np.sqrt(np.maximum(span, 1))
            p_lo = np.maximum(p_lo, np.where(span > 0, (lo_f[last] - hi_f[first]) / (span * (1 + tol)), -np.inf))
            p_hi = np.minimum(p_hi, np.where(span > 0, (hi_f[last] - lo_f[first]) / (span * (1 - tol)), np.inf))
    return np.maximum(p_lo, 0), p_hi

