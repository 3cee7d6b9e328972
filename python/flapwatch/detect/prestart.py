"""A replay's core run started before the command line is loaded.

Before the core reads a byte, `flapwatch replay` spends ~25 ms on one core in the
interpreter, argparse, the configuration and the input resolution, with the other core idle
(issue 16). launch.console() therefore reads the command line's words first and, where they
can mean only one core run, starts it on a thread of its own (in C++: no Python runs there)
before anything else is imported: a plain replay (the options below, spelled out) of one
capture file named as it is, on the configuration's defaults. The command line is then parsed
as always, and analyze() takes the run only if the call it makes is the call started, every
argument compared (StartedRun.take); otherwise it makes its own call. Either way the process
ends with os._exit (cli.console), never with a core thread under the interpreter's teardown.

Not inspect: its two readers (the default) take both cores from the start, and the parser's
imports beside them cost more than the earlier start gains (+4.8 ms; with one reader -1.6 ms:
bench/README.md).

Only the standard library, the extension and sources/files.py are imported here: what this
spares is the import of everything else.
"""

from __future__ import annotations

import os

from flapwatch.sources.files import all_captures, reader_threads, threads_given

# Exact spellings (argparse's abbreviations and --option=value start nothing): flags, and
# options whose next word is their value. Nothing here changes the core's call but --strict
# and --threads; an option that does (--config, --port, --device, ...) starts nothing.
_FLAGS = frozenset({"-q", "--quiet", "--strict", "--debug"})
_VALUED = frozenset({"--format", "-o", "--output", "--table", "--report", "--fail-on", "--since", "--threads"})


class StartedRun:
    """analyze()'s core call under way on a thread of its own (_core.start_analyze): `args`,
    the call's arguments as the command's own call is compared with them; `progress`, the
    _core.Progress it reports its bytes to (replay's bar)."""

    def __init__(self, args: tuple, progress):
        from flapwatch import _core

        self.args = args
        self.progress = progress
        self._started = _core.start_analyze(*args[:4], progress, *args[4:])

    def take(self, *args):
        """The run's result (waiting for it, the GIL released; its error raised) if `args`
        is its call, else None."""
        return self._started.result() if args == self.args else None


def start(argv: list[str]) -> StartedRun | None:
    """The replay's core run for this command line, started; None when the words do not settle it."""
    try:
        return _start(argv)
    except Exception:  # noqa: BLE001  (a guess: the command itself reports what is wrong)
        return None


def _start(argv: list[str]) -> StartedRun | None:
    if not argv or argv[0] != "replay":
        return None
    paths: list[str] = []
    strict, threads = False, None
    words = iter(argv[1:])
    for word in words:
        if word in _FLAGS:
            strict = strict or word == "--strict"
        elif word in _VALUED:
            value = next(words, None)
            if value is None or value.startswith("-"):
                return None
            if word == "--threads":
                threads = threads_given(value)
                if threads is None:
                    return None
        elif word.startswith("-") or not _plain_file(word):
            return None
        else:
            paths.append(word)
    # One capture named as it is has no device and no interface to resolve (sources/devices.py,
    # whose DEVICE_SEPARATOR "@" names them; importing it would load dataclasses); several may
    # name each other's interfaces.
    if len(paths) != 1 or "@" in os.path.basename(paths[0]):
        return None
    from flapwatch import _core

    if not all_captures(paths):  # a counter log
        return None
    config = dict(_core.engine_defaults(), ports=[], until_ns=None)
    call = (paths, config, strict, _core.default_config()["ring_capacity"], [("", "")], [], reader_threads(threads))
    return StartedRun(call, _core.Progress())


def _plain_file(word: str) -> bool:
    """A capture named as it is: no FILE=DEVICE mapping, no glob, no directory."""
    return "=" not in word and not any(c in word for c in "*?[") and os.path.isfile(word)
