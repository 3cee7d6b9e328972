"""The fleet HTML report: one self-contained file (no script, no network): the fleet summary,
the ranking, each top link's two ends on one timeline (the far end's clock skew taken out),
device-wide events, waves and the clock skews estimated."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pandas as pd

from flapwatch.tables.units import NS_PER_S

CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}
.k{display:inline-block;margin:0 1.5em 1em 0}.k b{font-size:1.6em;display:block}svg{background:#fafafa;border:1px solid #ddd}"""


def _t(ns) -> str:
    if ns is None or pd.isna(ns) or ns < 0:
        return ""
    return datetime.fromtimestamp(int(ns) / NS_PER_S, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _table(df: pd.DataFrame, limit: int = 50, times: tuple = ()) -> str:
    if df is None or df.empty:
        return "<p>none</p>"
    df = df.head(limit)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = [(_t(v) if c in times else (f"{v:.4g}" if isinstance(v, float) else str(v))) for c, v in zip(df.columns, row)]
        body.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _timeline(link: str, fa: pd.DataFrame, fb: pd.DataFrame, skew_ns: int, t0: int, t1: int) -> str:
    """Two rows of outages (a end, b end on a's clock): red bars from down to up."""
    w, h = 900, 56
    span = max(1, t1 - t0)

    def bars(df: pd.DataFrame, y: int, shift: int) -> str:
        out = []
        for down, up in zip(df["down_ns"].tolist(), df["up_ns"].tolist()):
            up = up if up >= 0 else t1
            x0 = 110 + (down - shift - t0) * (w - 120) / span
            x1 = 110 + (up - shift - t0) * (w - 120) / span
            out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(1.5, x1 - x0):.1f}" height="14" fill="#d33"/>')
        return "".join(out)

    a, b = link.split(" -- ")
    return (f'<svg width="{w}" height="{h}" role="img"><text x="4" y="18" font-size="11">{html.escape(a)[-16:]}</text>'
            f'<text x="4" y="42" font-size="11">{html.escape(b)[-16:]}</text>'
            f'<line x1="110" y1="14" x2="{w - 10}" y2="14" stroke="#aaa"/><line x1="110" y1="38" x2="{w - 10}" y2="38" stroke="#aaa"/>'
            f'{bars(fa, 7, 0)}{bars(fb, 31, skew_ns)}</svg>')


def fleet_report(path: str, corr, flaps: pd.DataFrame, summary: dict, top: int = 12) -> None:
    """Write the report to ``path``."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>flapwatch fleet</title><style>{CSS}</style></head><body>",
             "<h1>flapwatch fleet</h1>"]
    parts.append("".join(f"<div class='k'><b>{html.escape(str(v))}</b>{html.escape(k)}</div>" for k, v in summary.items()))
    parts.append("<h2>Ranking</h2>" + _table(corr.ranking, 50))
    parts.append("<h2>Both ends</h2><p>Each link's two ends, the far end on the near end's clock (skew estimated from the "
                 "matched flaps).</p>")
    if len(corr.both_ends) and len(flaps):
        f = flaps.copy()
        f["key"] = f["port"].astype(str)
        ranked = [link for link in corr.ranking["link"].tolist() if link in set(corr.both_ends["link"])][:top]
        for link in ranked:
            rows = corr.both_ends[corr.both_ends["link"] == link]
            r0 = rows.iloc[0]
            a, b = f"{r0.device_a}:{r0.port_a}", f"{r0.device_b}:{r0.port_b}"
            fa, fb = f[f["key"] == a], f[f["key"] == b]
            t0 = int(min(fa["down_ns"].min(), fb["down_ns"].min())) - NS_PER_S
            t1 = int(max(fa["ts_ns"].max(), fb["ts_ns"].max())) + NS_PER_S
            parts.append(f"<h3>{html.escape(link)}</h3><p>{len(rows)} flaps seen from both ends; skew "
                         f"{int(r0.skew_ns) / 1e6:+.1f} ms; {_t(t0)} to {_t(t1)}</p>")
            parts.append(_timeline(link, fa, fb, int(r0.skew_ns), t0, t1))
    else:
        parts.append("<p>none</p>")
    parts.append("<h2>Waves</h2>" + _table(corr.waves, 100, ("start_ns", "end_ns")))
    parts.append("<h2>Device-wide events</h2>" + _table(corr.device_wide, 200, ("start_ns", "end_ns")))
    parts.append("<h2>Clock skew per device pair</h2>" + _table(corr.skew, 200))
    parts.append("</body></html>")
    with open(path, "w") as fh:
        fh.write("\n".join(parts))
