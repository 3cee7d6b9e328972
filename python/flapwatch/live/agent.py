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
    from flapwatch.counters.sonic import SonicSource
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
        counters: bool = False,
        counter_interval: float | str = 0.1,
        counter_interfaces: list[str] | None = None,
        counter_driver: str | None = None,
        counter_profiles: dict | None = None,
        keep_counter_samples: int = 0,
        sonic: "str | SonicSource | None" = None,
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
        if counters:
            self._configure_counters(counter_interval, counter_interfaces, counter_driver, counter_profiles,
                                     keep_counter_samples)
        self._started = self._stopped = False
        # ``sonic``: a SONiC switch's redis (an address, or a flapwatch.counters.sonic.SonicSource):
        # its PFC counters and PORT_TABLE link state are pushed in, at pfcwd's cadence.
        self.sonic = None
        if sonic is not None:
            from flapwatch.counters.sonic import SonicSource

            self.sonic = sonic if isinstance(sonic, SonicSource) else SonicSource(sonic)
        self.final: Analysis | None = None
        self.otlp = None
        if otlp is not None:
            from flapwatch.live.otlp import OtlpLogs

            self.otlp = otlp if isinstance(otlp, OtlpLogs) else OtlpLogs(otlp)

    # counters and the push API
    def _configure_counters(self, interval, interfaces, driver, profiles, keep_raw) -> None:
        """``counters``: poll `ethtool -S` (ioctl) and the ethtool netlink PAUSE / link-down
        counts of ``counter_interfaces`` (default: the capture interfaces) every
        ``counter_interval`` (seconds, or "100ms"), one thread for all; names are
        classified by ``counter_driver``'s profile, else by the driver's own
        (flapwatch.counters.profiles; ``counter_profiles`` from load_profiles)."""
        from flapwatch.counters.samples import core_profiles, interval_ns

        self._core.configure_counters(list(interfaces or []), interval_ns(interval), core_profiles(profiles), driver or "",
                                      keep_raw)

    def push_link(self, ts_ns: int, interface: str, up: bool, *, carrier_changes: int = -1,
                  carrier_up_count: int = -1, carrier_down_count: int = -1, baseline: bool = False) -> bool:
        """An embedder's own link event (a vendor SDK, SAI notifications) into the same
        ring and trackers as netlink messages; False when the ring was full (dropped).
        ``baseline``: a state read, not a change seen (a port's first is no edge: no
        outage, no flap), as a netlink dump reply."""
        return self._core.push_link(int(ts_ns), interface, bool(up), carrier_changes, carrier_up_count,
                                    carrier_down_count, bool(baseline))

    def push_counters(self, sample: tuple) -> bool:
        """An embedder's counter sample (flapwatch.counters.samples.sample() builds one)
        into the same ring and trackers as the agent's own counter reads."""
        return self._core.push_counters(sample)

    def counter_totals(self) -> dict[str, dict]:
        """What the counters alone saw, per port: ``paused_ns`` {priority (0..7, or
        "pause" for 802.3x PAUSE): ns} and ``phy_link_downs`` (PHY link-downs with no
        carrier change: the flaps of source "PHY counter"), since start (or the last reconfigure)."""
        strings = self._refresh_strings()
        out = {}
        for port, paused, phy in self._core.counter_totals():
            out[strings[port]] = {"paused_ns": {("pause" if slot == 8 else str(slot)): ns
                                                for slot, ns in enumerate(paused) if ns},
                                  "phy_link_downs": phy}
        return out

    def counter_samples(self) -> list[tuple]:
        """The raw counter reads kept (``keep_counter_samples``), oldest first, and
        forgotten: (ts_ns, read_ns, interface, names_reread, names, values)."""
        return self._core.raw_counter_samples()

    # lifecycle
    def start(self) -> "Agent":
        if not self._started:
            self._core.start()
            self._started = True
            if self.sonic is not None:
                self.sonic.start(self)
        return self

    def stop(self) -> Analysis:
        """Stops the threads, flushes and closes the recording; returns every detection."""
        if self._stopped:
            return self.final
        self._stopped = True
        if self.sonic is not None:
            self.sonic.stop()  # its last pushes reach the trackers before they finish
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
