"""A progress bar on stderr for long C++ work: only on a terminal, only after a moment."""

from __future__ import annotations

import sys
import threading
import time


class ProgressBar:
    """Polls a ``_core.Progress`` (bytes consumed, written by the C++ reader thread while
    the GIL is released) and redraws one stderr line. Silent unless stderr is a
    terminal, and until the work has run for ``delay_s``."""

    def __init__(self, total_bytes: int, *, enabled: bool | None = None, delay_s: float = 0.5, stream=None):
        self.stream = stream or sys.stderr
        self.total = total_bytes
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.delay_s = delay_s
        self.drawn = False
        self._stop = threading.Event()

    def _draw(self, done: int, elapsed: float) -> None:
        width = 30
        frac = min(1.0, done / self.total) if self.total else 0.0
        bar = "#" * int(frac * width)
        rate = done / elapsed / 1e6 if elapsed > 0 else 0.0
        self.stream.write(f"\r[{bar:<{width}}] {100 * frac:5.1f}%  {done / 1e6:,.0f} MB  {rate:,.0f} MB/s ")
        self.stream.flush()
        self.drawn = True

    def _loop(self, progress, start: float) -> None:
        while not self._stop.wait(0.1):
            elapsed = time.monotonic() - start
            if elapsed >= self.delay_s:
                self._draw(progress.bytes, elapsed)

    def run(self, work, progress):
        """Runs ``work()`` while drawing from ``progress``; clears the line after."""
        if not self.enabled:
            return work()
        start = time.monotonic()
        t = threading.Thread(target=self._loop, args=(progress, start), daemon=True)
        t.start()
        try:
            return work()
        finally:
            self._stop.set()
            t.join()
            if self.drawn:
                self.stream.write("\r" + " " * 70 + "\r")
                self.stream.flush()
