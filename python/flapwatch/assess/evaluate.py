"""Score classify() against a simulator's truth (flapwatch.sim): episode matching and the
per-label confusion counts. Used by bench/signatures.py and the tests.

A truth episode matches the classified episodes on the same port whose time spans overlap
its own (within ``tolerance_s``), flap episodes with flap episodes and LLDP-only ones (silent
neighbor loss) with LLDP-only ones; its predicted labels are the union of theirs. A classified
episode that matches no truth episode counts a false positive for each of its labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flapwatch.assess.episodes import LABELS, Episodes

from flapwatch.tables.units import NS_PER_S as S  # noqa: E402


@dataclass
class Match:
    port: str
    start_ns: int
    truth: set
    predicted: set
    family: str = ""


@dataclass
class Confusion:
    """Per-label TP / FP / FN / TN over truth episodes (plus unmatched predictions)."""

    tp: dict = field(default_factory=lambda: {k: 0 for k in LABELS})
    fp: dict = field(default_factory=lambda: {k: 0 for k in LABELS})
    fn: dict = field(default_factory=lambda: {k: 0 for k in LABELS})
    tn: dict = field(default_factory=lambda: {k: 0 for k in LABELS})
    episodes: int = 0
    spurious: int = 0  # classified episodes matching no truth episode
    errors: list = field(default_factory=list)  # (scenario, seed, port, start, truth, predicted)

    def add(self, matches: list[Match], unmatched: list[Match], scenario: str = "", seed: int = -1) -> None:
        for m in matches:
            self.episodes += 1
            for k in LABELS:
                t, p = k in m.truth, k in m.predicted
                if t and p:
                    self.tp[k] += 1
                elif p:
                    self.fp[k] += 1
                elif t:
                    self.fn[k] += 1
                else:
                    self.tn[k] += 1
            if m.truth != m.predicted:
                self.errors.append((scenario, seed, m.port, m.start_ns, sorted(m.truth), sorted(m.predicted)))
        for m in unmatched:
            self.spurious += 1
            for k in m.predicted:
                self.fp[k] += 1
            self.errors.append((scenario, seed, m.port, m.start_ns, [], sorted(m.predicted)))

    def precision(self, k: str) -> float:
        d = self.tp[k] + self.fp[k]
        return self.tp[k] / d if d else float("nan")

    def recall(self, k: str) -> float:
        d = self.tp[k] + self.fn[k]
        return self.tp[k] / d if d else float("nan")


def match(truth: dict, episodes: Episodes, tolerance_s: float = 2.0) -> tuple[list[Match], list[Match]]:
    """Pair truth episodes with classified ones (same port, overlapping in time)."""
    tol = int(tolerance_s * S)
    end_of_capture = truth["end_ns"]
    det = []
    ports = episodes.text("port")
    for i in range(episodes.rows):
        end = int(episodes["end_ns"][i])
        det.append((ports[i], int(episodes["start_ns"][i]), end if end >= 0 else end_of_capture,
                    set(episodes.labels_of(i)), int(episodes["flaps"][i]) > 0))
    used = set()
    matches = []
    for t in truth["episodes"]:
        t_end = t["end_ns"] if t["end_ns"] is not None else end_of_capture
        predicted: set = set()
        for j, (port, start, end, labels, has_flaps) in enumerate(det):
            # flap episodes pair with flap episodes, LLDP-only ones with LLDP-only ones
            if (port == t["port"] and has_flaps == (t["flaps"] > 0) and start - tol <= t_end
                    and t["start_ns"] - tol <= end):
                predicted |= labels
                used.add(j)
        matches.append(Match(t["port"], t["start_ns"], set(t["labels"]), predicted, t["family"]))
    unmatched = [Match(port, start, set(), labels) for j, (port, start, _, labels, _) in enumerate(det) if j not in used]
    return matches, unmatched
