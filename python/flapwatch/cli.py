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


REPLAY_EXAMPLE = """examples:
  flapwatch replay captures/lab.pcapng
  flapwatch replay dumps/*.pcapng.gz --port 'leaf1:swp*' --since 2026-11-28T16:00:00Z --format json -o out.json
  flapwatch replay captures/ --format parquet -o tables/ --report report.html --fail-on hidden,storm
  tcpdump -i eth0 -w live.pcap & flapwatch replay --follow live.pcap
"""

AGENT_EXAMPLE = """examples:
  flapwatch agent -i swp1 -i swp2 --metrics 127.0.0.1:9477 --events /var/log/flapwatch.jsonl
  flapwatch agent -i eth0 --record /var/tmp/eth0.pcapng --events -   # then: flapwatch replay /var/tmp/eth0.pcapng
"""

FAIL_ON = ("flap", "hidden", "storm", "risk")


def _fail_on(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in kinds if k not in FAIL_ON]
    if bad:
        raise argparse.ArgumentTypeError(f"--fail-on takes {', '.join(FAIL_ON)} (got {', '.join(bad)})")
    return kinds


def _time(text: str) -> int:
    from .timefmt import parse_time

    try:
        return parse_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _load_config(args):
    from .config import Config

    cfg = Config.coerce(args.config or None)
    if args.speed:
        cfg.default_speed = args.speed
    return cfg


def _matched(result, kinds: list[str]) -> list[str]:
    """Which --fail-on conditions the result meets."""
    ports = result.rows("ports")
    hit = []
    if "flap" in kinds and any(p["flaps"] for p in ports):
        hit.append("flap")
    if "hidden" in kinds and any(p["hidden_flaps"] for p in ports):
        hit.append("hidden")
    if "storm" in kinds and any(p["pfc_storms"] for p in ports):
        hit.append("storm")
    if "risk" in kinds and any(p["risk"] >= 0.5 for p in ports):
        hit.append("risk")
    return hit


def cmd_replay(args) -> int:
    import os

    from . import _core
    from .analysis import analyze, expand_captures
    from .progress import ProgressBar
    from .replay import Style, write

    cfg = _load_config(args)
    if args.follow:
        from .follow import follow

        return follow(args, cfg)
    paths = expand_captures(args.captures)
    progress = _core.Progress()
    total = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
    bar = ProgressBar(total, enabled=False if args.quiet else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)  # reported with the results
        analysis = bar.run(
            lambda: analyze(paths, cfg, strict=args.strict, ports=args.port, since_ns=args.since,
                            until_ns=args.until, progress=progress),
            progress,
        )
    from .replay import build_result

    result = build_result(analysis)
    style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not args.output)
    write(result, args.format, args.output, args.table, style)
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    hit = _matched(result, args.fail_on or [])
    if hit:
        print(f"flapwatch: --fail-on matched: {', '.join(hit)}", file=sys.stderr)
        return EXIT_MATCH
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

    r = sub.add_parser(
        "replay",
        help="detect flaps, hidden flaps, PFC storms and LLDP changes in captures; classify and score risk",
        description="Replay captures through the detection engine (merged by time) and report per port.",
        epilog=REPLAY_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap/pcapng (.gz too), directories or globs")
    r.add_argument("--config", metavar="FILE", help="TOML configuration (see README)")
    r.add_argument("--speed", metavar="SPEED", help="link speed where LLDP does not say, e.g. 400G")
    r.add_argument("--port", action="append", metavar="GLOB", help="only ports matching (repeatable)")
    r.add_argument("--since", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    r.add_argument("--until", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    r.add_argument("--format", choices=["table", "json", "jsonl", "csv", "parquet"], default="table")
    r.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout (csv/parquet: FILE or DIR/)")
    r.add_argument("--table", default="ports", metavar="TABLE",
                   choices=["ports", "episodes", "flaps", "policy_events", "pfc_storms", "pause_stats", "lldp_events"],
                   help="the table csv/parquet write to one file (default ports)")
    r.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    r.add_argument("--fail-on", type=_fail_on, metavar="KINDS", help="exit 1 if any of flap,hidden,storm,risk")
    r.add_argument("--follow", action="store_true",
                   help="keep reading captures still being written (tcpdump -w, python -m flapwatch.nlrecord)")
    r.add_argument("--strict", action="store_true", help="truncation and malformed frames are errors")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    r.set_defaults(func=cmd_replay)

    from .simulate import add_cli as add_simulate

    add_simulate(sub)

    from .agent import cmd_agent

    g = sub.add_parser(
        "agent",
        help="live: detect on interfaces and netlink; Prometheus metrics, JSON events, recording",
        description="Run the detection engine live on interfaces (AF_PACKET) and netlink link messages.",
        epilog=AGENT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("-i", "--interface", action="append", required=True, metavar="IFACE",
                   help="capture PFC/PAUSE/LLDP on this interface (repeatable)")
    g.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics here")
    g.add_argument("--events", metavar="FILE", help="append detections as JSON lines to FILE ('-': stdout)")
    g.add_argument("--record", metavar="FILE.pcapng", help="record every consumed frame (replayable)")
    g.add_argument("--config", metavar="FILE", help="TOML configuration")
    g.add_argument("--no-netlink", action="store_true", help="do not listen to netlink link messages")
    g.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    g.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    g.set_defaults(func=cmd_agent)
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
        return 130
    except OSError as e:
        if args.debug:
            raise
        print(f"flapwatch: error: {e}", file=sys.stderr)
        return EXIT_CAPTURE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
