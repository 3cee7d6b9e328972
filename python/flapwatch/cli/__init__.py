"""The `flapwatch` command line: the parser and main(); each subcommand lives in its own
module and imports what it runs only when it runs (so `flapwatch inspect` loads neither
the classifier, the simulator nor the live agent)."""

from __future__ import annotations

import argparse
import sys

from flapwatch.cli import agent_cmd, inspect_cmd, replay_cmd, simulate_cmd
from flapwatch.cli.exits import EXIT_CAPTURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from flapwatch.errors import CaptureError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flapwatch",
        description="Link-flap, PFC storm and LLDP neighbor-change detection from captures.",
        epilog=inspect_cmd.EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (inspect_cmd, replay_cmd, simulate_cmd, agent_cmd):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CaptureError as e:
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_CAPTURE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as e:
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_CAPTURE
    except ValueError as e:  # a bad configuration: a usage error
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as e:
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_CAPTURE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
