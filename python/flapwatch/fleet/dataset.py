"""Reading the fleet's Parquet datasets back (pyarrow; pandas, DuckDB and Spark read the same
files: ``OUT/<table>/device=<name>/part-0.parquet``)."""

from __future__ import annotations

import os

from flapwatch.fleet.device import FLEET_TABLES, table_schema


def read_table(out: str, table: str, columns: list[str] | None = None):
    """One fleet table as an Arrow table with its ``device`` column (empty when no device had rows)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    if table not in FLEET_TABLES:
        raise KeyError(table)
    folder = os.path.join(out, table)
    files = []
    if os.path.isdir(folder):
        files = sorted(os.path.join(folder, d, f) for d in os.listdir(folder) if d.startswith("device=")
                       for f in os.listdir(os.path.join(folder, d)) if f.endswith(".parquet"))
    if not files:
        sch = table_schema(table)
        arrow = pa.table({f.name: pa.array([], f.type) for f in sch}).append_column("device", pa.array([], pa.string()))
    else:
        first = ds.dataset(files[0], format="parquet").schema
        part = ds.partitioning(pa.schema([("device", pa.string())]), flavor="hive")
        arrow = ds.dataset(files, format="parquet", schema=first.append(pa.field("device", pa.string())),
                           partitioning=part, partition_base_dir=folder).to_table()
    if columns:
        arrow = arrow.select(columns)
    return arrow


def read_pandas(out: str, table: str, columns: list[str] | None = None):
    return read_table(out, table, columns).to_pandas()
