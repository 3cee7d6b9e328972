"""As-of joins over (key, time) columns, all numpy: for each query row, the matching row
with the same key at or before its time, at or after it, or the count within a window. The
classifier pairs flaps, storms, LLDP events and episodes with these."""

from __future__ import annotations

import numpy as np


def _composite(keys: list[np.ndarray], times: list[np.ndarray], pad_ns: int = 0) -> tuple[list[np.ndarray], int]:
    """(key, time) pairs as one sortable int64 each: key * stride + time from the earliest, in
    µs (coarser if the span needs it). The rules here work on milliseconds and up."""
    t_all = [t for t in times if len(t)]
    k_all = [k for k in keys if len(k)]
    if not t_all:
        return [np.zeros(0, np.int64) for _ in keys], 1
    t0 = min(int(t.min()) for t in t_all) - pad_ns
    span = max(int(t.max()) for t in t_all) + pad_ns - t0
    max_key = max(int(k.max()) for k in k_all) + 1
    res = 1000
    while max_key * (span // res + 2) >= (1 << 62):
        res *= 1000
    stride = span // res + 2
    return [k.astype(np.int64) * stride + (np.asarray(t, np.int64) - t0) // res for k, t in zip(keys, times)], res


def _asof(q_key, q_t, r_key, r_t, before: bool) -> np.ndarray:
    nr, nq = len(r_key), len(q_key)
    out = np.full(nq, -1, np.int64)
    if nr == 0 or nq == 0:
        return out
    (cr, cq), _ = _composite([np.asarray(r_key), np.asarray(q_key)], [np.asarray(r_t), np.asarray(q_t)])
    order = np.argsort(cr, kind="stable")
    sr = cr[order]
    q_order = np.argsort(cq, kind="stable")  # sorted queries keep searchsorted cache-friendly
    pos = np.empty(nq, np.int64)
    if before:
        pos[q_order] = np.searchsorted(sr, cq[q_order], "right") - 1
        ok = pos >= 0
    else:
        pos[q_order] = np.searchsorted(sr, cq[q_order], "left")
        ok = pos < nr
    idx = order[np.where(ok, pos, 0)]
    ok &= np.asarray(r_key)[idx] == np.asarray(q_key)
    out[ok] = idx[ok]
    return out


def last_at_or_before(q_key: np.ndarray, q_t: np.ndarray, r_key: np.ndarray, r_t: np.ndarray) -> np.ndarray:
    """For each query (key, t): the index of the row with the same key and the latest
    r_t <= t (to the µs), or -1: an as-of join."""
    return _asof(q_key, q_t, r_key, r_t, before=True)


def first_at_or_after(q_key: np.ndarray, q_t: np.ndarray, r_key: np.ndarray, r_t: np.ndarray) -> np.ndarray:
    """For each query: the row with the same key and the earliest r_t >= t, or -1."""
    return _asof(q_key, q_t, r_key, r_t, before=False)


def count_within(q_key: np.ndarray, q_t: np.ndarray, r_key: np.ndarray, r_t: np.ndarray, window_ns: int) -> np.ndarray:
    """For each query: rows with the same key and |r_t - t| <= window."""
    if len(r_key) == 0 or len(q_key) == 0:
        return np.zeros(len(q_key), np.int64)
    (cr, cq), res = _composite([r_key, q_key], [r_t, q_t], pad_ns=window_ns)
    comp = np.sort(cr)
    w = window_ns // res
    order = np.argsort(cq, kind="stable")  # sorted queries keep searchsorted cache-friendly
    qs = cq[order]
    out = np.empty(len(cq), np.int64)
    out[order] = np.searchsorted(comp, qs + w, "right") - np.searchsorted(comp, qs - w, "left")
    return out

