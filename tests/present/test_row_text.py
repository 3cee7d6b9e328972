"""Rows as text from the columns (present/row_text.py): the bytes the row dicts gave through
json.dumps and csv.DictWriter, on every table of real captures and on columns made to hold
what the captures rarely do (non-finite floats, missing and non-ASCII strings, enums)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import flapwatch
from conftest import CAPTURES
from flapwatch.assess.result import build_result
from flapwatch.present import writers
from flapwatch.present.row_text import cell_batches, json_row_batches
from flapwatch.tables import schema
from flapwatch.tables.table import table_rows

COMPACT = {"separators": (",", ":")}


def json_rows(name, columns, strings, prefix=""):
    """Every batch of json_row_batches, as one list."""
    return [row for rows in json_row_batches(name, columns, strings, prefix) for row in rows]


def json_array(name, columns, strings):
    """What write_json writes of one of the core's tables."""
    return "[" + ",".join(json_rows(name, columns, strings)) + "]"


@pytest.fixture(scope="module", params=["lab.pcapng", "lab-wire.pcapng", "lab-netlink.pcap", "lab-tcpdump.pcap"])
def analysis(request):
    return flapwatch.analyze(str(CAPTURES / request.param))


def _dict_csv(rows: list[dict], header: list[str]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def _column_csv(name: str, table) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(list(table))
    for columns in cell_batches(name, table, table.strings, batch=3):  # batches end mid-table
        w.writerows(zip(*columns))
    return out.getvalue()


def test_every_table_of_a_capture_as_the_rows_gave_it(analysis):
    seen = 0
    for name in schema.DETECTION_TABLES:
        table = analysis.tables[name]
        rows = table_rows(name, table, table.strings)
        seen += len(rows)
        assert json_array(name, table, table.strings) == json.dumps(rows, **COMPACT)
        typed = json_rows(name, table, table.strings, prefix='"type":"x",')
        assert typed == [json.dumps({"type": "x", **r}, **COMPACT) for r in rows]
        assert _column_csv(name, table) == _dict_csv(rows, list(table))
    assert seen > 0


def _policy_events(values: list[float], policies: list[int]) -> dict[str, np.ndarray]:
    n = len(values)
    return {"ts_ns": np.arange(n, dtype=np.int64) * 1_000_000_007, "port": np.array(policies, np.int32),
            "policy": np.array(policies[::-1], np.int32), "event": np.arange(n, dtype=np.uint8) % 2,
            "value": np.array(values, np.float64)}


STRINGS = ["swp1", "leaf\u00e9:\u7aef\u53e3", 'quote " and \\ back', "tab\tnew\nline\x01", ""]


def test_floats_json_writes_by_name_and_strings_it_escapes():
    values = [0.1, float("nan"), float("inf"), -float("inf"), -0.0, 1e300, 5e-324]
    columns = _policy_events(values, [0, 1, 2, 3, 4, -1, 1])
    rows = table_rows("policy_events", columns, STRINGS)
    text = json_array("policy_events", columns, STRINGS)
    assert text == json.dumps(rows, **COMPACT)
    assert "NaN" in text and "-Infinity" in text and '"port":null' in text and "\\u00e9" in text
    # two rows a batch: batches with and without a non-finite float write alike
    batches = list(json_row_batches("policy_events", columns, STRINGS, batch=2))
    assert len(batches) == 4 and [r for b in batches for r in b] == [json.dumps(r, **COMPACT) for r in rows]
    assert _column_csv("policy_events", _Table(columns, STRINGS)) == _dict_csv(rows, list(columns))
    finite = _policy_events(values[:1] + values[4:], [0, 1, 2, 3])  # all finite: the floats themselves, not tokens
    assert json_array("policy_events", finite, STRINGS) == json.dumps(table_rows("policy_events", finite, STRINGS),
                                                                      **COMPACT)


def test_enum_columns_are_named_and_an_empty_table_is_an_empty_list():
    n = len(schema.LLDP_EVENTS)
    columns = {"ts_ns": np.arange(n, dtype=np.int64), "port": np.zeros(n, np.int32),
               "event": np.arange(n, dtype=np.uint8), "chassis_id": np.full(n, 1, np.int32),
               "port_id": np.full(n, -1, np.int32), "system_name": np.full(n, 2, np.int32),
               "ttl": np.full(n, 120, np.int32), "prev_chassis_id": np.full(n, -1, np.int32),
               "prev_port_id": np.full(n, 3, np.int32), "prev_system_name": np.full(n, 4, np.int32)}
    rows = table_rows("lldp_events", columns, STRINGS)
    assert [r["event"] for r in rows] == list(schema.LLDP_EVENTS)
    assert json_array("lldp_events", columns, STRINGS) == json.dumps(rows, **COMPACT)
    empty = {k: v[:0] for k, v in columns.items()}
    assert json_array("lldp_events", empty, STRINGS) == "[]" and json_rows("lldp_events", empty, STRINGS) == []


class _Table(dict):
    def __init__(self, columns, strings):
        super().__init__(columns)
        self.strings = strings


def test_the_writers_give_the_row_forms_bytes():
    """write_json, write_jsonl and write_csv (the core's tables from columns) against what
    the row dicts gave, on the lab capture's whole result."""
    result = build_result(flapwatch.analyze(str(CAPTURES / "lab.pcapng")))
    out = io.StringIO()
    writers.write_json(result, out)
    assert out.getvalue() == json.dumps(writers.to_json(result), default=writers._json_default, **COMPACT) + "\n"
    out = io.StringIO()
    writers.write_jsonl(result, out)
    expected = "".join(json.dumps({"type": schema.ROW_TYPES[t], **row}, default=writers._json_default, **COMPACT) + "\n"
                       for t in schema.STREAM_TABLES + ("episodes", "ports") for row in result.rows(t))
    assert out.getvalue() == expected
    for table in schema.STREAM_TABLES:
        out = io.StringIO()
        writers.write_csv(result, out, table)
        rows = result.rows(table)
        header = list(rows[0]) if rows else [c for c, _ in schema.DETECTION_TABLES[table]]
        assert out.getvalue() == _dict_csv(rows, header)
