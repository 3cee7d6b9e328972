"""Human forms of the int64-nanosecond times and durations every table carries."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flapwatch.tables.schema import DURATION_EXACT_NS
from flapwatch.tables.units import NS_PER_S as NS  # noqa: E402

# A range this narrow reads as a figure and its margin ("50.56 ms ±5.00 ms"); a wider one
# as the bound that is sure, with the other in brackets ("≥ 298.90 ms (≤ 1.001 s)").
PLUS_MINUS_NS = 20_000_000


def iso_us(ts_ns: int | None) -> str:
    """ISO 8601, UTC, microseconds: 2026-11-28T16:51:11.085133Z."""
    if ts_ns is None or ts_ns < 0:
        return "-"
    dt = datetime.fromtimestamp(ts_ns // NS, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{(ts_ns % NS) // 1000:06d}Z"


def duration(ns: int | None) -> str:
    """5.70 ms, 2.001 s, 830 µs, 3 min 20 s; '-' when unknown (negative)."""
    if ns is None or ns < 0:
        return "-"
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1e3:.0f} µs"
    if ns < NS:
        return f"{ns / 1e6:.2f} ms"
    if ns < 60 * NS:
        return f"{ns / 1e9:.3f} s"
    minutes, seconds = divmod(ns / 1e9, 60)
    if minutes < 60:
        return f"{int(minutes)} min {seconds:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def flap_duration(row: dict) -> str:
    """A flap's duration as far as it is known (flaps' duration_min_ns / duration_max_ns): the
    figure when its range is at most DURATION_EXACT_NS wide, else said as a bound - "≥ 183.00
    ms" (no upper bound), "≤ 1.090 s" (a hidden flap), "50.56 ms ±5.00 ms", "≥ 298.90 ms
    (≤ 1.001 s)"; '-' for an outage still open. A row from before the bounds (an old event
    log: -1) gives its measured duration."""
    lo, hi = row.get("duration_min_ns", -1), row.get("duration_max_ns", -1)
    if row.get("up_ns", 0) < 0:
        return "-"
    if lo < 0:
        return duration(row.get("duration_ns", -1))
    if hi < 0:
        return f"≥ {duration(lo)}"
    if hi - lo <= DURATION_EXACT_NS:
        exact = row.get("duration_ns", -1)
        return duration(exact if lo <= exact <= hi else (lo + hi) // 2)
    if lo == 0:
        return f"≤ {duration(hi)}"
    if hi - lo <= PLUS_MINUS_NS:
        return f"{duration((lo + hi) // 2)} ±{duration((hi - lo) // 2)}"
    return f"≥ {duration(lo)} (≤ {duration(hi)})"


def parse_time(text: str) -> int:
    """ISO 8601 (naive means UTC), or seconds since the epoch -> ns since the epoch."""
    text = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        whole, _, frac = text.partition(".")
        return int(whole) * NS + int((frac + "000000000")[:9])
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, e.g. 2026-11-28T16:51:11Z, or epoch seconds)")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * NS + dt.microsecond * 1000
