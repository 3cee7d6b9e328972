"""`flapwatch inspect`'s summary from the core (capture_summary.hpp) against the Python
reference (present/summary.py), and read on several threads (io/capture_split.hpp)
against one: the ranges change how fast a file is read, never what is read from it."""

from __future__ import annotations

import gzip
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import capture_writers as cw
from flapwatch import _core, wire
from flapwatch.errors import CaptureError
from flapwatch.present.summary import summarize

REPO = Path(__file__).resolve().parents[2]
CAPTURES = sorted(str(p) for p in (REPO / "captures").glob("*.pcap*"))
SRC = "02:11:22:33:44:55"
T0 = 1_700_000_000_000_000_000


def _python_summary(paths: list[str]) -> dict:
    with warnings.catch_warnings():  # the reference warns as it reads; the summary lists them too
        warnings.simplefilter("ignore")
        return summarize(paths).to_json()


def _pfc(i: int) -> bytes:
    return wire.pfc_frame(SRC, 0x18 | (i & 0x81), [i & 0xFFFF, 1, 2, 3, 4, 5, 6, 7])


def _lldp(ttl: int, name: str) -> bytes:
    return wire.lldpd_frame("02:fa:00:00:01:01", chassis_mac="02:fa:00:00:01:01", port_id="swp7", ttl=ttl,
                            system_name=name, mau_type=40)


@pytest.mark.parametrize("path", CAPTURES + ["all"])
def test_core_summary_is_the_python_summary(path):
    paths = CAPTURES if path == "all" else [path]
    assert _core.inspect(paths, False, 1) == _python_summary(paths)


@pytest.mark.parametrize("path", CAPTURES)
@pytest.mark.parametrize("threads", [2, 3, 8])
def test_ranges_of_the_lab_captures_give_the_one_thread_summary(path, threads):
    assert len(_core.split_capture(path, threads, 4096)) > 1  # small ranges: they do split
    assert _core.inspect([path], False, threads, 4096) == _core.inspect([path], False, 1)


def test_generated_capture_on_two_threads(tmp_path):
    """bench/generate.py's PFC-heavy mix (tags, PAUSE, LLDP from 3 neighbors), 1 MiB ranges."""
    path = tmp_path / "mix.pcap"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--frames", "120000", "--out", str(path),
                    "--lldp-every", "5000"], check=True, capture_output=True)
    begins = _core.split_capture(str(path), 4, 1 << 20)
    assert len(begins) == 4
    one = _core.inspect([str(path)], False, 1)
    for threads in (2, 4):
        assert _core.inspect([str(path)], False, threads, 1 << 20) == one
    assert one == _python_summary([str(path)])
    assert one["frames"] == 120000 and len(one["lldp_neighbors"]) == 3


def test_sums_past_what_the_cores_lanes_hold(tmp_path):
    """The core sums a port's PFC frames per class in 16-bit lanes and their quanta in 32-bit
    ones, settled into 64-bit totals every 65,535 frames: 200,003 frames of 0xffff on every
    class (quanta 13.1e9, past 2^32), then one XON, one PAUSE, and a second port."""
    frame = wire.pfc_frame(SRC, 0xFF, [0xFFFF] * 8)
    n = 200_003
    recs = [cw.Record(T0 + i, frame) for i in range(n)]
    recs.append(cw.Record(T0 + n, wire.pfc_frame(SRC, 0x08, [0] * 8)))
    recs.append(cw.Record(T0 + n + 1, wire.pause_frame(SRC, 0xFFFF)))
    path = tmp_path / "full.pcap"
    path.write_bytes(cw.pcap_bytes(recs, nano=True))
    one = _core.inspect([str(path)], False, 1)
    [port] = one["pfc_per_port"]
    assert one["pfc_per_port"][port] == [
        {"priority": i, "frames": n + (i == 3), "quanta_sum": n * 0xFFFF} for i in range(8)]
    assert (one["pause_frames"], one["pause_quanta_sum"]) == (1, 0xFFFF)
    assert _core.inspect([str(path)], False, 3, 1 << 20) == one == _python_summary([str(path)])


def test_a_false_boundary_is_caught_and_the_file_read_on_one_thread(tmp_path):
    """A frame whose payload is a chain of pcap records: the scan takes a point inside it
    for a boundary; the first range's reader ends elsewhere, so the result is one thread's."""
    fake = b"".join(cw.pcap_bytes([cw.Record(T0 + i, _pfc(i))], nano=True)[24:] for i in range(600))
    big = wire.ethernet_frame("01:02:03:04:05:06", SRC, 0x88B5, fake)
    recs = [cw.Record(T0 + i * 1000, _pfc(i)) for i in range(100)]
    recs.append(cw.Record(T0 + 200_000, big))
    recs += [cw.Record(T0 + 300_000 + i * 1000, _pfc(i)) for i in range(100)]
    data = cw.pcap_bytes(recs, nano=True)
    path = tmp_path / "fake-chain.pcap"
    path.write_bytes(data)
    big_at = 24 + sum(16 + len(r.data) for r in recs[:100])
    [first, second] = _core.split_capture(str(path), 2, 0)
    assert first == 0 and big_at < second < big_at + 16 + len(big)  # the scan was fooled
    two = _core.inspect([str(path)], False, 2, 0)
    assert two == _core.inspect([str(path)], False, 1) == _python_summary([str(path)])
    assert two["counts"]["pfc"] == 200 and two["counts"]["other"] == 1


def test_errors_warnings_and_malformed_frames_as_on_one_thread(tmp_path):
    recs = [cw.Record(T0 + i * 1000, _pfc(i)) for i in range(400)]
    recs[300] = cw.Record(T0 + 300_000, _pfc(300)[:18])  # a MAC control frame cut inside its opcode
    data = cw.pcap_bytes(recs, nano=True)
    path = tmp_path / "bad.pcap"
    path.write_bytes(data[:-10])  # and the last record cut short
    one = _core.inspect([str(path)], False, 1)
    assert one["counts"]["malformed"] == 1 and len(one["warnings"]) == 1
    assert _core.inspect([str(path)], False, 4, 0) == one == _python_summary([str(path)])
    with pytest.raises(CaptureError) as e1:
        _core.inspect([str(path)], True, 1)
    with pytest.raises(CaptureError) as e4:
        _core.inspect([str(path)], True, 4, 0)
    assert str(e4.value) == str(e1.value) and "frame 300" in str(e1.value)


def test_pcapng_interfaces_added_midway_and_lldp_state(tmp_path):
    """A second interface described halfway (a range after it would start without it),
    LLDP TTL and names changing across ranges, a gzip copy (one stream: one reader)."""
    b = cw.PcapngBuilder().section()
    a = b.interface(name="swp1", tsresol=9)
    for i in range(300):
        b.packet_at(a, T0 + i * 1000, _pfc(i) if i % 50 else _lldp(120 if i < 250 else 0, f"leaf{i // 100}"))
    c = b.interface(name="swp2", tsresol=9)
    for i in range(300):
        b.packet_at(c if i % 2 else a, T0 + 400_000 + i * 1000, _pfc(i))
    path = tmp_path / "two-ifaces.pcapng"
    path.write_bytes(b.getvalue())
    one = _core.inspect([str(path)], False, 1)
    assert sorted(one["pfc_per_port"]) == ["swp1", "swp2"]
    [n] = one["lldp_neighbors"]
    assert (n["ttl"], n["system_name"], n["shutdowns"], n["frames"]) == (120, "leaf2", 1, 6)
    for threads in (2, 3, 8):
        assert _core.inspect([str(path)], False, threads, 1024) == one
    assert one == _python_summary([str(path)])
    gz = tmp_path / "two-ifaces.pcapng.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert _core.split_capture(str(gz), 2, 0) == []
    assert _core.inspect([str(gz)], False, 2, 0)["pfc_per_port"] == one["pfc_per_port"]


def test_cli_threads_give_the_same_json(tmp_path):
    path = tmp_path / "mix.pcap"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--frames", "30000", "--out", str(path)],
                   check=True, capture_output=True)
    out = [subprocess.run([sys.executable, "-m", "flapwatch", "inspect", "--json", "--threads", t, str(path)],
                          check=True, capture_output=True, text=True).stdout for t in ("1", "2")]
    assert out[0] == out[1] and '"frames":30000' in out[0]
