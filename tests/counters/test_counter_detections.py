"""Counters as a source (issue 13): the push API gives the detections a capture plus an
`ethtool -S` log of the same input give (replay), PFC storms by pfcwd's counter rules,
PHY link-downs without a carrier change as flaps with source "PHY counter", and counter
wraps, resets, vanished names and bnxt's repeats give no false storm or flap."""

from __future__ import annotations

import time

import pytest

import flapwatch
from flapwatch.counters.profiles import BNXT, I40E, MLX5
from flapwatch.counters.samples import sample
from flapwatch.live.agent import Agent
from flapwatch.sources.pcapng import PcapngWriter
from flapwatch.wire.netlink import LINKTYPE_NETLINK, newlink_msg, nlmon_frame

MS = 1_000_000
S = 1_000_000_000
IFACE = "eth0"


def _t0() -> int:
    # In the future: the live agent's ticks (realtime - 250 ms) never pass a pushed record.
    return (time.time_ns() // S + 60) * S


def _mlx5_series(t0: int, *, storm=(2.0, 3.0), phy_at=(1.05, 4.05), polls=60, wrap_at=None, reset_at=None):
    """(ts, {name: value}) every 100 ms: prio 3 fully paused during `storm` (s after t0),
    link_down_events_phy +1 in the poll after each `phy_at`."""
    out, dur, frames, phy = [], 0, 0, 0
    if wrap_at is not None:
        dur = 2**32 - 250_000  # as a 32-bit duration counter would be, just before it wraps
    for i in range(polls + 1):
        ts = t0 + i * 100 * MS
        s = i / 10
        if storm[0] < s <= storm[1]:
            dur += 100_000  # µs: the whole 100 ms
            frames += 700
        phy += sum(1 for p in phy_at if s - 0.1 < p <= s)
        if reset_at is not None and abs(s - reset_at) < 1e-9:
            dur, frames, phy = 0, 0, 0  # driver reload: every counter back to 0
        d = dur % 2**32 if wrap_at is not None else dur
        out.append((ts, {"rx_prio3_pause": frames, "rx_prio3_pause_duration": d, "tx_prio3_pause": 0,
                         "tx_prio3_pause_duration": 0, "link_down_events_phy": phy}))
    return out


def _samples(series, profile=MLX5, iface=IFACE, width32=()):
    out = []
    for ts, values in series:
        counters = []
        for name, v in values.items():
            c = profile.counter(name)
            if name in width32:
                c = type(c)(c.name, c.meaning, c.direction, c.priority, c.unit, 32)
            counters.append((c, v))
        out.append(sample(ts, iface, counters, refresh_s=profile.refresh_s))
    return out


def _link_events(t0: int):
    """(ts, up, changes, ups, downs): a netlink flap at 1.06-1.5 s (the kernel's carrier
    news comes after the PHY event at 1.05 s that the PHY counter counts)."""
    return [(t0 + 1060 * MS, False, 2, 1, 1), (t0 + 1500 * MS, True, 3, 2, 1)]


def _write_inputs(tmp_path, t0, series):
    cap = tmp_path / "links.pcapng"
    with PcapngWriter(cap) as w:
        nl = w.add_interface("netlink", LINKTYPE_NETLINK)
        for ts, up, changes, ups, downs in _link_events(t0):
            w.write(nl, ts, nlmon_frame(newlink_msg(ifindex=2, ifname=IFACE, mac=b"\x02\0\0\0\0\x01", up=up,
                                                    changes=changes, up_count=ups, down_count=downs)))
    return cap, _write_log(tmp_path, series)


def _write_log(tmp_path, series):
    """The series as a timestamped `ethtool -S` log (what `while sleep; do date; ethtool -S`
    writes)."""
    log = tmp_path / f"{IFACE}.ethtool.log"
    with open(log, "w") as f:
        for ts, values in series:
            f.write(f"{ts // S}.{ts % S:09d}\nNIC statistics:\n")
            f.writelines(f"     {name}: {v}\n" for name, v in values.items())
    return log


def _push(t0, samples, links=True):
    agent = Agent([], netlink=False, keep=True)
    for ts, up, changes, ups, downs in _link_events(t0) if links else []:
        assert agent.push_link(ts, IFACE, up, carrier_changes=changes, carrier_up_count=ups, carrier_down_count=downs)
    for s in samples:
        assert agent.push_counters(s)
    agent.start()
    return agent.stop()


def _rows(analysis, table, drop=()):
    return [{k: v for k, v in r.items() if k not in drop} for r in analysis.tables[table].records()]


def test_push_api_equals_capture_plus_ethtool_log(tmp_path):
    t0 = _t0()
    series = _mlx5_series(t0)
    cap, log = _write_inputs(tmp_path, t0, series)
    replayed = flapwatch.analyze([cap, log])
    pushed = _push(t0, _samples(series))
    storms = _rows(replayed, "pfc_storms")
    assert len(storms) == 1 and storms[0]["priority"] == 3
    assert storms[0]["start_ns"] == t0 + 2000 * MS  # the first fully paused poll began at 2.0 s
    flaps = _rows(replayed, "flaps")
    # the netlink flap (its PHY count matched), and the PHY-only one at 4.0-4.1 s
    assert [f["source"] for f in flaps] == ["netlink", "PHY counter"]
    assert (flaps[1]["down_ns"], flaps[1]["up_ns"]) == (t0 + 4000 * MS, t0 + 4100 * MS)
    # The ranges of a flap's true times differ by design: a netlink message follows linkwatch's
    # timing, a pushed event only its port's previous event (docs/DESIGN.md, "Durations with
    # their uncertainty"); the rest is the same.
    ranges = ("down_earliest_ns", "down_latest_ns", "up_earliest_ns", "up_latest_ns", "duration_min_ns",
              "duration_max_ns")
    for table in ("flaps", "pfc_storms", "policy_events", "link_down"):
        assert _rows(pushed, table, ranges) == _rows(replayed, table, ranges), table
    for p, r in zip(_rows(pushed, "flaps"), _rows(replayed, "flaps")):
        assert p["down_latest_ns"] == r["down_latest_ns"] and p["up_latest_ns"] == r["up_latest_ns"]
    policies = [(p["policy"], p["event"]) for p in _rows(replayed, "policy_events") if p["policy"].startswith("pfc")]
    assert policies == [("pfc-storm:p3", "trip"), ("pfc-storm:p3", "clear")]


def test_phy_counter_flaps_count_for_the_flap_policies(tmp_path):
    """Five PHY link-downs in 0.8 s that the carrier never showed (an mlx5 log alone, and the
    same samples pushed): five flaps, and the flap policies count them as the carrier's,
    each when it is known (a grace second after its sample: no late carrier down claimed
    it): 5-in-10s and IOS dampening trip, then clear, the same both ways."""
    t0 = _t0()
    series = _mlx5_series(t0, storm=(99, 99), phy_at=(1.05, 1.25, 1.45, 1.65, 1.85))
    replayed = flapwatch.analyze([_write_log(tmp_path, series)])
    pushed = _push(t0, _samples(series), links=False)
    assert [f["source"] for f in _rows(replayed, "flaps")] == ["PHY counter"] * 5
    events = _rows(replayed, "policy_events")
    assert [(p["policy"], p["event"]) for p in events if p["policy"] == "5-in-10s"] == [("5-in-10s", "trip"),
                                                                                      ("5-in-10s", "clear")]
    trip = next(p for p in events if p["policy"] == "5-in-10s")
    assert trip["ts_ns"] == t0 + 2900 * MS and trip["value"] == 5  # the fifth, known at 2.9 s
    assert ("ios", "trip") in [(p["policy"], p["event"]) for p in events]
    assert _rows(pushed, "policy_events") == events
    assert _rows(pushed, "ports")[0]["flaps"] == 5


def test_wrap_mid_storm_and_reset_mid_run_make_no_false_detection():
    t0 = _t0()
    # a 32-bit duration counter wrapping in the middle of the storm: still one storm
    wrapped = _push(t0, _samples(_mlx5_series(t0, phy_at=(), wrap_at=2.5), width32=("rx_prio3_pause_duration",)))
    storms = _rows(wrapped, "pfc_storms")
    assert len(storms) == 1 and storms[0]["start_ns"] == t0 + 2000 * MS and storms[0]["end_ns"] == t0 + 3000 * MS
    # a reset (driver reload) with no storm and no PHY flap: nothing at all
    reset = _push(t0, _samples(_mlx5_series(t0, storm=(99, 99), phy_at=(), reset_at=3.0, polls=60)), links=False)
    for table in ("flaps", "pfc_storms"):
        assert _rows(reset, table) == []
    # counters going backwards with large values (a reload after a long uptime)
    series = _mlx5_series(t0, storm=(99, 99), phy_at=())
    for i, (ts, v) in enumerate(series):
        base = 10**12 if i < 30 else 0
        v.update({k: x + base for k, x in v.items()})
    big = _push(t0, _samples(series), links=False)
    assert _rows(big, "pfc_storms") == [] and _rows(big, "flaps") == []


def test_vanishing_names_and_changed_list_are_notices_not_detections(tmp_path):
    t0 = _t0()
    series = _mlx5_series(t0, storm=(99, 99), phy_at=())
    for i, (ts, v) in enumerate(series):
        if 20 <= i < 30:
            del v["rx_prio3_pause_duration"]  # PFC switched off on priority 3: its counters vanish
            del v["rx_prio3_pause"]
        if i >= 30:
            v["rx_prio3_pause_duration"] += 5 * 10**9  # back with a jump (a new epoch)
            v["link_down_events_phy"] += 7
    cap, log = _write_inputs(tmp_path, t0, series)
    replayed = flapwatch.analyze([log])
    assert _rows(replayed, "pfc_storms") == [] and _rows(replayed, "flaps") == []
    assert any("counter list changed" in n for n in replayed.notices)
    assert any("vanished" in w for w in replayed.warnings)


def test_wrap_and_reset_are_reported_as_what_they_are(tmp_path):
    t0 = _t0()
    series = _mlx5_series(t0, storm=(99, 99), phy_at=(2.05,))
    for i, (ts, v) in enumerate(series):
        v["link_down_events_phy"] = (2**32 - 1 + v["link_down_events_phy"]) % 2**32  # the u32 wraps at the flap
        v["rx_prio3_pause"] = 1000 + i if i < 40 else i - 40  # a reset at 4 s
    cap, log = _write_inputs(tmp_path, t0, series)
    a = flapwatch.analyze([log])
    assert [f["source"] for f in _rows(a, "flaps")] == ["PHY counter"]  # the flap across the wrap, once
    assert any("wrapped" in w for w in a.warnings) and any("reset" in w for w in a.warnings)


def test_bnxt_repeats_are_not_read_as_no_pause():
    """bnxt copies its counters once a second: polled every 100 ms, nine of ten reads
    repeat the last copy. A storm must still be found (and only one)."""
    t0 = _t0()
    series, dur, frames = [], 0, 0
    for i in range(81):
        s = i / 10
        if i % 10 == 0 and 2 < s <= 6:  # the driver's copy moves once a second
            dur += 1_000_000
            frames += 7000
        series.append((t0 + i * 100 * MS, {"pfc_pri3_rx_duration_us": dur, "rx_pfc_ena_frames_pri3": frames}))
    pushed = _push(t0, _samples(series, BNXT))
    storms = _rows(pushed, "pfc_storms")
    assert len(storms) == 1 and storms[0]["priority"] == 3
    # the first copy that moved says the pause began somewhere in the driver's last period
    assert t0 + 2000 * MS <= storms[0]["start_ns"] <= t0 + 3000 * MS and storms[0]["end_ns"] == t0 + 6000 * MS


def test_frame_rule_for_xoff_counts_only():
    """i40e has XOFF counts only: a storm when every poll has enough XOFF frames to cover
    99 % of it (frames x 65535 quanta) and no XON; steady light PFC is no storm."""
    t0 = _t0()

    def run(xoff_per_poll, xon_per_poll):
        series, xoff, xon = [], 0, 0
        for i in range(41):
            if 10 < i <= 30:
                xoff += xoff_per_poll
                xon += xon_per_poll
            series.append((t0 + i * 100 * MS, {"port.rx_priority_4_xoff_rx": xoff, "port.rx_priority_4_xon_rx": xon}))
        return _rows(_push(t0, _samples(series, I40E)), "pfc_storms")

    assert len(run(400, 0)) == 1  # 400 x 335 µs at 100G > 99 ms
    assert run(400, 5) == []  # XON came: the pause was released
    assert run(20, 0) == []  # too few frames to pause a whole poll


def test_frames_and_counters_on_one_port_make_one_storm(tmp_path):
    """Where the capture sees the PFC frames too, the frame tracker has the storm."""
    from flapwatch.wire.mac_control import pfc_frame

    t0 = _t0()
    series = _mlx5_series(t0, phy_at=())
    cap, log = _write_inputs(tmp_path, t0, series)
    frames = tmp_path / "pfc.pcapng"
    with PcapngWriter(frames) as w:
        eth = w.add_interface(IFACE)
        ts = t0 + 1990 * MS
        while ts < t0 + 3000 * MS:
            w.write(eth, ts, pfc_frame("02:00:00:00:00:02", 1 << 3, [0, 0, 0, 0xFFFF, 0, 0, 0, 0]))
            ts += 300_000
    both = flapwatch.analyze([frames, log])
    assert len(_rows(both, "pfc_storms")) == 1
