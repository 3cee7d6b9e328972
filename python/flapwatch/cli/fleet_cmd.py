"""`flapwatch fleet`: many devices' captures replayed on Dask, then correlated across the fleet
(both ends of links, device-wide events, rack/pod waves, the ranking)."""

from __future__ import annotations

import argparse
import sys

from flapwatch.cli.exits import EXIT_OK, UsageError
from flapwatch.cli.formatting import HelpFormatter

EXAMPLE = """examples:
  flapwatch simulate --devices 8 --ports 8 --duration 240 -o /tmp/fleet/
  flapwatch fleet /tmp/fleet/ -o /tmp/fleet-out/ --topology /tmp/fleet/topology.csv
  flapwatch fleet 'dumps/*/' -o out/ --scheduler tcp://10.0.0.5:8786
  duckdb -c "select device, count(*) from read_parquet('out/flaps/*/*.parquet', hive_partitioning=1) group by 1"
"""


def _time(text: str) -> int:
    from flapwatch.present.timefmt import parse_time

    try:
        return parse_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def run(args) -> int:
    from flapwatch.config import Config
    from flapwatch.fleet import FleetConfig, run_fleet

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers takes a number >= 1")
    if args.scheduler and args.workers:
        raise UsageError("--workers sizes the embedded cluster; not with --scheduler")
    cfg = Config.coerce(args.config or None)
    fcfg = FleetConfig(tolerance_ms=args.tolerance_ms)
    r = run_fleet(args.inputs, args.output, config=cfg, topology=args.topology, since_ns=args.since,
                  until_ns=args.until, scheduler=args.scheduler, workers=args.workers, partitions=args.partitions,
                  fleet_config=fcfg, report=args.report, progress=not args.quiet, serial=args.serial)
    s = r.summary
    print(f"{s['devices']} devices, {s['frames']} frames, {s['flaps']} flaps in {s['seconds']} s on {s['workers']} "
          f"worker(s); {s['links']} links, {s['both-end flaps']} flaps seen from both ends, "
          f"{s['device-wide events']} device-wide events, {s['waves']} waves")
    top = r.correlation.ranking.head(args.top)
    if len(top):
        print(f"\ntop {len(top)} links by flaps:")
        print(top[["link", "flaps", "hidden_flaps", "outages_over_budget", "both_end_flaps", "risk"]].to_string(index=False))
    for _, w in r.correlation.waves.iterrows():
        print(f"wave: {w['level']} {w['group']}: {w['devices']}/{w['group_devices']} devices", file=sys.stdout)
    print(f"\nwrote {args.output} (per-device tables, fleet/*.parquet, {args.report or args.output.rstrip('/') + '/report.html'})")
    return EXIT_OK


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "fleet", help="replay many devices' captures on Dask and correlate them across the fleet",
        description="Replay each device's captures (one device per file or per directory) on a Dask cluster, write "
                    "Parquet datasets partitioned by device, and correlate: both ends of links (paired by LLDP), "
                    "device-wide events, rack/pod waves, a ranking of links, an HTML report.",
        epilog=EXAMPLE, formatter_class=HelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="captures or the agent's event logs (.jsonl, .events.parquet): files, directories or globs")
    p.add_argument("-o", "--output", required=True, metavar="OUT/", help="output directory")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (tcp://host:8786)")
    p.add_argument("--workers", type=int, metavar="N", help="embedded cluster's worker processes (default: one per core)")
    p.add_argument("--partitions", type=int, metavar="N", help="tasks to split the devices into (default: one per device)")
    p.add_argument("--serial", action="store_true", help="no Dask: one device after the other in this process")
    p.add_argument("--topology", metavar="FILE.csv", help="device,rack,pod (default: the LLDP graph)")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (see README)")
    p.add_argument("--tolerance-ms", type=float, default=100.0, metavar="MS",
                   help="both ends: flaps this close once the skew is out (default 100)")
    p.add_argument("--since", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    p.add_argument("--until", type=_time, metavar="T", help="ISO 8601 or epoch seconds")
    p.add_argument("--report", metavar="FILE.html", help="the HTML report (default OUT/report.html)")
    p.add_argument("--top", type=int, default=10, metavar="N", help="links printed (default 10)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    p.set_defaults(func=run)
    return p
