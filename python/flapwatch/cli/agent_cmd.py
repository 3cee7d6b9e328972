"""`flapwatch agent`: the live engine on interfaces and netlink, with Prometheus metrics,
JSON lines of detections and a pcapng recording."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from flapwatch.cli.exits import EXIT_OK

EXAMPLE = """examples:
  flapwatch agent -i swp1 -i swp2 --metrics 127.0.0.1:9477 --events /var/log/flapwatch.jsonl
  flapwatch agent -i eth0 --record /var/tmp/eth0.pcapng --events -   # then: flapwatch replay /var/tmp/eth0.pcapng
  flapwatch agent -i swp1 --otlp http://collector:4318 --metrics 127.0.0.1:9477
"""


def _metrics_server(spec: str, collector) -> None:
    from prometheus_client import start_http_server
    from prometheus_client.core import REGISTRY

    host, _, port = spec.rpartition(":")
    REGISTRY.register(collector)
    start_http_server(int(port), addr=host or "0.0.0.0")


def run(args) -> int:
    from flapwatch.assess.risk import RiskConfig, RiskModel, event_from_detection
    from flapwatch.config import Config
    from flapwatch.live.agent import FINDING_KINDS, Agent, Detection
    from flapwatch.live.metrics import AgentCollector

    cfg = Config.coerce(args.config or None)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    events = None
    if args.events == "-":
        events = sys.stdout
    elif args.events:
        events = open(args.events, "a", buffering=1)
    collector = None
    risk = RiskModel(RiskConfig.for_config(cfg))  # the same model, and threshold, replay scores with

    def handle(d: Detection) -> None:  # every detection, also those stop() flushes
        collector.observe(d)
        event = event_from_detection(d.kind, d.row)
        if event is not None:
            risk.update(event)
        if events and d.kind in FINDING_KINDS:
            events.write(d.to_json() + "\n")

    agent = Agent(args.interface, cfg, record=args.record, netlink=not args.no_netlink, on_detection=handle,
                  otlp=args.otlp)
    collector = AgentCollector(agent)
    if args.metrics:
        _metrics_server(args.metrics, collector)
    agent.start()
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            agent.poll(timeout=0.2)
            for port, score in risk.scores(time.time_ns()).items():
                collector.set_risk(port, score)
            collector.refresh()
            for notice in agent.stats.get("notices", [])[len(collector.notices):]:
                collector.notices.append(notice)
                print(f"flapwatch agent: {notice}", file=sys.stderr)
    finally:
        agent.stop()
        if events:
            events.flush()
            if events is not sys.stdout:
                events.close()
    stats = agent.stats
    print(f"flapwatch agent: stopped; {stats['frames']} frames, {stats['records']} records, "
          f"{stats['ring_dropped']} dropped in the ring, {stats['kernel_drops']} dropped by the kernel",
          file=sys.stderr)
    if agent.otlp is not None:
        c = agent.otlp.counts()
        print(f"flapwatch agent: OTLP {c['sent']} sent, {sum(c['dropped'].values())} dropped "
              f"({', '.join(f'{k} {v}' for k, v in c['dropped'].items())})", file=sys.stderr)
    return EXIT_OK


def add_parser(sub) -> argparse.ArgumentParser:
    g = sub.add_parser(
        "agent",
        help="live: detect on interfaces and netlink; Prometheus metrics, JSON events, recording",
        description="Run the detection engine live on interfaces (AF_PACKET) and netlink link messages.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("-i", "--interface", action="append", required=True, metavar="IFACE",
                   help="capture PFC/PAUSE/LLDP on this interface (repeatable)")
    g.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics here")
    g.add_argument("--events", metavar="FILE", help="append detections as JSON lines to FILE ('-': stdout)")
    g.add_argument("--record", metavar="FILE.pcapng", help="record every consumed frame (replayable)")
    g.add_argument("--otlp", metavar="URL", help="send each detection as an OpenTelemetry log record to this "
                   "OTLP/HTTP collector (http://collector:4318; needs flapwatch[otlp])")
    g.add_argument("--config", metavar="FILE", help="TOML configuration")
    g.add_argument("--no-netlink", action="store_true", help="do not listen to netlink link messages")
    g.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    g.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    g.set_defaults(func=run)
    return g
