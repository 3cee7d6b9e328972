"""Resource limits: a hostile capture cannot make the reader allocate without bound,
and thousands of small captures leave no descriptors or mappings behind.

Memory is measured in a fresh subprocess (VmHWM, the peak resident set, before and
after the read), so one test's allocations cannot hide another's."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import capture_writers as cw
from flapwatch import wire

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"
SRC = "02:00:00:00:00:07"
T0 = 1_700_000_000_000_000_000
RSS_BUDGET_MB = 100

# Runs in the subprocess: warm up (import, one small read), then read the file and
# report what happened and how far the peak resident set moved.
_PROBE = textwrap.dedent(
    """
    import json, sys, warnings
    import flapwatch
    from flapwatch import CaptureError

    def hwm_kb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

    flapwatch.read_capture(sys.argv[2])  # warm-up: extension loaded, allocator primed
    before = hwm_kb()
    out = {"outcome": "ok"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cap = flapwatch.read_capture(sys.argv[1])
            out["frames"] = cap.frames
            out["strings"] = len(cap.strings)
        except CaptureError as e:
            out = {"outcome": "error", "reason": e.reason, "offset": e.offset}
    out["warnings"] = [str(w.message) for w in caught]
    out["grew_mb"] = (hwm_kb() - before) / 1024
    print(json.dumps(out))
    """
)


def _probe(path: Path, tmp_path: Path) -> dict:
    warm = tmp_path / "warm.pcap"
    warm.write_bytes(cw.pcap_bytes([(T0, wire.pause_frame(SRC, 1))]))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(warm)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pcap_record_header(caplen: int) -> bytes:
    return struct.pack("<IIII", 0, 0, caplen, caplen)


@pytest.mark.parametrize("caplen", [2**31, 2**32 - 1, 0x7FFFFFF0])
def test_pcap_huge_caplen_is_an_error_without_allocating(tmp_path, caplen):
    path = tmp_path / "huge.pcap"
    path.write_bytes(cw.pcap_bytes([]) + _pcap_record_header(caplen) + b"\0" * 64)
    out = _probe(path, tmp_path)
    assert out["outcome"] == "error" and "absurd caplen" in out["reason"] and out["offset"] == 24 + 8, out
    assert out["grew_mb"] < RSS_BUDGET_MB, out


def test_pcap_caplen_at_the_limit_on_a_short_file_warns(tmp_path):
    """A record just under the caplen limit that the file does not hold: the reader may
    reserve the buffer, but what it touches (and the RSS) stays small."""
    path = tmp_path / "short.pcap"
    path.write_bytes(cw.pcap_bytes([(T0, wire.pause_frame(SRC, 1))]) + _pcap_record_header((16 << 20) - 1) + b"\0" * 100)
    out = _probe(path, tmp_path)
    assert out["outcome"] == "ok" and out["frames"] == 1, out
    assert len(out["warnings"]) == 1 and "runs past the end" in out["warnings"][0], out
    assert out["grew_mb"] < RSS_BUDGET_MB, out


def _pcapng_with_block(btype: int, length: int, body: bytes = b"\0" * 64) -> bytes:
    w = cw.PcapngBuilder().section()
    w.interface(name="swp1")
    return w.getvalue() + struct.pack("<II", btype, length) + body


@pytest.mark.parametrize("btype", [6, 3, 1, 0x40000BAD])
@pytest.mark.parametrize("length", [0xFFFFFFFC, 0x80000000, 1 << 30])
def test_pcapng_huge_block_is_an_error_without_allocating(tmp_path, btype, length):
    path = tmp_path / "huge.pcapng"
    data = _pcapng_with_block(btype, length)
    path.write_bytes(data)
    out = _probe(path, tmp_path)
    assert out["outcome"] == "error" and "absurd block length" in out["reason"], out
    assert out["grew_mb"] < RSS_BUDGET_MB, out


def test_pcapng_block_at_the_limit_on_a_short_file_warns(tmp_path):
    path = tmp_path / "short.pcapng"
    path.write_bytes(_pcapng_with_block(6, (64 << 20) - 4))
    out = _probe(path, tmp_path)
    assert out["outcome"] == "ok" and out["frames"] == 0, out
    assert len(out["warnings"]) == 1 and "runs past the end" in out["warnings"][0], out
    assert out["grew_mb"] < RSS_BUDGET_MB, out


def test_gzip_bomb_streams_in_bounded_memory(tmp_path):
    """200 MB of PAUSE frames in a ~1 MB gzip file: the reader streams it block by block
    (iter_capture keeps the records bounded too); the peak RSS stays flat."""
    frame = wire.pause_frame(SRC, 7)
    rec = struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    chunk = rec * 10_000
    path = tmp_path / "bomb.pcap.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(cw.pcap_bytes([]))
        for _ in range(200 * 2**20 // len(chunk)):
            f.write(chunk)
    code = textwrap.dedent(
        """
        import sys, flapwatch
        def hwm():
            return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))
        before = hwm(); n = 0
        for batch in flapwatch.iter_capture(sys.argv[1], batch_frames=200_000):
            n += batch.frames
        print(n, (hwm() - before) / 1024)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    frames, grew_mb = proc.stdout.split()
    assert int(frames) == 200 * 2**20 // len(chunk) * 10_000
    assert float(grew_mb) < RSS_BUDGET_MB, proc.stdout


def test_interface_flood_in_a_small_gzip_stays_bounded(tmp_path):
    """Regression (tests/regressions/resource/idb-flood.pcapng.gz): 48 KB of gzip holding
    one million empty Interface Description Blocks and no packet. Each IDB cost the
    reader an Interface entry and an interned port name ("{stem}#N"), so memory grew
    with the decompressed size, ~7000x the file: 1M IDBs took 330 MB (a 1 MB file:
    ~7 GB). Fixed in 4afb0e6: at most 65536 IDBs per file (CaptureError past that)."""
    path = REGRESSIONS / "resource" / "idb-flood.pcapng.gz"
    assert path.stat().st_size < 100_000
    out = _probe(path, tmp_path)
    if out["outcome"] == "ok":  # (a fix that interns names lazily would also do)
        assert out["frames"] == 0, out
        assert out["strings"] < 70_000, out
    else:
        assert "interface" in out["reason"], out
    assert out["grew_mb"] < RSS_BUDGET_MB, out


def test_carrier_counter_jump_cannot_stall_or_exhaust_the_link_tracker():
    """Regression (found by fuzz_engine as a timeout: tests/regressions/fuzz_engine/
    timeout-*): the link tracker turns a jump of the carrier counters between two netlink
    messages into that many hidden flaps, one row and one policy update each. Two
    messages 272 bytes long, the counters going 0 -> 2^32-1, made analyze() loop 4.3
    billion times and grow without bound (OOM after ~1 min at 4 GB). A counter jump is
    plausible flaps only up to a bound; past it, it is a reset (as when it goes
    backwards): analyze() must finish at once with a bounded flaps table."""
    path = REGRESSIONS / "fuzz_engine" / "timeout-hidden-flaps-counter-jump.pcap"
    code = textwrap.dedent(
        """
        import resource, sys, flapwatch
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        a = flapwatch.analyze(sys.argv[1])
        print(a.flaps.rows)
        """
    )
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("analyze() of a 272-byte netlink capture did not finish in 30 s (hidden-flap loop)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) <= 100_000


# ---------------------------------------------------------------- many captures

_MANY = textwrap.dedent(
    """
    import json, os, sys, resource
    import flapwatch

    def fds():
        return len(os.listdir("/proc/self/fd"))

    def maps():
        with open("/proc/self/maps") as f:
            return sum(1 for _ in f)

    d = sys.argv[1]
    files = sorted(os.path.join(d, n) for n in os.listdir(d))
    flapwatch.read_capture(files[0]); flapwatch.analyze(files[:2])  # warm-up
    before = (fds(), maps())
    frames = 0
    for path in files:
        frames += flapwatch.read_capture(path).frames
    after_read = (fds(), maps())
    out = {"before": before, "after_read": after_read, "frames_read": frames}
    try:
        a = flapwatch.analyze(d)
        out["analyzed"] = sum(a.counts.values())
        out["ports"] = int(a.ports.rows)
    except Exception as e:
        out["analyze_error"] = f"{type(e).__name__}: {e}"
    out["after_analyze"] = (fds(), maps())
    print(json.dumps(out))
    """
)


def _many_captures(tmp_path: Path, n: int = 3000) -> Path:
    d = tmp_path / "many"
    d.mkdir()
    for i in range(n):
        frames = [(T0 + i * 1000, wire.pfc_frame(SRC, 1, [i % 65536] + [0] * 7))]
        if i % 3 == 0:
            (d / f"sw{i:04d}.pcap").write_bytes(cw.pcap_bytes(frames))
        elif i % 3 == 1:
            w = cw.PcapngBuilder().section()
            w.packet_at(w.interface(name=f"swp{i}", tsresol=9), T0 + i * 1000, frames[0][1])
            (d / f"sw{i:04d}.pcapng").write_bytes(w.getvalue())
        else:
            (d / f"sw{i:04d}.pcap.gz").write_bytes(gzip.compress(cw.pcap_bytes(frames)))
    return d


def _run_many(d: Path, nofile: int | None = None) -> dict:
    def limit():
        if nofile is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.run(
        [sys.executable, "-c", _MANY, str(d)], capture_output=True, text=True, timeout=300, preexec_fn=limit
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def many_captures(tmp_path_factory) -> Path:
    return _many_captures(tmp_path_factory.mktemp("resource"))


def test_thousands_of_small_captures_leak_no_descriptors_or_mappings(many_captures):
    out = _run_many(many_captures)
    assert out["frames_read"] == 3000
    assert out.get("analyzed") == 3000, out
    fds0, maps0 = out["before"]
    for key in ("after_read", "after_analyze"):
        fds, maps = out[key]
        assert fds == fds0, (key, out)
        # the allocator may keep a few arenas; a leak would be thousands (one or more per file)
        assert maps <= maps0 + 32, (key, out)


def test_analyze_a_directory_of_more_captures_than_the_descriptor_limit(many_captures):
    """Regression: analyze() held every capture open at once (one descriptor, a 4 MB
    block and zlib's buffers per file), so a directory of 3000 captures failed under
    the common default RLIMIT_NOFILE of 1024 ("cannot open: Too many open files") and
    reserved ~21 GB of address space. The fix (BlockBuffer) closes a reader's file as
    soon as a read reaches its end (a small capture: on its first read; follow mode
    reopens it) and sizes the first block and zlib's buffer to the file."""
    out = _run_many(many_captures, nofile=1024)
    assert "analyze_error" not in out, out["analyze_error"]
    assert out["analyzed"] == 3000
