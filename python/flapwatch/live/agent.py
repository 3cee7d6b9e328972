"""flapwatch.Agent: the live engine from Python (the C++ LiveAgent reads and tracks on
its own threads; Python polls for new detections, and may record every frame to a
pcapng that replays to the same detections). The command is cli/agent_cmd.py."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from flapwatch.tables import schema
from flapwatch.detect.analysis import Analysis
from flapwatch.tables.table import Table, table_rows
from flapwatch.config import Config

if TYPE_CHECKING:
    from flapwatch.live.otlp import OtlpLogs
    from flapwatch.live.recording import Rotation

# Every stream table is handed out; lldp_rx rows are LLDPDUs received, not findings (the
# risk model scores the LLDP gap from them), so the event log keeps FINDING_KINDS.
DETECTION_KINDS = schema.STREAM_TABLES
FINDING_KINDS = schema.FINDING_TABLES


@dataclass
class Detection:
    kind: str  # the table: flaps, policy_events, pfc_storms, pause_stats, lldp_events, lldp_rx
    row: dict  # its columns, strings decoded

    def to_json(self) -> str:
        return json.dumps({"type": schema.ROW_TYPES[self.kind], **self.row}, separators=(",", ":"))


class Agent:
    """The live detection engine on some interfaces (and netlink link messages).

        with flapwatch.Agent(["eth0"], on_detection=print) as agent:
            for detection in agent:      # blocks; ends when the agent stops
                ...

    ``record``: write every consumed frame and netlink message to this pcapng; with
    ``rotation`` (`flapwatch.live.recording.Rotation`) it becomes FILE, FILE.1 (newest) ..
    FILE.keep, each a whole pcapng; a write error stops the recording (``stats``:
    ``recording``, ``record_errors``, a notice), never the detection.
    ``reconfigure(config)`` applies a new configuration between two records (SIGHUP).
    ``keep``: keep every detection for ``stop()``'s Analysis (``agent.final``); off by
    default, so a long-running agent's memory stays flat (detections are handed out and
    dropped). ``otlp``: an OTLP/HTTP collector URL (or a `flapwatch.live.otlp.OtlpLogs`): one
    log record per finding, sent off this thread, bounded, drops counted (``agent.otlp``).
    Must run where the interfaces are (e.g. inside their network namespace), as root.
    """

    def __init__(
        self,
        interfaces: list[str],
        config: Config | dict | str | os.PathLike | None = None,
        *,
        on_detection: Callable[[Detection], None] | None = None,
        record: str | os.PathLike | None = None,
        rotation: "Rotation | None" = None,
        netlink: bool = True,
        ring_capacity: int = 1 << 16,
        poll_s: float = 0.05,
        keep: bool = False,
        otlp: "str | OtlpLogs | None" = None,
    ):
        from flapwatch import _core

        self.config = config = Config.coerce(config)
        self.interfaces = list(interfaces)
        self.on_detection = on_detection
        self.poll_s = poll_s
        self.keep = keep
        self._strings: list[str] = []
        from flapwatch.live.recording import Rotation

        rotation = rotation or Rotation()
        self._core = _core.LiveAgent(config.to_core(), self.interfaces, netlink, os.fspath(record or ""), ring_capacity,
                                     rotation.max_bytes if rotation.on else 0, rotation.interval_s if rotation.on else 0.0,
                                     rotation.keep)
        self._started = self._stopped = False
        self.final: Analysis | None = None
        self.otlp = None
        if otlp is not None:
            from flapwatch.live.otlp import OtlpLogs

            self.otlp = otlp if isinstance(otlp, OtlpLogs) else OtlpLogs(otlp)

    # lifecycle
    def start(self) -> "Agent":
        if not self._started:
            self._core.start()
            self._started = True
        return self

    def stop(self) -> Analysis:
        """Stops the threads, flushes and closes the recording; returns every detection."""
        if self._stopped:
            return self.final
        self._stopped = True
        pending = self._core.new_rows()
        self._core.stop()
        final = self._core.new_rows()  # what finishing flushed (ports, pending clears)
        self._deliver(pending)
        self._deliver(final)
        if self.otlp is not None:
            self.otlp.close()  # bounded: what the collector has not taken by then is counted dropped
        return self.final

    def __enter__(self) -> "Agent":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # detections
    def _refresh_strings(self) -> list[str]:
        self._strings += self._core.strings_from(len(self._strings))
        return self._strings

    def _deliver(self, rows: dict) -> list[Detection]:
        strings = self._refresh_strings()
        out = []
        for kind in DETECTION_KINDS:
            for row in table_rows(kind, rows[kind], strings):
                d = Detection(kind, row)
                out.append(d)
                if self.on_detection:
                    self.on_detection(d)
                if self.otlp is not None and kind in FINDING_KINDS:
                    self.otlp.emit(d)  # queues only; never waits for the collector
        self._accumulate(rows)
        return out

    def _accumulate(self, rows: dict) -> None:
        """With ``keep``: every row, for `stop()`'s Analysis (and replay comparisons)."""
        import numpy as np

        if not self.keep:
            return
        if not hasattr(self, "_all"):
            self._all = {name: {c: [] for c, _ in cols} for name, cols in schema.DETECTION_TABLES.items()}
        for name in schema.DETECTION_TABLES:
            for c, values in rows[name].items():
                if len(values):  # an idle poll adds nothing
                    self._all[name][c].append(values)
        if self._stopped:
            tables = {}
            for name, cols in self._all.items():
                dtype = dict(schema.DETECTION_TABLES[name])
                tables[name] = Table(name, {c: (np.concatenate(v) if v else np.array([], schema.dtype_of(dtype[c])))
                                            for c, v in cols.items()}, self._strings)
            self.final = Analysis(paths=[], tables=tables, strings=self._strings, counts={}, config=self.config)

    def poll(self, timeout: float | None = None) -> list[Detection]:
        """New detections since the last poll; waits up to `timeout` seconds for one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self._deliver(self._core.new_rows())
            if found or (deadline is not None and time.monotonic() >= deadline) or self._stopped:
                return found
            time.sleep(self.poll_s)

    def __iter__(self) -> Iterator[Detection]:
        while not self._stopped:
            yield from self.poll(timeout=self.poll_s * 4)

    def ports(self) -> list[dict]:
        """The per-port table now (flaps, hidden flaps, down time, oper state, neighbor...)."""
        return table_rows("ports", self._core.ports(), self._refresh_strings())

    @property
    def stats(self) -> dict:
        return self._core.stats()

    def reconfigure(self, config: Config | dict | str | os.PathLike, timeout: float = 5.0) -> Config:
        """Validates `config` (ConfigError / ValueError: the running one stays) and returns once
        the tracker thread has applied it between two records. What carries over: each
        port's link state (an open outage closes with its real down time), carrier counters,
        LLDP neighbors and their TTLs, the per-port counts, rows not yet handed out; policy
        windows and dampening penalties start afresh (a tripped policy clears at the swap; an
        outage open then counts in the new ones), and so do PFC pauses in progress. Sockets,
        rings and the recording are kept."""
        new = Config.coerce(config)
        before = self._core.stats()["reloads"]
        self._core.reconfigure(new.to_core())
        self.config = new
        deadline = time.monotonic() + timeout
        while self._started and not self._stopped and self._core.stats()["reloads"] == before:
            if time.monotonic() > deadline:
                raise TimeoutError("the tracker thread did not apply the configuration")
            time.sleep(0.005)
        return new
