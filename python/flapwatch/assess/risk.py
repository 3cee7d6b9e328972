"""Per-port risk: how likely the port is in trouble within the next window (60 s by default):
it flaps, or it is down in an outage longer than the job budget. Updated as events arrive. The same RiskModel serves replay (score_analysis) and the live agent
(feed it each Detection through event_from_detection).

What the numbers mean (README.md, "Risk"):

- **current** (``risk``): the score at the end of the input (replay: its last timestamp;
  live: now). Old history fades, so a port whose trouble ended minutes ago scores low again.
- **peak** (``risk_peak``, when: ``risk_peak_ns``): the highest score over the window analysed
  (replay: the input after ``--since`` / ``--until``, scored after each event and every 5 s;
  live: the last ``PEAK_WINDOW_S``, scored every poll). The peak is what a gate or a report
  asks ("was this port in trouble?"): ``--fail-on risk`` is ``risk>=0.5`` on the peak.
- The score is a probability (calibrated on simulated fleets, bench/README.md, "Risk"): 0.7
  means about 7 in 10 ports scored so flap within the window (or are down over the job
  budget in it). Above 0.8 it over-predicts (the table there): on those fleets every
  episode ends, and nothing monotone can say "it just ended".

The contract an SRE can build on: all else equal, **more flaps, more hidden flaps, more
storms and longer outages never lower the score.** Every feature below is a non-decreasing
function of those (decayed counts and sums: adding an event only adds a decaying term; the
acceleration features: see _acceleration), and
every weight is non-negative (bench/fit_risk.py fits under that bound;
tests/assess/test_risk_contract.py checks it with property tests). ``micro_flaps`` is
computed and reported but pinned to weight 0: rewarding a short down would let a longer
outage score lower than a micro-flap at the same moment.

Features, per port, from exponentially decaying accumulators (time constants in
ACCUMULATORS), log-scaled:
- flaps in the last 10 s (``flaps_10s``: the rate now, so flaps coming faster raise it),
  the last minute (``flap_rate``) and the last 5 minutes (``flaps_5m``),
- ``ongoing``: the 5-minute count while the pattern goes on (times exp(-time since the last
  flap / ONGOING_S)),
- ``cadence``: the fastest recent rate, log1p(window / the shortest interval between two
  flaps, >= 0.5 s), fading with CADENCE_S (a running max: another flap only shortens an
  interval or adds one),
- acceleration, over the flaps of the last RECENT_S, each times exp(-time since the last
  flap / FADE_S): ``min_gap`` (log1p(60 s / the shortest interval, >= MIN_GAP_S; flaps
  revealed together count as MIN_GAP_S apart)), ``short_2s`` / ``short_5s`` (log1p of the
  number of intervals under 2 s / 5 s) and ``peak_10s`` (log1p of the most flaps in any
  10 s). Flaps coming faster shorten the intervals; so does another flap anywhere (it splits
  an interval in two), which is why these, unlike "the intervals shrink", are monotone.
  The fast fade is what lets them be strong: a port 1-3 s after its latest of several
  quickly-following flaps (a degrading port's last precursors) scores high, one whose
  pattern stopped 10 s ago no longer does,
- hidden flaps (only the carrier counters showed them; each also counts as a flap),
- down time (``down_time``: seconds down over the last 5 minutes; hidden flaps add none),
- micro-flaps (last 5 minutes; reported, weight 0),
- PFC pause duty-cycle creep (last 30 s against the last 10 minutes) and storms,
- LLDP: LLDPDUs missed from the neighbor (gaps in its tx interval), the current gap, and the
  jitter of its arrivals (their distance from whole tx intervals).
The score is a logistic function of those features with coefficients fitted by
bench/fit_risk.py on simulated fleets (seeds disjoint from the benchmark's) to the event
"the port goes down within the next 60 s, or is down now in an outage longer than the job
budget" (the SRE's question: will this port hurt a job in the next minute; an outage over the
budget is trouble while it lasts, not only when it starts). Each RiskScore carries the features and each one's
contribution to the log-odds.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from flapwatch.config import Config
from flapwatch.tables import schema
from flapwatch.tables.table import table_rows

from flapwatch.tables.units import NS_PER_S as S  # noqa: E402

# Decaying accumulators: name -> time constant (s).
ACCUMULATORS = {
    "flaps_10s": 10.0,
    "flaps_1m": 60.0,
    "flaps_5m": 300.0,
    "micro_5m": 300.0,
    "hidden_1m": 60.0,
    "down_5m": 300.0,  # seconds down
    "storms_10m": 600.0,
    "duty_30s": 30.0,  # pause duty, a decayed mean (weight accumulator below)
    "duty_w_30s": 30.0,
    "duty_10m": 600.0,
    "duty_w_10m": 600.0,
    "lldp_missed_10m": 600.0,
    "lldp_jitter_10m": 600.0,  # |interval - whole tx intervals| / tx, summed (weight accumulator below)
    "lldp_rx_10m": 600.0,
}

FEATURES = ("flaps_10s", "flap_rate", "flaps_5m", "ongoing", "cadence", "min_gap", "short_2s", "short_5s", "peak_10s",
            "hidden_flaps", "down_time", "micro_flaps", "pfc_creep", "pfc_storms", "lldp_missed", "lldp_gap", "lldp_jitter")
# The acceleration features (min_gap, short_2s, short_5s, peak_10s) look at the flaps of the
# last RECENT_S and fade with the time since the last flap (FADE_S).
# Features whose weight is pinned to 0 (computed and reported only): see the module docstring.
PINNED_ZERO = ("micro_flaps",)

# Fitted by `python bench/fit_risk.py` (logistic regression with a little L2, every weight
# bounded below by 0: projected Newton) on FIT_SUMMARY.
FIT_SUMMARY = ("600 simulated scenarios, seeds 100000-100599 (12 families): 1.90 M port-samples, "
               "115003 positive, log-loss 0.214")
INTERCEPT = -2.893
WEIGHTS = {
    "flaps_10s": 0.000,
    "flap_rate": 0.000,
    "flaps_5m": 0.000,
    "ongoing": 1.000,
    "cadence": 0.000,
    "min_gap": 0.592,
    "short_2s": 0.000,
    "short_5s": 0.000,
    "peak_10s": 0.000,
    "hidden_flaps": 0.000,
    "down_time": 0.000,
    "micro_flaps": 0.000,  # pinned
    "pfc_creep": 0.244,
    "pfc_storms": 0.000,
    "lldp_missed": 0.000,
    "lldp_gap": 0.000,
    "lldp_jitter": 0.000,
}
# Zero weights: on those fleets the feature added nothing once the others were known, under the
# bound (the unbounded fit wants some of them negative: there a long outage or a storm ends the
# episode). They are still computed and reported.

# A port's state besides the accumulators (RiskModel._state): floats, then int64 ns times.
STATE_FLOATS = tuple(ACCUMULATORS) + ("cad", "rx_interval")
STATE_INTS = ("t", "last_rx", "last_flap", "cad_t")

CADENCE_S = 15.0  # "cadence": the fastest recent flap rate, fading with this time constant
RECENT_S = 60.0  # the acceleration features: the flaps of the last this many seconds
FADE_S = 3.0  # ... times exp(-time since the last flap / FADE_S)
MIN_GAP_S = 0.5  # intervals shorter than this (flaps revealed together: 0) count as this
ONGOING_S = 20.0  # "ongoing": the 5-minute count, fading with the time since the last flap

# The live agent's peak: the highest score over the last this many seconds.
PEAK_WINDOW_S = 600.0


@dataclass
class RiskConfig:
    window_s: float = 60.0  # the horizon the score speaks about
    micro_flap_ms: float = Config.micro_flap_ms  # the engine's; for_config() takes a configured one
    lldp_tx_s: float = 30.0  # assumed until the neighbor's own cadence is seen
    intercept: float = INTERCEPT
    weights: dict = field(default_factory=lambda: dict(WEIGHTS))

    @classmethod
    def for_config(cls, config: Config | None) -> "RiskConfig":
        """The model that agrees with the engine's configuration (its micro-flap threshold),
        the same in replay and in the live agent."""
        return cls() if config is None else cls(micro_flap_ms=config.micro_flap_ms)


@dataclass
class RiskScore:
    port: str
    ts_ns: int
    score: float
    features: dict
    contributions: dict


def _event_fields(event) -> tuple:
    """A RiskModel event (a dict, or an object with its fields as attributes) as
    RiskModel._apply's arguments: (kind, port, ts_ns, detail, more)."""
    get = event.get if isinstance(event, dict) else (lambda k, d=None: getattr(event, k, d))
    kind, port, t = get("kind"), get("port"), int(get("ts_ns"))
    if kind == "flap":
        return kind, port, t, int(get("duration_ns", -1)), get("hidden", 0)
    if kind == "pause":
        return kind, port, t, float(get("duty", 0.0)), None
    if kind == "lldp_event":
        return kind, port, t, get("event"), None
    return kind, port, t, None, None


class RiskModel:
    """Incremental per-port risk. ``update(event)`` with dicts (or objects) carrying ``kind``:

    - ``flap``: ts_ns, port, duration_ns (-1 unknown), hidden
    - ``storm``: ts_ns (detected), port
    - ``pause``: ts_ns (when known: the window's end), port, duty
    - ``lldp_rx``: ts_ns, port (an LLDPDU from the neighbor)
    - ``lldp_event``: ts_ns, port, event ("aged_out", ...)

    ``score(port, now_ns)`` -> RiskScore; ``scores(now_ns)`` -> {port: score} for all ports.
    Events must come in time order (per port); scores may be asked at any later time."""

    def __init__(self, config: RiskConfig | None = None):
        self.cfg = config or RiskConfig()
        self._ports: dict[str, int] = {}
        self._names: list[str] = []
        # Per port, in Python lists: update() reads and writes one port's values at a time,
        # where a numpy element costs ~10x a list's (bench/README.md, "Output"). The
        # arithmetic is the float64 arithmetic of arrays, to the bit.
        self._acc = {k: [] for k in ACCUMULATORS}
        self._t: list[int] = []  # when the accumulators were last decayed
        self._last_rx: list[int] = []
        self._last_flap: list[int] = []
        self._cad: list[float] = []  # the cadence's running max, as of _cad_t
        self._cad_t: list[int] = []
        self._rx_interval: list[float] = []  # the neighbor's tx interval as seen (s), 0 unknown
        self._recent: list[deque] = []  # per port: the flaps' times of the last RECENT_S (ns)
        self._tau = {k: v * S for k, v in ACCUMULATORS.items()}
        self._decaying = [(self._acc[k], tau) for k, tau in self._tau.items()]
        self._duty = [self._acc[k] for k in ("duty_30s", "duty_10m")]
        self._duty_windows = [self._acc[k] for k in ("duty_w_30s", "duty_w_10m")]

    # -- state
    def _index(self, port: str) -> int:
        i = self._ports.get(port)
        if i is None:
            i = self._ports[port] = len(self._names)
            self._names.append(port)
            self._recent.append(deque())
            for acc in self._acc.values():
                acc.append(0.0)
            self._t.append(0)
            self._last_rx.append(-1)
            self._last_flap.append(-1)
            self._cad.append(0.0)
            self._cad_t.append(0)
            self._rx_interval.append(0.0)
        return i

    def _decay_to(self, i: int, t: int) -> None:
        dt = t - self._t[i]
        if dt > 0:
            factor: dict[float, float] = {}  # one exp per time constant, when one is needed
            for acc, tau in self._decaying:
                v = acc[i]
                if v:  # 0 stays 0: most accumulators of a port that only pauses, say
                    f = factor.get(tau)
                    if f is None:
                        f = factor[tau] = math.exp(-dt / tau)
                    acc[i] = v * f
            self._t[i] = t
        elif self._t[i] == 0:
            self._t[i] = t

    @property
    def ports(self) -> list[str]:
        return list(self._names)

    # -- events
    def update(self, event) -> None:
        self._apply(*_event_fields(event))

    def _apply(self, kind: str, port: str, t: int, detail=None, more=None) -> int:
        """One event by its fields (_event_fields): a flap's duration_ns and hidden, a pause's
        duty, an lldp_event's event name; returns the port's index."""
        i = self._index(port)
        self._decay_to(i, t)
        a = self._acc
        if kind == "flap":
            for k in ("flaps_10s", "flaps_1m", "flaps_5m"):
                a[k][i] += 1
            if more:
                a["hidden_1m"][i] += 1
            dur = detail
            if dur > 0:
                a["down_5m"][i] += dur / S
            if 0 <= dur < self.cfg.micro_flap_ms * 1e6:
                a["micro_5m"][i] += 1
            last = self._last_flap[i]
            if 0 <= last < t:  # flaps revealed together share one time: no interval between them
                v = math.log1p(self.cfg.window_s / max(float(t - last) / S, 0.5))
                held = self._cad[i] * math.exp(-(t - self._cad_t[i]) / (CADENCE_S * S))
                self._cad[i], self._cad_t[i] = max(held, v), t
            self._last_flap[i] = max(last, t)
            q = self._recent[i]
            q.append(t)
            while q[0] <= t - RECENT_S * S:
                q.popleft()
        elif kind == "storm":
            a["storms_10m"][i] += 1
        elif kind == "pause":
            duty = detail
            for acc in self._duty:
                acc[i] += duty
            for acc in self._duty_windows:
                acc[i] += 1
        elif kind == "lldp_rx":
            last = self._last_rx[i]
            if last >= 0:
                gap_s = float(t - last) / S  # as int64 arrays divide (int / int rounds the exact ratio)
                tx = self._tx(i)
                if gap_s > 0.3 * tx:  # not a fast-start burst
                    missed = max(0, round(gap_s / tx) - 1)
                    a["lldp_missed_10m"][i] += missed
                    a["lldp_jitter_10m"][i] += abs(gap_s / tx - round(gap_s / tx))
                    a["lldp_rx_10m"][i] += 1
                    if missed == 0:  # learn the cadence from clean intervals
                        self._rx_interval[i] = gap_s if self._rx_interval[i] == 0 else 0.8 * self._rx_interval[i] + 0.2 * gap_s
            self._last_rx[i] = t
        elif kind == "lldp_event":
            if detail == "aged_out":
                a["lldp_missed_10m"][i] += 1
        return i

    def _tx(self, i: int) -> float:
        return self._rx_interval[i] or self.cfg.lldp_tx_s

    # -- scores
    def _state_lists(self) -> tuple[list[list], list[list]]:
        """The lists of the ports' state, in STATE_FLOATS and STATE_INTS order (the same list
        objects for the model's life: a new port appends to each)."""
        return ([self._acc[k] for k in ACCUMULATORS] + [getattr(self, "_" + k) for k in STATE_FLOATS[len(ACCUMULATORS):]],
                [getattr(self, "_" + k) for k in STATE_INTS])

    def _state(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The ports' state (what the features are computed from) as arrays, by field."""
        floats, ints = self._state_lists()
        return {**{k: np.array(a, np.float64)[idx] for k, a in zip(STATE_FLOATS, floats)},
                **{k: np.array(a, np.int64)[idx] for k, a in zip(STATE_INTS, ints)}}

    def _features(self, idx: np.ndarray, now: int) -> dict[str, np.ndarray]:
        def recent(j: int, lo: float, hi: int) -> list[int]:
            return [x for x in self._recent[int(idx[j])] if lo < x <= hi]

        st = self._state(idx)
        return self._features_of(st, now, self._acceleration(st["last_flap"], now, recent))

    def _features_of(self, st: dict[str, np.ndarray], now, accel: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The features of states `st` (arrays by field, _state) at `now` (one time, or one per
        state): elementwise, so a batch of (time, port) cells gets what each alone would."""
        dt = np.maximum(now - st["t"], 0)
        a = {k: st[k] * np.exp(-dt / self._tau[k]) for k in self._acc}
        with np.errstate(invalid="ignore", divide="ignore"):
            duty_s = np.where(a["duty_w_30s"] > 0, a["duty_30s"] / a["duty_w_30s"], 0.0)
            duty_l = np.where(a["duty_w_10m"] > 0, a["duty_10m"] / a["duty_w_10m"], 0.0)
        last = st["last_flap"]
        tx = np.where(st["rx_interval"] > 0, st["rx_interval"], self.cfg.lldp_tx_s)
        gap = np.where(st["last_rx"] >= 0, (now - st["last_rx"]) / S / tx - 1.5, 0.0)
        return {
            "flaps_10s": np.log1p(a["flaps_10s"]),
            "flap_rate": np.log1p(a["flaps_1m"]),
            "flaps_5m": np.log1p(a["flaps_5m"]),
            **accel,
            "hidden_flaps": np.log1p(a["hidden_1m"]),
            "ongoing": np.log1p(a["flaps_5m"]) * np.where(last >= 0, np.exp(-np.maximum(now - last, 0) / (ONGOING_S * S)), 0.0),
            "cadence": st["cad"] * np.exp(-np.maximum(now - st["cad_t"], 0) / (CADENCE_S * S)),
            "down_time": np.log1p(a["down_5m"]),
            "micro_flaps": np.log1p(a["micro_5m"]),
            "pfc_creep": np.log1p(100 * np.maximum(duty_s - duty_l, 0)),
            "pfc_storms": np.log1p(a["storms_10m"]),
            "lldp_missed": np.log1p(a["lldp_missed_10m"]),
            "lldp_gap": np.clip(gap, 0, 4),
            "lldp_jitter": np.where(a["lldp_rx_10m"] > 0, 10 * a["lldp_jitter_10m"] / np.maximum(a["lldp_rx_10m"], 1e-9), 0.0),
        }

    @staticmethod
    def _acceleration(last: np.ndarray, now, recent) -> dict[str, np.ndarray]:
        """min_gap, short_2s, short_5s, peak_10s over the flaps in (now - RECENT_S, now], each
        times exp(-time since the last flap / FADE_S). Monotone by construction: another flap
        only splits an interval in two shorter ones or adds one (the shortest interval only
        shortens, the number under 2 s / 5 s never falls), and only adds to a 10 s window's
        count; the last flap only gets later, so the fade only rises. `last`: each state's
        last flap; `now`: one time or one per state; recent(j, lo, hi): state j's flap times
        in (lo, hi], in order."""
        out = {k: np.zeros(last.size) for k in ("min_gap", "short_2s", "short_5s", "peak_10s")}
        for j in np.flatnonzero((last >= 0) & (last > now - RECENT_S * S)).tolist():
            t_now = int(now) if np.ndim(now) == 0 else int(now[j])
            lo = t_now - RECENT_S * S
            t = np.array(recent(j, lo, t_now), np.int64)
            if t.size == 0:
                continue
            fade = math.exp(-max(t_now - int(t[-1]), 0) / (FADE_S * S))
            w = np.searchsorted(t, t + 10 * S, "left") - np.arange(t.size)  # flaps in [t_k, t_k + 10 s)
            out["peak_10s"][j] = math.log1p(int(w.max())) * fade
            if t.size >= 2:
                g = np.diff(t) / S
                out["min_gap"][j] = math.log1p(RECENT_S / max(float(g.min()), MIN_GAP_S)) * fade
                out["short_2s"][j] = math.log1p(int((g < 2).sum())) * fade
                out["short_5s"][j] = math.log1p(int((g < 5).sum())) * fade
        return out

    def _logit(self, f: dict[str, np.ndarray]) -> np.ndarray:
        z = np.full(len(next(iter(f.values()))), self.cfg.intercept)
        for k, w in self.cfg.weights.items():
            z = z + w * f[k]
        return z

    def score(self, port: str, now_ns: int) -> RiskScore:
        f = self._features(np.array([self._index(port)]), int(now_ns))
        z = self._logit(f)[0]
        feats = {k: float(v[0]) for k, v in f.items()}
        return RiskScore(port, int(now_ns), float(1 / (1 + math.exp(-z))), feats,
                         {k: w * feats[k] for k, w in self.cfg.weights.items()})

    def scores(self, now_ns: int) -> dict[str, float]:
        names, p, _ = self.score_array(now_ns)
        return dict(zip(names, p.tolist()))

    def score_array(self, now_ns: int) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
        """All ports at once: (names, scores, features)."""
        idx = np.arange(len(self._names))
        f = self._features(idx, int(now_ns))
        return list(self._names), 1 / (1 + np.exp(-self._logit(f))), f


# ---------------------------------------------------------------------------- replay


def event_from_detection(kind: str, row: dict) -> dict | None:
    """A detection - a row of an analysis table, or the live agent's Detection(kind, row)
    (agent.py) - as a RiskModel event, stamped with when it became known; None for tables
    the risk does not use."""
    if kind == "flaps":
        return {"kind": "flap", "ts_ns": row["ts_ns"], "port": row["port"], "duration_ns": row["duration_ns"],
                "hidden": row["hidden"]}
    if kind == "pfc_storms":
        return {"kind": "storm", "ts_ns": row["ts_ns"], "port": row["port"]}
    if kind == "pause_stats":  # a window's duty is known when the window ends
        return {"kind": "pause", "ts_ns": row["ts_ns"] + row["window_ns"], "port": row["port"], "duty": row["duty"]}
    if kind == "lldp_events":
        event = row["event"]
        return {"kind": "lldp_event", "ts_ns": row["ts_ns"], "port": row["port"],
                "event": event if isinstance(event, str) else schema.LLDP_EVENTS[int(event)]}
    if kind == "lldp_rx" and row["ttl"] > 0:  # an LLDPDU from the neighbor (a shutdown one is an lldp_event)
        return {"kind": "lldp_rx", "ts_ns": row["ts_ns"], "port": row["port"]}
    return None


# The tables whose rows are RiskModel events, with the columns event_from_detection reads.
RISK_COLUMNS = {
    "flaps": ("ts_ns", "port", "duration_ns", "hidden"),
    "pfc_storms": ("ts_ns", "port"),
    "pause_stats": ("ts_ns", "port", "window_ns", "duty"),
    "lldp_events": ("ts_ns", "port", "event"),
    "lldp_rx": ("ts_ns", "port", "ttl"),
}
RISK_TABLES = tuple(RISK_COLUMNS)  # a subset of schema.STREAM_TABLES


def events_from_analysis(analysis) -> list[dict]:
    """The Analysis' detections and LLDP receptions as RiskModel events, in the order they
    became known: the same events, through the same conversion, as the live agent's (its
    rows have every column; these only the ones read, the rest is not made into rows)."""
    out: list[dict] = []
    for kind, columns in RISK_COLUMNS.items():
        table = analysis.tables[kind]
        for row in table_rows(kind, {c: table[c] for c in columns}, table.strings):
            e = event_from_detection(kind, row)
            if e is not None:
                out.append(e)
    out.sort(key=lambda e: e["ts_ns"])
    return out


def event_fields(analysis) -> tuple[np.ndarray, list[tuple]]:
    """events_from_analysis(analysis), in its order, as RiskModel._apply's arguments (the
    _event_fields of each), made from the tables' columns: no row and no event dict per
    detection (their time and memory: bench/README.md, "Output"). With their times."""
    tables = analysis.tables
    f, st, w, e, r = (tables[t] for t in RISK_TABLES)
    rx = r["ttl"] > 0  # a shutdown LLDPDU is an lldp_event
    parts = [  # (times, kind, ports, detail, more) per table, in RISK_COLUMNS' order
        (f["ts_ns"], "flap", f["port"], f["duration_ns"].astype(object), f["hidden"].astype(object)),
        (st["ts_ns"], "storm", st["port"], None, None),
        (w["ts_ns"] + w["window_ns"], "pause", w["port"], w["duty"].astype(object), None),  # known at the window's end
        (e["ts_ns"], "lldp_event", e["port"], np.array(schema.LLDP_EVENTS, object)[e["event"]], None),
        (r["ts_ns"][rx], "lldp_rx", r["port"][rx], None, None),
    ]

    def joined(k: int) -> np.ndarray:  # field k of every table, None where a table has none
        return np.concatenate([p[k] if p[k] is not None else np.full(len(p[0]), None, object) for p in parts])

    ts = np.concatenate([p[0] for p in parts]).astype(np.int64)
    order = np.argsort(ts, kind="stable")  # list.sort's order: stable, tables in RISK_COLUMNS' order
    names = np.array(list(analysis.strings) + [None], object)
    ports = np.concatenate([p[2] for p in parts]).astype(np.int64)
    ports = names[np.where(ports >= 0, ports, len(names) - 1)]
    kinds = np.concatenate([np.full(len(p[0]), p[1], object) for p in parts])
    ts = ts[order]
    columns = (kinds[order].tolist(), ports[order].tolist(), ts.tolist(), joined(3)[order].tolist(),
               joined(4)[order].tolist())
    return ts, list(zip(*columns))


def score_times(events: list[dict], step_s: float = 5.0, end_ns: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """When a replay scores: each event's time and every ``step_s`` in between (features like
    the LLDP gap grow between events), to ``end_ns``; with how many events are known by each."""
    return _score_times(np.array([e["ts_ns"] for e in events], np.int64), step_s, end_ns)


def _score_times(ev_times: np.ndarray, step_s: float, end_ns: int | None) -> tuple[np.ndarray, np.ndarray]:
    end = max(int(ev_times[-1]), end_ns or 0)
    grid = np.arange(int(ev_times[0]), end + 1, int(step_s * S), dtype=np.int64)
    times = np.sort(np.concatenate([ev_times, grid]))
    times = times[np.concatenate(([True], times[1:] != times[:-1]))]  # unique: np.unique imports numpy.ma (~5 ms)
    return times, np.searchsorted(ev_times, times, "right")


# Cells (a time by a port) scored in one pass at most: memory stays flat with the input.
CHUNK_CELLS = 1 << 18


def score_events(events: list[dict], step_s: float = 5.0, config: RiskConfig | None = None,
                 end_ns: int | None = None) -> "RiskTimeline":
    """Events in time order through one RiskModel; every port seen so far scored at each of
    score_times(): what ``score_array`` gives at each of those times, as the live agent's
    model would (tests/assess/test_risk.py holds them equal). The model's state is recorded
    for the ports each time's events changed, and the features of many (time, port) cells
    are computed in one elementwise pass, not a pass of small arrays per time (on a capture
    with 13,000 scoring times, 1.5 s -> 0.3 s in process: bench/README.md, "Output")."""
    fields = [_event_fields(e) for e in events]
    return _score_fields(np.array([f[2] for f in fields], np.int64), fields, step_s, config, end_ns)


def _score_fields(ev_times: np.ndarray, fields: list[tuple], step_s: float, config: RiskConfig | None,
                  end_ns: int | None) -> "RiskTimeline":
    """score_events of events given by their fields (_event_fields, in time order) and times."""
    model = RiskModel(config)
    if not fields:
        return RiskTimeline(np.zeros(0, np.int64), [], np.zeros(0), {k: np.zeros(0) for k in FEATURES})
    times, known = _score_times(ev_times, step_s, end_ns)
    log = _StateLog(model)
    parts: list[tuple] = []
    s0, i = 0, 0
    for s, k in enumerate(known.tolist()):
        touched: dict[int, None] = {}
        while i < k:
            f = fields[i]
            p = model._apply(*f)
            touched[p] = None
            if f[0] == "flap":
                log.flapped(p, f[2])
            i += 1
        log.record(s - s0, touched)
        if (s + 1 - s0) * len(model._names) >= CHUNK_CELLS or s + 1 == len(times):
            parts.append(log.score(times[s0:s + 1]))
            s0 = s + 1
    names = model._names
    return RiskTimeline(np.concatenate([c[0] for c in parts]), [names[p] for c in parts for p in c[1].tolist()],
                        np.concatenate([c[2] for c in parts]),
                        {k: np.concatenate([c[3][k] for c in parts]) for k in FEATURES})


class _StateLog:
    """score_events' record of a RiskModel's state per port (STATE_FLOATS, STATE_INTS) over a
    chunk of scoring times, and the chunk's cells scored from it."""

    def __init__(self, model: RiskModel):
        self.model = model
        self.floats, self.ints = model._state_lists()  # the model's own lists: they grow in place
        self.flaps: list[list[int]] = []  # per port: its flap times, in order
        self.latest_f: list[tuple] = []  # per port: its state when the last chunk ended
        self.latest_i: list[tuple] = []
        self.f: list[tuple] = []  # the states this chunk's times left: (time in the chunk, port)
        self.i: list[tuple] = []
        self.at: list[int] = []
        self.port: list[int] = []

    def flapped(self, port: int, t: int) -> None:
        while len(self.flaps) <= port:
            self.flaps.append([])
        self.flaps[port].append(t)

    def record(self, at: int, ports) -> None:
        """The state `ports` are in after the events of the chunk's time `at`."""
        if not ports:  # a time on the step grid with no event
            return
        floats, ints = self.floats, self.ints
        for p in ports:
            self.f.append(tuple([a[p] for a in floats]))
            self.i.append(tuple([a[p] for a in ints]))
            self.at.append(at)
            self.port.append(p)

    def score(self, times: np.ndarray) -> tuple:
        """(ts_ns, port index, score, features) per cell of the chunk's `times`, by time then
        port; then the next chunk starts from each port's last state. A cell's state is its
        port's latest as of its time: the carried states at the first time, each recorded one
        at its time, filled forward (recorded indices only grow)."""
        model, carried, n_ports = self.model, len(self.latest_f), len(self.model._names)
        f = np.array(self.latest_f + self.f, np.float64).reshape(-1, len(STATE_FLOATS))
        n = np.array(self.latest_i + self.i, np.int64).reshape(-1, len(STATE_INTS))
        grid = np.full((times.size, n_ports), -1, np.int64)
        grid[0, :carried] = np.arange(carried)
        grid[np.array(self.at, np.int64), np.array(self.port, np.int64)] = carried + np.arange(len(self.f))
        np.maximum.accumulate(grid, axis=0, out=grid)
        cells = np.flatnonzero(grid.ravel() >= 0)  # a port is scored from the time it was first seen
        row = grid.ravel()[cells]
        at, port = np.divmod(cells, n_ports)
        now = times[at]
        st = {k: f[row, j] for j, k in enumerate(STATE_FLOATS)}
        st.update({k: n[row, j] for j, k in enumerate(STATE_INTS)})

        def recent(j: int, lo: float, hi: int) -> list[int]:
            flaps = self.flaps[int(port[j])]  # last_flap >= 0: the port has flapped
            return flaps[bisect.bisect_right(flaps, lo):bisect.bisect_right(flaps, hi)]

        feats = model._features_of(st, now, model._acceleration(st["last_flap"], now, recent))
        for p, state_f, state_i in zip(self.port, self.f, self.i):  # ports are first seen in index order
            if p == len(self.latest_f):
                self.latest_f.append(state_f)
                self.latest_i.append(state_i)
            else:
                self.latest_f[p], self.latest_i[p] = state_f, state_i
        self.f, self.i, self.at, self.port = [], [], [], []
        return now, port, 1 / (1 + np.exp(-model._logit(feats))), feats


@dataclass
class RiskTimeline:
    """Scores per port over a replay: columns ts_ns, port (names), score, plus features."""

    ts_ns: np.ndarray
    port: list[str]
    score: np.ndarray
    features: dict[str, np.ndarray]

    def first_crossing(self, port: str, threshold: float = 0.5, after_ns: int | None = None) -> int | None:
        for t, p, s in zip(self.ts_ns.tolist(), self.port, self.score.tolist()):
            if p == port and s >= threshold and (after_ns is None or t >= after_ns):
                return t
        return None

    def to_dict(self) -> dict[str, np.ndarray | list]:
        """Columns (ts_ns, port, score, one per feature): for pandas / Arrow."""
        return {"ts_ns": self.ts_ns, "port": self.port, "score": self.score, **self.features}

    def max_score(self) -> dict[str, float]:
        return {p: s for p, (s, _) in self.peak().items()}

    def peak(self) -> dict[str, tuple[float, int]]:
        """Per port: the highest score over the timeline and when it was first reached."""
        out: dict[str, tuple[float, int]] = {}
        for t, p, s in zip(self.ts_ns.tolist(), self.port, self.score.tolist()):
            if p not in out or s > out[p][0]:
                out[p] = (s, t)
        return out

    def current(self) -> dict[str, float]:
        """Per port: the score at the timeline's last time (the end of the input)."""
        out: dict[str, float] = {}
        for p, s in zip(self.port, self.score.tolist()):
            out[p] = s
        return out


class PeakTracker:
    """The highest score per port over a sliding window (None: since the start), for a score
    sampled as time goes by (the live agent's poll): ``update(port, ts_ns, score)``,
    ``peak(port)`` -> (score, ts_ns) or None. A monotone deque per port: O(1) amortised."""

    def __init__(self, window_s: float | None = PEAK_WINDOW_S):
        self.window_ns = None if window_s is None else int(window_s * S)
        self._q: dict[str, deque] = {}

    def update(self, port: str, ts_ns: int, score: float) -> None:
        q = self._q.setdefault(port, deque())
        while q and q[-1][0] < score:  # an older point lower than this one is never the peak again
            q.pop()
        q.append((score, int(ts_ns)))
        if self.window_ns is not None:
            while q[0][1] < ts_ns - self.window_ns:
                q.popleft()

    def peak(self, port: str) -> tuple[float, int] | None:
        q = self._q.get(port)
        return q[0] if q else None

    def peaks(self) -> dict[str, tuple[float, int]]:
        return {p: q[0] for p, q in self._q.items() if q}


def score_analysis(analysis, step_s: float = 5.0, config: RiskConfig | None = None,
                   end_ns: int | None = None) -> RiskTimeline:
    """Replay an Analysis through RiskModel: every port's score after each event and every
    ``step_s``. LLDP receptions come from its ``lldp_rx`` table."""
    cfg = config or RiskConfig.for_config(getattr(analysis, "config", None))
    ts, fields = event_fields(analysis)
    return _score_fields(ts, fields, step_s, cfg, end_ns)
