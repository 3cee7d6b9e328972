"""`flapwatch inspect`: what captures hold, streamed (no detection)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from flapwatch.cli.exits import EXIT_OK
from flapwatch.cli.formatting import HelpFormatter

EXAMPLE = """example:
  flapwatch inspect captures/lab.pcapng
  flapwatch inspect --json captures/*.pcap* | jq .pfc_per_priority
"""


def run(args) -> int:
    # The core sums the summary as it decodes (capture_summary.hpp): no rows, no numpy.
    from flapwatch import _core
    from flapwatch.sources.files import reader_threads, require_file

    paths = [require_file(os.fspath(p)) for p in args.captures]
    summary = _core.inspect(paths, args.strict, reader_threads(args.threads))
    if args.json:
        sys.stdout.write(json.dumps(summary, separators=(",", ":")) + "\n")
    else:
        from flapwatch.present.text import write_inspect

        write_inspect(summary, sys.stdout)
    warn(summary["warnings"])
    return EXIT_OK


def warn(messages: list[str]) -> None:
    """Warnings go to stderr in every format (JSON outputs also carry them as a list)."""
    sys.stdout.flush()
    for message in messages:
        print(f"flapwatch: warning: {message}", file=sys.stderr)


def threads_arg(text: str) -> int:
    from flapwatch.sources.files import threads_given

    n = threads_given(text)
    if n is None:
        raise argparse.ArgumentTypeError(f"--threads takes a whole number 1..64; got {text!r}")
    return n


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="what a capture holds: frames per kind, PFC, PAUSE, LLDP neighbors, link messages",
        epilog=EXAMPLE,
        formatter_class=HelpFormatter,
    )
    p.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap / pcapng, optionally .gz")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true", help="truncation and malformed frames are errors")
    p.add_argument("--threads", type=threads_arg, metavar="N",
                   help="readers per big uncompressed capture (default: 2 on 2+ cores); the output is the same")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    return p
