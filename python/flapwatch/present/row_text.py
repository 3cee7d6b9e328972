"""A detection table's rows as text, made from its columns in one go: what JSON and CSV
write of table_rows() (tables/table.py), without a dict per row.

Each column becomes Python values a batch of rows at a time (tolist(); strings and enum
names looked up from tokens encoded once per distinct value), and each row is one `%`
format of a template: the bytes json.dumps(rows, separators=(",", ":")) writes, without
building the rows (bench/README.md, "Output"). A writer takes a batch, writes it and takes
the next: the text in memory is one batch's, whatever the table's size.
tests/present/test_row_text.py holds them equal on every table, with non-finite floats,
missing strings and non-ASCII names."""

from __future__ import annotations

import json
import math
from typing import Iterator, Mapping

import numpy as np

from flapwatch.tables import schema
from flapwatch.tables.table import table_columns

_quote = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii)
BATCH_ROWS = 1 << 14


def _json_floats(values: np.ndarray) -> list:
    """json's tokens for floats: the floats themselves where all are finite (`%s` formats a
    float as repr, json's token), else repr or json's names for the non-finite ones."""
    if np.isfinite(values).all():
        return values.tolist()
    return [repr(v) if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
            for v in values.tolist()]


def json_row_batches(name: str, columns: Mapping[str, np.ndarray], strings: list[str], prefix: str = "",
                     batch: int = BATCH_ROWS) -> Iterator[list[str]]:
    """Each row of table `name` as the JSON object json.dumps writes of its table_rows()
    row (compact separators), with `prefix` (`"type":"flap",` say) before its first key;
    `batch` rows at a time."""
    kinds = dict(schema.ALL_TABLES[name])
    fields, makers = [], []
    text = None  # every string's token, then null for -1 (the index -1 takes the last)
    for column in columns:
        fields.append(_quote(column) + ":%s")
        if kinds.get(column) == schema.STRING:
            if text is None:
                text = np.array([_quote(s) for s in strings] + ["null"], dtype=object)
            makers.append(lambda a, t=text: t[a].tolist())
        elif (name, column) in schema.ENUMS:
            labels = np.array([_quote(s) for s in schema.ENUMS[(name, column)]], dtype=object)
            makers.append(lambda a, t=labels: t[a].tolist())
        elif columns[column].dtype.kind == "f":
            makers.append(_json_floats)
        else:
            makers.append(np.ndarray.tolist)  # ints: %s is their repr, json's token
    template = "{" + prefix + ",".join(fields) + "}"
    arrays = [columns[c] for c in columns]
    for lo in range(0, len(arrays[0]) if arrays else 0, batch):
        yield [template % row for row in zip(*(make(a[lo:lo + batch]) for make, a in zip(makers, arrays)))]


def cell_batches(name: str, columns: Mapping[str, np.ndarray], strings: list[str],
                 batch: int = BATCH_ROWS) -> Iterator[list[list]]:
    """table_columns() (the row form's values, column by column), `batch` rows at a time:
    what a CSV writer takes row by row with zip(*columns)."""
    n = len(next(iter(columns.values()))) if columns else 0
    for lo in range(0, n, batch):
        yield table_columns(name, {c: a[lo:lo + batch] for c, a in columns.items()}, strings)
