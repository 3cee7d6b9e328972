"""A detection table's rows as text, made from its columns in one go: what JSON and CSV
write of table_rows() (tables/table.py), without a dict per row.

Each column becomes a list of Python values once (tolist(); strings and enum names looked
up from tokens encoded once per distinct value), and each row is one `%` format of a
template: the bytes json.dumps(rows, separators=(",", ":")) writes, without building the
rows (bench/README.md, "Output"). tests/present/test_row_text.py holds them equal on every
table, with non-finite floats, missing strings and non-ASCII names."""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

from flapwatch.tables import schema

_quote = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii)


def _json_float(value: float) -> str:
    """json's token for a float: repr, or its names for the non-finite ones."""
    if math.isfinite(value):
        return repr(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def json_rows(name: str, columns: Mapping[str, np.ndarray], strings: list[str], prefix: str = "") -> list[str]:
    """Each row of table `name` as the JSON object json.dumps writes of its table_rows()
    row (compact separators), with `prefix` (`"type":"flap",` say) before its first key."""
    kinds = dict(schema.ALL_TABLES[name])
    fields, values = [], []
    text = None  # every string's token, then null for -1 (the index -1 takes the last)
    for column in columns:
        array = columns[column]
        key = _quote(column) + ":"
        if kinds.get(column) == schema.STRING:
            if text is None:
                text = np.array([_quote(s) for s in strings] + ["null"], dtype=object)
            values.append(text[array].tolist())
            fields.append(key + "%s")
        elif (name, column) in schema.ENUMS:
            labels = np.array([_quote(s) for s in schema.ENUMS[(name, column)]], dtype=object)
            values.append(labels[array].tolist())
            fields.append(key + "%s")
        elif array.dtype.kind == "f":
            if np.isfinite(array).all():
                values.append(array.tolist())
                fields.append(key + "%r")  # repr: json's float token
            else:
                values.append([_json_float(v) for v in array.tolist()])
                fields.append(key + "%s")
        else:
            values.append(array.tolist())
            fields.append(key + "%d")
    template = "{" + prefix + ",".join(fields) + "}"
    return [template % row for row in zip(*values)]


def json_array(name: str, columns: Mapping[str, np.ndarray], strings: list[str]) -> str:
    """json.dumps(table_rows(name, columns, strings), separators=(",", ":")), from the columns."""
    return "[" + ",".join(json_rows(name, columns, strings)) + "]"


def cell_columns(name: str, columns: Mapping[str, np.ndarray], strings: list[str]) -> list[list]:
    """The table's columns as the Python values its table_rows() rows hold (strings decoded,
    None for -1; enums named): what a CSV writer takes row by row with zip(*columns)."""
    kinds = dict(schema.ALL_TABLES[name])
    text = None
    out = []
    for column in columns:
        array = columns[column]
        if kinds.get(column) == schema.STRING:
            if text is None:
                text = np.array(list(strings) + [None], dtype=object)
            out.append(text[array].tolist())
        elif (name, column) in schema.ENUMS:
            out.append(np.array(schema.ENUMS[(name, column)], dtype=object)[array].tolist())
        else:
            out.append(array.tolist())
    return out
