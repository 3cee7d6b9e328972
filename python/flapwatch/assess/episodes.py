"""The episodes table: the signature labels (LABELS, one bit each), the thresholds the
classifier applies (SignatureConfig), the columns it fills (EPISODE_COLUMNS) and the Episodes
table with its long-format evidence. classify() in signatures.py builds one."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from flapwatch.config import strict_from_dict
from flapwatch.tables.table import Table

LABELS = ("micro-flap", "single", "oscillation", "burst", "hidden", "pfc-linked", "neighbor-change",
          "silent-neighbor-loss", "device-wide", "both-ends", "degrading")
LABEL_BIT = {name: 1 << i for i, name in enumerate(LABELS)}


@dataclass(frozen=True)
class SignatureConfig:
    micro_flap_ms: float | None = None  # None: the analysis config's (10 ms by default)
    episode_gap_s: float = 60.0  # a quiet gap this long always ends an episode
    split_gap_s: float = 1.0  # a shorter gap never does
    split_ratio: float = 4.0  # ... in between, one this many times the interval next to it does
    oscillation_min_flaps: int = 3
    period_jitter: float = 0.12  # a regular period: each interval within +-12 % of it (k intervals: 12 %/sqrt(k))
    burst_min_flaps: int = 5
    degrading_min_flaps: int = 5
    degrading_max_slope: float = -0.15  # log(interval) per flap: intervals shrink >= 14 % a flap
    degrading_max_t: float = -4.0  # and clearly so (t statistic of the slope)
    degrading_min_span_s: float = 30.0  # over half a minute or more: a trend, not a burst ...
    degrading_min_first_gap_s: float = 1.2  # ... or one that began with flaps this far apart (a burst chatters)
    degrading_slow_max_t: float = -2.0  # ... and then a weaker t (hidden flaps' guessed times blur it) ...
    degrading_late_ratio: float = 0.4  # ... or a later half's mean interval at most this x the first
    pfc_link_s: float = 5.0  # a storm overlapping the episode or ending this soon before it
    neighbor_after_up_s: float = 40.0  # the new neighbor's first LLDPDU after the link is back
    together_s: float = 1.5  # device-wide / both-ends: episode starts this close
    silent_attach_s: float = 5.0  # an age-out this close to a flap episode belongs to it

    @classmethod
    def from_dict(cls, data: dict) -> "SignatureConfig":
        return strict_from_dict(cls, data, "signature settings")



# The episode columns behind each label (the evidence's feature values).
LABEL_FEATURES = {
    "micro-flap": ("micro_flaps", "min_down_ns"),
    "single": ("flaps", "longest_down_ns"),
    "oscillation": ("flaps", "period_ns", "period_fits", "period_min_ns", "period_max_ns", "interval_cv"),
    "burst": ("flaps", "span_ns", "interval_cv", "period_fits", "period_min_ns", "period_max_ns"),
    "hidden": ("hidden_flaps",),
    "pfc-linked": ("storm_priority", "storm_start_ns", "storm_end_ns", "storm_lead_ns"),
    "neighbor-change": ("lldp_change_ns", "neighbor_before", "neighbor_after"),
    "silent-neighbor-loss": ("aged_out_ns", "lost_neighbor", "link_known"),
    "device-wide": ("device_ports",),
    "both-ends": ("peer_port", "peer_episode", "peer_offset_ns"),
    "degrading": ("flaps", "rate_trend", "trend_t", "span_ns"),
}

# The episodes table, column by column (times int64 ns since the epoch, -1 absent; string
# columns int32 indices into Episodes.strings; conf_<label> float32 per label, 0 when absent).
EPISODE_COLUMNS = {
    "episode": "0-based number, in start order",
    "port": "string: the port",
    "start_ns": "first down (hidden: estimated within its bounds); LLDP-only: the last LLDPDU heard",
    "end_ns": "last up (-1: still down at the end); LLDP-only: the age-out",
    "flaps": "flaps, hidden ones included (0: LLDP-only)",
    "hidden_flaps": "flaps only the carrier counters showed",
    "micro_flaps": "flaps known to be shorter than the micro-flap threshold",
    "min_down_ns": "shortest measured down time (-1 none)",
    "longest_down_ns": "longest measured down time (-1 none)",
    "over_budget": "downs longer than the job budget",
    "span_ns": "first down to last down",
    "device": "string: the device (the port name before ':', else the capture's)",
    "period_ns": "oscillation period (-1 not an oscillation)",
    "period_fits": "1 some period fits every flap's bounds, 0 none does (irregular), -1 under 2 flaps",
    "period_min_ns": "shortest period the flaps' bounds allow (-1: none fits, or under 2 flaps)",
    "period_max_ns": "longest period they allow (-1: unbounded, none fits, or under 2 flaps)",
    "interval_cv": "coefficient of variation of the (estimated) flap intervals",
    "rate_trend": "slope of log(interval) per flap (< 0: the rate rises), each interval weighted by how well "
                  "its flaps' times are known",
    "trend_t": "its t statistic",
    "storm_priority": "pfc-linked: the storm's priority (-1 PAUSE or none)",
    "storm_start_ns": "pfc-linked: the storm",
    "storm_end_ns": "pfc-linked: its end",
    "storm_lead_ns": "pfc-linked: first down minus storm end (< 0: they overlap)",
    "lldp_change_ns": "neighbor-change: when the new MSAP was heard",
    "neighbor_before": "string: the LLDP neighbor (system name:port id) before the episode",
    "neighbor_after": "string: the new neighbor (neighbor-change)",
    "device_ports": "ports of the device with an episode starting within the window (this one included)",
    "peer_port": "string: the LLDP peer port",
    "peer_episode": "both-ends: the peer port's episode (-1 none)",
    "peer_offset_ns": "both-ends: its start minus this one's",
    "aged_out_ns": "silent-neighbor-loss: when the neighbor aged out",
    "lost_neighbor": "string: the neighbor lost",
    "link_known": "silent-neighbor-loss: 1 the port's link state is known (netlink), 0 not",
    "labels": "bitmask over LABELS (bit i = LABELS[i])",
}
EPISODE_STRING_COLUMNS = ("port", "device", "neighbor_before", "neighbor_after", "lost_neighbor", "peer_port")


class ColumnTable(Table):
    """A Table whose string columns are given here rather than in schema.py."""

    def __init__(self, name: str, columns: dict[str, np.ndarray], strings: list[str], string_columns: tuple = ()):
        super().__init__(name, columns, strings)
        self.string_columns = tuple(string_columns)

    @property
    def rows(self) -> int:
        return len(next(iter(self.values()))) if len(self) else 0

    def to_dict(self, decode_strings: bool = True) -> dict[str, Any]:
        return {n: (self.text(n) if decode_strings and n in self.string_columns else v) for n, v in self.items()}


class Episodes(ColumnTable):
    """One row per episode (EPISODE_COLUMNS: numpy columns, int64 ns times, string columns as
    int32 indices into ``strings``; ``labels`` a bitmask over LABELS; ``conf_<label>`` per
    label) and the long-format ``evidence`` table (episode, label, rule, confidence; the
    features JSON is built on demand by ``evidence_features`` / ``evidence_table``, from the
    columns LABEL_FEATURES names: Arrow/Parquet-ready either way)."""

    def __init__(self, columns: dict[str, np.ndarray], strings: list[str], evidence: dict[str, np.ndarray],
                 rules_text: dict[str, str]):
        super().__init__("episodes", columns, strings, EPISODE_STRING_COLUMNS)
        self.evidence = ColumnTable("evidence", evidence, list(rules_text.values()), ("rule",))
        self.rules = rules_text

    def has(self, label: str) -> np.ndarray:
        return (self["labels"] & LABEL_BIT[label]) != 0

    def labels_of(self, i: int) -> list[str]:
        m = int(self["labels"][i])
        return [name for name in LABELS if m & LABEL_BIT[name]]

    def label_lists(self) -> list[list[str]]:
        return [self.labels_of(i) for i in range(self.rows)]

    def to_dict(self, decode_strings: bool = True) -> dict[str, Any]:
        """Columns with strings decoded and ``labels`` as the label names (the bitmask stays
        in ``self["labels"]`` for vectorised work)."""
        out = super().to_dict(decode_strings)
        if decode_strings:
            out["labels"] = self.label_lists()
        return out

    def _value(self, column: str, i: int):
        v = self[column][i]
        if column in self.string_columns:
            return self.strings[v] if v >= 0 else None
        if isinstance(v, np.floating):
            return None if math.isnan(v) else round(float(v), 6)
        return int(v)

    def _features(self, row: int) -> dict:
        ep = int(self.evidence["episode"][row])
        label = LABELS[int(self.evidence["label"][row])]
        return {c: self._value(c, ep) for c in LABEL_FEATURES[label]}

    def evidence_features(self, row: int) -> str:
        """The JSON feature values of one evidence row."""
        return json.dumps(self._features(row), separators=(",", ":"))

    def evidence_table(self) -> dict[str, list]:
        """The evidence in long format with decoded names and the features JSON (Parquet-ready)."""
        ev = self.evidence
        return {
            "episode": ev["episode"].tolist(),
            "label": [LABELS[i] for i in ev["label"].tolist()],
            "rule": ev.text("rule"),
            "features": [self.evidence_features(i) for i in range(ev.rows)],
            "confidence": ev["confidence"].tolist(),
        }

    def to_records(self) -> list[dict]:
        """Episodes as dicts with their labels, period and evidence: for JSON reports."""
        out = []
        by_ep: dict[int, list[int]] = {}
        for r, e in enumerate(self.evidence["episode"].tolist()):
            by_ep.setdefault(e, []).append(r)
        rules = self.evidence.text("rule")  # decoded once, not once per row
        labels = self.evidence["label"].tolist()
        confidences = self.evidence["confidence"].tolist()
        for i in range(self.rows):
            out.append({
                "episode": int(self["episode"][i]), "port": self._value("port", i), "device": self._value("device", i),
                "start_ns": int(self["start_ns"][i]), "end_ns": int(self["end_ns"][i]), "flaps": int(self["flaps"][i]),
                "labels": self.labels_of(i),
                "period_ns": int(self["period_ns"][i]) if self["period_ns"][i] >= 0 else None,
                "evidence": {LABELS[labels[r]]: {
                    "rule": rules[r], "confidence": float(confidences[r]),
                    "features": self._features(r)} for r in by_ep.get(i, [])},
            })
        return out

    def __repr__(self) -> str:
        counts = {name: int(self.has(name).sum()) for name in LABELS}
        return f"<Episodes: {self.rows} episodes, {', '.join(f'{k} {v}' for k, v in counts.items() if v)}>"

