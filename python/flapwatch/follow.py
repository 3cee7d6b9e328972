"""`flapwatch replay --follow`: detections as they happen from a capture that another
process (tcpdump -w, dumpcap, flapwatch agent --record) is still writing."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from . import schema
from .analysis import Analysis, detection_rows
from .capture import Table
from .errors import CaptureError
from .timefmt import duration, iso_us

POLL_S = 0.2


def describe(table: str, r: dict) -> str:
    """One line for an SRE watching a terminal."""
    if table == "flaps":
        if r["hidden"]:
            return f"{iso_us(r['ts_ns'])}  {r['port']}  hidden flap (carrier counters moved; no down message)"
        if r["up_ns"] < 0:
            return f"{iso_us(r['ts_ns'])}  {r['port']}  DOWN since {iso_us(r['down_ns'])}"
        return f"{iso_us(r['ts_ns'])}  {r['port']}  flap: down {duration(r['duration_ns'])}"
    if table == "policy_events":
        return f"{iso_us(r['ts_ns'])}  {r['port']}  policy {r['policy']} {'TRIPPED' if r['event'] else 'cleared'} ({r['value']:g})"
    if table == "pfc_storms":
        prio = "802.3x" if r["priority"] < 0 else f"priority {r['priority']}"
        return f"{iso_us(r['ts_ns'])}  {r['port']}  PFC storm on {prio}: paused {duration(r['paused_ns'])}"
    if table == "lldp_events":
        event = schema.LLDP_EVENTS[r["event"]]
        return f"{iso_us(r['ts_ns'])}  {r['port']}  LLDP neighbor {event}: {r['system_name'] or r['chassis_id']}"
    return json.dumps(r)


def _open(paths: list[str], config: dict, stop):
    """Waits for the writers to have written the files' headers."""
    from . import _core

    while not stop():
        try:
            return _core.FollowSession(paths, config)
        except CaptureError as e:
            # not created yet, or its header not written yet: wait for the writer
            if not e.reason.startswith(("cannot open", "empty file", "truncated")):
                raise
        time.sleep(POLL_S)
    return None


def follow(args, cfg) -> int:
    from .replay import Style, build_result, write

    paths = list(args.captures)
    if any(os.path.isdir(p) or p.endswith(".gz") for p in paths):
        print("flapwatch: --follow takes capture files being written (not directories or .gz)", file=sys.stderr)
        return 2
    stopping = {"now": False}

    def on_signal(signum, frame):
        stopping["now"] = True

    old = signal.signal(signal.SIGTERM, on_signal)
    core = cfg.to_core()
    core.update(ports=list(args.port or []), since_ns=args.since, until_ns=args.until)
    jsonl = args.format in ("json", "jsonl")
    strings: list[str] = []
    out = sys.stdout
    try:
        session = _open(paths, core, lambda: stopping["now"])
        if session is None:
            return 0
        try:
            while not stopping["now"]:
                session.poll()
                new = session.new_rows()
                strings += session.strings_from(len(strings))
                for table in ("flaps", "policy_events", "pfc_storms", "lldp_events"):
                    for row in detection_rows(table, new[table], strings):
                        if jsonl:
                            out.write(json.dumps({"type": table, **row}) + "\n")
                        else:
                            out.write(describe(table, row) + "\n")
                out.flush()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            pass
        session.poll()
        final = session.finish()
        strings += session.strings_from(len(strings))
    finally:
        signal.signal(signal.SIGTERM, old)
    analysis = Analysis(
        paths=paths,
        tables={name: Table(name, final[name], strings) for name in schema.DETECTION_TABLES},
        strings=strings,
        counts=dict(session.counts),
        config=cfg,
        first_ns=session.first_ns,
        last_ns=session.last_ns,
    )
    result = build_result(analysis)
    if args.format != "jsonl":
        write(result, args.format, args.output, args.table, Style(out.isatty() and not args.output))
    if args.report:
        from .report import write_report

        write_report(result, args.report)
    return 0
