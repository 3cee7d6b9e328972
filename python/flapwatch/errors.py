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


class ConfigError(ValueError):
    """A configuration that cannot be used: a missing or unparsable file, an unknown key, a
    value of the wrong kind. The message names the file (and line, where TOML says) and the key."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(where + message)
        self.path = path
        self.line = line

    def __reduce__(self):
        return (_config_error, (self.args[0], self.path, self.line))


def _config_error(text: str, path: str | None, line: int | None) -> ConfigError:
    e = ConfigError.__new__(ConfigError)
    ValueError.__init__(e, text)
    e.path, e.line = path, line
    return e
