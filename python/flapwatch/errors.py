"""Errors and warnings for bad input. Both name the file, the byte offset and the reason."""

from __future__ import annotations


class CaptureError(ValueError):
    """A capture that cannot be read: wrong magic, a broken block, an absurd length, ...

    ``offset`` is the byte offset in the (decompressed) file where the problem is.
    """

    def __init__(self, path: str, offset: int, reason: str):
        super().__init__(f"{path}: offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason

    def __reduce__(self):  # keep it picklable (multiprocessing, Dask)
        return (type(self), (self.path, self.offset, self.reason))


class CaptureWarning(UserWarning):
    """The capture ended early (a truncated last record, a cut gzip stream): what came before is kept."""
