"""Driver profiles and `ethtool -S` parsing on real published dumps (read from
../shared/counters-public, not copied: see its SOURCES.md for where each came from)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from flapwatch.counters import profiles
from flapwatch.counters.ethtool import parse_dump, parse_log, parse_timestamp
from flapwatch.errors import CaptureError, ConfigError

PUBLIC = REPO.parent / "shared" / "counters-public"


@pytest.fixture(scope="module")
def dumps() -> dict[str, object]:
    if not PUBLIC.is_dir():
        pytest.fail(f"public counter dumps not found at {PUBLIC}")
    return {p.name: parse_dump(p.read_text(), str(p)) for p in sorted(PUBLIC.glob("*ethtool-S*.txt"))}


def test_every_public_dump_parses(dumps):
    lines = {name: sum(1 for line in (PUBLIC / name).read_text().splitlines()
                       if ":" in line and not line.strip().startswith("#") and line.strip() != "NIC statistics:")
             for name in dumps}
    for name, dump in dumps.items():
        assert len(dump.names) == lines[name] > 10, name
        assert all(isinstance(v, int) and v >= 0 for v in dump.values)
    bnxt = dumps["bnxt-ethtool-S.txt"]
    assert bnxt.names[0] == "[0]: rx_ucast_packets" and bnxt.values[0] == 10198513532  # ring prefix kept
    e1000e = dumps["e1000e-ethtool-S-node_exporter.txt"]
    assert e1000e.interface == "eth0" and e1000e.as_dict()["duplicate metric"] == 1  # a name with a space
    assert e1000e.as_dict()["duplicate_metric"] == 2


def _meanings(profile, dump) -> dict[tuple[str, str, int], int]:
    return {(c.meaning, c.direction, c.priority): dump.values[i] for i, c in profile.classify(dump.names).items()}


def test_mlx5(dumps):
    m = _meanings(profiles.MLX5, dumps["mlx5-ethtool-S.txt"])
    # pause on, PFC off (ethq's host): global pause and durations listed, no per-priority PFC counters
    assert {k for k in m if k[0] in ("pause_frames", "pause_us")} == {
        ("pause_frames", "rx", -1), ("pause_frames", "tx", -1), ("pause_us", "rx", -1), ("pause_us", "tx", -1)}
    assert ("link_down_events", "", -1) in m and ("mac_pause_frames", "tx", -1) in m
    assert not [k for k in m if k[0].startswith("pfc_")]
    c = profiles.MLX5.counter("link_down_events_phy")
    assert (c.unit, c.width) == ("events", 32)
    assert profiles.MLX5.counter("rx_prio3_pause_duration").unit == "us"
    assert profiles.MLX5.counter("tx_pause_storm_warning_events ").meaning == "storm_watchdog_events"  # old trailing space


def test_bnxt(dumps):
    m = _meanings(profiles.BNXT, dumps["bnxt-ethtool-S.txt"])
    for d in ("rx", "tx"):
        assert {p for (meaning, dd, p) in m if meaning == "pfc_frames" and dd == d} == set(range(8))
        assert {p for (meaning, dd, p) in m if meaning == "pfc_pause_us" and dd == d} == set(range(8))
        assert ("pause_frames", d, -1) in m
    assert ("link_down_events", "", -1) in m
    assert profiles.BNXT.refresh_s == 1.0  # a 1 s timer copies the port counters
    assert profiles.BNXT.counter("[0]: rx_ucast_packets") is None  # ring counters are not pause counters


def test_ice(dumps):
    m = _meanings(profiles.ICE, dumps["ice-ethtool-S.txt"])
    for d in ("rx", "tx"):
        assert {p for (meaning, dd, p) in m if meaning == "pfc_xoff" and dd == d} == set(range(8))
        assert ("pause_xoff", d, -1) in m and ("pause_xon", d, -1) in m
    assert not [k for k in m if k[0] in ("pfc_pause_us", "pause_us")]  # Intel has no durations


@pytest.mark.parametrize("name", ["i40e-ethtool-S.txt", "i40e-ethtool-S-oldnames.txt"])
def test_i40e_both_generations(dumps, name):
    m = _meanings(profiles.I40E, dumps[name])
    for d in ("rx", "tx"):
        for meaning in ("pfc_xon", "pfc_xoff"):
            assert {p for (mm, dd, p) in m if mm == meaning and dd == d} == set(range(8)), (meaning, d)
        assert ("pause_xoff", d, -1) in m
    assert {p for (mm, dd, p) in m if mm == "pfc_transitions"} == set(range(8))


def test_a_driver_without_pfc_counters_yields_none(dumps):
    e1000e = dumps["e1000e-ethtool-S-node_exporter.txt"]
    for profile in profiles.BUILTIN.values():
        assert profile.classify(e1000e.names) == {}, profile.driver
    assert profiles.detect(e1000e.names) is None


def test_detect_picks_the_driver(dumps):
    want = {"mlx5-ethtool-S.txt": "mlx5_core", "bnxt-ethtool-S.txt": "bnxt_en", "ice-ethtool-S.txt": "ice",
            "i40e-ethtool-S.txt": "i40e", "i40e-ethtool-S-oldnames.txt": "i40e"}
    for name, driver in want.items():
        assert profiles.detect(dumps[name].names).driver == driver
    assert profiles.profile_for("mlx5").driver == "mlx5_core"


def test_toml_adds_and_overrides(tmp_path):
    path = tmp_path / "profiles.toml"
    path.write_text('[drivers.mlx5_core]\nrefresh_s = 0.2\ncounters = [{pattern = "rx_prio(?P<prio>[0-7])_pause", '
                    'meaning = "pfc_frames", direction = "rx"}]\n'
                    '[drivers.switchos]\naliases = ["sw"]\ncounters = [{pattern = "pfc(?P<prio>[0-7])_rx_us", '
                    'meaning = "pfc_pause_us", direction = "rx", unit = "us", width = 32}]\n')
    loaded = profiles.load_profiles(path)
    assert loaded["mlx5_core"].refresh_s == 0.2 and loaded["mlx5_core"].counter("rx_prio3_pause_duration") is None
    c = profiles.profile_for("sw", loaded).counter("pfc5_rx_us")
    assert (c.meaning, c.priority, c.unit, c.width) == ("pfc_pause_us", 5, "us", 32)
    assert "bnxt_en" in loaded


@pytest.mark.parametrize("text, message", [
    ('[drivers.x]\ncounters = [{pattern = "a", meaning = "magic"}]\n', "unknown meaning 'magic'"),
    ('[drivers.x]\ncounters = [{pattern = "(", meaning = "pfc_frames"}]\n', "not a regular expression"),
    ('[drivers.x]\ncounters = [{meaning = "pfc_frames"}]\n', "needs pattern and meaning"),
    ('[drivers.x]\nrefresh = 1\n', "unknown keys"),
    ('drivers = 3\n[x\n', "not valid TOML"),
])
def test_bad_profile_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        profiles.load_profiles(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("line, ns", [
    ("1764775162.123456789", 1764775162123456789),
    ("1764775162", 1764775162 * 10**9),
    ("2026-12-03T15:19:22,123456789+00:00", 1796311162123456789),
    ("2026-12-03T16:19:22.5+01:00", 1796311162500000000),
    ("2026-12-03 15:19:22.123", 1796311162123000000),
    ("Thu Dec  3 15:19:22 UTC 2026", 1796311162 * 10**9),
    ("=== 2026-12-03T15:19:22Z ===", 1796311162 * 10**9),
    ("ts=1764775162.25", 1764775162250000000),
    ("rx_packets: 1764775162", None),
    ("NIC statistics:", None),
])
def test_timestamp_lines(line, ns):
    assert parse_timestamp(line) == ns


def test_log_of_a_polling_loop(dumps):
    """What `while sleep 0.1; do date +%s.%N; ethtool -S eth0; done` writes, with the
    published mlx5 dump's whitespace (none) and bnxt's (indented, a header)."""
    mlx5 = (PUBLIC / "mlx5-ethtool-S.txt").read_text()
    bnxt = (PUBLIC / "bnxt-ethtool-S.txt").read_text()
    text = f"# ethtool -S eth0\n1764775162.100000000\n{mlx5}\n1764775162.200000000\n{mlx5}\n" \
           f"ethtool -S eth1\n=== 2025-12-03T15:19:22.300Z ===\n{bnxt}"
    samples = parse_log(text)
    assert [s.ts_ns for s in samples] == [1764775162100000000, 1764775162200000000, 1764775162300000000]
    assert [s.interface for s in samples] == ["eth0", "eth0", "eth1"]
    assert samples[0].names == dumps["mlx5-ethtool-S.txt"].names
    assert samples[2].values == dumps["bnxt-ethtool-S.txt"].values


def test_bad_logs_name_the_line():
    with pytest.raises(CaptureError, match="line 1: counters before any timestamp"):
        parse_log("rx_packets: 3\n", "x.log")
    with pytest.raises(CaptureError, match="line 3 is neither a timestamp nor 'name: value': 'garbage here'") as e:
        parse_log("1764775162\nrx_packets: 3\ngarbage here\n", "x.log")
    assert e.value.path == "x.log" and e.value.offset == 3
