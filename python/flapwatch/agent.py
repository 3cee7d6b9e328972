"""flapwatch.Agent: the live engine from Python (the C++ LiveAgent reads and tracks on
its own threads; Python polls for new detections), and the `flapwatch agent` command:
Prometheus metrics, JSON lines of detections, and a pcapng recording that replays to
the same detections."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from . import schema
from .analysis import Analysis, detection_rows
from .capture import Table
from .config import Config

DETECTION_KINDS = ("flaps", "policy_events", "pfc_storms", "pause_stats", "lldp_events", "lldp_rx")
# lldp_rx rows are LLDPDUs received, not findings: handed out (the risk model scores the
# LLDP gap from them) but kept out of the event log.
FINDING_KINDS = tuple(k for k in DETECTION_KINDS if k != "lldp_rx")


@dataclass
class Detection:
    kind: str  # the table: flaps, policy_events, pfc_storms, pause_stats, lldp_events, lldp_rx
    row: dict  # its columns, strings decoded

    def to_json(self) -> str:
        return json.dumps({"type": self.kind, **self.row}, separators=(",", ":"))


class Agent:
    """The live detection engine on some interfaces (and netlink link messages).

        with flapwatch.Agent(["eth0"], on_detection=print) as agent:
            for detection in agent:      # blocks; ends when the agent stops
                ...

    ``record``: write every consumed frame and netlink message to this pcapng.
    ``keep``: keep every detection for ``stop()``'s Analysis (``agent.final``); off by
    default, so a long-running agent's memory stays flat (detections are handed out and
    dropped). Must run where the interfaces are (e.g. inside their network namespace), as root.
    """

    def __init__(
        self,
        interfaces: list[str],
        config: Config | dict | str | os.PathLike | None = None,
        *,
        on_detection: Callable[[Detection], None] | None = None,
        record: str | os.PathLike | None = None,
        netlink: bool = True,
        ring_capacity: int = 1 << 16,
        poll_s: float = 0.05,
        keep: bool = False,
    ):
        from . import _core

        self.config = config = Config.coerce(config)
        self.interfaces = list(interfaces)
        self.on_detection = on_detection
        self.poll_s = poll_s
        self.keep = keep
        self._strings: list[str] = []
        self._core = _core.LiveAgent(config.to_core(), self.interfaces, netlink, os.fspath(record or ""), ring_capacity)
        self._started = self._stopped = False
        self.final: Analysis | None = None

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
            for row in detection_rows(kind, rows[kind], strings):
                d = Detection(kind, row)
                out.append(d)
                if self.on_detection:
                    self.on_detection(d)
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
        return detection_rows("ports", self._core.ports(), self._refresh_strings())

    @property
    def stats(self) -> dict:
        return self._core.stats()


# --------------------------------------------------------------------------- command


def _metrics_server(spec: str, collector) -> None:
    from prometheus_client import start_http_server
    from prometheus_client.core import REGISTRY

    host, _, port = spec.rpartition(":")
    REGISTRY.register(collector)
    start_http_server(int(port), addr=host or "0.0.0.0")


def cmd_agent(args) -> int:
    from .metrics import AgentCollector

    cfg = Config.coerce(args.config or None)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    events = None
    if args.events == "-":
        events = sys.stdout
    elif args.events:
        events = open(args.events, "a", buffering=1)
    from .risk import RiskModel, event_from_detection

    collector = None
    risk = RiskModel()  # the same model replay scores with

    def handle(d: Detection) -> None:  # every detection, also those stop() flushes
        collector.observe(d)
        event = event_from_detection(d.kind, d.row)
        if event is not None:
            risk.update(event)
        if events and d.kind in FINDING_KINDS:
            events.write(d.to_json() + "\n")

    agent = Agent(args.interface, cfg, record=args.record, netlink=not args.no_netlink, on_detection=handle)
    collector = AgentCollector(agent)
    if args.metrics:
        _metrics_server(args.metrics, collector)
    agent.start()
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            agent.poll(timeout=0.2)
            for port, score in risk.scores(time.time_ns()).items():
                collector.set_risk(port, score)
            collector.refresh()
            for notice in agent.stats.get("notices", [])[len(collector.notices):]:
                collector.notices.append(notice)
                print(f"flapwatch agent: {notice}", file=sys.stderr)
    finally:
        agent.stop()
        if events:
            events.flush()
            if events is not sys.stdout:
                events.close()
    stats = agent.stats
    print(f"flapwatch agent: stopped; {stats['frames']} frames, {stats['records']} records, "
          f"{stats['ring_dropped']} dropped in the ring, {stats['kernel_drops']} dropped by the kernel",
          file=sys.stderr)
    return 0
