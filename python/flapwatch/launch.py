"""The `flapwatch` command: the console script and `python -m flapwatch`.

Outside flapwatch.cli on purpose: importing that package loads argparse (~8 ms), and a plain
replay has its core run started before that (detect/prestart.py).
"""

from __future__ import annotations

import gc
import os
import sys


def console() -> None:
    # numpy's OpenBLAS starts a thread per core that spins after each call; the core's reader
    # and tracker threads want those cores, and nothing here is BLAS-sized (replay: -30 ms on
    # two cores, bench/README.md). The command's own setting (library callers keep theirs);
    # a user's own stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from flapwatch.detect.prestart import start

    started = start(sys.argv[1:])
    if started is not None:  # a one-shot replay: no cyclic collector (cli.console)
        gc.disable()
    try:
        from flapwatch.cli import console as run_command

        run_command(started)  # a replay ends by os._exit there once its output is flushed
    except (SystemExit, KeyboardInterrupt) as e:  # argparse's usage errors; Ctrl-C before main() took it
        if started is None:
            raise
        # The run's threads may still be reading: the interpreter's teardown would free what
        # they use, so this process ends by os._exit too.
        from flapwatch.cli.exits import EXIT_INTERRUPTED

        code = EXIT_INTERRUPTED if isinstance(e, KeyboardInterrupt) else _status(e.code)
        sys.stderr.flush()  # argparse's message (the command wrote nothing to stdout yet)
        os._exit(code)


def _status(code) -> int:
    """The exit status sys.exit(code) gives (a message is printed to stderr, status 1)."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1

