"""Compare decoded captures table by table, for differential tests between backends.

Works on anything shaped like a capture: ``.tables[name][column]`` (numpy arrays),
``.strings`` (the shared string table) and ``.counts`` — the reference RawCapture and
the C++ Capture alike. STRING columns are compared as text, since each backend interns
strings in its own order. A mismatch names the table, the row, the frame and every
differing column, then shows both rows in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from reference_loader import load_schema

schema = load_schema()

_MAC_COLUMNS = ("src_mac",)


def column_text(capture, table: str, column: str) -> list[str | None]:
    strings = capture.strings
    return [strings[i] if i >= 0 else None for i in np.asarray(capture.tables[table][column]).tolist()]


def table_rows(capture, table: str, columns: Iterable[str] | None = None) -> list[dict]:
    """The rows of one table as dicts, STRING columns decoded (None where -1)."""
    kinds = dict(schema.TABLES[table])
    names = list(columns) if columns is not None else list(kinds)
    cols = {}
    for name in names:
        if kinds[name] == schema.STRING:
            cols[name] = column_text(capture, table, name)
        else:
            cols[name] = np.asarray(capture.tables[table][name]).tolist()
    n = len(cols[names[0]]) if names else 0
    return [{name: cols[name][i] for name in names} for i in range(n)]


def check_schema(capture, tables: Iterable[str] | None = None, label: str = "capture") -> None:
    """Every table and column present, one length per table, with the schema dtype."""
    for table in tables or schema.TABLES:
        assert table in capture.tables, f"{label}: table {table!r} missing"
        lengths = set()
        for name, kind in schema.TABLES[table]:
            col = np.asarray(capture.tables[table][name])
            assert col.dtype == schema.dtype_of(kind), (
                f"{label}: {table}.{name} has dtype {col.dtype}, schema says {schema.dtype_of(kind)}"
            )
            assert col.ndim == 1, f"{label}: {table}.{name} is not 1-D"
            lengths.add(len(col))
        assert len(lengths) <= 1, f"{label}: columns of {table} differ in length: {sorted(lengths)}"
    assert set(capture.counts) == set(schema.COUNT_KINDS), f"{label}: count kinds {sorted(capture.counts)}"


def _fmt(column: str, value) -> str:
    if column in _MAC_COLUMNS and isinstance(value, int):
        return f"{value} ({':'.join(f'{b:02x}' for b in value.to_bytes(6, 'big'))})"
    return repr(value)


def _fmt_row(row: dict | None) -> str:
    if row is None:
        return "    (no row)"
    return "\n".join(f"    {k:>20} = {_fmt(k, v)}" for k, v in row.items())


def assert_tables_equal(
    a,
    b,
    tables: Iterable[str] | None = None,
    *,
    ignore_columns: Iterable[str] = (),
    counts: bool = True,
    labels: tuple[str, str] = ("a", "b"),
    dtypes: bool = True,
) -> None:
    """Assert that two captures hold the same rows in the same order.

    ``tables``: the tables to compare (default: all of schema.TABLES). ``ignore_columns``:
    column names skipped in every table (e.g. ``{"reason"}`` when the wording of
    malformed reasons is backend-specific). ``counts``: also compare the per-kind counts.
    """
    la, lb = labels
    tables = list(tables) if tables is not None else list(schema.TABLES)
    if dtypes:
        check_schema(a, tables, la)
        check_schema(b, tables, lb)
    ignore = set(ignore_columns)
    for table in tables:
        columns = [name for name, _ in schema.TABLES[table] if name not in ignore]
        rows_a, rows_b = table_rows(a, table, columns), table_rows(b, table, columns)
        for i in range(max(len(rows_a), len(rows_b))):
            ra = rows_a[i] if i < len(rows_a) else None
            rb = rows_b[i] if i < len(rows_b) else None
            if ra == rb:
                continue
            if ra is None or rb is None:
                what = f"{la} has {len(rows_a)} rows, {lb} has {len(rows_b)}"
            else:
                diff = [c for c in columns if ra[c] != rb[c]]
                what = "; ".join(f"{c}: {la}={_fmt(c, ra[c])} {lb}={_fmt(c, rb[c])}" for c in diff)
            frame = (ra or rb).get("frame")
            raise AssertionError(
                f"table {table!r} differs first at row {i} (frame {frame}): {what}\n"
                f"  {la}:\n{_fmt_row(ra)}\n  {lb}:\n{_fmt_row(rb)}\n"
                f"  ({la}: {len(rows_a)} rows, {lb}: {len(rows_b)} rows)"
            )
    if counts:
        ca, cb = dict(a.counts), dict(b.counts)
        assert ca == cb, f"counts differ: {la}={ca} {lb}={cb}"


@dataclass
class _View:
    tables: dict
    strings: list
    counts: dict


def without_frames(capture, frames: Iterable[int]):
    """A view of ``capture`` without the rows of the given frame indices (to compare
    around a documented divergence); counts are left as they are."""
    drop = np.array(sorted(set(frames)), dtype=np.int64)
    tables = {}
    for table in capture.tables:
        cols = {name: np.asarray(capture.tables[table][name]) for name, _ in schema.TABLES[table]}
        keep = ~np.isin(cols["frame"], drop)
        tables[table] = {name: col[keep] for name, col in cols.items()}
    return _View(tables, list(capture.strings), dict(capture.counts))
