"""Replay in byte ranges (cpp/include/flapwatch/range_replay.hpp, issue 16): one capture cut
into byte ranges, decoded by one thread or several and handed to the trackers in file order,
gives exactly what one reader feeding the ring gives (threads 0) - every table, the string table, the frame counts, the
warnings, an error's text - whatever the ranges' size, including ranges smaller than a
record, a second section in the middle (read on one thread from there), a cut end, a
corrupt block, a malformed frame under --strict. The real-kernel version (traffic silences
across range ends placing hidden flaps) is in tests/kernel/test_realkernel_corpus.py."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from conftest import CAPTURES, REPO, require_tools
from engine_runs import assert_same, run_core

sys.path.insert(0, str(REPO / "bench"))
import generate  # noqa: E402  (bench/generate.py: the PFC-heavy capture of the benchmarks)


def first_block_after(data: bytes, offset: int) -> int:
    """The first pcapng block starting at or after `offset` (walking from the start)."""
    p = 0
    while p < offset:
        p += struct.unpack_from("<I", data, p + 4)[0]
    return p


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, shared_captures):
    """The repository's and the public captures merged into one pcapng by mergecap: link
    messages (nlmon), wire frames with LLDP, PFC and traffic, malformed LLDPDUs, several
    interfaces."""
    require_tools("mergecap")
    inputs = [CAPTURES / "lab.pcapng", CAPTURES / "lab-tcpdump.pcap", CAPTURES / "lab-netlink.pcap",
              CAPTURES / "lab-wire.pcapng", shared_captures / "netlink" / "nl0.pcap"]
    inputs += sorted((shared_captures / "lldp").glob("*.pcap")) + sorted((shared_captures / "dcbx").glob("*.pcap"))
    inputs += sorted((shared_captures / "lldp-malformed").glob("*.pcap"))
    out = tmp_path_factory.mktemp("threads") / "mixed.pcapng"
    subprocess.run(["mergecap", "-w", str(out)] + [str(p) for p in inputs], check=True)
    return out


@pytest.fixture(scope="module")
def pfc_heavy(tmp_path_factory):
    """The benchmarks' PFC-heavy mix (bench/generate.py), 120,000 frames, one LLDPDU in it
    made malformed (its first TLV runs past the frame)."""
    out = tmp_path_factory.mktemp("threads") / "pfc.pcap"
    generate.generate(out, 120_000, None, 7, 5_000, False, quiet=True)
    data = bytearray(out.read_bytes())
    p, lldp_seen = 24, 0
    while p < len(data):
        caplen = struct.unpack_from("<I", data, p + 8)[0]
        if data[p + 16 + 12:p + 16 + 14] == b"\x88\xcc":
            lldp_seen += 1
            if lldp_seen == 5:  # well inside the file
                data[p + 16 + 14:p + 16 + 16] = struct.pack(">H", (1 << 9) | 0x1ff)
                break
        p += 16 + caplen
    assert lldp_seen == 5
    out.write_bytes(bytes(data))
    return out


@pytest.mark.tools
@pytest.mark.parametrize("range_bytes", [512, 4096, 65536])
def test_mixed_capture_in_ranges_is_the_one_reader_result(mixed, range_bytes):
    one = run_core(mixed, 0)
    assert one["records"] > 0 and one["counts"]["link"] > 0 and one["counts"]["lldp"] > 0
    assert one["counts"]["malformed"] > 0
    for threads in (1, 2, 3):
        many = run_core(mixed, threads, range_bytes)
        assert many["ranges"] >= mixed.stat().st_size // range_bytes
        assert not many["ranges_fell_back"]
        assert_same(one, many)


def test_pfc_heavy_pcap_in_ranges(pfc_heavy):
    one = run_core(pfc_heavy, 0)
    assert one["ranges"] == 0
    assert one["counts"]["malformed"] == 1 and one["counts"]["pfc"] > 30_000
    assert len(one["tables"]["pause_stats"]["ts_ns"]) > 0
    for threads, range_bytes in ((2, 1000), (2, 300_000), (1, 300_000), (1, 8 << 20)):
        many = run_core(pfc_heavy, threads, range_bytes)
        assert many["ranges"] > 1
        assert_same(one, many)


def test_strict_malformed_frame_is_the_one_reader_error(pfc_heavy):
    one = run_core(pfc_heavy, 0, strict=True)
    assert one[0] == "CaptureError" and "frame " in one[1]
    assert run_core(pfc_heavy, 2, 100_000, strict=True) == one
    assert run_core(pfc_heavy, 1, 100_000, strict=True) == one


@pytest.mark.tools
def test_a_second_section_in_the_middle_is_read_on_one_thread_from_there(mixed, tmp_path):
    both = tmp_path / "two-sections.pcapng"
    both.write_bytes(mixed.read_bytes() + (CAPTURES / "lab.pcapng").read_bytes())
    one = run_core(both, 0)
    many = run_core(both, 2, 4096)
    assert many["ranges_fell_back"]
    assert_same(one, many)


@pytest.mark.tools
def test_a_cut_end_and_a_corrupt_block_as_one_reader_says(mixed, tmp_path):
    data = mixed.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:len(data) - 7])
    one = run_core(cut, 0)
    assert any("runs past the end of the file" in w for w in one["warnings"])
    assert_same(one, run_core(cut, 2, 2048))

    corrupt = tmp_path / "corrupt.pcapng"
    bad = bytearray(data)
    at = first_block_after(data, len(data) // 2)
    struct.pack_into("<I", bad, at + 4, 0x7FFFFFF0)  # an absurd block length halfway
    corrupt.write_bytes(bytes(bad))
    one = run_core(corrupt, 0)
    assert one[0] == "CaptureError" and f"offset {at + 4}" in one[1]
    assert run_core(corrupt, 2, 2048) == one


@pytest.mark.parametrize("block_at", [0, 212], ids=["section-header", "second-interface"])
def test_a_leading_block_cut_short_stops_every_range_as_one_reader(tmp_path, block_at):
    """A file whose section header or a later leading interface block (every range's reader
    reads them first) claims a length past the file's end: one warning, the read stops
    there, on any thread count. Both found by fuzz_ranges: the first made each range's
    reader read the header again and again; the second gave the warning once per range
    (lab.pcapng: a section header at 0, interfaces at 136 and 212, packets from 256)."""
    lab = (CAPTURES / "lab.pcapng").read_bytes()
    cut = tmp_path / "cut-header.pcapng"
    cut.write_bytes(lab[:block_at + 4] + struct.pack("<I", 0x002800A4) + lab[block_at + 8:1060])
    one = run_core(cut, 0)
    assert one["records"] == 0 and len(one["warnings"]) == 1, one
    assert f"offset {block_at}: block of {0x002800A4} bytes runs past the end" in one["warnings"][0]
    for range_bytes in (64, 200):
        assert_same(one, run_core(cut, 2, range_bytes))


def test_small_or_compressed_captures_are_read_by_one_reader(tmp_path):
    small = run_core(CAPTURES / "lab.pcapng", 2)  # under two ranges of the default size
    assert small["ranges"] == 0
    gz = tmp_path / "lab.pcapng.gz"
    subprocess.run(f"gzip -c {CAPTURES / 'lab.pcapng'} > {gz}", shell=True, check=True)
    packed = run_core(gz, 2, 512)
    assert packed["ranges"] == 0
    assert_same(run_core(CAPTURES / "lab.pcapng", 0), packed)


def test_cli_replay_threads_give_the_same_output(pfc_heavy, tmp_path):
    """The command as typed: --threads 1 and 2 (this 19 MB capture in ranges of 8 MiB, the
    default: one thread decoding them or two) print the same JSON."""
    assert run_core(pfc_heavy, 2)["ranges"] == run_core(pfc_heavy, 1)["ranges"] == 3
    outs = []
    for threads in ("1", "2"):
        proc = subprocess.run([sys.executable, "-m", "flapwatch", "replay", "--format", "json", "-q", "--threads",
                               threads, str(pfc_heavy)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1] and '"pfc":' in outs[0]
    bad = subprocess.run([sys.executable, "-m", "flapwatch", "replay", "--threads", "0", str(pfc_heavy)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--threads takes a whole number" in bad.stderr
