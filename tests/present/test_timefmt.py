"""Time formats: what every table's int64 ns becomes for people, and what --since/--until
accept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flapwatch.present.timefmt import duration, iso_us, parse_time

T = 1795884671085133123  # 2026-11-28T16:51:11.085133123Z


def test_iso_us_truncates_to_microseconds_in_utc():
    assert iso_us(T) == "2026-11-28T16:51:11.085133Z"
    assert iso_us(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_us(-1) == iso_us(None) == "-"


@pytest.mark.parametrize("ns, text", [
    (999, "999 ns"), (830_000, "830 µs"), (5_700_000, "5.70 ms"), (2_001_000_000, "2.001 s"),
    (200 * 10**9, "3 min 20 s"), (3 * 3600 * 10**9 + 5 * 60 * 10**9, "3 h 5 min"), (-1, "-"), (None, "-"),
])
def test_duration(ns, text):
    assert duration(ns) == text


@pytest.mark.parametrize("text, ns", [
    ("2026-11-28T16:51:11Z", 1795884671 * 10**9),
    ("2026-11-28T16:51:11.085133Z", 1795884671085133000),
    ("2026-11-28T17:51:11+01:00", 1795884671 * 10**9),
    ("2026-11-28T16:51:11", 1795884671 * 10**9),  # naive: UTC
    ("1795884671.085133123", T),  # epoch seconds keep every nanosecond
    (" 1795884671 ", 1795884671 * 10**9),
])
def test_parse_time(text, ns):
    assert parse_time(text) == ns


def test_parse_time_names_the_bad_input():
    with pytest.raises(ValueError, match="not a time: 'yesterday'"):
        parse_time("yesterday")


@given(st.integers(min_value=0, max_value=4 * 10**18))
def test_iso_round_trips_to_the_microsecond(ns):
    assert parse_time(iso_us(ns)) == ns - ns % 1000
