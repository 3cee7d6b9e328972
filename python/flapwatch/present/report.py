"""`--report FILE.html`: one self-contained HTML file (plotly.js inlined, nothing fetched:
it opens offline), with per-port timelines that zoom and pan from the whole capture down to
microseconds, linked across ports, hover details on every mark, and the tables with ISO
times, human durations and the episodes' evidence as sentences.

The timelines are plotly figures (present/report_figures.py) drawn by plotly.js, which comes
with the `plotly` package (the `report` extra). The page script (report_page.js) labels the
time axis, links the ports' axes and records its own script errors in <body data-errors>
and its render time in <body data-render-ms>, so that a headless browser can check it."""

from __future__ import annotations

import html
import json
from importlib import resources

from flapwatch.present.evidence import sentences
from flapwatch.present.report_figures import port_figure
from flapwatch.present.timefmt import duration, flap_duration, iso_us

TABLE_ROWS = 2000  # rows per table in the page; every row is in --format json / csv / parquet

CSS = """
body{font:14px system-ui,sans-serif;margin:20px 24px;color:#222;background:#fff;max-width:1500px}
h1{font-size:20px;margin:0 0 4px 0}h2{font-size:16px;margin-top:26px}
.meta{color:#444;line-height:1.5}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;
font-variant-numeric:tabular-nums;vertical-align:top}th{background:#f4f4f4;position:sticky;top:0}
.port{margin:14px 0;border:1px solid #ddd;border-radius:6px;padding:6px 8px}
.port h3{margin:0 0 2px 0;font-size:15px;font-weight:600}.port .facts{color:#555;font-size:13px}
.chip{display:inline-block;padding:0 6px;margin:0 3px 0 0;border-radius:9px;background:#eee;font-size:12px}
.risk-hi{color:#b00;font-weight:bold}.muted{color:#888}
.bar{position:sticky;top:0;z-index:5;background:#fff;padding:6px 0;border-bottom:1px solid #ddd}
button{font:inherit;padding:2px 10px}
ul.ev{margin:0;padding-left:18px}ul.ev li{margin:1px 0}
.help{color:#555;font-size:13px}
"""

ERRORS_JS = """window.flapwatchErrors=[];window.addEventListener('error',function(e){
window.flapwatchErrors.push(String(e.message));document.body&&(document.body.dataset.errors=window.flapwatchErrors.length,
document.body.dataset.errorText=window.flapwatchErrors.join(' | '));});
window.addEventListener('unhandledrejection',function(e){window.flapwatchErrors.push(String(e.reason));
document.body.dataset.errors=window.flapwatchErrors.length;});"""


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise ModuleNotFoundError("the HTML report needs plotly: pip install 'flapwatch[report]'", name="plotly")
    return get_plotlyjs()


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _script_json(data) -> str:
    # inside <script type="application/json">: only "</" could end it early
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _flap_duration(f: dict, end_ns: int) -> str:
    if f["up_ns"] < 0:  # down at least since the latest its down can have been
        down = f["down_latest_ns"] if f.get("down_latest_ns", -1) >= 0 else f["down_ns"]
        return f"≥ {duration(end_ns - down)} (still down at the end)"
    if f["hidden"]:
        return f"{flap_duration(f)} (hidden: between two link messages)"
    return flap_duration(f)


def _table(rows: list[dict], columns: list[tuple[str, object]]) -> str:
    """columns: (header, key or function of the row)."""
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{_esc(h)}</th>" for h, _ in columns)
    body = []
    for r in rows[:TABLE_ROWS]:
        cells = []
        for _, how in columns:
            v = how(r) if callable(how) else r.get(how)
            cells.append(f"<td>{v if isinstance(v, _Html) else _esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (f'<p class="muted">the first {TABLE_ROWS} of {len(rows)} rows; every row: '
            "<code>--format json</code>, csv or parquet</p>") if len(rows) > TABLE_ROWS else ""
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


class _Html(str):
    """Already escaped markup for a table cell."""


def _evidence_cell(ep: dict) -> _Html:
    items = []
    for text, rule, conf in sentences(ep):
        c = f' <span class="muted">(confidence {conf:.2f})</span>' if isinstance(conf, (int, float)) else ""
        items.append(f'<li title="{_esc(rule)}">{_esc(text)}{c}</li>')
    return _Html(f'<ul class="ev">{"".join(items)}</ul>') if items else _Html("")


def _port_header(p: dict) -> str:
    risk = p.get("risk", 0.0) or 0.0
    facts = [f"{p['flaps']} flap{'s' if p['flaps'] != 1 else ''}"
             + (f" ({p['hidden_flaps']} hidden, {p['micro_flaps']} micro)" if p["flaps"] else "")]
    if p["flaps"]:
        facts.append(f"longest down {duration(p['longest_down_ns'])}, {duration(p['down_ns_total'])} down in all")
    if p.get("outages_over_budget"):
        facts.append(f"{p['outages_over_budget']} over the job budget")
    facts.append("link up at the end" if p.get("oper_up") == 1 else "link down at the end"
                 if p.get("oper_up") == 0 else "link state unknown")
    if p.get("pfc_storms"):
        facts.append(f"{p['pfc_storms']} PFC storm{'s' if p['pfc_storms'] != 1 else ''}")
    if p.get("paused_pct"):
        facts.append(f"paused {p['paused_pct']:.2f} % (most-paused priority)")
    facts.append(f"neighbor {p['neighbor']}" if p.get("neighbor") else "no LLDP neighbor")
    peak = p.get("risk_peak")
    risk_text = f"risk {risk:.2f}"
    if isinstance(peak, (int, float)) and peak > risk:
        at = p.get("risk_peak_ns")
        risk_text += f" (peak {peak:.2f}" + (f" at {iso_us(at)}" if isinstance(at, int) and at >= 0 else "") + ")"
    cls = "risk-hi" if max(risk, peak if isinstance(peak, (int, float)) else 0) >= 0.5 else ""
    chips = "".join(f'<span class="chip">{_esc(s)}</span>' for s in (p.get("signatures") or "").split(",") if s)
    return (f'<h3>{_esc(p["port"])} <span class="{cls}">{_esc(risk_text)}</span> {chips}</h3>'
            f'<div class="facts">{_esc("; ".join(facts))}</div>')


def _order(ports: list[dict]) -> list[dict]:
    """Ports that need a look first: those with flaps or storms, by peak risk, risk, flaps;
    then the quiet ones, by name."""
    def key(p):
        quiet = not (p["flaps"] or p.get("pfc_storms") or p.get("signatures"))
        return (quiet, -(p.get("risk_peak") or 0.0) if not quiet else 0, -(p.get("risk") or 0.0) if not quiet else 0,
                -p["flaps"], p["port"])
    return sorted(ports, key=key)


def render(result) -> str:
    a = result.analysis
    ports = _order(result.rows("ports"))
    rows = {name: result.rows(name) for name in ("flaps", "episodes", "pause_stats", "pfc_storms", "lldp_events",
                                                 "policy_events")}
    t0 = a.first_ns if a.first_ns >= 0 else 0
    end = a.last_ns if a.last_ns >= t0 else t0
    span = max(end - t0, 1)
    figures = [port_figure(p["port"], result, t0, span, rows) for p in ports]
    data = {"t0_ns": str(t0), "span_ns": span, "ports": [p["port"] for p in ports], "figures": figures}

    sections = "".join(f'<div class="port">{_port_header(p)}<div class="tl" id="tl-{i}"></div></div>'
                       for i, p in enumerate(ports))
    flap_cols = [("down (UTC)", lambda r: iso_us(r["down_ns"])), ("up (UTC)", lambda r: iso_us(r["up_ns"])),
                 ("port", "port"), ("down for", lambda r: _flap_duration(r, end)),
                 ("hidden", lambda r: "yes" if r["hidden"] else ""),
                 ("over budget", lambda r: "yes" if r.get("over_budget") else "")]
    ep_cols = [("#", "episode"), ("port", "port"), ("from (UTC)", lambda r: iso_us(r["start_ns"])),
               ("to (UTC)", lambda r: iso_us(r["end_ns"]) if r["end_ns"] >= 0 else "still down"),
               ("flaps", "flaps"), ("evidence", _evidence_cell)]
    storm_cols = [("from (UTC)", lambda r: iso_us(r["start_ns"])), ("to (UTC)", lambda r: iso_us(r["end_ns"])),
                  ("port", "port"), ("priority", lambda r: "PAUSE" if r["priority"] < 0 else f"p{r['priority']}"),
                  ("paused", lambda r: duration(r["paused_ns"])), ("frames", "frames"),
                  ("detected (UTC)", lambda r: iso_us(r["ts_ns"]))]
    lldp_cols = [("time (UTC)", lambda r: iso_us(r["ts_ns"])), ("port", "port"),
                 ("event", lambda r: r["event"].replace("_", " ")),
                 ("neighbor", lambda r: r.get("system_name") or r.get("chassis_id") or ""),
                 ("port id", "port_id"), ("TTL", lambda r: f"{r['ttl']} s" if r.get("ttl", -1) >= 0 else ""),
                 ("before", lambda r: r.get("prev_system_name") or r.get("prev_chassis_id") or "")]
    policy_cols = [("time (UTC)", lambda r: iso_us(r["ts_ns"])), ("port", "port"), ("policy", "policy"),
                   ("event", "event"), ("value", lambda r: f"{r['value']:.4g}")]
    port_cols = [("port", "port"), ("risk", lambda r: f"{r.get('risk', 0):.2f}"), ("flaps", "flaps"),
                 ("hidden", "hidden_flaps"), ("micro", "micro_flaps"),
                 ("longest down", lambda r: duration(r["longest_down_ns"]) if r["flaps"] else ""),
                 ("down in all", lambda r: duration(r["down_ns_total"]) if r["flaps"] else ""),
                 ("over budget", "outages_over_budget"),
                 ("link at end", lambda r: {1: "up", 0: "down"}.get(r.get("oper_up"), "?")),
                 ("signatures", "signatures"), ("PFC storms", "pfc_storms"),
                 ("paused", lambda r: f"{r['paused_pct']:.2f} %"), ("neighbor", "neighbor")]
    tables = [
        ("Ports", _table(ports, port_cols)),
        ("Episodes", _table(rows["episodes"], ep_cols)),
        ("Flaps", _table(rows["flaps"], flap_cols)),
        ("PFC storms", _table(rows["pfc_storms"], storm_cols)),
        ("LLDP events", _table(rows["lldp_events"], lldp_cols)),
        ("Policy events", _table(rows["policy_events"], policy_cols)),
    ]
    warn = "".join(f"<li>{_esc(w)}</li>" for w in a.warnings)
    if len(a.warnings) > 3:
        warn = f"<li><details><summary>{len(a.warnings)} warnings</summary><ul>{warn}</ul></details></li>"
    counts = ", ".join(f"{k} {v}" for k, v in a.counts.items())
    page_js = resources.files("flapwatch.present").joinpath("report_page.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>flapwatch report</title>"
        f"<style>{CSS}</style><script>{ERRORS_JS}</script></head><body data-errors=\"0\">"
        f"<h1>flapwatch report</h1><div class=\"meta\">{len(a.paths)} capture(s): {_esc(', '.join(a.paths))}<br>"
        f"{_esc(iso_us(t0))} to {_esc(iso_us(end))} ({_esc(duration(end - t0))}); frames: {_esc(counts)}</div>"
        + (f"<ul>{warn}</ul>" if warn else "")
        + "<h2>Timelines</h2>"
        '<div class="bar"><button id="zoomreset">whole capture</button> <span id="zoomnote"></span>'
        '<div class="help">Times are UTC. Drag across a chart or scroll on it to zoom in (every port follows), '
        "drag the axis to pan, double-click for the whole capture; hover a mark for its details. Red bars: the link "
        "down (the tick marks each down so that a short flap stays visible at any zoom); orange: hidden flaps "
        "(within the interval shown); blue: paused fraction per window, storms outlined.</div></div>"
        + sections
        + "".join(f"<h2>{title}</h2>{body}" for title, body in tables)
        + f"<script>{_plotly_js()}</script>"
        + f'<script type="application/json" id="flapwatch-data">{_script_json(data)}</script>'
        + f"<script>{page_js}</script></body></html>"
    )


def write_report(result, path: str) -> None:
    text = render(result)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
