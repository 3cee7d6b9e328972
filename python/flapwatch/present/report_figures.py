"""The report's per-port timelines as plotly figures (plain dicts: traces and layout, turned
into JSON for plotly.js in the page; the page adds the time tick labels, links the time axes
of all ports and fills the risk curve's hover text).

x is nanoseconds since the capture's first record (int offsets: exact in a float64 up to
104 days, so a microsecond zoom into an hour-long capture resolves a 5 ms flap; epoch
nanoseconds as floats would not). Lanes, top to bottom: link (down intervals as bars plus a
fixed-size marker at each down, so a 5 ms flap stays visible at any zoom), hidden flaps
(the interval between the two link messages that bound them), episodes (hover: the
evidence as sentences), PAUSE / PFC per priority (paused fraction per window, storms
outlined), LLDP events, policy trips; the risk score below on its own 0-1 axis.

Big inputs are downsampled so that the page stays small and fast: a PFC lane with more than
PFC_POINTS windows is merged into PFC_POINTS time buckets (height: the bucket's most-paused
window, hover: its max and mean), a risk curve of more than RISK_POINTS points keeps each
bucket's highest point and its last. Lanes under the limits carry every value exactly."""

from __future__ import annotations

import html

import numpy as np

from flapwatch.present.evidence import clock, sentences
from flapwatch.present.timefmt import duration, flap_duration, iso_us

PFC_POINTS = 1200  # windows per PFC lane before merging
RISK_POINTS = 1500  # points per risk curve before decimating
MIN_DUTY_DRAWN = 0.08  # a window paused at all is drawn at least this high
LANE_PX = 30
RISK_PX = 70
TOP_PX = 22  # room for the mode bar above the lanes
BOTTOM_PX = 34

RED = "#c62828"
ORANGE = "#ef8f00"
BLUE = "#1565c0"
LLDP_COLOURS = {"added": "#2e7d32", "updated": "#6d4c41", "changed": "#b00020", "aged_out": ORANGE,
                "shutdown": "#555555"}
LABEL_COLOURS = {"micro-flap": "#8e24aa", "single": "#6d4c41", "oscillation": "#d81b60", "burst": "#c62828",
                 "hidden": ORANGE, "pfc-linked": BLUE, "neighbor-change": "#00897b", "silent-neighbor-loss": "#00897b",
                 "device-wide": "#5e35b1", "both-ends": "#3949ab", "degrading": "#b71c1c"}


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _at(ts: int) -> str:
    return clock(ts, 6)


class _Fig:
    def __init__(self, t0: int, span: int):
        self.t0, self.span = t0, span
        self.lanes: list[str] = []
        self.traces: list[dict] = []
        self.shapes: list[tuple[str, int]] = []

    def lane(self, name: str) -> int:
        self.lanes.append(name)
        return len(self.lanes) - 1  # turned into y positions (top first) in layout()

    def x(self, ts: int) -> int:
        return int(ts) - self.t0

    def add(self, trace: dict) -> None:
        self.traces.append(trace)

    def y(self, lane: int) -> int:
        return len(self.lanes) - 1 - lane

    def finish(self) -> None:
        for t in self.traces:  # lanes were numbered top-down while the figure grew
            if "_lane" in t:
                lane, off = t.pop("_lane"), t.pop("_off", None)
                ys = self.y(lane)
                if off is None:
                    t["y"] = [ys] * len(t["x" if t.get("orientation") != "h" else "base"])
                else:
                    t["y"] = [None if o is None else round(ys + o, 4) for o in off]


def _bars(fig, lane, starts, ends, texts, colour, name, opacity=1.0, width=0.56) -> None:
    if not starts:
        return
    fig.add({"type": "bar", "orientation": "h", "name": name, "_lane": lane,
             "base": [fig.x(s) for s in starts], "x": [max(1, e - s) for s, e in zip(starts, ends)],
             "width": width, "marker": {"color": colour, "opacity": opacity, "line": {"width": 0}},
             "hovertext": texts, "hoverinfo": "text", "showlegend": False})


def _marks(fig, lane, times, texts, colour, name, symbol="line-ns-open", size=16, width=2.5) -> None:
    if not times:
        return
    colour_spec = colour if isinstance(colour, str) else list(colour)
    fig.add({"type": "scatter", "mode": "markers", "name": name, "_lane": lane, "x": [fig.x(t) for t in times],
             "marker": {"symbol": symbol, "size": size, "color": colour_spec, "line": {"width": width, "color": colour_spec}},
             "hovertext": texts, "hoverinfo": "text", "showlegend": False})


def _link_lane(fig, port, flaps, end_ns) -> int | None:
    lane = fig.lane("link")
    fig.shapes.append(("up", lane))  # the link up: a band under the lane, drawn below the bars
    shown = [f for f in flaps if not f["hidden"]]
    starts, ends, texts = [], [], []
    for f in shown:
        down, up, dur = f["down_ns"], f["up_ns"], f["duration_ns"]
        if up >= 0 and dur >= 0:
            text = f"<b>flap</b>: down {_at(down)} for <b>{flap_duration(f)}</b><br>up {_at(up)}"
            if f.get("down_earliest_ns", -1) >= 0 and down - f["down_earliest_ns"] > 1_000_000:
                # linkwatch may have held the down back: the message is its latest time
                text += f"<br>the down itself from {_at(f['down_earliest_ns'])} on (linkwatch delays)"
            end = up
        else:
            end = end_ns
            text = (f"<b>down</b> from {_at(down)}, still down at the end of the capture: "
                    f"<b>≥ {duration(end_ns - down)}</b>")
        if f.get("over_budget"):
            text += "<br>longer than the job budget"
        if f.get("held") == 1:
            text += "<br>a hold time would have hidden it"
        starts.append(down), ends.append(end), texts.append(text)
    _bars(fig, lane, starts, ends, texts, RED, "down")
    _marks(fig, lane, starts, texts, RED, "flap")  # fixed pixel size: a 5 ms flap in an hour still shows
    hidden_lane = None
    hidden = [f for f in flaps if f["hidden"]]
    if hidden:
        hidden_lane = fig.lane("hidden")
        groups: dict[tuple[int, int, int], int] = {}
        for f in hidden:
            hi = f["up_ns"] if f["up_ns"] >= 0 else f["ts_ns"]
            # where linkwatch lets them lie: after the previous message, within its delay
            lo = f["down_earliest_ns"] if f.get("down_earliest_ns", -1) >= 0 else f["down_ns"]
            key = (f["down_ns"], lo, hi)
            groups[key] = groups.get(key, 0) + 1
        starts, ends, texts = [], [], []
        for (prev, lo, hi), n in groups.items():
            starts.append(lo), ends.append(hi)
            texts.append(f"<b>{n} hidden flap{'s' if n > 1 else ''}</b>: only the carrier counters moved<br>"
                         f"between the link messages at {_at(prev)} and {_at(hi)}<br>"
                         f"each down <b>≤ {duration(hi - lo)}</b>, from {_at(lo)} on")
        _bars(fig, hidden_lane, starts, ends, texts, ORANGE, "hidden bounds", opacity=0.35)
        _marks(fig, hidden_lane, ends, texts, ORANGE, "hidden", symbol="x-thin-open", size=12)
    return hidden_lane


def _episodes_lane(fig, episodes, end_ns) -> None:
    if not episodes:
        return
    lane = fig.lane("episodes")
    starts, ends, texts, colours = [], [], [], []
    for ep in episodes:
        s = ep["start_ns"]
        e = ep["end_ns"] if ep["end_ns"] >= 0 else end_ns
        lines = [f"<b>episode {ep['episode']}</b>: {_n_flaps(ep.get('flaps', 0))}, {_at(s)} to "
                 + (_at(ep['end_ns']) if ep["end_ns"] >= 0 else "the end (still down)")]
        lines += [f"• {_e(text)}" for text, _, _ in sentences(ep)]
        starts.append(s), ends.append(max(e, s)), texts.append("<br>".join(lines))
        colours.append(LABEL_COLOURS.get((ep.get("labels") or ["single"])[0], "#555"))
    _bars(fig, lane, starts, ends, texts, colours, "episode", opacity=0.5, width=0.5)
    _marks(fig, lane, starts, texts, colours, "episode start", symbol="triangle-right", size=9, width=1)


def _n_flaps(n: int) -> str:
    return f"{n} flap" + ("" if n == 1 else "s")


def _merge(starts: np.ndarray, windows: np.ndarray, paused: np.ndarray, duty: np.ndarray, span: int, n: int):
    """Windows into n equal time buckets: (start, end, max duty, mean duty, windows, ts of the max)."""
    edges = np.linspace(0, span + 1, n + 1)
    idx = np.clip(np.searchsorted(edges, starts, side="right") - 1, 0, n - 1)
    out = []
    order = np.argsort(idx, kind="stable")
    idx_s = idx[order]
    bounds = np.flatnonzero(np.diff(idx_s)) + 1
    for group in np.split(order, bounds):
        if group.size == 0:
            continue
        b = idx[group[0]]
        g_end = starts[group] + windows[group]
        k = group[np.argmax(duty[group])]
        lo, hi = int(edges[b]), int(edges[b + 1])
        covered = max(1, int(g_end.max()) - int(starts[group].min()))
        out.append((lo, hi, float(duty[k]), float(paused[group].sum()) / max(covered, hi - lo), int(group.size),
                    int(starts[k])))
    return out


def _pfc_lanes(fig, stats: list[dict], storms: list[dict]) -> None:
    prios = sorted({r["priority"] for r in stats} | {s["priority"] for s in storms})
    for prio in prios:
        name = "PAUSE" if prio < 0 else f"PFC p{prio}"
        lane = fig.lane(name)
        rows = [r for r in stats if r["priority"] == prio and r["paused_ns"] > 0]
        rows.sort(key=lambda r: r["ts_ns"])
        xs, off, rec = [], [], []  # the page writes the hover text from rec (report_page.js, pfcText)
        if len(rows) <= PFC_POINTS:
            for r in rows:
                s, e = fig.x(r["ts_ns"]), fig.x(r["ts_ns"] + r["window_ns"])
                top = round(-0.42 + 0.84 * max(MIN_DUTY_DRAWN, min(1.0, r["duty"])), 3)
                xs += [s, s, e, e, None]
                off += [-0.42, top, top, -0.42, None]
                rec.append([s, r["window_ns"], r["paused_ns"], r["frames"], r["xon_frames"]])
            kind = "pfc"
        else:
            st = np.array([fig.x(r["ts_ns"]) for r in rows], dtype=np.int64)
            win = np.array([r["window_ns"] for r in rows], dtype=np.int64)
            pz = np.array([r["paused_ns"] for r in rows], dtype=np.int64)
            du = np.array([min(1.0, r["duty"]) for r in rows])
            for lo, hi, dmax, dmean, n, tmax in _merge(st, win, pz, du, fig.span, PFC_POINTS):
                top = round(-0.42 + 0.84 * max(MIN_DUTY_DRAWN, dmax), 3)
                xs += [lo, lo, hi, hi, None]
                off += [-0.42, top, top, -0.42, None]
                rec.append([lo, hi, round(dmax, 5), round(dmean, 5), n, tmax])
            kind = "pfc-merged"
        if xs:  # hover on the polygon's corners (no marker elements: cheap to draw)
            fig.add({"type": "scatter", "mode": "lines", "name": name, "_lane": lane, "_off": off, "x": xs,
                     "fill": "toself", "fillcolor": "rgba(21,101,192,0.55)", "line": {"color": BLUE, "width": 0.5},
                     "hoveron": "points", "hoverinfo": "text", "meta": {"kind": kind, "lane": name, "rec": rec},
                     "showlegend": False})
        mine = [s for s in storms if s["priority"] == prio]
        if mine:
            xs, off, texts = [], [], []
            for s in mine:
                a, b = fig.x(s["start_ns"]), fig.x(s["end_ns"] if s["end_ns"] >= 0 else fig.t0 + fig.span)
                xs += [a, a, b, b, a, None]
                off += [-0.48, 0.48, 0.48, -0.48, -0.48, None]
                length = (f"{duration(s['end_ns'] - s['start_ns'])}" if s["end_ns"] >= 0
                          else f"≥ {duration(fig.t0 + fig.span - s['start_ns'])}, still paused at the end")
                texts.append(f"<b>{name} storm</b>: paused without a break from {_at(s['start_ns'])} "
                             f"to {_at(s['end_ns'])}, <b>{length}</b><br>{duration(s['paused_ns'])} paused, "
                             f"{s['frames']} frames; detected {_at(s['ts_ns'])}")
            fig.add({"type": "scatter", "mode": "lines", "name": "storm", "_lane": lane, "_off": off, "x": xs,
                     "line": {"color": "#b00020", "width": 2}, "hoverinfo": "skip", "showlegend": False})
            _marks(fig, lane, [s["start_ns"] for s in mine], texts, "#b00020", "storm", symbol="line-ns-open", size=20)


def _lldp_lane(fig, events: list[dict]) -> None:
    if not events:
        return
    lane = fig.lane("LLDP")
    texts, colours = [], []
    for e in events:
        who = e.get("system_name") or e.get("chassis_id") or "?"
        text = f"<b>LLDP {e['event'].replace('_', ' ')}</b> {_at(e['ts_ns'])}: {_e(str(who))}"
        if e.get("port_id"):
            text += f" port {_e(str(e['port_id']))}"
        if e["event"] == "changed" and (e.get("prev_system_name") or e.get("prev_chassis_id")):
            text += f"<br>was {_e(str(e.get('prev_system_name') or e.get('prev_chassis_id')))}"
        if e.get("ttl") is not None and e["ttl"] >= 0:
            text += f"<br>TTL {e['ttl']} s"
        texts.append(text), colours.append(LLDP_COLOURS.get(e["event"], "#333"))
    _marks(fig, lane, [e["ts_ns"] for e in events], texts, colours, "LLDP", symbol="circle", size=10, width=1)


def _policy_lane(fig, events: list[dict]) -> None:
    if not events:
        return
    lane = fig.lane("policy")
    texts = [f"<b>{_e(e['policy'])} {'tripped' if e['event'] == 'trip' else 'cleared'}</b> {_at(e['ts_ns'])}"
             + (f" (value {e['value']:.4g})" if e.get("value") else "") for e in events]
    colours = ["#333" if e["event"] == "trip" else "#aaa" for e in events]
    _marks(fig, lane, [e["ts_ns"] for e in events], texts, colours, "policy", symbol="diamond", size=9, width=1)


def _risk(fig, curve) -> bool:
    if not curve:
        return False
    ts = np.array([t for t, _ in curve], dtype=np.int64)
    sc = np.array([s for _, s in curve], dtype=np.float64)
    if ts.size > RISK_POINTS:  # per time bucket: its highest point and its last
        edges = np.linspace(ts[0], ts[-1] + 1, RISK_POINTS // 2 + 1)
        idx = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, RISK_POINTS // 2 - 1)
        last = np.flatnonzero(np.append(np.diff(idx) != 0, True))
        first = np.concatenate(([0], last[:-1] + 1))
        peaks = [f + int(np.argmax(sc[f:l + 1])) for f, l in zip(first, last)]
        keep = np.unique(np.concatenate((peaks, last, [0])))
        ts, sc = ts[keep], sc[keep]
    fig.add({"type": "scatter", "mode": "lines", "name": "risk", "xaxis": "x", "yaxis": "y2",
             "x": (ts - fig.t0).tolist(), "y": np.round(sc, 4).tolist(), "line": {"color": "#b00020", "width": 1.5,
                                                                               "shape": "hv"},
             "fill": "tozeroy", "fillcolor": "rgba(176,0,32,0.08)", "hoverinfo": "text", "meta": {"kind": "risk"},
             "showlegend": False})
    return True


def port_figure(port: str, result, t0: int, span: int, rows: dict[str, list[dict]]) -> dict:
    """One port's figure: {"data": [...], "layout": {...}} for plotly.js."""
    fig = _Fig(t0, span)
    mine = {name: [r for r in table if r["port"] == port] for name, table in rows.items()}
    _link_lane(fig, port, mine["flaps"], t0 + span)
    _episodes_lane(fig, mine["episodes"], t0 + span)
    _pfc_lanes(fig, mine["pause_stats"], mine["pfc_storms"])
    _lldp_lane(fig, mine["lldp_events"])
    _policy_lane(fig, mine["policy_events"])
    curve = (getattr(result, "risk_curves", None) or {}).get(port)
    has_risk = _risk(fig, curve)
    fig.finish()
    n = len(fig.lanes)
    lanes_px = n * LANE_PX
    plot_px = lanes_px + (RISK_PX + 10 if has_risk else 0)
    height = plot_px + TOP_PX + BOTTOM_PX
    layout = {
        "height": height, "margin": {"l": 78, "r": 16, "t": TOP_PX, "b": BOTTOM_PX},
        "barmode": "overlay", "hovermode": "closest", "hoverdistance": 12, "dragmode": "zoom",
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff", "font": {"size": 11, "family": "system-ui, sans-serif"},
        "hoverlabel": {"align": "left", "bgcolor": "#fffef6", "font": {"size": 12}},
        "xaxis": {"range": [0, span], "showgrid": True, "gridcolor": "#eee", "zeroline": False, "showline": True,
                  "linecolor": "#bbb", "ticks": "outside", "tickmode": "array", "tickvals": [], "ticktext": []},
        "yaxis": {"domain": [1 - lanes_px / plot_px, 1], "range": [-0.6, n - 0.4], "fixedrange": True,
                  "tickmode": "array", "tickvals": [fig.y(i) for i in range(n)], "ticktext": fig.lanes,
                  "showgrid": False, "zeroline": False},
    }
    layout["shapes"] = [{"type": "rect", "layer": "below", "xref": "x", "yref": "y", "x0": 0, "x1": span,
                         "y0": fig.y(lane) - 0.16, "y1": fig.y(lane) + 0.16, "fillcolor": "#a5d6a7",
                         "line": {"width": 0}} for _, lane in fig.shapes]
    if has_risk:
        layout["xaxis"]["anchor"] = "y2"  # the time axis under the risk curve, the lanes above it
        layout["yaxis2"] = {"domain": [0, RISK_PX / plot_px], "range": [0, 1.05], "fixedrange": True,
                            "tickvals": [0, 0.5, 1], "title": {"text": "risk", "font": {"size": 11}},
                            "gridcolor": "#f0f0f0", "zeroline": False}
    return {"data": fig.traces, "layout": layout}
