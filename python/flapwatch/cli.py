"""The `flapwatch` command line."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from .errors import CaptureError, CaptureWarning
from .timefmt import iso_us as _iso

EXIT_OK, EXIT_MATCH, EXIT_USAGE, EXIT_CAPTURE = 0, 1, 2, 3

INSPECT_EXAMPLE = """example:
  flapwatch inspect captures/lab.pcapng
  flapwatch inspect --json captures/*.pcap* | jq .pfc_per_priority
"""


def _speed(bps: int | None) -> str:
    if not bps:
        return "?"
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6)):
        if bps >= scale:
            return f"{bps / scale:g}{unit}"
    return f"{bps}"


def _table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_inspect(s: dict, out) -> None:
    from .schema import OPERSTATES

    print(f"files: {', '.join(s['files'])}", file=out)
    print(f"frames: {s['frames']}  from {_iso(s['first_ts_ns'])} to {_iso(s['last_ts_ns'])}", file=out)
    print("  " + "  ".join(f"{k} {v}" for k, v in s["counts"].items()), file=out)
    if s["pfc_per_port"]:
        print("\nPFC (802.1Qbb) frames / summed quanta of enabled classes, per priority:", file=out)
        rows = [
            [port] + [f"{p['frames']}/{p['quanta_sum']}" for p in prios] for port, prios in s["pfc_per_port"].items()
        ]
        print(_table(["port"] + [f"p{i}" for i in range(8)], rows), file=out)
    if s["pause_per_port"]:
        print("\nPAUSE (802.3x):", file=out)
        rows = [
            [port, v["frames"], v["quanta_sum"], _speed(v["speed_bps"]),
             "?" if v["pause_seconds"] is None else f"{v['pause_seconds'] * 1e3:.3f} ms"]
            for port, v in s["pause_per_port"].items()
        ]
        print(_table(["port", "frames", "quanta", "speed", "pause time"], rows), file=out)
    if s["lldp_neighbors"]:
        print("\nLLDP neighbors:", file=out)
        rows = [
            [n["port"], n["chassis_id"], n["port_id"], n["system_name"] or "-", n["ttl"], _speed(n["speed_bps"]),
             n["frames"]]
            for n in s["lldp_neighbors"]
        ]
        print(_table(["port", "chassis id", "port id", "system name", "ttl", "speed", "frames"], rows), file=out)
    if s["link_per_port"]:
        print("\nLink-state messages (netlink):", file=out)
        rows = [
            [lp["port"], lp["ifindex"], lp["messages"], lp["down_messages"],
             OPERSTATES[lp["operstate"]] if 0 <= lp["operstate"] < len(OPERSTATES) else lp["operstate"],
             lp["carrier_changes"], lp["carrier_up_count"], lp["carrier_down_count"]]
            for lp in s["link_per_port"]
        ]
        headers = ["interface", "ifindex", "messages", "carrier-down msgs", "last operstate", "carrier changes", "up",
                   "down"]
        print(_table(headers, rows), file=out)
    if s["malformed_reasons"]:
        print("\nmalformed frames:", file=out)
        for reason, n in s["malformed_reasons"].items():
            print(f"  {n:6d}  {reason}", file=out)
    for w in s["warnings"]:
        print(f"warning: {w}", file=out)


def cmd_inspect(args) -> int:
    from .inspect import summarize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)  # they are reported in the summary
        summary = summarize(args.captures, strict=args.strict).to_json()
    if args.json:
        json.dump(summary, sys.stdout, separators=(",", ":"))
        sys.stdout.write("\n")
    else:
        _print_inspect(summary, sys.stdout)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flapwatch",
        description="Link-flap, PFC storm and LLDP neighbor-change detection from captures.",
        epilog=INSPECT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "inspect",
        help="what a capture holds: frames per kind, PFC, PAUSE, LLDP neighbors, link messages",
        epilog=INSPECT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap / pcapng, optionally .gz")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--strict", action="store_true", help="truncation and malformed frames are errors")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_inspect)
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
    except OSError as e:
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_CAPTURE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
