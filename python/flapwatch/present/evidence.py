"""Episode evidence as sentences with the numbers ("oscillation: 6 flaps every 1.00 s (±3 %)
from 16:51:14.200 to 16:51:19.300"), for the HTML report. The features come from the
episode rows (ReplayResult.rows("episodes"): evidence -> label -> features); a label or
feature this module does not know is still shown, as "name value" pairs."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from flapwatch.present.timefmt import duration
from flapwatch.tables.units import NS_PER_S as NS


def clock(ts_ns: int | None, digits: int = 3) -> str:
    """Time of day, UTC: 16:51:14.200 (digits: decimals of the second, 0-9)."""
    if ts_ns is None or ts_ns < 0:
        return "-"
    dt = datetime.fromtimestamp(ts_ns // NS, tz=timezone.utc)
    text = dt.strftime("%H:%M:%S")
    if digits:
        text += "." + f"{ts_ns % NS:09d}"[:digits]
    return text


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _generic(label: str, features: dict) -> str:
    parts = []
    for k, v in features.items():
        if v is None:
            continue
        name = k.removesuffix("_ns").replace("_", " ")
        if isinstance(v, int) and k.endswith("_ns"):
            v = clock(v) if v > 10**17 else duration(abs(v)) if v >= 0 else "-"
        elif isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{name} {v}")
    return f"{label}: " + ", ".join(parts) if parts else label


def _sentence(label: str, f: dict, ep: dict) -> str:
    g = f.get
    start, end = ep.get("start_ns", -1), ep.get("end_ns", -1)
    span = f"from {clock(start)} to {clock(end)}" if end >= 0 else f"from {clock(start)}, still down at the end"
    if label == "micro-flap":
        return f"micro-flap: {_n(g('micro_flaps', 0), 'flap')} down only {duration(g('min_down_ns'))} at the shortest"
    if label == "single":
        longest = g("longest_down_ns", -1)
        down = f"down {duration(longest)}" if longest is not None and longest >= 0 else "its down time unknown"
        return f"single: one flap at {clock(start)}, {down}"
    if label == "oscillation":
        period = g("period_ns") or ep.get("period_ns") or -1
        cv = g("interval_cv")
        jitter = f" (±{100 * cv:.0f} %)" if isinstance(cv, (int, float)) and math.isfinite(cv) else ""
        text = f"oscillation: {_n(g('flaps', ep.get('flaps', 0)), 'flap')} every {duration(period)}{jitter} {span}"
        lo, hi = g("period_min_ns", -1), g("period_max_ns", -1)
        if lo is not None and hi is not None and lo >= 0 and hi >= 0 and lo != hi:
            text += f"; periods {duration(lo)} to {duration(hi)} fit every flap's bounds"
        return text
    if label == "burst":
        cv = g("interval_cv")
        irregular = f", irregular (intervals vary {_pct(cv)})" if isinstance(cv, (int, float)) and math.isfinite(cv) else ""
        return f"burst: {_n(g('flaps', ep.get('flaps', 0)), 'flap')} in {duration(g('span_ns'))}{irregular} {span}"
    if label == "hidden":
        n = g("hidden_flaps", 0)
        return f"hidden: the carrier counters show {_n(n, 'flap')} that no link message reported"
    if label == "pfc-linked":
        prio = g("storm_priority", -1)
        name = "PAUSE" if prio is None or prio < 0 else f"PFC priority {prio}"
        s, e, lead = g("storm_start_ns", -1), g("storm_end_ns", -1), g("storm_lead_ns")
        text = f"pfc-linked: a {name} storm from {clock(s)} to {clock(e)} ({duration(e - s if s >= 0 and e >= 0 else -1)})"
        if isinstance(lead, int):
            text += (f", ended {duration(lead)} before the first down" if lead >= 0
                     else f", overlapping the first down by {duration(-lead)}")
        return text
    if label == "neighbor-change":
        return (f"neighbor-change: LLDP neighbor {g('neighbor_before') or '?'} → {g('neighbor_after') or '?'} "
                f"at {clock(g('lldp_change_ns', -1))}")
    if label == "silent-neighbor-loss":
        link = {1: "with the link up", 0: "link state unknown"}.get(g("link_known"), "")
        return (f"silent-neighbor-loss: neighbor {g('lost_neighbor') or '?'} aged out at "
                f"{clock(g('aged_out_ns', -1))} {link}").rstrip()
    if label == "device-wide":
        return (f"device-wide: {_n(g('device_ports', 0), 'port')} of {ep.get('device') or 'the device'} "
                "started an episode together")
    if label == "both-ends":
        off = g("peer_offset_ns")
        when = ""
        if isinstance(off, int):
            when = f", {duration(abs(off))} {'later' if off >= 0 else 'earlier'}"
        return f"both-ends: the peer port {g('peer_port') or '?'} flapped too{when}"
    if label == "degrading":
        slope, t = g("rate_trend"), g("trend_t")
        shrink = ""
        if isinstance(slope, (int, float)) and math.isfinite(slope):
            shrink = f", intervals shrinking {_pct(1 - math.exp(slope))} a flap"
            if isinstance(t, (int, float)) and math.isfinite(t):
                shrink += f" (t = {t:.1f})"
        return f"degrading: {_n(g('flaps', 0), 'flap')} over {duration(g('span_ns'))}{shrink}"
    return _generic(label, f)


def sentences(episode: dict) -> list[tuple[str, str, float | None]]:
    """(label sentence, the rule that fired, confidence) per label of one episode row."""
    out = []
    evidence = episode.get("evidence") or {}
    for label in episode.get("labels") or list(evidence):
        ev = evidence.get(label) or {}
        features = ev.get("features") or {}
        try:
            text = _sentence(label, features, episode)
        except (TypeError, ValueError):  # a feature of another shape than expected: say it plainly
            text = _generic(label, features)
        out.append((text, ev.get("rule", ""), ev.get("confidence")))
    return out
