"""Table: one record or detection table as named numpy columns (the form every layer
passes on: the core's zero-copy arrays, pandas, Arrow/Parquet)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from flapwatch.tables import schema


class Table(Mapping[str, np.ndarray]):
    """One record table: a mapping of column name to a 1-D numpy array.

    String columns (``schema.STRING``) hold int32 indices into ``strings``;
    ``table.text(name)`` decodes them (-1 becomes None).
    """

    def __init__(self, name: str, columns: dict[str, np.ndarray], strings: list[str]):
        self.name = name
        self._columns = columns
        self.strings = strings

    def __getitem__(self, column: str) -> np.ndarray:
        return self._columns[column]

    def __iter__(self):
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    @property
    def rows(self) -> int:
        return len(self._columns["ts_ns"])

    def text(self, column: str) -> list[str | None]:
        strings = self.strings
        return [strings[i] if i >= 0 else None for i in self._columns[column].tolist()]

    def to_dict(self, decode_strings: bool = True) -> dict[str, np.ndarray | list]:
        kinds = dict(schema.ALL_TABLES[self.name])
        return {
            name: (self.text(name) if decode_strings and kinds.get(name) == schema.STRING else values)
            for name, values in self._columns.items()
        }

    def records(self) -> list[dict]:
        """The rows as dicts: strings decoded, enums named, numpy scalars as Python's."""
        return table_rows(self.name, self._columns, self.strings)

    def to_pandas(self):
        import pandas as pd  # optional dependency

        return pd.DataFrame(self.to_dict())

    def __repr__(self) -> str:
        return f"<Table {self.name}: {self.rows} rows, columns {list(self._columns)}>"


def table_columns(name: str, columns: Mapping[str, np.ndarray], strings: list[str]) -> list[list]:
    """The row form's values column by column (what table_rows zips into rows): string
    columns decoded (-1 -> None), enum columns named (schema.ENUMS), numbers as Python's."""
    kinds = dict(schema.ALL_TABLES[name])
    cols = []
    for column in columns:
        values = columns[column].tolist()
        if kinds.get(column) == schema.STRING:
            values = [strings[i] if i >= 0 else None for i in values]
        elif (name, column) in schema.ENUMS:
            labels = schema.ENUMS[(name, column)]
            values = [labels[v] for v in values]
        cols.append(values)
    return cols


def table_rows(name: str, columns: Mapping[str, np.ndarray], strings: list[str]) -> list[dict]:
    """The one row form of a table, used by every output (JSON, CSV, Parquet, events,
    metrics): string columns decoded (-1 -> None), enum columns named (schema.ENUMS)."""
    names = list(columns)
    return [dict(zip(names, v)) for v in zip(*table_columns(name, columns, strings))]
