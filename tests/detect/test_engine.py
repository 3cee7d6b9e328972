"""The detection engine on synthetic captures with exact timing: expected values are
worked out by hand from the vendors' formulas (DESIGN.md), not read back from the code."""

from __future__ import annotations

import math

import pytest

import capture_writers as cw
from flapwatch import wire
import flapwatch
from flapwatch import Config, DampeningPolicy, WindowPolicy
from flapwatch.tables import schema

S = 1_000_000_000
MS = 1_000_000
T0 = 1_800_000_000 * S
IFF_UP, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x40, 0x10000
UP_FLAGS = IFF_UP | IFF_RUNNING | IFF_LOWER_UP


class LinkScript:
    """Netlink RTM_NEWLINK messages for one interface, as the kernel would send them: a
    dump reply first (the recorder's RTM_GETLINK), then notifications."""

    def __init__(self, ifname: str = "swp1", ifindex: int = 7):
        self.ifname, self.ifindex = ifname, ifindex
        self.ups = self.downs = 0
        self.records: list[tuple[int, bytes]] = []
        self.message(T0, up=True, dump=True)

    def message(self, t: int, up: bool, dump: bool = False) -> None:
        msg = wire.link_msg(self.ifindex, UP_FLAGS if up else IFF_UP, ifname=self.ifname, operstate=6 if up else 2,
                          carrier=int(up), carrier_changes=self.ups + self.downs, carrier_up_count=self.ups,
                          carrier_down_count=self.downs, dump=dump)
        self.records.append((t, wire.nlmon_frame(msg)))

    def flap(self, down_at: int, up_at: int, notify: bool = True) -> None:
        """A flap; unnotified ones only move the counters (linkwatch coalescing)."""
        self.downs += 1
        if notify:
            self.message(down_at, up=False)
        self.ups += 1
        if notify:
            self.message(up_at, up=True)

    def write(self, path) -> str:
        path.write_bytes(cw.pcap_bytes(sorted(self.records), linktype=cw.LINKTYPE_NETLINK, nano=True))
        return str(path)


def _config(**kw) -> Config:
    kw.setdefault("window_policies", [])
    kw.setdefault("dampening_policies", [])
    return Config(**kw)


def _events(a, policy: str) -> list[tuple[int, int, float]]:
    t = a.policy_events
    return [(ts, ev, v) for ts, ev, v, name in zip(t["ts_ns"].tolist(), t["event"].tolist(), t["value"].tolist(),
                                                   t.text("policy")) if name == policy]


def test_flaps_durations_and_port_summary(tmp_path):
    s = LinkScript()
    s.flap(T0 + 1 * S, T0 + 1 * S + 5 * MS)  # micro-flap
    s.flap(T0 + 2 * S, T0 + 2 * S + 50 * MS)
    s.flap(T0 + 3 * S, T0 + 11 * S)  # 8 s: over the 7 s job budget
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config(hold_time_ms=100))
    f = a.flaps
    assert f["duration_ns"].tolist() == [5 * MS, 50 * MS, 8 * S]
    assert f["down_ns"].tolist() == [T0 + 1 * S, T0 + 2 * S, T0 + 3 * S]
    assert f["hidden"].tolist() == [0, 0, 0]
    assert f["held"].tolist() == [1, 1, 0]  # a 100 ms hold-down would have hidden the first two
    assert f["over_budget"].tolist() == [0, 0, 1]
    p = a.ports
    assert p.text("port") == ["swp1"]
    assert (p["flaps"][0], p["micro_flaps"][0], p["outages_over_budget"][0]) == (3, 1, 1)
    assert p["down_ns_total"][0] == 5 * MS + 50 * MS + 8 * S
    assert p["longest_down_ns"][0] == 8 * S and p["oper_up"][0] == 1


def test_hidden_flaps_from_counter_jumps(tmp_path):
    s = LinkScript()
    s.flap(T0 + 1 * S, T0 + 1 * S + 50 * MS)  # notified
    for k in range(3):  # coalesced: only the counters move
        s.flap(T0 + 2 * S + k * 200 * MS, T0 + 2 * S + k * 200 * MS + 50 * MS, notify=False)
    s.flap(T0 + 3 * S, T0 + 3 * S + 50 * MS)  # notified: its down message reveals the 3 hidden ones
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config())
    f = a.flaps
    assert f["hidden"].tolist() == [0, 1, 1, 1, 0]
    hidden = f["hidden"] == 1
    # bounded by the messages around them: after the first flap's up, by the next down
    assert set(f["down_ns"][hidden].tolist()) == {T0 + 1 * S + 50 * MS}
    assert set(f["up_ns"][hidden].tolist()) == {T0 + 3 * S}
    assert set(f["duration_ns"][hidden].tolist()) == {-1}
    assert a.ports["flaps"][0] == 5 and a.ports["hidden_flaps"][0] == 3


def test_still_down_at_the_end_is_an_open_outage(tmp_path):
    s = LinkScript()
    s.downs += 1
    s.message(T0 + 1 * S, up=False)
    s.message(T0 + 9 * S, up=False)  # a later message: the capture runs on while down
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config())
    f = a.flaps
    assert f["up_ns"].tolist() == [-1] and f["down_ns"].tolist() == [T0 + 1 * S]
    assert f["over_budget"].tolist() == [1]  # down 8 s by the end of the capture
    assert a.ports["flaps"][0] == 0 and a.ports["oper_up"][0] == 0


def test_window_policy_trips_and_clears(tmp_path):
    s = LinkScript()
    for k in range(6):  # flaps at 1..6 s
        s.flap(T0 + (k + 1) * S, T0 + (k + 1) * S + 10 * MS)
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config(window_policies=["5-in-10s"]))
    # trips at the 5th flap (t=5 s); the count drops below 5 when the 2nd flap (t=2 s)
    # leaves the window, at 2 + 10 = 12 s (the 6th keeps 5 in the window until then).
    assert _events(a, "5-in-10s") == [(T0 + 5 * S, 1, 5.0), (T0 + 12 * S, 0, 4.0)]


def test_extreme_preset_and_custom_window(tmp_path):
    s = LinkScript()
    for k in range(10):  # 10 flaps, 400 ms apart: 3.6 s
        s.flap(T0 + k * 400 * MS + S, T0 + k * 400 * MS + S + MS)
    custom = WindowPolicy("3-in-1s", 3, 1.0)
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config(window_policies=["10-in-5s", custom]))
    assert _events(a, "10-in-5s")[0] == (T0 + S + 9 * 400 * MS, 1, 10.0)
    # 3 flaps in 1 s first at the 3rd (0, 0.4, 0.8 s)
    assert _events(a, "3-in-1s")[0] == (T0 + S + 800 * MS, 1, 3.0)


@pytest.mark.parametrize(
    "preset, half_life, reuse, suppress, max_suppress",
    [("ios", 5.0, 1000, 2000, 20.0), ("ios-xr", 60.0, 750, 2000, 240.0), ("junos", 5.0, 1000, 2000, 20.0)],
)
def test_dampening_presets(tmp_path, preset, half_life, reuse, suppress, max_suppress):
    s = LinkScript()
    flap_times = [1.0, 2.0, 3.0]
    for t in flap_times:
        s.flap(T0 + int(t * S), T0 + int(t * S) + 10 * MS)
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config(dampening_policies=[preset]))
    # by hand: P_k = P_{k-1} * 2^(-dt/half_life) + 1000, suppressed once P > suppress
    penalty, last, trip = 0.0, None, None
    for t in flap_times:
        penalty = (penalty * 2 ** (-(t - last) / half_life) if last is not None else 0.0) + 1000
        last = t
        if trip is None and penalty > suppress:
            trip = (t, penalty)
    assert trip is not None
    clear_at = last + half_life * math.log2(penalty / reuse)  # decays to reuse
    ev = _events(a, preset)
    assert len(ev) == 2
    assert ev[0][0] == T0 + int(trip[0] * S) and ev[0][1] == 1 and ev[0][2] == pytest.approx(trip[1], rel=1e-9)
    assert ev[1][1] == 0 and abs(ev[1][0] - (T0 + clear_at * S)) <= 1
    assert ev[1][2] == pytest.approx(reuse, rel=1e-6)


def test_dampening_max_suppress_caps_the_penalty(tmp_path):
    s = LinkScript()
    for k in range(40):  # 40 flaps in 4 s: uncapped the penalty would pass 30000
        s.flap(T0 + S + k * 100 * MS, T0 + S + k * 100 * MS + MS)
    policy = DampeningPolicy("cap", penalty=1000, half_life_s=5.0, reuse=1000, suppress=2000, max_suppress_s=20.0)
    a = flapwatch.analyze(s.write(tmp_path / "nl.pcap"), _config(dampening_policies=[policy]))
    ev = _events(a, "cap")
    last_flap = T0 + S + 39 * 100 * MS
    # max penalty = reuse * 2^(max_suppress / half_life) = 16000: reused max_suppress after the last flap
    assert ev[-1][1] == 0 and abs(ev[-1][0] - (last_flap + 20 * S)) <= 1


def _pfc_capture(tmp_path, frames, name="swp9.pcap", mau=None):
    recs = []
    if mau is not None:
        recs.append((T0 - S, wire.lldp_frame("02:00:00:00:00:99", wire.chassis_id(4, "02:00:00:00:00:99"),
                                          wire.port_id(5, "Ethernet1"), wire.ttl(120), wire.mac_phy(mau))))
    recs += [(t, wire.pfc_frame("02:00:00:00:00:01", enable, quanta)) for t, enable, quanta in frames]
    path = tmp_path / name
    path.write_bytes(cw.pcap_bytes(recs, nano=True))
    return str(path)


def _prio(a, table, priority):
    t = a.tables[table]
    mask = t["priority"] == priority
    return {k: v[mask] for k, v in t.items()}


@pytest.mark.parametrize("speed, expect_ns", [("100G", 335_539), ("400G", 83_884)])
def test_pfc_pause_time_at_speed(tmp_path, speed, expect_ns):
    # 65535 quanta x 512 bit times: 335.539 µs at 100G, 83.885 µs at 400G (floored to ns)
    path = _pfc_capture(tmp_path, [(T0, 0x08, [0, 0, 0, 65535, 0, 0, 0, 0])])
    a = flapwatch.analyze(path, _config(port_speeds={"swp*": speed}))
    stats = _prio(a, "pause_stats", 3)
    assert stats["paused_ns"].tolist() == [expect_ns]
    assert stats["speed_bps"].tolist() == [int(speed[:-1]) * 10**9]
    assert a.ports["paused_ns"][0] == expect_ns and not a.warnings


def test_pfc_speed_from_lldp_mau_and_default_warning(tmp_path):
    frames = [(T0, 0x01, [65535] + [0] * 7)]
    a = flapwatch.analyze(_pfc_capture(tmp_path, frames, mau=16), _config())  # 100BASE-TX: 100 Mb/s
    assert _prio(a, "pause_stats", 0)["paused_ns"].tolist() == [65535 * 512 * 10]  # 10 ns per bit
    b = flapwatch.analyze(_pfc_capture(tmp_path, frames, name="x.pcap"), _config())
    assert _prio(b, "pause_stats", 0)["paused_ns"].tolist() == [335_539]
    assert any("no link speed" in w and "100G" in w for w in b.warnings)


def test_pfc_overlap_xon_and_disabled_classes(tmp_path):
    q = 65535
    frames = [
        (T0, 0x01, [q, q, 0, 0, 0, 0, 0, 0]),  # class 1 quanta ignored: not enabled
        (T0 + 100_000, 0x01, [q] + [0] * 7),  # resets the timer: paused until +100 µs + 335.539 µs
        (T0 + 200_000, 0x01, [0] * 8),  # XON: resume now
        (T0 + 1 * S, 0x01, [1000] + [0] * 7),  # 1000 quanta = 5120 ns at 100G
    ]
    a = flapwatch.analyze(_pfc_capture(tmp_path, frames), _config(port_speeds={"*": "100G"}))
    p0 = _prio(a, "pause_stats", 0)
    assert p0["paused_ns"].tolist() == [200_000, 5_120]  # window 0 then window 1
    assert p0["frames"].tolist() == [3, 1] and p0["xon_frames"].tolist() == [1, 0]
    assert len(_prio(a, "pause_stats", 1)["paused_ns"]) == 0


@pytest.mark.parametrize("rule, gap_us, storm", [("pfcwd", 0, True), ("pfcwd", 1000, False),
                                                 ("pfcwd-99", 1000, True), ("pfcwd-99", 3000, False)])
def test_pfc_storm_rules(tmp_path, rule, gap_us, storm):
    # 300 ms of pause on priority 3: frames every 300 µs (each pauses 335.5 µs at 100G),
    # with a gap of `gap_us` of no pause every 50 ms.
    frames, t = [], T0
    while t < T0 + 300 * MS:
        frames.append((t, 0x08, [0, 0, 0, 65535, 0, 0, 0, 0]))
        t += 300_000
        if gap_us and (t - T0) // (50 * MS) != (t - 300_000 - T0) // (50 * MS):
            frames.append((t, 0x08, [0] * 8))  # XON, then silence
            t += gap_us * 1000
    a = flapwatch.analyze(_pfc_capture(tmp_path, frames), _config(storm_rule=rule, port_speeds={"*": "100G"}))
    storms = _prio(a, "pfc_storms", 3)
    assert (len(storms["ts_ns"]) == 1) == storm
    if storm:
        assert storms["start_ns"][0] == T0
        assert storms["ts_ns"][0] == T0 + 200 * MS  # detected after the 200 ms detection time
        last_t, _, last_q = frames[-1]
        end = last_t + (335_539 if last_q[3] else 0)  # an XON ends the pause at once
        assert storms["end_ns"][0] == end
        # pfcwd-style trip/clear events: detected after 200 ms, restored 200 ms after the last pause
        assert _events(a, "pfc-storm:p3") == [(T0 + 200 * MS, 1, 0.0), (end + 200 * MS, 0, float(storms["paused_ns"][0]))]
    else:
        assert _events(a, "pfc-storm:p3") == []


def _lldp(t, chassis, port, ttl, name):
    tlvs = [wire.chassis_id(4, chassis), wire.port_id(5, port), wire.ttl(ttl)]
    if name:
        tlvs.append(wire.system_name(name))
    return (t, wire.lldp_frame(chassis, *tlvs))


def test_lldp_events(tmp_path):
    a_mac, b_mac = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
    recs = [
        _lldp(T0, a_mac, "Ethernet1", 120, "leaf1"),  # added
        _lldp(T0 + 30 * S, a_mac, "Ethernet1", 120, "leaf1"),  # refresh: no event
        _lldp(T0 + 60 * S, a_mac, "Ethernet1", 120, "leaf1-renamed"),  # updated
        _lldp(T0 + 61 * S, b_mac, "Ethernet5", 10, "leaf2"),  # changed (recabled)
        _lldp(T0 + 62 * S, b_mac, "Ethernet5", 0, None),  # shutdown
        _lldp(T0 + 300 * S, b_mac, "Ethernet5", 10, "leaf2"),  # added again; leaf1 aged out at 60 + 120 s
        (T0 + 400 * S, wire.pfc_frame(b_mac, 0, [0] * 8)),  # time passes: leaf2's TTL runs out at 310 s
    ]
    path = tmp_path / "p.pcap"
    path.write_bytes(cw.pcap_bytes(recs, nano=True))
    ev = flapwatch.analyze(str(path), _config()).lldp_events
    names = [schema.LLDP_EVENTS[e] for e in ev["event"].tolist()]
    assert list(zip(ev["ts_ns"].tolist(), names, ev.text("system_name"))) == [
        (T0, "added", "leaf1"),
        (T0 + 60 * S, "updated", "leaf1-renamed"),
        (T0 + 61 * S, "changed", "leaf2"),
        (T0 + 62 * S, "shutdown", None),
        (T0 + 180 * S, "aged_out", "leaf1-renamed"),
        (T0 + 300 * S, "added", "leaf2"),
        (T0 + 310 * S, "aged_out", "leaf2"),
    ]
    changed = names.index("changed")
    assert ev.text("prev_chassis_id")[changed] == a_mac and ev.text("chassis_id")[changed] == b_mac


def test_lldp_rx_one_row_per_reception_bursts_folded(tmp_path):
    """lldp_rx: the receptions the LLDP gap is scored from. An LLDPDU under 100 ms after the
    port's previous row adds none (bursts, floods); a shutdown always does; every one is
    still counted in ports.lldp_frames."""
    mac = "02:00:00:00:00:0a"
    times = [T0, T0 + 50 * MS, T0 + 99 * MS, T0 + 100 * MS, T0 + 1 * S, T0 + 1 * S + 1 * MS]
    recs = [_lldp(t, mac, "Ethernet1", 120, "leaf1") for t in times]
    recs.append(_lldp(T0 + 1 * S + 2 * MS, mac, "Ethernet1", 0, None))  # shutdown, 1 ms later
    path = tmp_path / "p.pcap"
    path.write_bytes(cw.pcap_bytes(recs, nano=True))
    a = flapwatch.analyze(str(path), _config())
    rx = a.lldp_rx
    assert list(zip(rx["ts_ns"].tolist(), rx["ttl"].tolist())) == [
        (T0, 120), (T0 + 100 * MS, 120), (T0 + 1 * S, 120), (T0 + 1 * S + 2 * MS, 0)]
    assert a.ports["lldp_frames"].tolist() == [len(recs)]


def test_captures_merge_by_time_and_config_from_toml(tmp_path):
    s1, s2 = LinkScript("swp1", 7), LinkScript("swp2", 8)
    s1.flap(T0 + 2 * S, T0 + 2 * S + 10 * MS)
    s2.flap(T0 + 1 * S, T0 + 1 * S + 10 * MS)
    toml = tmp_path / "fw.toml"
    toml.write_text('job_budget_s = 5.0\nwindow_policies = ["5-in-10s", {name = "2-in-9s", count = 1, window_s = 9.0}]\n'
                    'dampening_policies = []\n[port_speeds]\n"swp*" = "400G"\n')
    a = flapwatch.analyze([s1.write(tmp_path / "a.pcap"), s2.write(tmp_path / "b.pcap")], toml)
    assert a.config.job_budget_s == 5.0 and a.config.port_speeds == {"swp*": "400G"}
    assert a.flaps.text("port") == ["swp2", "swp1"]  # merged by time across the two files
    assert [p for _, _, _, p in zip(*[a.policy_events[c].tolist() for c in ("ts_ns", "event", "value")],
                                     a.policy_events.text("port"))] == ["swp2", "swp1", "swp2", "swp1"]
    with pytest.raises(ValueError, match="unknown config keys"):
        flapwatch.analyze(str(tmp_path / "a.pcap"), {"job_budget": 1})
