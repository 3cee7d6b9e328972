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

        run_command(started)
    except KeyboardInterrupt:  # before main() could take it (it ends the run's process itself)
        if started is None:
            raise
        from flapwatch.cli.exits import EXIT_INTERRUPTED

        os._exit(EXIT_INTERRUPTED)
