"""Every input a fuzz target ever crashed on (tests/regressions/<target>/) replayed
through flapwatch.read_capture, the way users reach the code: reader inputs as the
capture files the target made of them, decoder inputs wrapped in a small pcap. Each must
give records, CaptureWarning or CaptureError (nothing else), with the counts adding up.
(tests/test_fuzz.py replays the same inputs through the sanitized targets.)"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import capture_writers as cw
from flapwatch import wire
import flapwatch
from flapwatch import CaptureError, CaptureWarning

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"
PCAP_MAGICS = [b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"]
DISPATCH_LINKTYPES = [cw.LINKTYPE_ETHERNET, cw.LINKTYPE_LINUX_SLL, cw.LINKTYPE_LINUX_SLL2, cw.LINKTYPE_NETLINK]


def _as_files(target: str, data: bytes) -> list[tuple[str, bytes]]:
    """The capture file(s) the fuzz target reads for this input (see fuzz/fuzz_*.cpp)."""
    src = "02:00:00:00:00:07"
    if target == "fuzz_pcap":
        if len(data) >= 4 and data[:4] not in PCAP_MAGICS:
            data = PCAP_MAGICS[data[0] & 3] + data[4:]
        return [("in.pcap", data)]
    if target in ("fuzz_engine", "fuzz_ranges"):
        return [("in.pcapng" if data[:4] == b"\x0a\x0d\x0d\x0a" else "in.pcap", data)]
    if target == "fuzz_pcapng":
        if len(data) >= 4:
            data = b"\x0a\x0d\x0d\x0a" + data[4:]
        return [("in.pcapng", data)]
    if target == "fuzz_gzip":
        if not data:
            return []
        rest = data[1:]
        if data[0] & 1 == 0:
            return [("in.pcap.gz", rest)]
        return [("in.pcap.gz", gzip.compress(rest, mtime=0)), ("in.pcap", rest)]
    if target == "fuzz_mac_control":
        frame = wire.ethernet_frame(wire.MAC_CONTROL_DST, src, wire.ETH_MAC_CONTROL, data)
        return [("in.pcap", cw.pcap_bytes([(0, frame)]))]
    if target == "fuzz_lldp":
        frame = wire.ethernet_frame(wire.LLDP_DST, src, wire.ETH_LLDP, data)
        return [("in.pcap", cw.pcap_bytes([(0, frame)]))]
    if target == "fuzz_netlink":
        return [("in.pcap", cw.pcap_bytes([(0, data)], linktype=cw.LINKTYPE_NETLINK))]
    if target == "fuzz_dispatch":
        if len(data) < 2:
            return []
        lt = struct.unpack(">H", data[:2])[0]
        lt = DISPATCH_LINKTYPES[lt] if lt < 4 else lt
        return [("in.pcap", cw.pcap_bytes([(0, data[2:])], linktype=lt))]
    raise AssertionError(f"unknown fuzz target {target}")


def _inputs() -> list[tuple[str, Path]]:
    out = []
    for d in sorted(REGRESSIONS.iterdir()) if REGRESSIONS.is_dir() else []:
        if d.is_dir() and d.name.startswith("fuzz_"):
            out += [(d.name, p) for p in sorted(d.iterdir()) if p.is_file() and not p.name.endswith(".md")]
    return out


def test_there_are_regression_inputs():
    assert _inputs(), "tests/regressions/fuzz_*/ should hold the fuzzers' finds"


@pytest.mark.parametrize("target,path", _inputs(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_regression_input_reads_cleanly(tmp_path, target, path):
    for name, data in _as_files(target, path.read_bytes()):
        file = tmp_path / name
        file.write_bytes(data)
        for strict in (False, True):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    cap = flapwatch.read_capture(file, strict=strict)
                except CaptureError as e:
                    assert e.reason
                    continue
            assert all(issubclass(w.category, CaptureWarning) for w in caught)
            assert cap.frames == sum(cap.counts.values())
            for kind in ("pfc", "pause", "lldp", "malformed"):
                assert cap.tables[kind].rows == cap.counts[kind]
            assert len(set(cap.link["frame"].tolist())) == cap.counts["link"]
            ts = [t for table in cap.tables.values() for t in table["ts_ns"].tolist()]
            assert all(isinstance(t, int) for t in ts)
        if target == "fuzz_engine":  # the trackers too, as flapwatch.analyze runs them
            _analyze_in_subprocess(file)


def _analyze_in_subprocess(path: Path) -> None:
    """analyze() in a child with a time and memory bound: a regression that hangs or
    balloons fails this test instead of taking the test run down."""
    code = (
        "import resource, sys, flapwatch\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        "try:\n"
        "    flapwatch.analyze(sys.argv[1])\n"
        "except flapwatch.CaptureError:\n"
        "    pass\n"
    )
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"analyze() of {path.name} did not finish in 60 s")
    assert proc.returncode == 0, proc.stderr[-2000:]
