"""The per-device work, as `flapwatch replay` does it (analyze, then build_result: episodes
with their signatures, and risk), turned into Arrow tables of fixed schemas and written as
one Parquet file per table under ``OUT/<table>/device=<name>/`` (hive partitioning).

Every table keeps the one row form (``ReplayResult.rows``; strings decoded, enums named),
times int64 ns since the epoch (-1 unknown), lists and dicts (episode labels, evidence) as
JSON text as replay's Parquet has them. A device writes a file only for a table it has
rows in; a file is written to a temporary name and renamed, so a task re-run on another
worker (a worker lost) leaves the same files."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from flapwatch.tables import schema

# What the fleet writes per device: the tables every fleet question starts from.
FLEET_TABLES = ("flaps", "episodes", "pfc_storms", "lldp_events", "ports", "risk")
PART_FILE = "part-0.parquet"


@dataclass
class DeviceInput:
    device: str
    paths: list[str]
    size: int = 0


@dataclass
class DeviceStats:
    device: str
    frames: int = 0
    records: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    pid: int = 0  # the worker process that did it


def _arrow_type(kind):
    import pyarrow as pa

    if kind == schema.STRING:
        return pa.string()
    return pa.from_numpy_dtype(np.dtype(kind))


def _infer(name: str, rows: list[dict]):
    """The Arrow type of a column the schema does not state, from its first value."""
    import pyarrow as pa

    kinds = {type(r[name]) for r in rows if r.get(name) is not None}
    if not kinds:  # no value to tell: counts and times are integers, scores floats
        return pa.float64() if name.startswith("risk") and not name.endswith("_ns") else pa.int64()
    if all(issubclass(k, (bool, np.bool_)) for k in kinds):
        return pa.bool_()
    if any(issubclass(k, (float, np.floating)) for k in kinds):
        return pa.float64()
    if all(issubclass(k, (int, np.integer)) for k in kinds):
        return pa.int64()
    return pa.string()


def table_schema(table: str, rows: list[dict] | None = None):
    """The Arrow schema of a fleet table: the columns of ``rows`` (what the core and replay
    give), typed by tables/schema.py where it states them; its columns when there are no rows."""
    import pyarrow as pa

    known: dict[str, object] = {}
    if table in schema.DETECTION_TABLES and table != "ports":
        for name, kind in schema.DETECTION_TABLES[table]:
            known[name] = pa.string() if (table, name) in schema.ENUMS else _arrow_type(kind)
    elif table == "episodes":
        known = {"episode": pa.int64(), "port": pa.string(), "start_ns": pa.int64(), "end_ns": pa.int64(),
                 "flaps": pa.int64(), "labels": pa.string(), "period_ns": pa.int64(), "evidence": pa.string()}
    elif table == "risk":
        known = {"ts_ns": pa.int64(), "port": pa.string(), "score": pa.float64()}
    elif table == "ports":
        from flapwatch.assess.result import PORT_COLUMNS

        known = {"port": pa.string(), "signatures": pa.string(), "neighbor": pa.string(), "paused_pct": pa.float64()}
        if not rows:  # the other columns are typed by their values
            return pa.schema([(c, known[c] if c in known else _infer(c, [])) for c in PORT_COLUMNS])
    else:
        raise KeyError(table)
    if not rows:
        return pa.schema(list(known.items()))
    return pa.schema([(c, known[c] if c in known else _infer(c, rows)) for c in rows[0]])


def _flat(row: dict) -> dict:
    return {k: (json.dumps(v, separators=(",", ":"), sort_keys=True) if isinstance(v, (list, dict)) else v)
            for k, v in row.items()}


def risk_rows(result) -> list[dict]:
    """Each port's risk curve where the score changes (the first and last points kept)."""
    out = []
    for port, points in sorted(result.risk_curves.items()):
        if not points:
            continue
        ts = np.fromiter((t for t, _ in points), np.int64, len(points))
        sc = np.fromiter((s for _, s in points), np.float64, len(points))
        keep = np.ones(len(sc), bool)
        keep[1:] = sc[1:] != sc[:-1]
        keep[-1] = True
        out += [{"ts_ns": t, "port": port, "score": s} for t, s in zip(ts[keep].tolist(), sc[keep].tolist())]
    return out


def result_rows(result, table: str) -> list[dict]:
    """A ReplayResult's rows of one fleet table, as they go into Parquet (the device column is
    the partition, so an episode's own `device` is left out)."""
    if table == "risk":
        return risk_rows(result)
    rows = result.rows(table)
    if table == "episodes":
        rows = [{k: v for k, v in r.items() if k != "device"} for r in rows]
    return [_flat(r) for r in rows]


def to_arrow(table: str, rows: list[dict]):
    import pyarrow as pa

    sch = table_schema(table, rows)
    return pa.Table.from_pylist(rows, schema=sch)


def analyze_device(dev: DeviceInput, config=None, since_ns: int | None = None, until_ns: int | None = None):
    """What replay does for one device: the ReplayResult (from its captures, or from its
    event logs: eventlog.py)."""
    import warnings

    from flapwatch.assess.result import build_result
    from flapwatch.detect.analysis import analyze
    from flapwatch.errors import CaptureWarning

    from flapwatch.fleet.eventlog import analysis_from_events, is_event_log

    logs = [is_event_log(p) for p in dev.paths]
    if any(logs):
        if not all(logs):
            raise ValueError(f"device {dev.device}: captures and event logs together ({', '.join(dev.paths)})")
        return build_result(analysis_from_events(dev.paths, config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)
        analysis = analyze(dev.paths, config, since_ns=since_ns, until_ns=until_ns)
    return build_result(analysis)


def write_device(dev: DeviceInput, out: str, config=None, since_ns: int | None = None,
                 until_ns: int | None = None) -> DeviceStats:
    """Analyze one device and write its tables under ``out``."""
    import pyarrow.parquet as pq

    t = time.perf_counter()
    result = analyze_device(dev, config, since_ns, until_ns)
    stats = DeviceStats(dev.device, frames=sum(result.analysis.counts.values()), records=result.analysis.records,
                        warnings=list(result.analysis.warnings), pid=os.getpid())
    for table in FLEET_TABLES:
        rows = result_rows(result, table)
        stats.rows[table] = len(rows)
        folder = os.path.join(out, table, f"device={dev.device}")
        path = os.path.join(folder, PART_FILE)
        if not rows:
            if os.path.exists(path):
                os.remove(path)
            continue
        os.makedirs(folder, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        pq.write_table(to_arrow(table, rows), tmp)
        os.replace(tmp, path)
    stats.seconds = time.perf_counter() - t
    return stats
