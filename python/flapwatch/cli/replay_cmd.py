"""`flapwatch replay`: captures through the engine, then classification and risk, written
in the format asked for; `--follow` prints detections as they happen."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import warnings

from flapwatch.cli.exits import EXIT_MATCH, EXIT_OK, UsageError
from flapwatch.cli.formatting import HelpFormatter
from flapwatch.cli.inspect_cmd import threads_arg, warn
from flapwatch.errors import CaptureWarning

EXAMPLE = """examples:
  flapwatch replay captures/lab.pcapng
  flapwatch replay dumps/*.pcapng.gz --port 'leaf1:swp*' --since 2026-11-28T16:00:00Z --format json -o out.json
  flapwatch replay captures/ --format parquet -o tables/ --report report.html --fail-on hidden,storm
  flapwatch replay wire.pcap links.pcap --device gpu-host7       (one port gpu-host7:IFACE)
  flapwatch replay leaf1/ gpu-host7/          (a directory per device; FILE=DEVICE[:IFACE] also)
  tcpdump -i eth0 -w live.pcap & flapwatch replay --follow live.pcap=gpu-host7:eth0
"""

FAIL_ON = ("flap", "hidden", "storm", "risk")  # the plain kinds; README.md, "--fail-on"
# A threshold term: NAME>=VALUE, compared with a column of any port's row.
FAIL_ON_COLUMNS = {"risk": "risk_peak", "risk_now": "risk", "flaps": "flaps", "hidden": "hidden_flaps",
                   "storms": "pfc_storms"}
FAIL_ON_PLAIN = {"flap": ("flaps", 1), "hidden": ("hidden_flaps", 1), "storm": ("pfc_storms", 1),
                 "risk": ("risk_peak", 0.5)}  # plain "risk": the peak reached 0.5
FAIL_ON_HELP = "flap, hidden, storm, risk (peak >= 0.5), risk>=P (peak), risk_now>=P (at the end), flaps>=N, hidden>=N, storms>=N"


def _fail_on_term(term: str) -> tuple[str, str, float]:
    """One --fail-on term as (term, column, threshold)."""
    if term in FAIL_ON_PLAIN:
        return (term, *FAIL_ON_PLAIN[term])
    name, op, value = term.partition(">=")
    name, value = name.strip(), value.strip()
    if not op or name not in FAIL_ON_COLUMNS:
        raise argparse.ArgumentTypeError(f"--fail-on takes {FAIL_ON_HELP}; got {term!r}")
    if name.startswith("risk"):
        try:
            p = float(value)
        except ValueError:
            p = math.nan
        if not 0.0 <= p <= 1.0:  # nan fails too
            raise argparse.ArgumentTypeError(f"--fail-on takes {name}>=P with P in 0..1 (e.g. {name}>=0.7); got {term!r}")
        return (f"{name}>={value}", FAIL_ON_COLUMNS[name], p)
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"--fail-on takes {name}>=N with a whole N >= 1 (e.g. {name}>=5); got {term!r}")
    return (f"{name}>={int(value)}", FAIL_ON_COLUMNS[name], int(value))


def _fail_on(text: str) -> list[tuple[str, str, float]]:
    terms = [k.strip() for k in text.split(",") if k.strip()]
    if not terms:
        raise argparse.ArgumentTypeError(f"--fail-on takes {FAIL_ON_HELP}; got nothing")
    return [_fail_on_term(t) for t in terms]


class _OutputTables:
    """--table's choices, read from the schema when argparse looks (the schema imports
    numpy, which `import flapwatch.cli` must not: tests/layout)."""

    def __contains__(self, name: object) -> bool:
        from flapwatch.tables import schema

        return name in schema.OUTPUT_TABLES

    def __iter__(self):
        from flapwatch.tables import schema

        return iter(schema.OUTPUT_TABLES)


def _time(text: str) -> int:
    from flapwatch.present.timefmt import parse_time

    try:
        return parse_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def load_config(args):
    from flapwatch.config import Config

    cfg = Config.coerce(args.config or None)
    if getattr(args, "speed", None):
        cfg.default_speed = args.speed
    return cfg


def _matched(result, terms: list[tuple[str, str, float]]) -> list[str]:
    """Which --fail-on conditions the result meets (any port meets it)."""
    ports = result.rows("ports")
    return [term for term, column, threshold in terms if any(p[column] >= threshold for p in ports)]


def _import_meanwhile(modules: list[str]) -> None:
    """Import what the results need (numpy first) on another thread while the core reads (it
    holds no GIL then; nothing before its run imports numpy, detect/analysis.py). Started as
    the core starts, not before: the two threads would take turns at the GIL while the inputs
    are resolved. The later imports find them loaded, or wait for the one under way."""
    import importlib
    import threading

    def load():
        for m in modules:
            try:
                importlib.import_module(m)
            except Exception:  # noqa: BLE001  (the real import reports it, where it is needed)
                return

    threading.Thread(target=load, name="flapwatch-imports", daemon=True).start()


def _finish(args, analysis) -> int:
    """Classification, risk and the outputs asked for; the --fail-on verdict."""
    from flapwatch.assess.result import build_result
    from flapwatch.present.writers import Style, write

    if args.port and analysis.ports.rows == 0:
        patterns = ", ".join(repr(p) for p in args.port)
        raise UsageError(f"--port {patterns} matches no port in the captures")
    result = build_result(analysis)
    if not (args.follow and args.format == "jsonl"):  # --follow's JSON lines were the output
        style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not args.output)
        write(result, args.format, args.output, args.table, style)
    if args.report:
        from flapwatch.present.report import write_report

        write_report(result, args.report)
    for notice in getattr(analysis, "notices", []):
        print(f"flapwatch: notice: {notice}", file=sys.stderr)
    warn(analysis.warnings)
    hit = _matched(result, args.fail_on or [])
    if hit:
        print(f"flapwatch: --fail-on matched: {', '.join(hit)}", file=sys.stderr)
        return EXIT_MATCH
    return EXIT_OK


def follow(args, cfg) -> int:
    from flapwatch.detect.follow import POLL_S, Follower
    from flapwatch.present.text import describe
    from flapwatch.tables import schema
    import time

    paths = list(args.captures)
    if any(os.path.isdir(p) or p.endswith(".gz") for p in paths):
        raise UsageError("--follow takes capture files being written (not directories or .gz)")
    stopping = {"now": False}

    def on_signal(signum, frame):
        stopping["now"] = True

    old = signal.signal(signal.SIGTERM, on_signal)
    jsonl = args.format in ("json", "jsonl")
    out = sys.stdout
    follower = Follower(paths, cfg, ports=args.port, since_ns=args.since, until_ns=args.until, device=args.device)
    try:
        if not follower.open(lambda: stopping["now"]):
            return EXIT_OK
        try:
            while not stopping["now"]:
                for table, rows in follower.poll().items():
                    for row in rows:
                        if jsonl:
                            out.write(json.dumps({"type": schema.ROW_TYPES[table], **row}) + "\n")
                        else:
                            out.write(describe(table, row) + "\n")
                out.flush()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            pass
        analysis = follower.finish()
    finally:
        signal.signal(signal.SIGTERM, old)
    return _finish(args, analysis)


def run(args) -> int:
    results_need = ["numpy", "flapwatch.tables.schema", "flapwatch.tables.table", "flapwatch.assess.result",
                    "flapwatch.present.writers"] + (["flapwatch.present.report"] if args.report else [])
    from flapwatch import _core
    from flapwatch.detect.analysis import analyze, expand_captures
    from flapwatch.present.progress import ProgressBar

    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet needs -o FILE or -o DIR/")
    cfg = load_config(args)
    if args.follow:
        return follow(args, cfg)
    paths = expand_captures(args.captures)
    started = args.prestarted  # launched before the parser (detect/prestart.py)
    progress = started.progress if started is not None else _core.Progress()
    total = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
    bar = ProgressBar(total, enabled=False if args.quiet else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaptureWarning)  # reported with the results
        analysis = bar.run(
            lambda: analyze(args.captures, cfg, strict=args.strict, ports=args.port, since_ns=args.since,
                            until_ns=args.until, progress=progress, device=args.device, counter_driver=args.driver,
                            threads=args.threads, on_core_start=lambda: _import_meanwhile(results_need),
                            started=started),
            progress,
        )
    return _finish(args, analysis)


def add_parser(sub) -> argparse.ArgumentParser:
    r = sub.add_parser(
        "replay",
        help="detect flaps, hidden flaps, PFC storms and LLDP changes in captures; classify and score risk",
        description="Replay captures through the detection engine (merged by time) and report per port.",
        epilog=EXAMPLE,
        formatter_class=HelpFormatter,
    )
    r.add_argument("captures", nargs="+", metavar="CAPTURE",
                   help="pcap/pcapng (.gz too), directories (a device each) or globs; FILE=DEVICE[:IFACE] names "
                        "a capture's device and a classic pcap's interface")
    r.add_argument("--device", metavar="NAME",
                   help="the device of every capture no FILE=DEVICE names: ports become NAME:IFACE")
    r.add_argument("--driver", metavar="NAME",
                   help="the counter profile of timestamped `ethtool -S` logs among the inputs (mlx5_core, bnxt_en, "
                        "ice, i40e, sonic); default: the profile that knows the logs' names")
    r.add_argument("--config", metavar="FILE", help="TOML configuration (see README)")
    r.add_argument("--speed", metavar="SPEED", help="link speed where LLDP does not say, e.g. 400G")
    r.add_argument("--port", action="append", metavar="GLOB", help="only ports matching (repeatable)")
    r.add_argument("--since", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    r.add_argument("--until", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    r.add_argument("--format", choices=["table", "json", "jsonl", "csv", "parquet"], default="table")
    r.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout (csv/parquet: FILE or DIR/)")
    r.add_argument("--table", default="ports", metavar="TABLE", choices=_OutputTables(),
                   help="the table csv/parquet write to one file (default ports)")
    r.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report")
    r.add_argument("--fail-on", type=_fail_on, metavar="CONDITIONS",
                   help=f"exit 1 if any port meets one of these (comma-separated): {FAIL_ON_HELP}")
    r.add_argument("--follow", action="store_true",
                   help="keep reading captures still being written (tcpdump -w, python -m flapwatch.sources.nlrecord)")
    r.add_argument("--strict", action="store_true", help="truncation and malformed frames are errors")
    r.add_argument("--threads", type=threads_arg, metavar="N",
                   help="threads reading one big uncompressed capture (default: 2 on 2+ cores); the output is the same")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    r.set_defaults(func=run)
    return r
