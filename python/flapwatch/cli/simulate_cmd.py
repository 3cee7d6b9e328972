"""`flapwatch simulate`: one simulated scenario to a pcapng capture and its truth."""

from __future__ import annotations

import argparse
import sys

from flapwatch.cli.exits import EXIT_OK, EXIT_USAGE
from flapwatch.cli.formatting import HelpFormatter

EXAMPLE = """example:
  flapwatch simulate --list                   # the scenarios (fault families)
  flapwatch simulate oscillation -o /tmp/osc.pcapng --seed 7
  flapwatch inspect /tmp/osc.pcapng          # the truth is in /tmp/osc.pcapng.truth.json
  flapwatch simulate --devices 64 --ports 32 --duration 600 -o /tmp/fleet/   # a fleet: one capture per device
"""


def run(args) -> int:
    from flapwatch.assess.episodes import LABELS
    from flapwatch.sim import FAMILIES, simulate

    if args.list:
        print("\n".join(FAMILIES))
        return EXIT_OK
    if args.devices is not None:
        return run_fleet(args)
    if not args.scenario or not args.output:
        print("flapwatch simulate: SCENARIO and -o are required (or --list)", file=sys.stderr)
        return EXIT_USAGE
    if args.scenario not in FAMILIES:
        print(f"flapwatch simulate: unknown scenario {args.scenario!r} (choose from {', '.join(FAMILIES)})",
              file=sys.stderr)
        return EXIT_USAGE
    r = simulate(args.scenario, args.output, args.seed, duration_s=args.duration)
    labels = sorted({lab for e in r.truth["episodes"] for lab in e["labels"]}, key=LABELS.index)
    print(f"{r.path}: {r.frames} frames, {r.truth['bytes']} bytes, {len(r.truth['episodes'])} episodes "
          f"({', '.join(labels) or 'no fault'}); truth in {r.truth_path}")
    return EXIT_OK


def run_fleet(args) -> int:
    from flapwatch.sim.fabric import simulate_fabric

    if args.scenario:
        print("flapwatch simulate: --devices builds a fleet with every cross-device family; no SCENARIO",
              file=sys.stderr)
        return EXIT_USAGE
    if not args.output or args.devices < 1 or (args.ports or 0) < 1:
        print("flapwatch simulate: --devices N (>= 1) needs -o DIR/ and --ports M (>= 1)", file=sys.stderr)
        return EXIT_USAGE
    r = simulate_fabric(args.output, args.devices, args.ports, duration_s=args.duration or 600, seed=args.seed,
                        host_nics=args.host_nics, skew_ms=args.skew_ms)
    families = sorted({f["family"] for f in r.truth["faults"]})
    print(f"{r.directory}: {len(r.files)} devices ({args.devices} switches), {r.frames} frames, "
          f"{len(r.truth['faults'])} faults ({', '.join(families)}); topology in {r.topology_path}, truth in {r.truth_path}")
    return EXIT_OK


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "simulate", help="write a simulated fleet capture (pcapng) with its ground truth",
        description="Write a pcapng capture of a simulated fleet with one fault family, and the truth next to it "
                    "as OUT.truth.json.", epilog=EXAMPLE, formatter_class=HelpFormatter)
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a fault family (see --list)")
    p.add_argument("-o", "--output", metavar="OUT.pcapng", help="capture to write (overwritten)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same capture")
    p.add_argument("--duration", type=float, metavar="S", help="scenario length in seconds (default: the family's)")
    p.add_argument("--list", action="store_true", help="list the scenarios")
    p.add_argument("--devices", type=int, metavar="N",
                   help="a fleet instead: N switches, each device its own capture in -o DIR/ (with their hosts)")
    p.add_argument("--ports", type=int, default=32, metavar="M", help="with --devices: host ports per switch (default 32)")
    p.add_argument("--host-nics", type=int, default=8, metavar="K", help="with --devices: NICs per host, one per rail (default 8)")
    p.add_argument("--skew-ms", type=float, default=50.0, metavar="MS",
                   help="with --devices: each device's clock off by up to +-MS (default 50)")
    p.set_defaults(func=run)
    return p
