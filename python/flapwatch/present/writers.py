"""Writers: a replay result as JSON, JSON lines, CSV or Parquet (or the terminal text),
every format with the same tables, columns and enum names (tables.schema)."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

import numpy as np

from flapwatch.assess.result import PORT_COLUMNS
from flapwatch.present.row_text import cell_batches, json_row_batches
from flapwatch.present.text import Style, write_text
from flapwatch.tables import schema

if TYPE_CHECKING:
    import pyarrow as pa

    from flapwatch.assess.result import ReplayResult

def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _head(result: "ReplayResult") -> dict:
    """The JSON document's keys before its tables."""
    a = result.analysis
    return {"files": a.paths, "first_ns": a.first_ns, "last_ns": a.last_ns, "counts": a.counts,
            "warnings": a.warnings}


def to_json(result: "ReplayResult") -> dict:
    out = _head(result)
    for table in schema.OUTPUT_TABLES:
        out[table] = result.rows(table)
    return out


class Chunks:
    """A text stream's writes gathered into pieces of at least `size` characters. Output
    does not depend on how the stream buffers: with PYTHONUNBUFFERED (set in many container
    images) every write to stdout is a system call, and the rows of a big result are
    hundreds of thousands of writes (bench/README.md, "Output"). close() writes the rest."""

    def __init__(self, out, size: int = 1 << 16):
        self._out, self._size = out, size
        self._parts: list[str] = []
        self._n = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._n += len(text)
        if self._n >= self._size:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts))
            self._parts.clear()
            self._n = 0

    def close(self) -> None:
        self.flush()


def _dumps(value) -> str:
    # dumps, not dump: dump encodes in Python a token at a time, dumps in C (~10x faster on
    # a big result) into one string, written once.
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def write_json(result: "ReplayResult", out) -> None:
    """to_json(result) as json.dumps writes it; the core's tables made from their columns a
    batch of rows at a time (present/row_text.py), the Python-side ones (ports, episodes)
    from their rows."""
    out.write(_dumps(_head(result))[:-1])  # its closing brace after the tables
    for table in schema.OUTPUT_TABLES:
        out.write(f",{json.dumps(table)}:")
        if table in schema.STREAM_TABLES:
            t = result.analysis.tables[table]
            separator = "["
            for rows in json_row_batches(table, t, t.strings):
                out.write(separator + ",".join(rows))
                separator = ","
            out.write("[]" if separator == "[" else "]")
        else:
            out.write(_dumps(result.rows(table)))
    out.write("}\n")


def write_jsonl(result: "ReplayResult", out) -> None:
    """One detection per line, {"type": <table>, ...}; the port summaries last."""
    for table in schema.STREAM_TABLES + ("episodes", "ports"):
        kind = schema.ROW_TYPES[table]
        if table in schema.STREAM_TABLES:
            t = result.analysis.tables[table]
            for rows in json_row_batches(table, t, t.strings, prefix=f'"type":{json.dumps(kind)},'):
                out.write("\n".join(rows) + "\n")
        else:
            for row in result.rows(table):
                out.write(_dumps({"type": kind, **row}) + "\n")


def _flat(row: dict) -> dict:
    """CSV/Parquet cells: lists and dicts as JSON text."""
    return {k: (json.dumps(v, default=_json_default) if isinstance(v, (list, dict)) else v) for k, v in row.items()}


def write_csv(result: "ReplayResult", out, table: str) -> None:
    import csv  # only here: the other formats' start stays lighter

    if table in schema.STREAM_TABLES:  # the core's: from its columns, no dict per row
        t = result.analysis.tables[table]
        w = csv.writer(out, lineterminator="\n")
        w.writerow(list(t))  # the schema's columns, in its order (an empty table has them too)
        for columns in cell_batches(table, t, t.strings):
            w.writerows(zip(*columns))
        return
    rows = [_flat(r) for r in result.rows(table)]
    columns = PORT_COLUMNS if table == "ports" else (list(rows[0]) if rows else EMPTY_EPISODE_COLUMNS)
    w = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


# The columns of an empty episodes table (the core's tables have theirs even when empty).
EMPTY_EPISODE_COLUMNS = ["port", "start_ns", "end_ns", "flaps", "labels"]


def _arrow_from_columns(table: str, columns) -> "pa.Table":
    """One of the core's tables (a Table) as Arrow straight from its numpy columns, in a
    schema fixed by the table, not by its values: strings and enum names as string (null for
    -1), instants (schema.TIME_COLUMNS) as timestamp[ns, UTC] (null for -1), the other
    integers int64, floats double: every capture's files read as one dataset (types taken
    from the values made an all-null column null and an empty table all int64)."""
    import pyarrow as pa

    kinds = dict(schema.DETECTION_TABLES[table])
    strings = None  # the string table, then null (where the index is -1)
    arrays = {}
    for name in columns:
        values = columns[name]
        if kinds.get(name) == schema.STRING:
            if strings is None:
                strings = pa.array(list(columns.strings) + [None], pa.string())
            arrays[name] = strings.take(pa.array(np.where(values >= 0, values, len(strings) - 1).astype(np.int64)))
        elif (table, name) in schema.ENUMS:
            arrays[name] = pa.array(list(schema.ENUMS[(table, name)]), pa.string()).take(pa.array(values))
        elif values.dtype.kind == "f":
            arrays[name] = pa.array(values, pa.float64())
        elif name in schema.TIME_COLUMNS:
            ns = values.astype(np.int64)
            arrays[name] = pa.array(ns, mask=ns < 0).cast(pa.timestamp("ns", tz="UTC"))
        else:
            arrays[name] = pa.array(values.astype(np.int64))
    return pa.table(arrays)


def write_parquet(result: "ReplayResult", path: str, table: str) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:  # an optional dependency: say how to get it
        raise ModuleNotFoundError("--format parquet needs pyarrow: pip install 'flapwatch[parquet]'") from e
    import pyarrow.compute as pc

    if table in schema.STREAM_TABLES:
        arrow = _arrow_from_columns(table, result.analysis.tables[table])
        pq.write_table(arrow, path)
        return
    rows = [_flat(r) for r in result.rows(table)]
    if rows:
        arrow = pa.Table.from_pylist(rows)
    else:
        arrow = pa.table({c: pa.array([], pa.int64()) for c in (PORT_COLUMNS if table == "ports" else EMPTY_EPISODE_COLUMNS)})
    for i, name in enumerate(arrow.column_names):  # instants as UTC timestamps, -1 (unknown) as null
        column = arrow.column(i)
        if name in schema.TIME_COLUMNS and pa.types.is_integer(column.type):
            column = pc.if_else(pc.less(column, 0), None, column).cast(pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
            arrow = arrow.set_column(i, name, column)
    pq.write_table(arrow, path)


def write(result: "ReplayResult", fmt: str, output: str | None, table: str, style: Style) -> None:
    """Writes `fmt` to the file `output` (stdout when None). For csv/parquet an output
    directory receives one file per table."""
    if fmt == "parquet":
        if not output:
            raise ValueError("--format parquet needs -o FILE or -o DIR/")
        if output.endswith("/") or os.path.isdir(output):
            os.makedirs(output, exist_ok=True)
            for t in schema.OUTPUT_TABLES:
                write_parquet(result, os.path.join(output, f"{t}.parquet"), t)
        else:
            write_parquet(result, output, table)
        return
    if fmt == "csv" and output and (output.endswith("/") or os.path.isdir(output)):
        os.makedirs(output, exist_ok=True)
        for t in schema.OUTPUT_TABLES:
            with open(os.path.join(output, f"{t}.csv"), "w", newline="") as f:
                write_csv(result, f, t)  # a file: buffered whatever PYTHONUNBUFFERED says
        return
    out = open(output, "w", newline="") if output else sys.stdout
    try:
        chunks = Chunks(out)
        if fmt == "json":
            write_json(result, chunks)
        elif fmt == "jsonl":
            write_jsonl(result, chunks)
        elif fmt == "csv":
            write_csv(result, chunks, table)
        else:
            write_text(result, chunks, style)
        chunks.close()
    finally:
        if output:
            out.close()
