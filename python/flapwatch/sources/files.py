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
