"""A device from the live agent's event log instead of captures: JSON lines
(``{"type": "flap", ...row}``, what ``flapwatch agent --events`` writes) or Parquet with a
``type`` column. The rows become the detection tables again (strings interned, enums as
their numbers) and the per-port totals are recounted from them, so classification and
risk run on them as replay runs them on an analysis. What an event log does not carry
(the LLDPDUs received, frame counts) is absent: the risk model sees no LLDP gaps."""

from __future__ import annotations

import gzip
import json
import os

import numpy as np
import pandas as pd

from flapwatch.tables import schema
from flapwatch.tables.table import Table

EVENT_LOG_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".events.parquet")
_TYPES = {kind: table for table, kind in schema.ROW_TYPES.items()}


def is_event_log(path: str) -> bool:
    return os.fspath(path).endswith(EVENT_LOG_SUFFIXES)


def read_rows(path: str) -> dict[str, pd.DataFrame]:
    """The rows of an event log by type (times stay int64: each type's rows make their own frame)."""
    if path.endswith(".parquet"):
        rows = pd.read_parquet(path, dtype_backend="numpy_nullable")
        if "type" not in rows:
            raise ValueError(f"{path}: not an event log (no 'type' column)")
        return {k: g.dropna(axis=1, how="all").reset_index(drop=True) for k, g in rows.groupby("type")}
    by_type: dict[str, list[dict]] = {}
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                by_type.setdefault(row.pop("type", None), []).append(row)
    if None in by_type:
        raise ValueError(f"{path}: not an event log (a line without 'type')")
    return {k: pd.DataFrame(v) for k, v in by_type.items()}


def _columns(table: str, rows: pd.DataFrame, strings: list[str], index: dict[str, int]) -> dict[str, np.ndarray]:
    out = {}
    for name, kind in schema.DETECTION_TABLES[table]:
        values = rows[name] if name in rows else pd.Series([None] * len(rows), dtype=object)
        if kind != schema.STRING and (table, name) not in schema.ENUMS:
            out[name] = values.fillna(-1).to_numpy(dtype=schema.dtype_of(kind)) if len(values) else np.zeros(0, schema.dtype_of(kind))
            continue
        if kind == schema.STRING:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            remap = np.array([index.setdefault(u, len(index)) for u in uniques.astype(str)] or [0], np.int32)
            out[name] = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
        else:  # an enum: its name back to its number
            names = schema.ENUMS[(table, name)]
            out[name] = values.map({n: i for i, n in enumerate(names)}).fillna(0).astype(schema.dtype_of(kind)).to_numpy()
    strings[:] = sorted(index, key=index.get)
    order = np.argsort(out["ts_ns"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def _ports(tables: dict[str, dict], strings: list[str], micro_ns: int, end_ns: int) -> dict[str, np.ndarray]:
    """The per-port totals recounted from the rows (as analyze's keep_since does)."""
    f = pd.DataFrame(tables["flaps"])
    st = pd.DataFrame(tables["pfc_storms"])
    ps = pd.DataFrame(tables["pause_stats"])
    ll = pd.DataFrame(tables["lldp_events"])
    ports = np.unique(np.concatenate([t["port"] for t in tables.values() if len(t["port"])] or [np.zeros(0, np.int32)]))
    ports = ports[ports >= 0]
    p = pd.DataFrame({"port": ports})
    done = f[f["up_ns"] >= 0] if len(f) else f
    known = done[done["duration_ns"] >= 0] if len(done) else done
    agg = pd.DataFrame({
        "flaps": done.groupby("port").size() if len(done) else pd.Series(dtype=np.int64),
        "hidden_flaps": done.groupby("port")["hidden"].sum() if len(done) else pd.Series(dtype=np.int64),
        "micro_flaps": (known["duration_ns"] < micro_ns).groupby(known["port"]).sum() if len(known) else pd.Series(dtype=np.int64),
        "down_ns_total": known.groupby("port")["duration_ns"].sum() if len(known) else pd.Series(dtype=np.int64),
        "longest_down_ns": known.groupby("port")["duration_ns"].max() if len(known) else pd.Series(dtype=np.int64),
        "outages_over_budget": f.groupby("port")["over_budget"].sum() if len(f) else pd.Series(dtype=np.int64),
        "storms": st.groupby("port").size() if len(st) else pd.Series(dtype=np.int64),
        "paused_ns": ps.groupby("port")["paused_ns"].sum() if len(ps) else pd.Series(dtype=np.int64),
        "speed_bps": ps.groupby("port")["speed_bps"].max() if len(ps) else pd.Series(dtype=np.int64),
    })
    p = p.merge(agg, left_on="port", right_index=True, how="left")
    last = f.drop_duplicates("port", keep="last") if len(f) else f
    still_down = set(last.loc[last["up_ns"] < 0, "port"].tolist()) if len(last) else set()
    p["oper_up"] = np.where(p["port"].isin(still_down), 0, 1)
    heard = ll[ll["event"] <= 2].drop_duplicates("port", keep="last").set_index("port") if len(ll) else None
    for col, src in (("neighbor", "system_name"), ("neighbor_chassis_id", "chassis_id"), ("neighbor_port_id", "port_id")):
        p[col] = p["port"].map(heard[src]) if heard is not None else -1
    out = {}
    for name, kind in schema.DETECTION_TABLES["ports"]:
        col = p[name] if name in p else pd.Series(np.zeros(len(p)))
        out[name] = col.fillna(-1 if kind == schema.STRING else 0).astype(schema.dtype_of(kind)).to_numpy()
    out["ts_ns"] = np.full(len(p), end_ns, np.int64)
    return out


def analysis_from_events(paths: list[str], config=None):
    """An Analysis built from event logs (one device's)."""
    from flapwatch.config import Config
    from flapwatch.detect.analysis import Analysis

    config = Config.coerce(config)
    logs = [read_rows(os.fspath(p)) for p in paths]
    strings: list[str] = []
    index: dict[str, int] = {}
    tables = {}
    for table in schema.STREAM_TABLES:
        parts = [log[schema.ROW_TYPES[table]] for log in logs if schema.ROW_TYPES[table] in log]
        part = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        tables[table] = _columns(table, part, strings, index)
    ts = np.concatenate([t["ts_ns"] for t in tables.values()])
    first, last = (int(ts.min()), int(ts.max())) if len(ts) else (-1, -1)
    records = sum(len(t["ts_ns"]) for t in tables.values())
    tables["ports"] = _ports(tables, strings, int(config.micro_flap_ms * 1e6), last)
    return Analysis(paths=[os.fspath(p) for p in paths],
                    tables={t: Table(t, tables[t], strings) for t in schema.DETECTION_TABLES}, strings=strings,
                    counts={k: 0 for k in schema.COUNT_KINDS}, config=config, records=records, first_ns=first,
                    last_ns=last)
