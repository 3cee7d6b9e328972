"""The `flapwatch` command line: the parser and main(); each subcommand lives in its own
module and imports what it runs only when it runs (so `flapwatch inspect` loads neither
the classifier, the simulator nor the live agent)."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from flapwatch.cli import inspect_cmd
from flapwatch.cli.exits import (EXIT_CAPTURE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PIPE, EXIT_START, EXIT_USAGE,
                                 StartError, UsageError)
from flapwatch.cli.formatting import HelpFormatter
from flapwatch.errors import CaptureError, ConfigError

__all__ = ["build_parser", "main"]


# Each subcommand's module, in the order --help lists them.
COMMANDS = {"inspect": "inspect_cmd", "replay": "replay_cmd", "simulate": "simulate_cmd", "agent": "agent_cmd",
            "fleet": "fleet_cmd"}


def _command_named(argv: list[str]) -> str | None:
    """The subcommand argv names (its first word that is not an option), if it is one."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` that subcommand's alone (what main() builds when
    the command line names one: the other modules are not imported, a few ms of every start)."""
    from flapwatch import __version__

    parser = argparse.ArgumentParser(
        prog="flapwatch",
        description="Link-flap, PFC storm and LLDP neighbor-change detection from captures and live interfaces.",
        epilog=inspect_cmd.EXAMPLE,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"flapwatch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"flapwatch.cli.{module}").add_parser(sub)
    return parser


def _error(message: object, code: int) -> int:
    print(f"flapwatch: error: {message}", file=sys.stderr)
    return code


def _stdout_closed() -> int:
    """The reader went away (| head): no message, no traceback at exit's flush."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_PIPE


def main(argv: list[str] | None = None, *, one_shot_process: bool = False, started=None) -> int:
    """Parse and run one command. one_shot_process (console(): this process runs the command
    and ends): inspect and replay, not following, run without the cyclic garbage collector.
    started: the core's run launch.console() started on these words (detect/prestart.py),
    which replay takes if its call is that one."""
    parser = build_parser(_command_named(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    args.prestarted = started
    if one_shot_process and args.command in FAST_EXIT and not getattr(args, "follow", False):
        gc.disable()
    try:
        return args.func(args)
    except Exception as e:
        if args.debug:
            raise
        return _exit_code(e)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


# Commands whose work is done when main() returns: no thread, file or exporter left to flush.
FAST_EXIT = ("inspect", "replay")


def console(started=None) -> None:
    """The `flapwatch` command (launch.console(): the console script, `python -m flapwatch`):
    main(), then, for inspect and replay, out without the interpreter's teardown once stdout
    and stderr are flushed (freeing every module and array is ~20 ms of a replay's ~0.3 s:
    bench/README.md). The agent and the others end the usual way: their exporters flush at
    exit. `started`: main()'s (launch.console() starts it).

    inspect and replay also run without the cyclic garbage collector: they make few cycles
    (reference counts free their rows; the peak RSS of a 117,000-row replay is the same),
    and the collections the allocation counts set off were ~11 % of `import numpy` and
    walked every row written (bench/README.md). The agent, which runs for days, keeps it,
    and so does `replay --follow` (decided on the parsed arguments: argparse takes `--fol`)."""
    code = main(one_shot_process=True, started=started)
    if _command_named(sys.argv[1:]) not in FAST_EXIT:
        sys.exit(code)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _stdout_closed()
    try:
        sys.stderr.flush()
    except OSError:
        pass
    os._exit(code)


def _exit_code(e: Exception) -> int:
    """One line on stderr and the README's exit code for what went wrong."""
    if isinstance(e, BrokenPipeError):
        return _stdout_closed()
    if isinstance(e, (UsageError, ConfigError)):
        return _error(e, EXIT_USAGE)
    if isinstance(e, StartError):
        return _error(e, EXIT_START)
    if isinstance(e, CaptureError):
        return _error(e, EXIT_CAPTURE)
    if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return _error(f"{e.strerror}: {e.filename}" if e.filename else e, EXIT_CAPTURE)
    if isinstance(e, ValueError):  # what the core refuses in a configuration
        return _error(e, EXIT_USAGE)
    if isinstance(e, OSError):
        return _error(e, EXIT_CAPTURE)
    if isinstance(e, ModuleNotFoundError):  # an optional dependency: the message says what to install
        return _error(e.msg, EXIT_USAGE)
    return _error(f"internal error: {type(e).__name__}: {e} (a bug: --debug shows the traceback)", EXIT_INTERNAL)


if __name__ == "__main__":
    console()
