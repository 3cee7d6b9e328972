"""read_capture / iter_capture: decoded capture tables as numpy columns.

The C++ core does the reading (the GIL is released meanwhile) and hands each column
over without a copy. ``backend="dpkt"`` and ``backend="pyshark"`` run the pure-Python
reference readers instead: slow, for cross-checks and machines without the extension.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from flapwatch.tables import schema
from flapwatch.tables.table import Table
from flapwatch.errors import CaptureError, CaptureWarning
from flapwatch.sources.files import require_file

__all__ = ["Table", "Capture", "read_capture", "iter_capture"]


@dataclass
class Capture:
    """A decoded capture: ``tables`` (pfc, pause, lldp, link, malformed), the shared
    string table, per-kind frame ``counts`` (every frame in exactly one) and warnings."""

    path: str
    tables: dict[str, Table]
    strings: list[str]
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return sum(self.counts.values())

    @property
    def port_names(self) -> list[str]:
        """Port names that occur in the tables, sorted (as Analysis.port_names)."""
        return self.ports

    @property
    def ports(self) -> list[str]:
        """Port names that occur in the tables, sorted."""
        ids: set[int] = set()
        for table in self.tables.values():
            ids.update(np.unique(table["port"]).tolist())
        return sorted(self.strings[i] for i in ids if i >= 0)

    def __getattr__(self, name: str) -> Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)


def _tables(raw: dict[str, dict[str, np.ndarray]], strings: list[str]) -> dict[str, Table]:
    return {name: Table(name, raw[name], strings) for name in schema.TABLES}


def _warn(messages: list[str]) -> None:
    for message in messages:
        warnings.warn(CaptureWarning(message), stacklevel=3)


def _check_backend(backend: str) -> None:
    if backend not in ("cpp", "dpkt", "pyshark"):
        raise ValueError(f"unknown backend {backend!r}: use 'cpp', 'dpkt' or 'pyshark'")


def read_capture(path: str | os.PathLike, *, strict: bool = False, backend: str = "cpp",
                 device: str | None = None, iface: str | None = None) -> Capture:
    """Read a whole pcap / pcapng (optionally gzip-compressed) capture into tables.

    A truncated last record ends the read with a CaptureWarning (strict=True: CaptureError).
    Malformed frames land in the ``malformed`` table (strict=True: CaptureError).
    ``device``: the ports become "device:port" (a name with ':' stays as it is);
    ``iface``: the port of frames the file names no interface for (a pcap file; default
    the file stem). docs/DECODE_RULES.md, Ports and devices.
    """
    _check_backend(backend)
    path = require_file(os.fspath(path))
    if device:
        from flapwatch.sources.devices import check_device

        check_device(device)
    if backend != "cpp":
        from flapwatch.sources.reference import read_tables

        raw = read_tables(path, backend, strict=strict, device=device, iface=iface)
        _warn(raw.warnings)
        return Capture(path, _tables(raw.tables, raw.strings), raw.strings, raw.counts, list(raw.warnings))
    from flapwatch import _core

    reader = _core.CaptureFile(path, strict, device or "", iface or "")
    raw_tables = reader.read(0)
    strings = reader.strings_from(0)
    _warn(reader.warnings)
    return Capture(path, _tables(raw_tables, strings), strings, dict(reader.counts), list(reader.warnings))


def iter_capture(
    path: str | os.PathLike, *, batch_frames: int = 1_000_000, strict: bool = False,
    device: str | None = None, iface: str | None = None,
) -> Iterator[Capture]:
    """Yield the capture in batches of at most ``batch_frames`` frames, for captures
    larger than memory. Each batch is a Capture with its own tables and counts; the
    string table grows across batches (a batch's ``strings`` covers all its indices).
    ``device`` and ``iface`` name the ports as in read_capture."""
    if batch_frames <= 0:
        raise ValueError("batch_frames must be positive")
    from flapwatch import _core

    path = require_file(os.fspath(path))
    if device:
        from flapwatch.sources.devices import check_device

        check_device(device)
    reader = _core.CaptureFile(path, strict, device or "", iface or "")
    strings: list[str] = []
    before = dict(reader.counts)
    warned = 0
    while not reader.done:
        raw_tables = reader.read(batch_frames)
        strings = strings + reader.strings_from(len(strings))
        counts = dict(reader.counts)
        batch_counts = {k: counts[k] - before.get(k, 0) for k in counts}
        before = counts
        new_warnings = list(reader.warnings)[warned:]
        warned += len(new_warnings)
        _warn(new_warnings)
        if sum(batch_counts.values()) == 0 and not new_warnings:
            break
        yield Capture(path, _tables(raw_tables, strings), strings, batch_counts, new_warnings)


__all__ += ["CaptureError", "CaptureWarning"]
