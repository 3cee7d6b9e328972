"""One schema for every output: the shipped JSON Schema is current, and replay's JSON,
JSON lines and --follow lines validate against it (the agent's event log is validated
in tests/live/test_agent.py, on a real agent's output)."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import numpy as np
import pyarrow.parquet as pq
import pytest

import flapwatch
from conftest import CAPTURES
from flapwatch.present import output_schema
from flapwatch.tables import schema

VALIDATOR = jsonschema.Draft202012Validator(json.loads(output_schema.SCHEMA_FILE.read_text()))


def validate(obj) -> None:
    errors = sorted(VALIDATOR.iter_errors(obj), key=lambda e: e.path)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_shipped_schema_is_current():
    assert output_schema.SCHEMA_FILE.read_text() == output_schema.text(), (
        "python/flapwatch/present/output.schema.json is stale: python -m flapwatch.present.output_schema > it")
    jsonschema.Draft202012Validator.check_schema(output_schema.build())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "fleet.pcapng"
    flapwatch.simulate.simulate("pfc-linked", path, seed=2)
    return path


def _replay(*args) -> str:
    return subprocess.run([sys.executable, "-m", "flapwatch", "replay", "-q", *map(str, args)], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("name", ["lab.pcapng", "lab-netlink.pcap", "lab-wire.pcapng", "fleet"])
def test_replay_json_and_jsonl_validate(name, fleet):
    path = fleet if name == "fleet" else CAPTURES / name
    document = json.loads(_replay("--format", "json", path))
    validate(document)
    assert any(document[t] for t in schema.STREAM_TABLES)  # something real was checked
    lines = [json.loads(line) for line in _replay("--format", "jsonl", path).splitlines()]
    for line in lines:
        validate(line)
    assert {line["type"] for line in lines} >= {"port"}


def test_a_wrong_output_does_not_validate():
    document = json.loads(_replay("--format", "json", CAPTURES / "lab.pcapng"))
    document["lldp_events"][0]["event"] = 0  # an enum as its integer: what the agent once wrote
    with pytest.raises(AssertionError):
        validate(document)
    with pytest.raises(AssertionError):
        validate({"type": "lldp_events", "ts_ns": 1})  # a table name instead of the row type


def test_follow_lines_validate(tmp_path):
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "flapwatch", "replay", "--follow", "--format", "jsonl",
                             str(CAPTURES / "lab.pcapng")], stdout=subprocess.PIPE, text=True)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines
    for line in lines:
        validate(line)


def test_parquet_times_are_utc_timestamps(tmp_path):
    _replay("--format", "parquet", "-o", f"{tmp_path}/", CAPTURES / "lab.pcapng")
    flaps = pq.read_table(tmp_path / "flaps.parquet")
    assert str(flaps.schema.field("ts_ns").type) == "timestamp[ns, tz=UTC]"
    assert str(flaps.schema.field("down_ns").type) == "timestamp[ns, tz=UTC]"
    assert str(flaps.schema.field("duration_ns").type) == "int64"  # a duration stays ns
    want = flapwatch.analyze(CAPTURES / "lab.pcapng").flaps
    assert flaps.column("ts_ns").cast("int64").to_pylist() == want["ts_ns"].tolist()


def _parquet_schemas(folder) -> dict[str, dict[str, str]]:
    return {table: {f.name: str(f.type) for f in pq.read_schema(folder / f"{table}.parquet")}
            for table in schema.STREAM_TABLES}


def test_parquet_schema_is_the_tables_not_the_values(tmp_path, shared_captures):
    """Each of the core's tables has one Parquet schema, whatever rows it has: evb.pcap's
    neighbor names no system (its lldp_events' system_name is all null) and has no flap at
    all, the lab capture has both; their files read as one dataset. (Rows made into dicts
    first typed an all-null column null and an empty table's every column int64.)"""
    _replay("--format", "parquet", "-o", f"{tmp_path}/lab/", CAPTURES / "lab.pcapng")
    _replay("--format", "parquet", "-o", f"{tmp_path}/evb/", shared_captures / "dcbx" / "evb.pcap")
    lab, evb = _parquet_schemas(tmp_path / "lab"), _parquet_schemas(tmp_path / "evb")
    assert pq.read_table(tmp_path / "evb" / "flaps.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "evb" / "lldp_events.parquet").column("system_name").null_count > 0
    assert lab == evb
    for table, columns in lab.items():
        for name, kind in schema.DETECTION_TABLES[table]:
            want = ("string" if kind == schema.STRING or (table, name) in schema.ENUMS else
                    "timestamp[ns, tz=UTC]" if name in schema.TIME_COLUMNS else
                    "double" if kind == np.float64 else "int64")
            assert columns[name] == want, (table, name)
