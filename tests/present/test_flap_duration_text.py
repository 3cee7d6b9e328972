"""A flap's duration as every output says it (present/timefmt.flap_duration): a figure only
when its range (flaps' duration_min_ns..duration_max_ns) is at most 2 ms wide, else the bound."""

from __future__ import annotations

import pytest

from flapwatch.present.text import describe
from flapwatch.present.timefmt import flap_duration

MS = 1_000_000


def _row(lo: int, hi: int, measured: int, up_ns: int = 1) -> dict:
    return dict(duration_min_ns=lo, duration_max_ns=hi, duration_ns=measured, up_ns=up_ns)


@pytest.mark.parametrize("lo, hi, measured, text", [
    (5 * MS, 6 * MS, 5_500_000, "5.50 ms"),  # 1 ms wide: the measured figure
    (5 * MS, 7 * MS, 9 * MS, "6.00 ms"),  # 2 ms wide, the message's figure outside it: the middle
    (45_559_259, 55_559_259, 50_559_259, "50.56 ms ±5.00 ms"),  # both edges notified at once
    (183 * MS, 1_183 * MS, 183 * MS, "≥ 183.00 ms (≤ 1.183 s)"),  # a down linkwatch may have held back
    (0, 1_090 * MS, -1, "≤ 1.090 s"),  # a hidden flap
    (3 * MS, -1, 3 * MS, "≥ 3.00 ms"),  # open at the capture's start: no upper bound
    (-1, -1, 5 * MS, "5.00 ms"),  # a row from before the bounds (an old event log)
])
def test_a_range_wider_than_2_ms_is_said_as_a_bound(lo, hi, measured, text):
    assert flap_duration(_row(lo, hi, measured)) == text


def test_an_outage_still_open_has_no_duration_yet():
    assert flap_duration(_row(4 * MS, -1, -1, up_ns=-1)) == "-"


def test_follow_lines_say_the_bound():
    row = dict(ts_ns=10**18, port="eth0", hidden=0, open_at_start=0, **_row(183 * MS, 1_183 * MS, 183 * MS, 10**18))
    assert describe("flaps", row).endswith("flap: down ≥ 183.00 ms (≤ 1.183 s)")
