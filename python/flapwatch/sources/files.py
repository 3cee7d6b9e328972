"""Checks on capture paths that need nothing but the standard library (the command line
runs them before it loads numpy or the extension)."""

from __future__ import annotations

import errno
import os


def require_file(path: str) -> str:
    """A missing capture is a FileNotFoundError (a directory IsADirectoryError), as open()
    says it; CaptureError is for files that exist and cannot be read as captures."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    return path


# pcap (µs, ns; either byte order), pcapng's section header, gzip.
CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")


def is_capture_head(head: bytes) -> bool:
    """Whether a file's first bytes are a capture's (or gzip's) magic."""
    return head[:4] in CAPTURE_MAGICS or head[:2] == b"\x1f\x8b"


def all_captures(paths: list[str]) -> bool:
    """Whether every path starts as a capture does: then none is a counter log, and the
    counter modules need not be loaded (they are a good part of replay's start)."""
    for p in paths:
        try:
            with open(p, "rb") as f:
                if not is_capture_head(f.read(4)):
                    return False
        except OSError:
            return False
    return True


def threads_given(text: str) -> int | None:
    """--threads N's N, a whole number 1..64; None for anything else."""
    return int(text) if text.isdigit() and 1 <= int(text) <= 64 else None


def reader_threads(requested: int | None) -> int:
    """Readers per capture: --threads N, else one per core up to two (a file smaller than
    64 MB is read by one whatever this says: the core splits only what is worth it)."""
    if requested is not None:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))
