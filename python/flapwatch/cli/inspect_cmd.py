"""`flapwatch inspect`: what captures hold, streamed (no detection)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from flapwatch.cli.exits import EXIT_OK
from flapwatch.errors import CaptureWarning

EXAMPLE = """example:
  flapwatch inspect captures/lab.pcapng
  flapwatch inspect --json captures/*.pcap* | jq .pfc_per_priority
"""


def run(args) -> int:
    from flapwatch.present.summary import summarize
    from flapwatch.present.text import write_inspect

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)  # they are reported in the summary
        summary = summarize(args.captures, strict=args.strict).to_json()
    if args.json:
        json.dump(summary, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        write_inspect(summary, sys.stdout)
    warn(summary["warnings"])
    return EXIT_OK


def warn(messages: list[str]) -> None:
    """Warnings go to stderr in every format (JSON outputs also carry them as a list)."""
    sys.stdout.flush()
    for message in messages:
        print(f"flapwatch: warning: {message}", file=sys.stderr)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "inspect",
        help="what a capture holds: frames per kind, PFC, PAUSE, LLDP neighbors, link messages",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap / pcapng, optionally .gz")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true", help="truncation and malformed frames are errors")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)
    return p
