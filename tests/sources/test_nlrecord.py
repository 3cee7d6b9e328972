"""python/flapwatch/sources/nlrecord.py inside a network namespace: file format, tshark decode, stopping.

Run by path (as the capture script does), so the compiled extension is not needed.
Needs root, ip and tshark; fails (never skips) without them.
"""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import netns  # tests/ is on sys.path (conftest.py)

NLRECORD = Path(__file__).resolve().parents[2] / "python" / "flapwatch" / "sources" / "nlrecord.py"
pytestmark = [pytest.mark.root, pytest.mark.tools]

COOKED = struct.pack(">HHH8sH", 4, 824, 0, bytes(8), 0)  # PACKET_OUTGOING as nlmon, ARPHRD_NETLINK, ROUTE

# The class API, run in the namespace: start() records in a thread until a line on stdin.
CLASS_USER = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("nlrecord", {str(NLRECORD)!r})
nlrecord = importlib.util.module_from_spec(spec); spec.loader.exec_module(nlrecord)
with nlrecord.NetlinkRecorder(sys.argv[1], dump=True) as rec:
    print("ready", flush=True)
    sys.stdin.readline()
print(rec.records, rec.overruns, flush=True)
"""


@pytest.fixture
def lab():
    try:
        netns.require_root_and_tools("tshark")
    except RuntimeError as e:
        pytest.fail(str(e))
    with netns.Lab() as lab:
        sw, host = lab.namespace("sw"), lab.namespace("host")
        lab.veth(sw, "swp1", host, "eth0", same_ifindex=True)
        yield lab, sw, host


def records(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack_from("=IHHiIII", data)
    assert (magic, major, minor, snaplen, linktype) == (0xA1B23C4D, 2, 4, 262144, 253)
    out, off = [], 24
    while off < len(data):
        sec, nsec, caplen, origlen = struct.unpack_from("=IIII", data, off)
        assert caplen == origlen
        out.append((sec * 10**9 + nsec, data[off + 16: off + 16 + caplen]))
        off += 16 + caplen
    assert off == len(data)
    return out


def test_class_records_flaps_that_tshark_decodes(lab, tmp_path):
    lab, sw, host = lab
    out = tmp_path / "nl.pcap"
    proc = lab.popen(host, [sys.executable, "-c", CLASS_USER, str(out)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    t0 = time.time_ns()
    for _ in range(3):
        sw.run(["ip", "link", "set", "swp1", "down"])
        time.sleep(0.05)
        sw.run(["ip", "link", "set", "swp1", "up"])
        time.sleep(0.1)
    time.sleep(1.5)  # linkwatch delivers the last coalesced event within about a second
    proc.stdin.write("\n")
    proc.stdin.flush()
    n_records = int(proc.stdout.readline().split()[0])
    assert proc.wait(5) == 0

    recs = records(out)
    assert len(recs) == n_records >= 3  # dump, NLMSG_DONE, at least one notification
    assert all(frame[:16] == COOKED for _, frame in recs)
    assert [ts for ts, _ in recs] == sorted(ts for ts, _ in recs) and recs[-1][0] > t0

    rows = subprocess.run(
        ["tshark", "-n", "-r", str(out), "-Y", "netlink-route.nltype == 16", "-T", "fields",
         "-e", "netlink-route.ifla_ifname", "-e", "netlink-route.ifla_carrier_changes",
         "-e", "netlink-route.ifla_carrier_up_count", "-e", "netlink-route.ifla_carrier_down_count"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert rows[0].split("\t")[0] == "lo,eth0"  # the dump: every link in one datagram
    last = rows[-1].split("\t")
    assert last[0] == "eth0"
    up, down = int(host.read_sys("eth0", "carrier_up_count")), int(host.read_sys("eth0", "carrier_down_count"))
    assert (int(last[2]), int(last[3])) == (up, down) and down >= 3
    assert int(last[1]) == up + down


def test_cli_stops_on_count_duration_and_sigterm(lab, tmp_path):
    lab, _, host = lab
    cli = [sys.executable, str(NLRECORD)]

    done = host.run([*cli, "-o", str(tmp_path / "count.pcap"), "--dump", "--count", "1"], timeout=10)
    assert done.returncode == 0 and len(records(tmp_path / "count.pcap")) == 1

    t = time.monotonic()
    host.run([*cli, "-o", str(tmp_path / "dur.pcap"), "--duration", "0.3"], timeout=10)
    assert 0.3 <= time.monotonic() - t < 5 and records(tmp_path / "dur.pcap") == []

    proc = lab.popen(host, [*cli, "-o", str(tmp_path / "term.pcap"), "--dump"], stderr=subprocess.PIPE, text=True)
    assert "listening" in proc.stderr.readline()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the file is flushed per record: a reader can tail it
        try:
            if len(records(tmp_path / "term.pcap")) >= 2:
                break
        except (AssertionError, struct.error):  # caught mid-write
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    assert len(records(tmp_path / "term.pcap")) == 2  # the dump reply and its NLMSG_DONE
