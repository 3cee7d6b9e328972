"""`flapwatch replay`: captures -> detections, episodes and risk, in the format asked for.

The job is analyze() (C++), then Python classification and risk; this module turns
the result into rows (decoded strings, int64 ns times) and writes them as a terminal
table, JSON, JSON lines, CSV or Parquet. Every format carries the same columns.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import schema
from .analysis import Analysis
from .timefmt import duration, iso_us

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
    "risk",
]

DETECTION_OUTPUT_TABLES = ("flaps", "policy_events", "pfc_storms", "pause_stats", "lldp_events")
TABLES = ("ports", "episodes") + DETECTION_OUTPUT_TABLES


@dataclass
class ReplayResult:
    analysis: Analysis
    episodes: list[dict] = field(default_factory=list)  # Episodes.to_records(): labels and evidence
    risk: dict[str, float] = field(default_factory=dict)  # per port: the score at the end
    signatures: dict[str, list[str]] = field(default_factory=dict)  # per port: every label of its episodes
    risk_curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # per port: (ts_ns, score)

    def rows(self, table: str) -> list[dict]:
        if table == "ports":
            return port_rows(self)
        if table == "episodes":
            return self.episodes
        return table_rows(self.analysis, table)


def build_result(analysis: Analysis) -> ReplayResult:
    """The analysis plus what Python adds: episodes with their signatures, and risk."""
    from .risk import score_analysis
    from .signatures import LABELS, classify

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
    return ReplayResult(analysis, records, risk, signatures, curves)


def table_rows(analysis: Analysis, table: str) -> list[dict]:
    """A detection table as rows: strings decoded, LLDP events named, numpy -> Python."""
    t = analysis.tables[table]
    data = t.to_dict()
    names = list(data)
    columns = [v if isinstance(v, list) else v.tolist() for v in data.values()]
    rows = [dict(zip(names, values)) for values in zip(*columns)]
    if table == "lldp_events":
        for r in rows:
            r["event"] = schema.LLDP_EVENTS[r["event"]]
    if table == "policy_events":
        for r in rows:
            r["event"] = "trip" if r["event"] else "clear"
    return rows


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


def port_rows(result: ReplayResult) -> list[dict]:
    a = result.analysis
    paused = paused_fraction(a)
    rows = []
    for r in table_rows(a, "ports"):
        port = r["port"]
        rows.append(
            {
                "port": port,
                "flaps": r["flaps"],
                "hidden_flaps": r["hidden_flaps"],
                "micro_flaps": r["micro_flaps"],
                "longest_down_ns": r["longest_down_ns"],
                "down_ns_total": r["down_ns_total"],
                "outages_over_budget": r["outages_over_budget"],
                "oper_up": r["oper_up"],
                "signatures": ",".join(result.signatures.get(port, [])),
                "pfc_storms": r["storms"],
                "paused_pct": round(100.0 * paused.get(port, 0.0), 3),
                "neighbor": r["neighbor"] or (r["neighbor_chassis_id"] or ""),
                "risk": round(float(result.risk.get(port, 0.0)), 4),
            }
        )
    return rows


# ----------------------------------------------------------------------------- writers


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(result: ReplayResult) -> dict:
    a = result.analysis
    out = {
        "files": a.paths,
        "first_ns": a.first_ns,
        "last_ns": a.last_ns,
        "counts": a.counts,
        "warnings": a.warnings,
    }
    for table in TABLES:
        out[table] = result.rows(table)
    return out


def write_json(result: ReplayResult, out) -> None:
    json.dump(to_json(result), out, default=_json_default, separators=(",", ":"))
    out.write("\n")


def write_jsonl(result: ReplayResult, out) -> None:
    """One detection per line, {"type": <table>, ...}; the port summaries last."""
    for table in DETECTION_OUTPUT_TABLES + ("episodes", "ports"):
        kind = table.rstrip("s") if table != "pfc_storms" else "pfc_storm"
        for row in result.rows(table):
            out.write(json.dumps({"type": kind, **row}, default=_json_default, separators=(",", ":")))
            out.write("\n")


def _flat(row: dict) -> dict:
    """CSV/Parquet cells: lists and dicts as JSON text."""
    return {k: (json.dumps(v, default=_json_default) if isinstance(v, (list, dict)) else v) for k, v in row.items()}


def write_csv(result: ReplayResult, out, table: str) -> None:
    rows = [_flat(r) for r in result.rows(table)]
    columns = PORT_COLUMNS if table == "ports" else (list(rows[0]) if rows else _columns_of(table))
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


def _columns_of(table: str) -> list[str]:
    if table in schema.DETECTION_TABLES:
        return [c for c, _ in schema.DETECTION_TABLES[table]]
    return ["port", "start_ns", "end_ns", "flaps", "labels"]


def write_parquet(result: ReplayResult, path: str, table: str) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:  # an optional dependency: say how to get it
        raise SystemExit("flapwatch: --format parquet needs pyarrow: pip install 'flapwatch[parquet]'") from e
    rows = [_flat(r) for r in result.rows(table)]
    if rows:
        arrow = pa.Table.from_pylist(rows)
    else:
        arrow = pa.table({c: pa.array([], pa.int64()) for c in (PORT_COLUMNS if table == "ports" else _columns_of(table))})
    pq.write_table(arrow, path)


# ------------------------------------------------------------------------ text tables


class Style:
    """ANSI colours, only when writing to a terminal (and NO_COLOR is unset)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text

    def red(self, t):
        return self(t, "31")

    def yellow(self, t):
        return self(t, "33")

    def green(self, t):
        return self(t, "32")

    def bold(self, t):
        return self(t, "1")


def _render(headers: list[str], rows: list[list[str]], style: Style, colour=None) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [style.bold("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths)]
        if colour:
            cells = [colour(i, c, r) for i, c in enumerate(cells)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def write_text(result: ReplayResult, out, style: Style) -> None:
    a = result.analysis
    c = a.counts
    print(
        f"{len(a.paths)} capture(s), {sum(c.values())} frames from {iso_us(a.first_ns)} to {iso_us(a.last_ns)} "
        f"({duration(a.span_ns)}): " + ", ".join(f"{k} {v}" for k, v in c.items()),
        file=out,
    )
    ports = port_rows(result)
    headers = ["port", "flaps", "hidden", "micro", "longest", "down total", "over budget", "signatures", "storms",
               "paused", "neighbor", "risk"]
    rows = [
        [p["port"], str(p["flaps"]), str(p["hidden_flaps"]), str(p["micro_flaps"]), duration(p["longest_down_ns"]),
         duration(p["down_ns_total"]), str(p["outages_over_budget"]), p["signatures"] or "-", str(p["pfc_storms"]),
         f"{p['paused_pct']:.2f}%", p["neighbor"] or "-", f"{p['risk']:.2f}"]
        for p in ports
    ]

    def colour(i, cell, row):
        if i == 1 and row[1] != "0":
            return style.yellow(cell)
        if i == 6 and row[6] != "0":
            return style.red(cell)
        if i == 11:
            risk = float(row[11])
            return style.red(cell) if risk >= 0.5 else style.green(cell)
        return cell

    print("\nPorts", file=out)
    print(_render(headers, rows, style, colour), file=out)
    if result.episodes:
        print("\nEpisodes", file=out)
        for e in result.episodes:
            period = f", period {duration(e['period_ns'])}" if e.get("period_ns") else ""
            head = (f"{e['port']}  {iso_us(e['start_ns'])} .. {iso_us(e['end_ns'])}  {e['flaps']} flap(s): "
                    f"{', '.join(e['labels'])}{period}")
            print(style.bold(head), file=out)
            for label, ev in e.get("evidence", {}).items():
                features = ", ".join(f"{k}={v}" for k, v in ev["features"].items())
                print(f"    {label} ({ev['confidence']:.2f}): {ev['rule']}  [{features}]", file=out)
    flaps = table_rows(a, "flaps")
    if flaps:
        print("\nFlaps", file=out)
        rows = [[f["port"], iso_us(f["down_ns"]), iso_us(f["up_ns"]), duration(f["duration_ns"]),
                 "hidden" if f["hidden"] else "", "over budget" if f["over_budget"] else ""] for f in flaps]
        print(_render(["port", "down", "up", "duration", "", ""], rows, style), file=out)
    storms = table_rows(a, "pfc_storms")
    if storms:
        print("\nPFC storms", file=out)
        rows = [[s["port"], "all (802.3x)" if s["priority"] < 0 else str(s["priority"]), iso_us(s["start_ns"]),
                 duration(s["end_ns"] - s["start_ns"]), duration(s["paused_ns"]), str(s["frames"])] for s in storms]
        print(_render(["port", "priority", "start", "length", "paused", "frames"], rows, style), file=out)
    events = table_rows(a, "lldp_events")
    if events:
        print("\nLLDP events", file=out)
        rows = [[e["port"], iso_us(e["ts_ns"]), e["event"], e["system_name"] or "-", e["chassis_id"] or "-",
                 e["port_id"] or "-"] for e in events]
        print(_render(["port", "time", "event", "system name", "chassis id", "port id"], rows, style), file=out)
    policy = table_rows(a, "policy_events")
    if policy:
        print("\nPolicy events", file=out)
        rows = [[p["port"], iso_us(p["ts_ns"]), p["policy"], p["event"], f"{p['value']:g}"] for p in policy]
        print(_render(["port", "time", "policy", "event", "value"], rows, style), file=out)
    for w in a.warnings:
        print(style.yellow(f"warning: {w}"), file=out)


def write(result: ReplayResult, fmt: str, output: str | None, table: str, style: Style) -> None:
    """Writes `fmt` to the file `output` (stdout when None). For csv/parquet an output
    directory receives one file per table."""
    if fmt == "parquet":
        if not output:
            raise SystemExit("flapwatch: --format parquet needs -o FILE or -o DIR/")
        if output.endswith("/") or os.path.isdir(output):
            Path(output).mkdir(parents=True, exist_ok=True)
            for t in TABLES:
                write_parquet(result, str(Path(output) / f"{t}.parquet"), t)
        else:
            write_parquet(result, output, table)
        return
    if fmt == "csv" and output and (output.endswith("/") or os.path.isdir(output)):
        Path(output).mkdir(parents=True, exist_ok=True)
        for t in TABLES:
            with open(Path(output) / f"{t}.csv", "w", newline="") as f:
                write_csv(result, f, t)
        return
    out = open(output, "w", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            write_json(result, out)
        elif fmt == "jsonl":
            write_jsonl(result, out)
        elif fmt == "csv":
            write_csv(result, out, table)
        else:
            write_text(result, out, style)
    finally:
        if output:
            out.close()

