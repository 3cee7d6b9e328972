"""What replay, --follow and the fleet hand to the outputs: the analysis (the core's
detections) plus what Python adds to it, episodes with their signatures and risk."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flapwatch.assess.risk import score_analysis
from flapwatch.assess.episodes import LABELS
from flapwatch.assess.signatures import classify
from flapwatch.detect.analysis import Analysis

# The per-port table every format writes: the documented columns (README.md).
PORT_COLUMNS = [
    "port",
    "flaps",
    "hidden_flaps",
    "micro_flaps",
    "longest_down_ns",
    "down_ns_total",
    "outages_over_budget",
    "oper_up",
    "signatures",
    "pfc_storms",
    "paused_pct",
    "neighbor",
    "risk",  # the score at the end of the input (assess/risk.py: "current")
    "risk_peak",  # the highest score over the window analysed ...
    "risk_peak_ns",  # ... and when it was first reached (-1: never scored)
]


@dataclass
class ReplayResult:
    analysis: Analysis
    episodes: list[dict] = field(default_factory=list)  # Episodes.to_records(): labels and evidence
    risk: dict[str, float] = field(default_factory=dict)  # per port: the score at the end
    signatures: dict[str, list[str]] = field(default_factory=dict)  # per port: every label of its episodes
    risk_curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # per port: (ts_ns, score)
    risk_peak: dict[str, tuple[float, int]] = field(default_factory=dict)  # per port: (highest score, ts_ns)
    # per port: flaps known to be micro-flaps, summed over its episodes (the classifier's count:
    # hidden flaps whose bounds prove them short included, downs linkwatch may have delayed not),
    # so a port's micro_flaps is always the sum of its episodes'
    micro_flaps: dict[str, int] = field(default_factory=dict)

    def rows(self, table: str) -> list[dict]:
        """A table in the row form every output uses (ports with risk and signatures)."""
        if table == "ports":
            return port_rows(self)
        if table == "episodes":
            return self.episodes
        return self.analysis.tables[table].records()


def build_result(analysis: Analysis) -> ReplayResult:
    """The analysis plus what Python adds: episodes with their signatures, and risk."""
    episodes = classify(analysis)
    records = episodes.to_records()
    signatures: dict[str, list[str]] = {}
    for e in records:
        have = signatures.setdefault(e["port"], [])
        have += [label for label in e["labels"] if label not in have]
    for port, labels in signatures.items():
        labels.sort(key=LABELS.index)
    timeline = score_analysis(analysis, end_ns=analysis.last_ns if analysis.last_ns >= 0 else None)
    curves: dict[str, list[tuple[int, float]]] = {}
    for t, port, s in zip(timeline.ts_ns.tolist(), timeline.port, timeline.score.tolist()):
        curves.setdefault(port, []).append((t, s))
    risk = {port: points[-1][1] for port, points in curves.items()}
    micro: dict[str, int] = {}
    if episodes.rows:
        names = episodes.text("port")
        for port, n in zip(names, episodes["micro_flaps"].tolist()):
            micro[port] = micro.get(port, 0) + int(n)
    return ReplayResult(analysis, records, risk, signatures, curves, timeline.peak(), micro)


def paused_fraction(analysis: Analysis) -> dict[str, float]:
    """Per port: the most-paused priority's paused time over the span analysed."""
    stats = analysis.pause_stats
    span = analysis.span_ns
    out: dict[str, float] = {}
    if stats.rows == 0 or span <= 0:
        return out
    ports, prios, paused = stats["port"], stats["priority"], stats["paused_ns"]
    keys = ports.astype(np.int64) * 16 + (prios.astype(np.int64) + 1)
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=paused)
    for key, total in zip(uniq.tolist(), sums.tolist()):
        name = analysis.strings[key // 16]
        out[name] = max(out.get(name, 0.0), min(1.0, total / span))
    return out


def port_rows(result: "ReplayResult") -> list[dict]:
    a = result.analysis
    paused = paused_fraction(a)
    rows = []
    for r in a.tables["ports"].records():
        port = r["port"]
        peak, peak_ns = result.risk_peak.get(port, (0.0, -1))
        rows.append(
            {
                "port": port,
                "flaps": r["flaps"],
                "hidden_flaps": r["hidden_flaps"],
                "micro_flaps": result.micro_flaps.get(port, r["micro_flaps"]),
                "longest_down_ns": r["longest_down_ns"],
                "down_ns_total": r["down_ns_total"],
                "outages_over_budget": r["outages_over_budget"],
                "oper_up": r["oper_up"],
                "signatures": ",".join(result.signatures.get(port, [])),
                "pfc_storms": r["storms"],
                "paused_pct": round(100.0 * paused.get(port, 0.0), 3),
                "neighbor": r["neighbor"] or (r["neighbor_chassis_id"] or ""),
                "risk": round(float(result.risk.get(port, 0.0)), 4),
                "risk_peak": round(float(peak), 4),
                "risk_peak_ns": int(peak_ns),
            }
        )
    return rows
