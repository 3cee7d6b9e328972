"""classify(analysis) -> Episodes: flap episodes per port, each with every signature label
of docs/DESIGN.md that applies, the evidence (feature values and the rule that fired) and a
confidence.

Everything is numpy over columns (a million flaps in about a second); only the LLDP neighbor
bookkeeping for silent-neighbor-loss walks the (small) lldp_events table.

Each flap's true down time is bounded by what linkwatch allows (flap_times.py); hidden flaps'
times are estimated within their bounds.

How flaps become episodes
- An episode is a run of flaps on one port. It ends at a quiet gap (up to the next down) of
  ``episode_gap_s``, or at a gap of at least ``split_gap_s`` that is ``split_ratio`` times
  the flap interval next to it (a micro-flap, then an oscillation at 200 ms, then an outage
  two seconds later are three episodes; a flap rate that rises gradually stays one).
- An LLDP neighbor aging out with the link up and no neighbor left is its own episode (no
  flaps), a silent-neighbor-loss, unless it falls within a flap episode (first down to last
  up: part of it, no label) or within ``silent_attach_s`` of one (which it labels).

Shapes: an oscillation is a run for which one period fits every flap's bounds (within a jitter
that grows as the square root of the number of intervals); a burst is a run of many flaps for
which none does; degrading is a clear fall of log(interval) over half a minute or more, or
from a first interval over a second (a burst chatters from its start) to a much faster rate.
The rules in words are in ``rules()``; thresholds in SignatureConfig and columns in
EPISODE_COLUMNS (episodes.py); the as-of joins in joins.py.
"""

from __future__ import annotations

import os

import numpy as np

from flapwatch.assess.episodes import EPISODE_COLUMNS, LABEL_BIT, LABELS, Episodes, SignatureConfig
from flapwatch.assess.flap_times import NOTIFY_NS, OPEN_END_NS, estimate_flap_times, flap_bounds, period_range
from flapwatch.assess.joins import count_within, first_at_or_after, last_at_or_before
from flapwatch.tables import schema
from flapwatch.tables.units import NS_PER_S as S

# classify() and what it returns; the joins and flap bounds it uses are importable from here too.
__all__ = ["EPISODE_COLUMNS", "LABELS", "Episodes", "SignatureConfig", "classify", "count_within", "first_at_or_after",
           "flap_bounds", "last_at_or_before", "period_range", "rules"]

NO_TIME = -1
DOWN_TOLERANCE = 0.15  # an oscillation's down times agree within +-15 %


def rules(cfg: SignatureConfig, micro_ms: float) -> dict[str, str]:
    """Each label's rule, in words, with the thresholds in force."""
    return {
        "micro-flap": (f"a flap measured down < {micro_ms:g} ms (its down message not delayed by linkwatch), "
                       f"or a hidden flap whose bounds are that short"),
        "single": "exactly one flap (carrier counters included)",
        "oscillation": (f">= {cfg.oscillation_min_flaps} flaps and one period (+-{cfg.period_jitter:.0%}) fits every "
                        "flap's bounds (hidden ones: the linkwatch second before the message revealing them; a down "
                        f"reported late: its up minus the episode's down time +-{DOWN_TOLERANCE:.0%})"),
        "burst": f">= {cfg.burst_min_flaps} flaps, no period fits their bounds, no rising rate",
        "hidden": "carrier counters moved by more flaps than the messages showed",
        "pfc-linked": f"a pause storm on the port overlaps the episode or ends <= {cfg.pfc_link_s:g} s before it",
        "neighbor-change": (f"the LLDP MSAP heard first after the last up (<= {cfg.neighbor_after_up_s:g} s after it) "
                            "differs from the one heard last before the first down"),
        "silent-neighbor-loss": ("the LLDP neighbor aged out with the link up and no neighbor left, not during a flap "
                                 "episode (first down to last up)"),
        "device-wide": f"another port of the same device starts an episode within {cfg.together_s:g} s",
        "both-ends": f"the LLDP peer port (system name:port id) starts an episode within {cfg.together_s:g} s",
        "degrading": (f">= {cfg.degrading_min_flaps} flaps, log-interval slope <= {cfg.degrading_max_slope:g} per flap, "
                      f"with t <= {cfg.degrading_max_t:g} over >= {cfg.degrading_min_span_s:g} s, or from a first interval "
                      f">= {cfg.degrading_min_first_gap_s:g} s with t <= {cfg.degrading_slow_max_t:g}, a mean interval "
                      f"over the later half <= {cfg.degrading_late_ratio:g} x the first"),
    }



def _pick(rows: np.ndarray, k: np.ndarray) -> np.ndarray:
    """rows[k] where k >= 0 (the caller masks the rest); safe when rows is empty."""
    return rows[np.maximum(k, 0)] if rows.size else np.zeros(len(k), np.int64)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def _device_names(port_names: list[str], paths: list[str]) -> list[str]:
    """The device is the part of a port name before ':'; a port without one belongs to the
    capture's own device (named after the file when there is one file). os.path, not
    pathlib: replay calls this after the core's run, where pathlib's import (~4 ms with
    urllib and ipaddress) would be the process's own serial time."""
    local = "local"
    if len(paths) == 1:
        name = os.path.basename(paths[0])
        for suffix in (".gz", ".pcapng", ".pcap", ".cap"):
            name = name.removesuffix(suffix)
        local = name
    return [p.split(":", 1)[0] if p and ":" in p else local for p in port_names]


class _Strings:
    """The analysis' string table, growing with the names classify adds (devices, peers)."""

    def __init__(self, strings: list[str]):
        self.list = list(strings)
        self._index = {s: i for i, s in enumerate(self.list)}

    def intern(self, s: str | None) -> int:
        if s is None:
            return -1
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.list)
            self.list.append(s)
        return i


class _Labels:
    """The labels bitmask and per-label confidence of every episode, filled rule by rule."""

    def __init__(self, n: int):
        self.bits = np.zeros(n, np.uint16)
        self.conf = {name: np.zeros(n) for name in LABELS}

    def mark(self, name: str, where: np.ndarray, confidence) -> None:
        self.bits |= np.where(where, LABEL_BIT[name], 0).astype(np.uint16)
        self.conf[name] = np.where(where, confidence, self.conf[name])


class _Runs:
    """The flaps in (port, time) order, cut into episodes: ``ep_of`` per flap, ``starts`` /
    ``ends`` per episode."""

    def __init__(self, port, t_est, u_est, duration, hidden, lo, hi, up_ns, open_start, cfg: SignatureConfig):
        order = np.lexsort((t_est, port))
        self.port, self.t, self.u = port[order], t_est[order], u_est[order]
        self.dur, self.hidden, self.lo, self.hi, self.up_raw = (duration[order], hidden[order], lo[order], hi[order],
                                                                up_ns[order])
        self.open_start = open_start[order]
        n = self.n = self.port.size
        new_port = np.r_[True, self.port[1:] != self.port[:-1]] if n else np.zeros(0, bool)
        self.interval = np.r_[0, np.diff(self.t)] if n else np.zeros(0, np.int64)  # down to down, from the previous
        # The quiet before a flap as its bounds make certain: from the latest the previous one can
        # have ended to the earliest this one can have begun (a hidden flap's estimated time is
        # only a guess within its bounds; a quiet made of guesses must not split an episode).
        first = np.where(self.hidden, self.lo, self.t)
        last = np.where(self.hidden, self.hi, self.u)
        quiet = np.r_[0, first[1:] - np.minimum(last[:-1], first[1:])] if n else np.zeros(0, np.int64)
        # The intervals either side of each gap: a gap much longer than its neighbours ends an episode.
        left, right = np.full(n, np.inf), np.full(n, np.inf)
        if n > 2:
            both = ~new_port[:-1] & ~new_port[1:]
            left[1:] = np.where(both, self.interval[:-1], np.inf)
            right[:-1] = np.where(both, self.interval[1:], np.inf)
        near = np.minimum(left, right)
        self.split = new_port | (quiet >= cfg.episode_gap_s * S) | (
            (quiet >= cfg.split_gap_s * S) & (quiet >= cfg.split_ratio * near))
        self.starts = np.flatnonzero(self.split)
        self.ep_of = np.cumsum(self.split) - 1
        self.n_ep = self.starts.size
        self.ends = np.r_[self.starts[1:], n] if n else self.starts

    def sum(self, values, mask=None) -> np.ndarray:
        v = np.asarray(values, np.float64)
        if mask is None:
            return np.bincount(self.ep_of, weights=v, minlength=self.n_ep)
        return np.bincount(self.ep_of[mask], weights=v[mask], minlength=self.n_ep)

    def extreme(self, values, how: str) -> np.ndarray:
        fill = np.iinfo(np.int64).max if how == "min" else np.iinfo(np.int64).min
        out = np.full(self.n_ep, fill, np.int64)
        (np.minimum if how == "min" else np.maximum).at(out, self.ep_of, np.asarray(values, np.int64))
        return out


def _flap_columns(r: _Runs, micro_ns: int, budget_ns: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Per-episode counts and durations; also which flaps had their down time measured."""
    visible = ~r.hidden & (r.dur >= 0)
    # A down reported at a linkwatch tick may have begun up to a second earlier: its measured
    # duration is only a lower bound. So is the duration of an outage already open when the
    # capture began (its down is the capture's start). A hidden flap lies wholly within its bounds.
    measured = visible & (r.hi - r.lo <= NOTIFY_NS) & ~r.open_start
    micro = (measured & (r.dur < micro_ns)) | (r.hidden & (r.hi - r.lo < micro_ns))
    big = np.iinfo(np.int64).max
    end = r.extreme(r.u, "max")
    min_down = r.extreme(np.where(visible & ~r.open_start, r.dur, np.where(micro, r.hi - r.lo, big)), "min")
    cols = {
        "port": r.port[r.starts].astype(np.int32), "start_ns": r.t[r.starts],
        "end_ns": np.where(end >= OPEN_END_NS, NO_TIME, end),  # -1: still down at the end of the capture
        "flaps": (r.ends - r.starts).astype(np.int64),
        "hidden_flaps": r.sum(r.hidden).astype(np.int64), "micro_flaps": r.sum(micro).astype(np.int64),
        "min_down_ns": np.where(min_down == big, -1, min_down),
        "longest_down_ns": r.extreme(np.where(visible, r.dur, -1), "max"),
        "over_budget": r.sum(visible & (r.dur > budget_ns)).astype(np.int64),
        "span_ns": (r.t[r.ends - 1] - r.t[r.starts]).astype(np.int64) if r.n else np.zeros(0, np.int64),
    }
    return cols, visible, measured


# A flap interval's own spread (a port's flaps are not a metronome), as a fraction of it: the
# floor of an interval's uncertainty in the trend's weights.
INTERVAL_JITTER = 0.05


def _interval_trend(r: _Runs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean interval, CV, slope of log(interval) per flap, its t statistic) per episode.

    The slope is a weighted least-squares fit: each interval weighted by how well its two
    flaps' times are known. A time is known within its bounds (a hidden flap the wire did not
    place: anywhere in the linkwatch second before the message revealing it; a down reported at
    a tick: up to a second before its message), so an interval's log has a variance of about
    (width_a^2 + width_b^2) / 12 / interval^2 on top of INTERVAL_JITTER^2. Unweighted, one guessed
    time in a six-flap run moved the t statistic from -27 to -2.2 (real kernel, issue 12); with
    every time known within a few ms (runs at once), the weights are equal: the plain fit."""
    inner = ~r.split
    m = r.sum(inner)
    x = (np.arange(r.n) - r.starts[r.ep_of] - 1).astype(np.float64) if r.n else np.zeros(0)
    y = np.log(np.maximum(r.interval, 1_000_000).astype(np.float64))
    d = r.interval.astype(np.float64)
    width = (r.hi - r.lo).astype(np.float64)
    var_t = width * width / 12
    var_interval = np.r_[0.0, var_t[1:] + var_t[:-1]] if r.n else np.zeros(0)
    w = 1.0 / (var_interval / np.maximum(d, 1e6) ** 2 + INTERVAL_JITTER**2)
    s1, s2 = r.sum(d, inner), r.sum(d * d, inner)
    sw, sx, sy, sxx, sxy, syy = (r.sum(v, inner) for v in (w, w * x, w * y, w * x * x, w * x * y, w * y * y))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / m
        cv = np.where(m >= 2, np.sqrt(np.maximum(s2 / m - mean * mean, 0)) / mean, np.nan)
        cxx, cxy, cyy = sxx - sx * sx / sw, sxy - sx * sy / sw, syy - sy * sy / sw
        slope = np.where(m >= 3, cxy / cxx, np.nan)
        # residuals in the weights' units: the floor is the plain fit's 1e-12 at equal weights
        sse = np.maximum(cyy - slope * cxy, 1e-12 * sw / np.maximum(m, 1))
        t_stat = np.where(m >= 3, slope / np.sqrt(sse / np.maximum(m - 2, 1) / cxx), np.nan)
    return np.nan_to_num(mean), cv, slope, t_stat


def _shape_labels(r: _Runs, cols: dict, visible, measured, lab: _Labels, cfg: SignatureConfig) -> None:
    """single, degrading, oscillation (with its period), burst."""
    flaps = cols["flaps"]
    lab.mark("single", flaps == 1, np.where(cols["hidden_flaps"] > 0, 0.9, 0.99))
    mean, cv, slope, t_stat = _interval_trend(r)
    # A down reported at a tick began up to a second before, but its up was reported at once:
    # if the episode's flaps keep one down time (as an oscillation's do), the up minus that down
    # time places it. A burst's varied down times then contradict any period.
    n_measured = r.sum(measured)
    with np.errstate(invalid="ignore", divide="ignore"):
        typical_down = np.where(n_measured > 0, r.sum(r.dur, measured) / n_measured, np.nan)
    d0 = typical_down[r.ep_of] if r.n else np.zeros(0)
    placed = visible & ~measured & ~r.open_start & (r.up_raw >= 0) & np.isfinite(d0)
    lo = np.where(placed, np.maximum(r.lo, r.up_raw - (1 + DOWN_TOLERANCE) * d0 - 2e6), r.lo).astype(np.int64)
    hi = np.where(placed, np.minimum(r.hi, r.up_raw - (1 - DOWN_TOLERANCE) * d0 + 2e6), r.hi).astype(np.int64)
    contradicted = r.sum(placed & (lo > hi)) > 0
    p_lo, p_hi = period_range(lo, np.maximum(hi, lo), r.ep_of, r.starts, r.ends, cfg.period_jitter)
    regular = (p_lo <= p_hi) & (p_hi > 0) & ~contradicted

    # A short run qualifies when its flaps began over a second apart: a burst's chatter is
    # sub-second from its start (and a hidden flap's estimated interval is within linkwatch's
    # second), while a port going bad flaps seconds apart first (issue 12: gaps 2.0 -> 0.5 s).
    # Its later flaps are often hidden, their times guesses within a linkwatch second, which
    # blurs the slope's t even weighted (_interval_trend): with that start a weaker t will do,
    # or the mean interval over its later half (a difference of two times over several flaps)
    # well below the first.
    first_gap = _pick(r.interval, np.minimum(r.starts + 1, r.n - 1)) if r.n else np.zeros(0, np.int64)
    began_slow = (flaps >= 2) & (first_gap >= cfg.degrading_min_first_gap_s * S)
    mid = r.starts + (flaps - 1) // 2
    with np.errstate(invalid="ignore", divide="ignore"):
        late_mean = (_pick(r.t, r.ends - 1) - _pick(r.t, mid)) / np.maximum(r.ends - 1 - mid, 1)
    enough = flaps >= cfg.degrading_min_flaps
    accelerated = began_slow & (late_mean <= cfg.degrading_late_ratio * first_gap)
    trend = enough & (slope <= cfg.degrading_max_slope)
    long_trend = (t_stat <= cfg.degrading_max_t) & (cols["span_ns"] >= cfg.degrading_min_span_s * S)
    degrading = trend & (long_trend | (began_slow & (t_stat <= cfg.degrading_slow_max_t)) | accelerated)
    lab.mark("degrading", degrading, _sigmoid(-(np.nan_to_num(t_stat) - cfg.degrading_max_t) / 2))
    oscillation = (flaps >= cfg.oscillation_min_flaps) & regular & ~degrading
    with np.errstate(invalid="ignore", divide="ignore"):
        tightness = np.where(regular, 1 - np.clip((p_hi - p_lo) / np.maximum(p_hi, 1), 0, 1), 0)
    lab.mark("oscillation", oscillation, 0.6 + 0.39 * tightness * (1 - 0.5 ** (flaps - 2)))
    burst = (flaps >= cfg.burst_min_flaps) & ~regular & ~degrading
    lab.mark("burst", burst, 0.99 - 0.3 * 0.7 ** (flaps - cfg.burst_min_flaps))
    period = np.clip(mean, p_lo, np.where(np.isfinite(p_hi), p_hi, mean))
    cols.update({
        "period_ns": np.where(oscillation, period, NO_TIME).astype(np.int64),
        # the range of periods the flaps allow; empty (no period fits: irregular) is said by
        # period_fits = 0 with both ends -1, never as a minimum above the maximum
        "period_fits": np.where(flaps >= 2, (p_lo <= p_hi).astype(np.int8), -1).astype(np.int8),
        "period_min_ns": np.where((flaps >= 2) & (p_lo <= p_hi), np.minimum(p_lo, 9e18), -1).astype(np.int64),
        "period_max_ns": np.where((flaps >= 2) & (p_lo <= p_hi) & np.isfinite(p_hi), np.minimum(p_hi, 9e18),
                                  -1).astype(np.int64),
        "interval_cv": cv, "rate_trend": slope, "trend_t": t_stat,
    })


def _pfc_linked(cols: dict, storms, end_eff: np.ndarray, lab: _Labels, cfg: SignatureConfig) -> None:
    """A storm on the port overlapping the episode or ending shortly before it: the last
    storm to start before the episode ends."""
    n = end_eff.size
    cols["storm_priority"] = np.full(n, -1, np.int8)
    for c in ("storm_start_ns", "storm_end_ns", "storm_lead_ns"):
        cols[c] = np.full(n, NO_TIME, np.int64)
    if storms is None or not len(storms["port"]):
        return
    s_port, s_start, s_end = (np.asarray(storms[c], np.int64) for c in ("port", "start_ns", "end_ns"))
    k = last_at_or_before(cols["port"], end_eff, s_port, s_start)
    start = cols["start_ns"]
    lead = np.where(k >= 0, start - s_end[np.maximum(k, 0)], NO_TIME)  # > 0: the storm ended before the first down
    linked = (k >= 0) & (lead <= cfg.pfc_link_s * S)
    lab.mark("pfc-linked", linked, np.clip(1 - np.maximum(lead, 0) / (cfg.pfc_link_s * S), 0.5, 1.0))
    cols["storm_priority"][linked] = np.asarray(storms["priority"])[k[linked]]
    cols["storm_start_ns"][linked] = s_start[k[linked]]
    cols["storm_end_ns"][linked] = s_end[k[linked]]
    cols["storm_lead_ns"][linked] = lead[linked]


def _lldp_labels(cols: dict, ev, rx, end_eff: np.ndarray, lab: _Labels, names: _Strings, cfg: SignatureConfig
                 ) -> np.ndarray:
    """neighbor-change: the MSAP heard last before the episode's first down differs from the
    first one heard after its last up (within neighbor_after_up_s); and each episode's LLDP
    peer ("system name:port id", a port name in a fleet capture: its last neighbor before the
    episode, else its first after). Returns the peers' string indices (-1 none).

    The events say which MSAP an LLDPDU came from only when it makes one (a known neighbor
    heard again makes none); `lldp_rx` (each LLDPDU received, the port's own left out) says
    when the first one after the up came. So the MSAP heard first after the up is the one of
    the latest added/changed/updated event at or before that first LLDPDU: a new neighbor's
    event is that very LLDPDU, the old neighbor heard again leaves its own last event in force.
    Without `lldp_rx`: the first added/changed event after the up."""
    n = end_eff.size
    cols["lldp_change_ns"] = np.full(n, NO_TIME, np.int64)
    cols["neighbor_before"] = np.full(n, -1, np.int32)
    cols["neighbor_after"] = np.full(n, -1, np.int32)
    if ev is None or not len(ev["port"]):
        return np.full(n, -1, np.int64)
    port, start, end = cols["port"], cols["start_ns"], cols["end_ns"]
    e_port, e_ts, e_kind = np.asarray(ev["port"], np.int64), np.asarray(ev["ts_ns"], np.int64), np.asarray(ev["event"])
    ch, pt, sysn = np.asarray(ev["chassis_id"]), np.asarray(ev["port_id"]), np.asarray(ev["system_name"])
    added, changed, updated = (schema.LLDP_EVENTS.index(k) for k in ("added", "changed", "updated"))

    named = np.flatnonzero((e_kind == added) | (e_kind == changed) | (e_kind == updated))
    neighbor = np.full(len(e_port), -1, np.int64)
    for r in named.tolist():
        if sysn[r] >= 0 and pt[r] >= 0:
            neighbor[r] = names.intern(f"{names.list[sysn[r]]}:{names.list[pt[r]]}")
    k = last_at_or_before(port, start, e_port[named], e_ts[named])
    kb = _pick(named, k)  # the event of the MSAP heard last before the first down
    before = np.where(k >= 0, neighbor[kb], -1)
    cols["neighbor_before"] = before.astype(np.int32)

    # The first LLDPDU after the last up (an episode still down has none).
    after_up = int(cfg.neighbor_after_up_s * S)
    came_up = end >= 0
    new = np.flatnonzero((e_kind == added) | (e_kind == changed))
    j_ev = first_at_or_after(port, np.where(came_up, end, 0), e_port[new], e_ts[new])
    t_first = np.where(j_ev >= 0, e_ts[_pick(new, j_ev)], OPEN_END_NS)
    if rx is not None and len(rx["port"]):
        r_port, r_ts = np.asarray(rx["port"], np.int64), np.asarray(rx["ts_ns"], np.int64)
        j_rx = first_at_or_after(port, np.where(came_up, end, 0), r_port, r_ts)
        t_first = np.minimum(t_first, np.where(j_rx >= 0, _pick(r_ts, j_rx), OPEN_END_NS))
    heard = came_up & (t_first < OPEN_END_NS) & (t_first <= end + after_up)
    ka = last_at_or_before(port, np.where(heard, t_first, 0), e_port[named], e_ts[named])
    ka = np.where(heard & (ka >= 0), _pick(named, ka), -1)
    within = (k >= 0) & (ka >= 0)
    within &= (_pick(ch, ka) != _pick(ch, kb)) | (_pick(pt, ka) != _pick(pt, kb))
    lab.mark("neighbor-change", within, 0.95)
    cols["lldp_change_ns"][within] = e_ts[ka[within]]
    cols["neighbor_after"][within] = neighbor[ka[within]].astype(np.int32)

    peer = before.copy()
    unknown = before < 0  # no LLDPDU heard before the episode: the first neighbor after it
    if unknown.any():
        k2 = first_at_or_after(port[unknown], start[unknown], e_port[named], e_ts[named])
        peer[unknown] = np.where(k2 >= 0, neighbor[_pick(named, k2)], -1)
    return peer


def _cross_labels(cols: dict, peer_port: np.ndarray, lab: _Labels, cfg: SignatureConfig) -> None:
    """device-wide: another port of the device starts an episode within the window; both-ends:
    the LLDP peer port does (and then the pairing holds for the peer's episode too)."""
    port, start, dev = cols["port"].astype(np.int64), cols["start_ns"], cols["device"].astype(np.int64)
    n, together = start.size, int(cfg.together_s * S)
    others = count_within(dev, start, dev, start, together) - count_within(port, start, port, start, together)
    lab.mark("device-wide", others >= 1, np.clip(0.7 + 0.1 * others, 0, 0.99))
    cols["device_ports"] = np.where(others >= 1, others + 1, 1).astype(np.int64)

    j = np.full(n, -1, np.int64)
    has_peer = peer_port >= 0
    if has_peer.any():
        j[has_peer] = first_at_or_after(peer_port[has_peer], start[has_peer] - together, port, start)
    j = np.where((j >= 0) & (_pick(start, j) <= start + together), j, -1)
    # The peer's episode is paired too, even if its own port had heard no LLDPDU from this one.
    pointed_at = np.full(n, -1, np.int64)
    paired = np.flatnonzero(j >= 0)
    pointed_at[j[paired]] = paired
    adopt = (j < 0) & (pointed_at >= 0)
    j = np.where(adopt, pointed_at, j)
    peer_port = np.where(adopt, _pick(port, pointed_at), peer_port)
    ok = j >= 0
    offset = np.where(ok, _pick(start, j) - start, NO_TIME)
    lab.mark("both-ends", ok, np.clip(1 - np.abs(offset) / (2 * together), 0.5, 0.99))
    cols["peer_port"] = np.where(peer_port >= 0, peer_port, -1).astype(np.int32)
    cols["peer_episode"] = j  # an index in this order: renumbered with the final one
    cols["peer_offset_ns"] = offset


def _silent_losses(ev, flap_port, down_ns, up_ns, hidden, names: _Strings) -> list[tuple]:
    """LLDP neighbors that aged out with the link up and no other neighbor left:
    (port, aged-out ns, ttl, lost neighbor name, link state known)."""
    if ev is None or not len(ev["port"]):
        return []
    kinds = schema.LLDP_EVENTS
    e_port, e_ts, e_kind = ev["port"].tolist(), ev["ts_ns"].tolist(), ev["event"].tolist()
    ch, pt, sysn, ttl = ev["chassis_id"].tolist(), ev["port_id"].tolist(), ev["system_name"].tolist(), ev["ttl"].tolist()
    live: dict[int, set] = {}
    aged = []
    for i in range(len(e_port)):
        p, kind, msap = e_port[i], kinds[e_kind[i]], (ch[i], pt[i])
        neighbors = live.setdefault(p, set())
        if kind in ("added", "changed", "updated"):
            neighbors.add(msap)
        elif kind == "shutdown":
            neighbors.discard(msap)
        elif kind == "aged_out":
            neighbors.discard(msap)
            if not neighbors:
                name = f"{names.list[sysn[i]]}:{names.list[pt[i]]}" if sysn[i] >= 0 and pt[i] >= 0 else None
                aged.append((p, e_ts[i], ttl[i], names.intern(name)))
    if not aged:
        return []
    # Was the link down then? The last visible flap that began before.
    a_port = np.array([a[0] for a in aged], np.int64)
    a_ts = np.array([a[1] for a in aged], np.int64)
    vis = np.flatnonzero(~hidden)
    k = last_at_or_before(a_port, a_ts, flap_port[vis], down_ns[vis])
    kk = _pick(vis, k)
    is_down = (k >= 0) & ((up_ns[kk] < 0) | (up_ns[kk] > a_ts)) if vis.size else np.zeros(len(aged), bool)
    known = set(flap_port.tolist())
    return [(p, ts, ttl_, name, int(p in known)) for (p, ts, ttl_, name), down in zip(aged, is_down.tolist()) if not down]


def _attach_losses(cols: dict, lab: _Labels, losses: list[tuple], end_eff: np.ndarray, dev_of: np.ndarray,
                   cfg: SignatureConfig) -> tuple[dict, _Labels]:
    """A loss within a flap episode (give or take silent_attach_s) labels it; any other
    becomes an episode of its own: from the last LLDPDU heard to the age-out, no flaps."""
    n = end_eff.size
    cols["aged_out_ns"] = np.full(n, NO_TIME, np.int64)
    cols["lost_neighbor"] = np.full(n, -1, np.int32)
    cols["link_known"] = np.full(n, -1, np.int8)
    if not losses:
        return cols, lab
    x_port, x_ts, x_ttl, x_name, x_known = (np.array(v) for v in zip(*losses))
    # An age-out during a flap episode (first down to last up) is part of it: the flaps lost
    # the LLDPDUs; no label, no episode of its own.
    k = last_at_or_before(x_port, x_ts, cols["port"], cols["start_ns"])
    during = (k >= 0) & (x_ts <= np.where(k >= 0, _pick(end_eff, k), 0))
    if during.any():
        keep = ~during
        x_port, x_ts, x_ttl, x_name, x_known = x_port[keep], x_ts[keep], x_ttl[keep], x_name[keep], x_known[keep]
        if not len(x_port):
            return cols, lab
    attach = int(cfg.silent_attach_s * S)
    # The nearer of the episode that ended before the age-out and the one that starts after it
    # (a neighbor whose TTL runs out just after an outage belongs to that outage, not to the
    # next episode a few seconds on).
    kb = last_at_or_before(x_port, x_ts, cols["port"], cols["start_ns"])
    gap_b = x_ts - _pick(end_eff, kb)
    ok_b = (kb >= 0) & (gap_b <= attach)
    ka = last_at_or_before(x_port, x_ts + attach, cols["port"], cols["start_ns"])
    gap_a = _pick(cols["start_ns"], ka) - x_ts
    ok_a = (ka >= 0) & (gap_a > 0)
    k = np.where(ok_b & (~ok_a | (gap_b <= gap_a)), kb, np.where(ok_a, ka, -1))
    attached = k >= 0
    for r in np.flatnonzero(attached).tolist():
        i = int(k[r])
        lab.bits[i] |= LABEL_BIT["silent-neighbor-loss"]
        lab.conf["silent-neighbor-loss"][i] = 0.9 if x_known[r] else 0.6
        cols["aged_out_ns"][i], cols["lost_neighbor"][i], cols["link_known"][i] = x_ts[r], x_name[r], x_known[r]
    new = ~attached
    m = int(new.sum())
    if not m:
        return cols, lab
    add = {name: (np.full(m, -1, v.dtype) if v.dtype.kind in "iu" else np.full(m, np.nan, v.dtype))
           for name, v in cols.items()}
    for name in ("flaps", "hidden_flaps", "micro_flaps", "over_budget", "span_ns"):
        add[name][:] = 0
    add["port"] = x_port[new].astype(np.int32)
    add["start_ns"] = (x_ts[new] - x_ttl[new].astype(np.int64) * S).astype(np.int64)  # the last LLDPDU heard
    add["end_ns"] = add["aged_out_ns"] = x_ts[new].astype(np.int64)
    add["lost_neighbor"] = x_name[new].astype(np.int32)
    add["link_known"] = x_known[new].astype(np.int8)
    add["device"] = dev_of[np.minimum(add["port"], len(dev_of) - 1)].astype(np.int32)
    add["device_ports"][:] = 1
    cols = {k_: np.concatenate([v, add[k_]]) for k_, v in cols.items()}
    grown = _Labels(n + m)
    grown.bits[:n], grown.bits[n:] = lab.bits, LABEL_BIT["silent-neighbor-loss"]
    for name in LABELS:
        grown.conf[name][:n] = lab.conf[name]
    grown.conf["silent-neighbor-loss"][n:] = np.where(add["link_known"] == 1, 0.9, 0.6)
    return cols, grown


def classify(analysis, config: SignatureConfig | dict | None = None) -> Episodes:
    """Episodes and their signature labels from an Analysis (flapwatch.analyze) or anything
    with ``tables`` (flaps, pfc_storms, lldp_events), ``strings`` and optionally ``config``
    (micro_flap_ms, job_budget_s) and ``paths``."""
    cfg = SignatureConfig.from_dict(config) if isinstance(config, dict) else (config or SignatureConfig())
    a_cfg = getattr(analysis, "config", None)
    micro_ms = cfg.micro_flap_ms if cfg.micro_flap_ms is not None else getattr(a_cfg, "micro_flap_ms", 10.0)
    budget_ns = int(getattr(a_cfg, "job_budget_s", 7.0) * S)
    tables = analysis.tables
    names = _Strings(analysis.strings)
    n_strings = len(names.list)
    # Each string's device (meaningful for port names), interned first so devices have indices.
    dev_of = np.array([names.intern(d) for d in _device_names(names.list[:n_strings],
                                                              list(getattr(analysis, "paths", []) or []))] + [-1],
                      np.int64)

    f = tables["flaps"]
    port = np.asarray(f["port"], np.int64)
    down_ns, up_ns = np.asarray(f["down_ns"], np.int64), np.asarray(f["up_ns"], np.int64)
    duration = np.asarray(f["duration_ns"], np.int64)
    hidden = np.asarray(f["hidden"]).astype(bool)
    # already down when the capture began: its down_ns is the capture's start, a bound
    open_start = (np.asarray(f["open_at_start"]).astype(bool) if "open_at_start" in f
                  else np.zeros(hidden.size, bool))
    device = dev_of[np.minimum(port, n_strings)]
    lo, hi = flap_bounds(port, device, down_ns, up_ns, hidden)
    t_est, u_est = estimate_flap_times(port, down_ns, up_ns, hidden, lo)
    if "down_latest_ns" in f:
        # Hidden flaps the wire placed (the core's rx gaps: each in a silence of the port's
        # traffic, docs/DESIGN.md): their own range, down after the silence began, up before it ended.
        d_lo, d_hi = np.asarray(f["down_earliest_ns"], np.int64), np.asarray(f["down_latest_ns"], np.int64)
        placed = hidden & (d_lo >= 0) & (d_hi < up_ns)
        lo, hi = np.where(placed, d_lo, lo), np.where(placed, d_hi, hi)
        t_est, u_est = np.where(placed, d_lo, t_est), np.where(placed, d_hi, u_est)

    runs = _Runs(port, t_est, u_est, duration, hidden, lo, hi, up_ns, open_start, cfg)
    cols, visible, measured = _flap_columns(runs, int(micro_ms * 1e6), budget_ns)
    cols["device"] = dev_of[np.minimum(cols["port"].astype(np.int64), n_strings)].astype(np.int32)
    lab = _Labels(runs.n_ep)
    lab.mark("micro-flap", cols["micro_flaps"] > 0, _sigmoid((micro_ms * 1e6 - cols["min_down_ns"]) / 6e5))
    lab.mark("hidden", cols["hidden_flaps"] > 0, 0.99)
    _shape_labels(runs, cols, visible, measured, lab, cfg)
    end_eff = np.where(cols["end_ns"] < 0, OPEN_END_NS, cols["end_ns"])  # still down: open-ended
    _pfc_linked(cols, tables.get("pfc_storms"), end_eff, lab, cfg)
    peer_port = _lldp_labels(cols, tables.get("lldp_events"), tables.get("lldp_rx"), end_eff, lab, names, cfg)
    _cross_labels(cols, peer_port, lab, cfg)
    losses = _silent_losses(tables.get("lldp_events"), port, down_ns, up_ns, hidden, names)
    cols, lab = _attach_losses(cols, lab, losses, end_eff, dev_of, cfg)
    return _finish(cols, lab, names, rules(cfg, micro_ms))


def _finish(cols: dict, lab: _Labels, names: _Strings, rules_text: dict) -> Episodes:
    """Order the episodes by start, number them, and list the evidence rows."""
    o = np.lexsort((cols["port"], cols["start_ns"]))
    cols = {k: v[o] for k, v in cols.items()}
    renumber = np.empty(o.size, np.int64)
    renumber[o] = np.arange(o.size)
    cols["peer_episode"] = np.where(cols["peer_episode"] >= 0, _pick(renumber, cols["peer_episode"]), -1)
    bits = lab.bits[o]
    conf = {k: v[o] for k, v in lab.conf.items()}
    n = bits.size
    columns = {"episode": np.arange(n, dtype=np.int64), **cols, "labels": bits}
    for name in LABELS:
        columns[f"conf_{name.replace('-', '_')}"] = conf[name].astype(np.float32)
    ep_idx, lab_idx = np.nonzero(((bits[:, None] >> np.arange(len(LABELS), dtype=np.uint16)) & 1).astype(bool))
    evidence = {
        "episode": ep_idx.astype(np.int64), "label": lab_idx.astype(np.uint8), "rule": lab_idx.astype(np.int32),
        "confidence": (np.stack([conf[name] for name in LABELS], axis=1)[ep_idx, lab_idx] if n else np.zeros(0)),
    }
    return Episodes(columns, names.list, evidence, rules_text)
