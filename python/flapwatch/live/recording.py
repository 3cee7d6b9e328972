"""What `flapwatch agent` writes to disk: the rotation options (--rotate-size,
--rotate-interval, --keep), the event log as a rotating file, and the metrics of both
files. The pcapng recording rotates in the core (RotatingPcapngWriter), at a frame
boundary, each file a whole pcapng; the event log rotates here, at a line boundary.
Both name rotated files alike: FILE is the one being written, FILE.1 the newest
rotated, FILE.N the oldest kept; older ones are deleted. A write error (a full disk)
stops that file for good, with one notice and a metric; detection goes on."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
               "kib": 2**10, "mib": 2**20, "gib": 2**30}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
KEEP_DEFAULT = 5


def parse_size(text: str) -> int:
    """'50MB' -> 50_000_000 (kB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if not m or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {text!r} (e.g. 50MB, 1GiB)")
    size = int(float(m.group(1)) * _SIZE_UNITS[unit])
    if size < 4096:
        raise ValueError(f"a rotation size under 4096 bytes leaves no room for frames: {text!r}")
    return size


def parse_interval(text: str) -> float:
    """'1h' -> 3600.0 seconds (s, m, h, d; a bare number is seconds)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if not m or unit not in _TIME_UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"not an interval: {text!r} (e.g. 30s, 15m, 1h, 1d)")
    return float(m.group(1)) * _TIME_UNITS[unit]


@dataclass(frozen=True)
class Rotation:
    max_bytes: int = 0  # a file never passes this size (0: no limit)
    interval_s: float = 0.0  # a new file once the current one has run this long (0: never)
    keep: int = KEEP_DEFAULT  # rotated files kept besides FILE

    @property
    def on(self) -> bool:
        return self.max_bytes > 0 or self.interval_s > 0


def rotated_name(path: str, i: int) -> str:
    return f"{path}.{i}"


def shift(path: str, keep: int) -> None:
    """FILE -> FILE.1 -> ... -> FILE.keep; the one past keep is deleted."""
    def gone(p: str) -> None:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass

    def move(a: str, b: str) -> None:
        try:
            os.rename(a, b)
        except FileNotFoundError:
            pass

    if keep <= 0:
        return gone(path)
    gone(rotated_name(path, keep))
    for i in range(keep - 1, 0, -1):
        move(rotated_name(path, i), rotated_name(path, i + 1))
    move(path, rotated_name(path, 1))


class RotatingLog:
    """Lines appended to FILE, one write() each (a line is whole on disk or not there);
    rotated before a line would take the file past max_bytes, or once it has run
    interval_s. A write error stops it: the file is cut back to its last whole line."""

    def __init__(self, path: str, rotation: Rotation = Rotation()):
        self.path, self.rotation = os.fspath(path), rotation
        self.failed = False
        self.error = ""
        self.errors = self.rotations = self.bytes = 0
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)  # OSError: a start-up error
        self._size = os.fstat(self._fd).st_size  # appends to what an earlier run wrote
        self._opened = time.monotonic()

    def _rotate(self) -> None:
        os.close(self._fd)
        shift(self.path, self.rotation.keep)
        self._open()
        self.rotations += 1

    def write(self, line: str) -> bool:
        if self.failed:
            return False
        data = line.encode()
        r = self.rotation
        try:
            if self._size and ((r.max_bytes and self._size + len(data) > r.max_bytes)
                               or (r.interval_s and time.monotonic() - self._opened >= r.interval_s)):
                self._rotate()
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as e:
            self._fail(e)
            return False
        self._size += len(data)
        self.bytes += len(data)
        return True

    def _fail(self, e: OSError) -> None:
        self.failed, self.errors = True, self.errors + 1
        self.error = f"{self.path}: {e.strerror or e}"
        try:
            os.ftruncate(self._fd, self._size)  # no half line at the end
        except OSError:
            pass
        try:
            os.close(self._fd)
        except OSError:
            pass

    def close(self) -> None:
        if not self.failed:
            os.close(self._fd)
            self.failed = True  # closed: nothing more is written
            self.error = ""


def metric_families(stats: dict, events: RotatingLog | None):
    """flapwatch_recording{file}, flapwatch_record_errors_total{file}, bytes and rotations,
    for the pcapng recording (file="record", from the core's stats) and the event log."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    files = []
    if stats.get("record_bytes", 0) + stats.get("record_errors", 0) > 0:  # recording (or was)
        files.append(("record", int(stats["recording"]), stats["record_errors"], stats["record_bytes"],
                      stats["record_rotations"]))
    if events is not None:
        files.append(("events", int(not events.error), events.errors, events.bytes,
                      events.rotations))
    if not files:
        return
    on = GaugeMetricFamily("flapwatch_recording", "1 while the agent writes this file (0: a write error stopped it)",
                           labels=["file"])
    errors = CounterMetricFamily("flapwatch_record_errors", "Write errors that stopped a file (a full disk, EIO)",
                                 labels=["file"])
    written = CounterMetricFamily("flapwatch_record_bytes", "Bytes written, over all rotated files", labels=["file"])
    rotations = CounterMetricFamily("flapwatch_record_rotations", "Files rotated (a new file started)",
                                    labels=["file"])
    for name, state, n_errors, n_bytes, n_rotations in files:
        on.add_metric([name], state)
        errors.add_metric([name], n_errors)
        written.add_metric([name], n_bytes)
        rotations.add_metric([name], n_rotations)
    yield from (on, errors, written, rotations)
