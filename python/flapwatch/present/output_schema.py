"""The JSON Schema of every output: replay's JSON document, its JSON lines, the agent's
event log and --follow's lines (one row type per table, the same columns and enum names
everywhere). Built from tables.schema and the assessment's row forms; the shipped file
output.schema.json is this, written out (`python -m flapwatch.present.output_schema`), and
tests/present/test_output_schema.py checks both that the file is current and that every
output validates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from flapwatch.assess.signatures import LABELS
from flapwatch.assess.result import PORT_COLUMNS
from flapwatch.tables import schema

SCHEMA_FILE = Path(__file__).with_name("output.schema.json")

# The ports row: what assess.result.port_rows writes for each PORT_COLUMNS name.
PORT_TYPES = {
    "port": {"type": "string"},
    "flaps": {"type": "integer", "minimum": 0},
    "hidden_flaps": {"type": "integer", "minimum": 0},
    "micro_flaps": {"type": "integer", "minimum": 0},
    "longest_down_ns": {"type": "integer", "minimum": 0},
    "down_ns_total": {"type": "integer", "minimum": 0},
    "outages_over_budget": {"type": "integer", "minimum": 0},
    "oper_up": {"type": "integer", "minimum": -1, "maximum": 1},
    "signatures": {"type": "string", "description": "comma-separated labels of the port's episodes"},
    "pfc_storms": {"type": "integer", "minimum": 0},
    "paused_pct": {"type": "number", "minimum": 0, "maximum": 100},
    "neighbor": {"type": "string"},
    "risk": {"type": "number", "minimum": 0, "maximum": 1, "description": "the score at the end of the input"},
    "risk_peak": {"type": "number", "minimum": 0, "maximum": 1, "description": "the highest score over the input"},
    "risk_peak_ns": {"type": "integer", "description": "when the peak was reached (ns since the epoch; -1 none)"},
}

EPISODE_ROW = {
    "type": "object",
    "required": ["episode", "port", "device", "start_ns", "end_ns", "flaps", "labels", "period_ns", "evidence"],
    "additionalProperties": False,
    "properties": {
        "episode": {"type": "integer", "minimum": 0},
        "port": {"type": "string"},
        "device": {"type": ["string", "null"]},
        "start_ns": {"type": "integer"},
        "end_ns": {"type": "integer"},
        "flaps": {"type": "integer", "minimum": 0},
        "labels": {"type": "array", "items": {"enum": list(LABELS)}},
        "period_ns": {"type": ["integer", "null"]},
        "evidence": {
            "type": "object",
            "propertyNames": {"enum": list(LABELS)},
            "additionalProperties": {
                "type": "object",
                "required": ["rule", "confidence", "features"],
                "additionalProperties": False,
                "properties": {"rule": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                               "features": {"type": "object"}},
            },
        },
    },
}


def _column(table: str, name: str, kind) -> dict:
    if (table, name) in schema.ENUMS:
        return {"enum": list(schema.ENUMS[(table, name)])}
    if kind == schema.STRING:
        return {"type": ["string", "null"]}
    dtype = np.dtype(kind)
    out: dict = {"type": "number" if dtype.kind == "f" else "integer"}
    if dtype.kind == "u":
        out["minimum"] = 0
    if name in schema.TIME_COLUMNS:
        out["description"] = "ns since the Unix epoch (-1 unknown)"
    return out


def row_schemas() -> dict[str, dict]:
    """The row of each output table, keyed by table name."""
    rows = {}
    for table, columns in schema.DETECTION_TABLES.items():
        if table == "ports":
            continue
        rows[table] = {"type": "object", "additionalProperties": False, "required": [c for c, _ in columns],
                       "properties": {c: _column(table, c, k) for c, k in columns}}
    missing = [c for c in PORT_COLUMNS if c not in PORT_TYPES]
    if missing:
        raise KeyError(f"PORT_TYPES lacks {missing}: give each new ports column its JSON type")
    rows["ports"] = {"type": "object", "additionalProperties": False, "required": list(PORT_COLUMNS),
                     "properties": {c: PORT_TYPES[c] for c in PORT_COLUMNS}}
    rows["episodes"] = EPISODE_ROW
    return {t: rows[t] for t in schema.OUTPUT_TABLES}


def build() -> dict:
    rows = row_schemas()
    defs = {f"{t}_row": r for t, r in rows.items()}
    lines = []
    for table in schema.OUTPUT_TABLES:
        row = rows[table]
        lines.append({
            "type": "object", "additionalProperties": False, "required": ["type", *row["required"]],
            "properties": {"type": {"const": schema.ROW_TYPES[table]}, **row["properties"]},
        })
    document = {
        "type": "object",
        "required": ["files", "first_ns", "last_ns", "counts", "warnings", *schema.OUTPUT_TABLES],
        "additionalProperties": False,
        "properties": {
            "files": {"type": "array", "items": {"type": "string"}},
            "first_ns": {"type": "integer"}, "last_ns": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "warnings": {"type": "array", "items": {"type": "string"}},
            **{t: {"type": "array", "items": {"$ref": f"#/$defs/{t}_row"}} for t in schema.OUTPUT_TABLES},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "flapwatch-output.schema.json",
        "title": "flapwatch outputs",
        "description": "Replay's JSON document (`replay --format json`), or one line of `replay --format jsonl`, "
                       "`replay --follow`, or the agent's `--events` log (an object with a `type`). "
                       "Times are int64 ns since the Unix epoch; durations int64 ns.",
        "oneOf": [{"$ref": "#/$defs/document"}, {"$ref": "#/$defs/line"}],
        "$defs": {"document": document, "line": {"oneOf": lines}, **defs},
    }


def text() -> str:
    return json.dumps(build(), indent=1) + "\n"


if __name__ == "__main__":
    sys.stdout.write(text())
