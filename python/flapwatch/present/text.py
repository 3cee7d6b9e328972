"""Text for a terminal: aligned tables (one renderer for inspect, replay and the
report's summaries), ANSI colour only on a terminal, one line per live detection."""

from __future__ import annotations

from typing import TYPE_CHECKING
import json

from flapwatch.present.timefmt import duration, flap_duration, iso_us
from flapwatch.tables.schema import OPERSTATES

if TYPE_CHECKING:
    from flapwatch.assess.result import ReplayResult

class Style:
    """ANSI colours, only when writing to a terminal (and NO_COLOR is unset)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled and text else text

    def red(self, t):
        return self(t, "31")

    def yellow(self, t):
        return self(t, "33")

    def green(self, t):
        return self(t, "32")

    def bold(self, t):
        return self(t, "1")


def render(headers: list[str], rows: list[list[object]], style: Style | None = None, colour=None,
           rule: bool = False) -> str:
    """Columns aligned to their widest cell; ``rule`` puts dashes under the headers."""
    style = style or Style(False)
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [style.bold("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())]
    if rule:
        lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        out = [c.ljust(w) for c, w in zip(r, widths)]
        if colour:
            out = [colour(i, c, r) for i, c in enumerate(out)]
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def write_text(result: "ReplayResult", out, style: Style) -> None:
    a = result.analysis
    c = a.counts
    print(
        f"{len(a.paths)} capture(s), {sum(c.values())} frames from {iso_us(a.first_ns)} to {iso_us(a.last_ns)} "
        f"({duration(a.span_ns)}): " + ", ".join(f"{k} {v}" for k, v in c.items()),
        file=out,
    )
    ports = result.rows("ports")
    headers = ["port", "flaps", "hidden", "micro", "longest", "down total", "over budget", "signatures", "storms",
               "paused", "neighbor", "risk", "peak", "peak at"]
    rows = [
        [p["port"], str(p["flaps"]), str(p["hidden_flaps"]), str(p["micro_flaps"]), duration(p["longest_down_ns"]),
         duration(p["down_ns_total"]), str(p["outages_over_budget"]), p["signatures"] or "-", str(p["pfc_storms"]),
         f"{p['paused_pct']:.2f}%", p["neighbor"] or "-", f"{p['risk']:.2f}", f"{p['risk_peak']:.2f}",
         iso_us(p["risk_peak_ns"]) if p["risk_peak_ns"] >= 0 else "-"]
        for p in ports
    ]

    def colour(i, cell, row):
        if i == 1 and row[1] != "0":
            return style.yellow(cell)
        if i == 6 and row[6] != "0":
            return style.red(cell)
        if i in (11, 12):  # risk now and its peak: red from 0.5 (what --fail-on risk means)
            risk = float(row[i])
            return style.red(cell) if risk >= 0.5 else style.green(cell)
        return cell

    print("\nPorts", file=out)
    print(render(headers, rows, style, colour), file=out)
    if result.episodes:
        print("\nEpisodes", file=out)
        for e in result.episodes:
            period = f", period {duration(e['period_ns'])}" if e.get("period_ns") else ""
            head = (f"{e['port']}  {iso_us(e['start_ns'])} .. {iso_us(e['end_ns'])}  {e['flaps']} flap(s): "
                    f"{', '.join(e['labels'])}{period}")
            print(style.bold(head), file=out)
            for label, ev in e.get("evidence", {}).items():
                features = ", ".join(f"{k}={v}" for k, v in ev["features"].items())
                print(f"    {label} ({ev['confidence']:.2f}): {ev['rule']}  [{features}]", file=out)
    flaps = a.tables["flaps"].records()
    if flaps:
        print("\nFlaps", file=out)
        rows: list[list[str]] = []
        for f in flaps:
            row = [f["port"], iso_us(f["down_ns"]), iso_us(f["up_ns"]), flap_duration(f),
                   "hidden" if f["hidden"] else "", "over budget" if f["over_budget"] else ""]
            if f["hidden"] and rows and rows[-1][:6] == row:  # k hidden flaps of one counter jump: one row, x k
                rows[-1][6] = f"x{int(rows[-1][6][1:]) + 1}"
            else:
                rows.append(row + ["x1"])
        for row in rows:
            row[6] = "" if row[6] == "x1" else row[6]
        print(render(["port", "down", "up", "duration", "", "", "flaps"], rows, style), file=out)
    storms = a.tables["pfc_storms"].records()
    if storms:
        print("\nPFC storms", file=out)
        rows = [[s["port"], "all (802.3x)" if s["priority"] < 0 else str(s["priority"]), iso_us(s["start_ns"]),
                 duration(s["end_ns"] - s["start_ns"]), duration(s["paused_ns"]), str(s["frames"])] for s in storms]
        print(render(["port", "priority", "start", "length", "paused", "frames"], rows, style), file=out)
    events = a.tables["lldp_events"].records()
    if events:
        print("\nLLDP events", file=out)
        rows = [[e["port"], iso_us(e["ts_ns"]), e["event"], e["system_name"] or "-", e["chassis_id"] or "-",
                 e["port_id"] or "-"] for e in events]
        print(render(["port", "time", "event", "system name", "chassis id", "port id"], rows, style), file=out)
    policy = a.tables["policy_events"].records()
    if policy:
        print("\nPolicy events", file=out)
        rows = [[p["port"], iso_us(p["ts_ns"]), p["policy"], p["event"], f"{p['value']:g}"] for p in policy]
        print(render(["port", "time", "policy", "event", "value"], rows, style), file=out)


def _speed(bps: int | None) -> str:
    if not bps:
        return "?"
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6)):
        if bps >= scale:
            return f"{bps / scale:g}{unit}"
    return f"{bps}"


def write_inspect(s: dict, out) -> None:
    """`flapwatch inspect`'s summary (CaptureSummary.to_json()) as text."""
    print(f"files: {', '.join(s['files'])}", file=out)
    print(f"frames: {s['frames']}  from {iso_us(s['first_ts_ns'])} to {iso_us(s['last_ts_ns'])}", file=out)
    print("  " + "  ".join(f"{k} {v}" for k, v in s["counts"].items()), file=out)
    if s["pfc_per_port"]:
        print("\nPFC (802.1Qbb) frames / summed quanta of enabled classes, per priority:", file=out)
        rows = [
            [port] + [f"{p['frames']}/{p['quanta_sum']}" for p in prios] for port, prios in s["pfc_per_port"].items()
        ]
        print(render(["port"] + [f"p{i}" for i in range(8)], rows), file=out)
    if s["pause_per_port"]:
        print("\nPAUSE (802.3x):", file=out)
        rows = [
            [port, v["frames"], v["quanta_sum"], _speed(v["speed_bps"]),
             "?" if v["pause_seconds"] is None else f"{v['pause_seconds'] * 1e3:.3f} ms"]
            for port, v in s["pause_per_port"].items()
        ]
        print(render(["port", "frames", "quanta", "speed", "pause time"], rows), file=out)
    if s["lldp_neighbors"]:
        print("\nLLDP neighbors:", file=out)
        rows = [
            [n["port"], n["chassis_id"], n["port_id"], n["system_name"] or "-", n["ttl"], _speed(n["speed_bps"]),
             n["frames"]]
            for n in s["lldp_neighbors"]
        ]
        print(render(["port", "chassis id", "port id", "system name", "ttl", "speed", "frames"], rows), file=out)
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
        print(render(headers, rows), file=out)
    if s["malformed_reasons"]:
        print("\nmalformed frames:", file=out)
        for reason, n in s["malformed_reasons"].items():
            print(f"  {n:6d}  {reason}", file=out)


def describe(table: str, r: dict) -> str:
    """One line for an SRE watching a terminal."""
    if table == "flaps":
        if r["hidden"]:
            return f"{iso_us(r['ts_ns'])}  {r['port']}  hidden flap (carrier counters moved; no down message)"
        if r["up_ns"] < 0:
            return f"{iso_us(r['ts_ns'])}  {r['port']}  DOWN since {iso_us(r['down_ns'])}"
        if r.get("open_at_start"):
            return (f"{iso_us(r['ts_ns'])}  {r['port']}  flap: down {flap_duration(r)} "
                    "(already down when the capture began)")
        return f"{iso_us(r['ts_ns'])}  {r['port']}  flap: down {flap_duration(r)}"
    if table == "link_down":
        return f"{iso_us(r['ts_ns'])}  {r['port']}  DOWN since {iso_us(r['down_ns'])}"
    if table == "policy_events":
        return f"{iso_us(r['ts_ns'])}  {r['port']}  policy {r['policy']} {'TRIPPED' if r['event'] == 'trip' else 'cleared'} ({r['value']:g})"
    if table == "pfc_storms":
        prio = "802.3x" if r["priority"] < 0 else f"priority {r['priority']}"
        return f"{iso_us(r['ts_ns'])}  {r['port']}  PFC storm on {prio}: paused {duration(r['paused_ns'])}"
    if table == "lldp_events":
        return f"{iso_us(r['ts_ns'])}  {r['port']}  LLDP neighbor {r['event']}: {r['system_name'] or r['chassis_id']}"
    if table == "pause_stats":
        prio = "802.3x" if r["priority"] < 0 else f"priority {r['priority']}"
        return f"{iso_us(r['ts_ns'])}  {r['port']}  paused {duration(r['paused_ns'])} on {prio} ({100 * r['duty']:.1f}% of {duration(r['window_ns'])})"
    return json.dumps(r)
