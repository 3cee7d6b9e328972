"""`flapwatch agent`: the live engine on interfaces and netlink, with Prometheus metrics,
JSON lines of detections and a pcapng recording."""

from __future__ import annotations

import argparse
import fnmatch
import os
import signal
import sys
import threading
import time

from flapwatch.cli.exits import EXIT_OK, StartError, UsageError
from flapwatch.cli.formatting import HelpFormatter

EXAMPLE = """examples:
  flapwatch agent -i swp1 -i swp2 --metrics 127.0.0.1:9477 --events /var/log/flapwatch.jsonl
  flapwatch agent -i eth0 --record /var/tmp/eth0.pcapng --events -   # then: flapwatch replay /var/tmp/eth0.pcapng
  flapwatch agent -i swp1 --otlp http://collector:4318 --metrics 127.0.0.1:9477
  flapwatch agent --sonic --metrics 127.0.0.1:9477 --events -   # on a SONiC switch: COUNTERS_DB + APPL_DB
  flapwatch agent -i 'swp*' --record /var/tmp/swp.pcapng --rotate-size 50MB --keep 10 --config /etc/flapwatch.toml
      # then: flapwatch replay /var/tmp/swp.pcapng.* /var/tmp/swp.pcapng ;  kill -HUP <pid> reloads the config

files: with --rotate-size or --rotate-interval, --events and --record rotate: FILE is the file being
  written, FILE.1 the newest rotated one, FILE.N the oldest kept (--keep N, default 5); older ones are
  deleted, so the disk holds at most (N + 1) x --rotate-size per file. Each rotated recording is a whole
  pcapng (replay them together, or any one alone). A write error (a full disk) stops that file with one
  notice and flapwatch_record_errors_total{file}; detection and metrics go on.
signals: SIGHUP re-reads --config; a bad file keeps the running configuration (one line on stderr says
  why). Link state, open outages, neighbors and counts carry over; flap policies and PFC pauses in
  progress start afresh. SIGTERM/SIGINT stop the agent.
"""


def _address(spec: str) -> tuple[str, int]:
    """HOST:PORT (HOST may be empty: every address; [v6]:PORT) -> (host, port)."""
    host, sep, port = spec.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--metrics takes HOST:PORT with a port from 1 to 65535, not {spec!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _metrics_server(spec: str, collector) -> str:
    from prometheus_client import start_http_server
    from prometheus_client.core import REGISTRY

    host, port = _address(spec)
    try:
        start_http_server(port, addr=host)
    except OSError as e:
        raise StartError(f"cannot serve metrics on {spec}: {e.strerror or e} "
                         "(is another agent running there? is the address one of this host's?)") from None
    REGISTRY.register(collector)
    return f"http://{spec}/metrics"


SYS_NET = "/sys/class/net"


def interfaces(patterns: list[str]) -> list[str]:
    """-i names and shell patterns ('swp*') -> the interfaces of this network namespace."""
    have = sorted(os.listdir(SYS_NET)) if os.path.isdir(SYS_NET) else []
    out: list[str] = []
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            matched = [name for name in have if fnmatch.fnmatchcase(name, pattern)]
            if not matched:
                raise StartError(f"no interface matches {pattern!r} here (have: {', '.join(have) or 'none'}); "
                                 "`ip link` lists this network namespace's interfaces")
        elif have and pattern not in have:
            raise StartError(f"interface {pattern} does not exist here (have: {', '.join(have)}); "
                             "`ip link` lists this network namespace's interfaces")
        else:
            matched = [pattern]
        out += [name for name in matched if name not in out]
    return out


def _start_error(e: Exception) -> StartError:
    """The core's reason, and what to do about it."""
    text = str(e)
    if "not permitted" in text or "Permission denied" in text:
        hint = ("run as root, or grant CAP_NET_RAW (AF_PACKET) and CAP_NET_ADMIN (netlink buffer) as "
                "deploy/systemd/flapwatch-agent.service does")
    elif "No such device" in text:
        hint = "`ip link` lists this network namespace's interfaces"
    else:
        hint = "see --debug for the details"
    return StartError(f"cannot start: {text}; {hint}")


def _rotation(args):
    from flapwatch.live.recording import KEEP_DEFAULT, Rotation, parse_interval, parse_size

    def parsed(option: str, parse, text):
        try:
            return parse(text) if text else 0
        except ValueError as e:
            raise UsageError(f"{option}: {e}") from None

    size = parsed("--rotate-size", parse_size, args.rotate_size)
    interval = float(parsed("--rotate-interval", parse_interval, args.rotate_interval))
    if args.keep is not None and args.keep < 0:
        raise UsageError(f"--keep takes a number of files, 0 or more, not {args.keep}")
    if args.keep is not None and not (size or interval):
        raise UsageError("--keep needs --rotate-size or --rotate-interval (without them nothing rotates)")
    if (size or interval) and not (args.record or (args.events and args.events != "-")):
        raise UsageError("--rotate-size/--rotate-interval rotate --record and --events FILE; neither is given")
    return Rotation(size, interval, KEEP_DEFAULT if args.keep is None else args.keep)


def _reload(agent, collector, path: str | None) -> str:
    """SIGHUP: the one stderr line saying what happened."""
    from flapwatch.errors import ConfigError

    if not path:
        return "SIGHUP: no --config to reload; the configuration is unchanged"
    try:
        agent.reconfigure(path)
    except (ConfigError, ValueError) as e:
        return f"configuration not reloaded, the running one stays: {str(e).splitlines()[0]}"
    collector.configured()
    return (f"configuration reloaded from {path} (link state, open outages, neighbors and counts kept; "
            "flap policies and PFC pauses in progress restart)")


def run(args) -> int:
    from flapwatch.assess.risk import RiskConfig, RiskModel, event_from_detection
    from flapwatch.config import Config
    from flapwatch.live.agent import FINDING_KINDS, Agent, Detection
    from flapwatch.live.metrics import AgentCollector
    from flapwatch.live.recording import RotatingLog

    cfg = Config.coerce(args.config or None)
    if args.metrics:
        _address(args.metrics)  # a usage error before anything starts
    rotation = _rotation(args)
    if not args.interface and args.sonic is None:
        raise UsageError("the following arguments are required: -i/--interface (or --sonic: a SONiC switch's redis)")
    names = interfaces(args.interface or [])
    sonic = None
    if args.sonic is not None:
        from flapwatch.counters.sonic import SonicSource, connection_kwargs
        from flapwatch.counters.samples import interval_ns
        from flapwatch.errors import ConfigError

        try:
            connection_kwargs(args.sonic)
            interval_ns(args.sonic_interval)
        except ConfigError as e:
            raise UsageError(str(e)) from None
        try:
            sonic = SonicSource(args.sonic, interval=args.sonic_interval).connect()
        except ConfigError as e:
            raise StartError(str(e)) from None
    stop, reload = threading.Event(), threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, lambda signum, frame: reload.set())
    events = log = None
    if args.events == "-":
        events = sys.stdout
    elif args.events:
        try:
            events = log = RotatingLog(args.events, rotation)
        except OSError as e:
            raise StartError(f"cannot write the event log {args.events}: {e.strerror or e}") from None
    collector = None
    risk = RiskModel(RiskConfig.for_config(cfg))  # the same model, and threshold, replay scores with

    def handle(d: Detection) -> None:  # every detection, also those stop() flushes
        collector.observe(d)
        event = event_from_detection(d.kind, d.row)
        if event is not None:
            risk.update(event)
        if events is not None and d.kind in FINDING_KINDS:
            events.write(d.to_json() + "\n")  # the log: a write error stops it (noticed once)
            if events is sys.stdout:
                events.flush()  # a pipe is block-buffered: a link_down must not wait for 8 KB of others

    try:
        # --sonic: APPL_DB's PORT_TABLE is the switch's link state (the kernel's netdevs only
        # mirror it), so netlink stays off unless interfaces are watched too.
        agent = Agent(names, cfg, record=args.record, rotation=rotation,
                      netlink=not args.no_netlink and not (sonic is not None and not names),
                      on_detection=handle, otlp=args.otlp, counters=args.counters,
                      counter_interval=args.counter_interval, counter_driver=args.driver, sonic=sonic)
    except RuntimeError as e:
        raise _start_error(e) from None
    collector = AgentCollector(agent)
    collector.events = log
    where = [f"watching {', '.join(names)}" + ("" if args.no_netlink else " and netlink link messages")] if names \
        else []
    if sonic is not None:
        where.append(f"reading SONiC's COUNTERS_DB and APPL_DB at {sonic.address} every "
                     f"{sonic.interval_ns / 1e6:g} ms")
    if args.metrics:
        where.append(f"metrics on {_metrics_server(args.metrics, collector)}")
    try:
        agent.start()
    except RuntimeError as e:
        raise _start_error(e) from None
    for what, value in (("events to", args.events), ("recording to", args.record), ("OTLP to", args.otlp)):
        if value:
            where.append(f"{what} {'stdout' if value == '-' else value}")
    if rotation.on:
        limits = [f"{rotation.max_bytes} bytes"] * bool(rotation.max_bytes) + \
            [f"{rotation.interval_s:g} s"] * bool(rotation.interval_s)
        where.append(f"rotating at {' or '.join(limits)}, keeping {rotation.keep} rotated file(s) (FILE.1 newest)")
    print(f"flapwatch agent: {'; '.join(where)}", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    log_noticed = False
    sonic_noticed = 0
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            agent.poll(timeout=0.2)
            for port, score in risk.scores(time.time_ns()).items():
                collector.set_risk(port, score)
            collector.refresh()
            for notice in agent.stats.get("notices", [])[len(collector.notices):]:
                collector.notices.append(notice)
                print(f"flapwatch agent: {notice}", file=sys.stderr)
            if sonic is not None:
                for notice in sonic.stats.notices[sonic_noticed:]:
                    print(f"flapwatch agent: {notice}", file=sys.stderr)
                sonic_noticed = len(sonic.stats.notices)
            if log is not None and log.error and not log_noticed:
                log_noticed = True
                print(f"flapwatch agent: event log stopped: {log.error}; detection goes on", file=sys.stderr)
            if reload.is_set():
                reload.clear()
                print(f"flapwatch agent: {_reload(agent, collector, args.config)}", file=sys.stderr, flush=True)
    finally:
        agent.stop()
        if events is sys.stdout:
            events.flush()
        elif log is not None:
            log.close()
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
        formatter_class=HelpFormatter,
    )
    g.add_argument("-i", "--interface", action="append", metavar="IFACE",
                   help="capture PFC/PAUSE/LLDP on this interface (repeatable; a shell pattern such as 'swp*' "
                        "takes every matching interface)")
    g.add_argument("--metrics", metavar="HOST:PORT", help="serve Prometheus metrics here")
    g.add_argument("--events", metavar="FILE", help="append detections as JSON lines to FILE ('-': stdout)")
    g.add_argument("--record", metavar="FILE.pcapng", help="record every consumed frame (replayable)")
    g.add_argument("--rotate-size", metavar="SIZE",
                   help="rotate --events and --record before a file passes SIZE (50MB = 50e6 bytes, 1GiB = 2^30): "
                        "FILE.1 is the newest rotated file")
    g.add_argument("--rotate-interval", metavar="DURATION",
                   help="rotate --events and --record once a file has run DURATION (30s, 15m, 1h, 1d)")
    g.add_argument("--keep", type=int, metavar="N",
                   help="rotated files kept besides FILE: FILE.1 (newest) .. FILE.N (oldest); older ones are "
                        "deleted (default 5)")
    g.add_argument("--otlp", metavar="URL", help="send each detection as an OpenTelemetry log record to this "
                   "OTLP/HTTP collector (http://collector:4318; needs flapwatch[otlp])")
    g.add_argument("--config", metavar="FILE", help="TOML configuration (SIGHUP re-reads it)")
    g.add_argument("--no-netlink", action="store_true", help="do not listen to netlink link messages")
    g.add_argument("--counters", action="store_true",
                   help="also poll the interfaces' counters (ethtool -S by ioctl, ethtool netlink PAUSE and PHY "
                        "link-down counts): PFC storms and PHY flaps the MAC hides from a capture")
    g.add_argument("--counter-interval", default="100ms", metavar="DURATION",
                   help="how often --counters reads each interface (default 100ms; one thread for all)")
    g.add_argument("--driver", metavar="NAME", help="the counter profile (mlx5_core, bnxt_en, ice, i40e, sonic); "
                                                    "default: the interface's driver")
    g.add_argument("--sonic", nargs="?", const="/var/run/redis/redis.sock", metavar="REDIS",
                   help="a SONiC switch: read its PFC counters (COUNTERS_DB, SAI names, durations in µs) and port "
                        "link state (APPL_DB PORT_TABLE oper_status, flap_count) from redis at REDIS (a unix socket, "
                        "default /var/run/redis/redis.sock, or HOST:PORT); needs flapwatch[sonic]")
    g.add_argument("--sonic-interval", default="200ms", metavar="DURATION",
                   help="how often --sonic reads the databases (default 200ms, pfcwd's cadence)")
    g.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    g.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    g.set_defaults(func=run)
    return g
