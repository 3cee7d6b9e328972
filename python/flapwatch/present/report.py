"""`--report FILE.html`: one self-contained HTML file (inline CSS, SVG and a little JS;
nothing fetched), with per-port timelines and the tables.

Timelines per port: link state (down intervals, hidden flaps as ticks), PFC paused time
per priority (duty per window), LLDP events, and the risk score over time when known.
The page records its own script errors in <body data-errors>, so a headless browser
test can check that it rendered cleanly.
"""

from __future__ import annotations

import html
import json

from flapwatch.present.timefmt import duration, iso_us

WIDTH = 1000  # timeline width in px
LANE = 18

CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;
font-variant-numeric:tabular-nums}th{background:#f4f4f4}
.port{margin:18px 0;border:1px solid #ddd;border-radius:6px;padding:8px}
.port h3{margin:0 0 6px 0;font-size:15px}.lbl{font-size:11px;fill:#555}
.risk-hi{color:#b00;font-weight:bold}.muted{color:#888}
#tip{position:fixed;pointer-events:none;background:#333;color:#fff;padding:3px 6px;border-radius:3px;
font-size:12px;display:none}
"""

JS = """
(function(){
  var errors = 0;
  window.addEventListener('error', function(){ errors++; document.body.dataset.errors = errors; });
  var tip = document.getElementById('tip');
  document.querySelectorAll('[data-tip]').forEach(function(el){
    el.addEventListener('mousemove', function(e){
      tip.textContent = el.getAttribute('data-tip'); tip.style.display = 'block';
      tip.style.left = (e.clientX + 12) + 'px'; tip.style.top = (e.clientY + 12) + 'px';
    });
    el.addEventListener('mouseleave', function(){ tip.style.display = 'none'; });
  });
  document.body.dataset.rendered = document.querySelectorAll('svg.timeline').length;
})();
"""


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


class _Axis:
    def __init__(self, start: int, end: int):
        self.start, self.end = start, max(end, start + 1)

    def x(self, t: int) -> float:
        return round(max(0.0, min(1.0, (t - self.start) / (self.end - self.start))) * WIDTH, 2)


def _timeline(port: str, result, axis: _Axis) -> str:
    parts = []
    y = 14
    # link lane
    parts.append(f'<text class="lbl" x="0" y="{y - 3}">link</text>')
    parts.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE - 6}" fill="#cfe8cf"/>')
    for f in result.rows("flaps"):
        if f["port"] != port:
            continue
        if f["hidden"]:
            x = axis.x(f["ts_ns"])
            tip = f"hidden flap revealed {iso_us(f['ts_ns'])} (after {iso_us(f['down_ns'])})"
            parts.append(f'<rect x="{x - 1}" y="{y - 2}" width="3" height="{LANE - 2}" fill="#e39b00" data-tip="{_esc(tip)}"/>')
            continue
        end = f["up_ns"] if f["up_ns"] >= 0 else axis.end
        x0, x1 = axis.x(f["down_ns"]), axis.x(end)
        tip = f"down {iso_us(f['down_ns'])} for {duration(f['duration_ns'])}"
        parts.append(f'<rect x="{x0}" y="{y}" width="{max(1.5, x1 - x0)}" height="{LANE - 6}" fill="#c62828" '
                     f'data-tip="{_esc(tip)}"/>')
    y += LANE + 10
    # PFC lanes: duty per window per priority
    stats = [r for r in result.rows("pause_stats") if r["port"] == port]
    for prio in sorted({r["priority"] for r in stats}):
        name = "PAUSE" if prio < 0 else f"PFC p{prio}"
        parts.append(f'<text class="lbl" x="0" y="{y - 3}">{name} paused</text>')
        parts.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{LANE - 6}" fill="#f2f2f2"/>')
        for r in stats:
            if r["priority"] != prio or r["paused_ns"] <= 0:
                continue
            x0, x1 = axis.x(r["ts_ns"]), axis.x(r["ts_ns"] + r["window_ns"])
            opacity = min(1.0, 0.15 + r["duty"])
            tip = f"{name} {iso_us(r['ts_ns'])}: paused {duration(r['paused_ns'])} ({100 * r['duty']:.1f}%)"
            parts.append(f'<rect x="{x0}" y="{y}" width="{max(1.0, x1 - x0)}" height="{LANE - 6}" fill="#1565c0" '
                         f'fill-opacity="{opacity:.2f}" data-tip="{_esc(tip)}"/>')
        for s in result.rows("pfc_storms"):
            if s["port"] == port and s["priority"] == prio:
                x0, x1 = axis.x(s["start_ns"]), axis.x(s["end_ns"])
                parts.append(f'<rect x="{x0}" y="{y - 2}" width="{max(1.5, x1 - x0)}" height="{LANE - 2}" fill="none" '
                             f'stroke="#b00" stroke-width="1.5" data-tip="storm: paused {duration(s["paused_ns"])}"/>')
        y += LANE + 8
    # LLDP lane
    events = [e for e in result.rows("lldp_events") if e["port"] == port]
    if events:
        parts.append(f'<text class="lbl" x="0" y="{y - 3}">LLDP</text>')
        colours = {"added": "#2e7d32", "updated": "#6d4c41", "changed": "#b00", "aged_out": "#e39b00",
                   "shutdown": "#555"}
        for e in events:
            x = axis.x(e["ts_ns"])
            tip = f"{e['event']} {iso_us(e['ts_ns'])}: {e['system_name'] or e['chassis_id']}"
            parts.append(f'<circle cx="{x}" cy="{y + 6}" r="5" fill="{colours.get(e["event"], "#333")}" '
                         f'data-tip="{_esc(tip)}"/>')
        y += LANE + 8
    # risk curve
    curve = result.risk_curves.get(port) if hasattr(result, "risk_curves") else None
    if curve:
        parts.append(f'<text class="lbl" x="0" y="{y - 3}">risk</text>')
        h = 30
        pts = " ".join(f"{axis.x(t)},{y + h - h * min(1.0, max(0.0, s)):.1f}" for t, s in curve)
        parts.append(f'<line x1="0" x2="{WIDTH}" y1="{y + h / 2}" y2="{y + h / 2}" stroke="#ddd"/>')
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#b00" stroke-width="1.5"/>')
        y += h + 10
    return (f'<svg class="timeline" width="{WIDTH}" height="{y}" viewBox="0 0 {WIDTH} {y}" '
            f'role="img" aria-label="timeline of {_esc(port)}">' + "".join(parts) + "</svg>")


def _table(rows: list[dict], columns: list[str] | None = None, times=("ts_ns", "down_ns", "up_ns", "start_ns",
                                                                      "end_ns")) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    columns = columns or list(rows[0])
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            if c in times and isinstance(v, int):
                v = iso_us(v)
            elif "_ns" in c and isinstance(v, int):  # durations: duration_ns, down_ns_total, ...
                v = duration(v)
            elif isinstance(v, (list, dict)):
                v = json.dumps(v)
            cells.append(f"<td>{_esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(result) -> str:
    a = result.analysis
    axis = _Axis(a.first_ns, a.last_ns)
    ports = result.rows("ports")
    sections = []
    for p in ports:
        risk = p["risk"]
        cls = "risk-hi" if risk >= 0.5 else ""
        sections.append(
            f'<div class="port"><h3>{_esc(p["port"])} <span class="muted">flaps {p["flaps"]} '
            f'(hidden {p["hidden_flaps"]}), longest {duration(p["longest_down_ns"])}, storms {p["pfc_storms"]}, '
            f'neighbor {_esc(p["neighbor"] or "-")}</span> <span class="{cls}">risk {risk:.2f}</span></h3>'
            + _timeline(p["port"], result, axis) + "</div>"
        )
    from flapwatch.assess.result import PORT_COLUMNS

    tables = [
        ("Ports", _table(ports, PORT_COLUMNS)),
        ("Episodes", _table(result.rows("episodes"))),
        ("Flaps", _table(result.rows("flaps"))),
        ("PFC storms", _table(result.rows("pfc_storms"))),
        ("LLDP events", _table(result.rows("lldp_events"))),
        ("Policy events", _table(result.rows("policy_events"))),
    ]
    warn = "".join(f"<li>{_esc(w)}</li>" for w in a.warnings)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>flapwatch report</title>"
        f"<style>{CSS}</style></head><body data-errors=\"0\"><div id=\"tip\"></div>"
        f"<h1>flapwatch report</h1><p>{len(a.paths)} capture(s): {_esc(', '.join(a.paths))}<br>"
        f"{iso_us(a.first_ns)} to {iso_us(a.last_ns)} ({duration(a.span_ns)}); frames: "
        f"{_esc(', '.join(f'{k} {v}' for k, v in a.counts.items()))}</p>"
        + (f"<ul>{warn}</ul>" if warn else "")
        + "<h2>Timelines</h2>" + "".join(sections)
        + "".join(f"<h2>{title}</h2>{body}" for title, body in tables)
        + f"<script>{JS}</script></body></html>"
    )


def write_report(result, path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(render(result))
