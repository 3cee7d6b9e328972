"""Detections as they happen from captures another process (tcpdump -w, dumpcap,
flapwatch agent --record) is still writing: the core's FollowSession, with the same
``--since`` rule as analyze() (the trackers see everything; detections known before
``since_ns`` are left out), so a followed capture ends with the same tables as a replay.
Printing is the CLI's (cli/replay_cmd.py)."""

from __future__ import annotations

import time
from typing import Callable, Iterable, Mapping

from flapwatch.config import Config
from flapwatch.detect.analysis import Analysis, keep_since, port_warnings, sorted_by_time
from flapwatch.sources.devices import resolve_inputs
from flapwatch.errors import CaptureError
from flapwatch.tables import schema
from flapwatch.tables.table import Table, table_rows

POLL_S = 0.2


class Follower:
    """``f = Follower(paths, cfg); f.open(stop); while ...: rows = f.poll(); ...; f.finish()``"""

    def __init__(self, paths: list[str], config: Config, *, ports: Iterable[str] | None = None,
                 since_ns: int | None = None, until_ns: int | None = None,
                 devices: Mapping[str, str] | None = None, device: str | None = None):
        # Port names as replay gives them (sources/devices.py), but a classic pcap's interface
        # is not guessed from link captures that are still empty: it comes from a mapping
        # (FILE=DEVICE:IFACE) or the file name.
        self._resolved = resolve_inputs(paths, devices=devices, device=device, infer_iface=False)
        self.paths = self._resolved.paths
        self.config = config
        self.since_ns = since_ns
        self._core_config = config.to_core()
        self._core_config.update(ports=list(ports or []), until_ns=until_ns)
        self._session = None
        self.strings: list[str] = []

    def open(self, stop: Callable[[], bool]) -> bool:
        """Waits for the writers to have written the files' headers; False if stopped first."""
        from flapwatch import _core

        while not stop():
            try:
                self._session = _core.FollowSession(self.paths, self._core_config, self._resolved.naming())
                return True
            except CaptureError as e:
                # not created yet, or its header not written yet: wait for the writer
                if not e.reason.startswith(("cannot open", "empty file", "truncated")):
                    raise
            time.sleep(POLL_S)
        return False

    def _strings(self) -> list[str]:
        self.strings += self._session.strings_from(len(self.strings))
        return self.strings

    def poll(self) -> dict[str, list[dict]]:
        """The findings (schema.FINDING_TABLES) known since the last poll, as rows."""
        self._session.poll()
        new = self._session.new_rows()
        strings = self._strings()
        out = {}
        for table in schema.FINDING_TABLES:
            rows = table_rows(table, new[table], strings)
            if self.since_ns is not None:
                rows = [r for r in rows if r["ts_ns"] >= self.since_ns]
            out[table] = rows
        return out

    def finish(self) -> Analysis:
        """Reads what is left and closes the outages and episodes: every detection."""
        self._session.poll()
        final = self._session.finish()
        strings = self._strings()
        columns = {name: sorted_by_time(final[name]) for name in schema.DETECTION_TABLES}
        if self.since_ns is not None:
            columns = keep_since(columns, self.since_ns, self.config)
        first_ns = self._session.first_ns
        if self.since_ns is not None and first_ns >= 0:
            first_ns = max(first_ns, self.since_ns)
        tables = {name: Table(name, columns[name], strings) for name in schema.DETECTION_TABLES}
        return Analysis(
            paths=self.paths,
            tables=tables,
            strings=strings,
            counts=dict(self._session.counts),
            config=self.config,
            warnings=port_warnings(tables["ports"]),
            first_ns=first_ns,
            last_ns=self._session.last_ns,
        )
