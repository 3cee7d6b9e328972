"""Record -> replay of a counters session (issue 13, "Offline"): the agent's --record
pcapng carries every counter sample it fed the engine as a flapwatch Custom Block
(docs/DECODE_RULES.md, "Counter samples in a recording"); `replay` of the recording
gives the detections the agent gave; tshark and the reference readers read past the
blocks (they are no frames)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

import capture_writers as cw
import flapwatch
from conftest import require_tools
from flapwatch.counters.profiles import BNXT, I40E, MLX5
from flapwatch.live.agent import Agent
from flapwatch.sources.pcapng import PcapngWriter
from flapwatch.wire.netlink import LINKTYPE_NETLINK, newlink_msg, nlmon_frame
from test_counter_detections import IFACE, MS, _link_events, _mlx5_series, _rows, _samples, _t0

MAC = b"\x02\0\0\0\0\x01"
TABLES = ("flaps", "pfc_storms", "policy_events", "link_down")


def _session(t0: int) -> list[tuple]:
    """Three ports, three profiles: an mlx5 storm and PHY-only flaps with its 32-bit
    duration counter wrapping mid-storm, bnxt's once-a-second copies polled every
    100 ms, i40e XOFF counts only; in time order, as a poller would push them."""
    mlx5 = _samples(_mlx5_series(t0, wrap_at=2.5), MLX5, "eth0", width32=("rx_prio3_pause_duration",))
    series, dur, frames = [], 0, 0
    for i in range(81):
        if i % 10 == 0 and 2 < i / 10 <= 6:
            dur += 1_000_000
            frames += 7000
        series.append((t0 + i * 100 * MS + 3 * MS, {"pfc_pri3_rx_duration_us": dur, "rx_pfc_ena_frames_pri3": frames}))
    bnxt = _samples(series, BNXT, "eth1")
    series, xoff = [], 0
    for i in range(41):
        if 10 < i <= 30:
            xoff += 400
        series.append((t0 + i * 100 * MS + 7 * MS, {"port.rx_priority_4_xoff_rx": xoff, "port.rx_priority_4_xon_rx": 0}))
    i40e = _samples(series, I40E, "eth2")
    return sorted(mlx5 + bnxt + i40e, key=lambda s: s[0])


def _sorted(analysis, table):
    """A table's rows in one order (the agent's come as they were emitted, replay's by time)."""
    return sorted(_rows(analysis, table), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def _record(path, samples, links=(), **kw) -> flapwatch.Analysis:
    agent = Agent([], netlink=False, keep=True, record=path, **kw)
    for ts, up, changes, ups, downs in links:
        assert agent.push_link(ts, IFACE, up, carrier_changes=changes, carrier_up_count=ups, carrier_down_count=downs)
    for s in samples:
        assert agent.push_counters(s)
    agent.start()
    return agent.stop()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "counters.pcapng"
    t0 = _t0()
    samples = _session(t0)
    live = _record(path, samples)
    return path, live, samples


def test_replay_of_the_recording_gives_the_identical_detections(recorded):
    path, live, samples = recorded
    storms = _rows(live, "pfc_storms")
    assert sorted((s["port"], s["priority"]) for s in storms) == [("eth0", 3), ("eth1", 3), ("eth2", 4)]
    assert [f["source"] for f in _rows(live, "flaps")] == ["PHY counter", "PHY counter"]
    replayed = flapwatch.analyze([path])
    for table in TABLES:
        assert _sorted(replayed, table) == _sorted(live, table), table
    assert replayed.counts == dict.fromkeys(replayed.counts, 0)  # samples are no frames
    assert not replayed.warnings or all("wrapped" in w for w in replayed.warnings)
    # and the CLI's replay says the same
    out = subprocess.run([sys.executable, "-m", "flapwatch", "replay", str(path), "--format", "json", "-q"],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert [(s["port"], s["priority"], s["start_ns"], s["end_ns"]) for s in doc["pfc_storms"]] == [
        (s["port"], s["priority"], s["start_ns"], s["end_ns"]) for s in _rows(replayed, "pfc_storms")]
    assert [(f["port"], f["down_ns"], f["up_ns"], f["source"]) for f in doc["flaps"]] == [
        (f["port"], f["down_ns"], f["up_ns"], f["source"]) for f in _rows(replayed, "flaps")]


def test_pushed_link_events_are_recorded_too(tmp_path):
    """An embedder's link events (push_link) go into the recording as well (magic FWle):
    replay matches the netlink flap to the PHY count as the agent did, instead of taking
    the PHY count for a flap of its own."""
    t0 = _t0()
    path = tmp_path / "rec.pcapng"
    live = _record(path, _samples(_mlx5_series(t0)), links=_link_events(t0))
    assert [f["source"] for f in _rows(live, "flaps")] == ["netlink", "PHY counter"]
    replayed = flapwatch.analyze([path])
    for table in TABLES:
        assert _sorted(replayed, table) == _sorted(live, table), table
    assert replayed.counts["link"] == 0  # events, not frames


def test_every_sample_is_one_custom_block(recorded):
    path, _, samples = recorded
    raw = path.read_bytes()
    pos, blocks = 0, []
    while pos < len(raw):
        btype, length = struct.unpack_from("<II", raw, pos)
        if btype == 0x00000BAD:
            pen, magic, version = struct.unpack_from("<I4sH", raw, pos + 8)
            assert (pen, magic, version) == (32473, b"FWcs", 1)
            ts, read_ns, refresh = struct.unpack_from("<qqq", raw, pos + 20)
            n, name_len = struct.unpack_from("<HH", raw, pos + 48)
            name = raw[pos + 52 : pos + 52 + name_len].decode()
            blocks.append((ts, name, refresh, n))
        pos += length
    assert blocks == [(s[0], s[2], s[3], len(s[5])) for s in samples]


def test_replay_with_a_device_names_the_counter_ports_as_it_names_link_messages(recorded):
    path, live, _ = recorded
    a = flapwatch.analyze([path], device="host7")
    assert sorted({s["port"] for s in _rows(a, "pfc_storms")}) == ["host7:eth0", "host7:eth1", "host7:eth2"]


def test_a_foreign_custom_block_is_skipped_and_a_broken_one_is_a_warning(tmp_path, recorded):
    path, live, _ = recorded
    raw = path.read_bytes()
    shb_len = struct.unpack_from("<I", raw, 4)[0]

    def custom(body: bytes, btype=0x00000BAD) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    foreign = custom(struct.pack("<I", 10949) + b"nflx-data") + custom(struct.pack("<I", 32473) + b"XXXXsomeone else")
    broken = custom(struct.pack("<I4sHH", 32473, b"FWcs", 1, 0) + b"\0" * 30 + struct.pack("<HH", 500, 3) + b"eth")
    f = tmp_path / "mixed.pcapng"
    f.write_bytes(raw[:shb_len] + foreign + broken + raw[shb_len:])
    a = flapwatch.analyze([f])
    for table in TABLES:
        assert _sorted(a, table) == _sorted(live, table), table
    assert any("counter block" in w and "do not fit" in w for w in a.warnings), a.warnings
    with pytest.raises(flapwatch.CaptureError, match="counter block"):
        flapwatch.analyze([f], strict=True)


def test_a_file_stating_the_counter_block_link_type_holds_packets(tmp_path):
    """0xfc5a is the reader's own tag for a custom block's data, not a link type a file can
    give its packets: a pcap header or an interface block stating it (hostile, or some
    private link type) holds frames of a link type nothing decodes, each counted, none read
    as a sample or link event (found by fuzz_dispatch: before, such packets became link
    records and were counted as no frame at all)."""
    t0 = _t0()
    event = struct.pack("<I4sHHqqqqiHH", 32473, b"FWle", 1, 1, t0, 4, 2, 2, 3, 4, 0) + b"swp1"
    classic = tmp_path / "private.pcap"
    classic.write_bytes(cw.pcap_bytes([(t0, event), (t0 + MS, event)], linktype=0xFC5A))
    ng = tmp_path / "private.pcapng"
    with PcapngWriter(ng) as w:
        i = w.add_interface("priv0", 0xFC5A)
        w.write(i, t0, event)
        w.write(i, t0 + MS, event)
    for path in (classic, ng):
        cap = flapwatch.read_capture(path)
        assert cap.frames == 2 and cap.counts["other"] == 2, (path.name, cap.counts)
        assert all(t.rows == 0 for t in cap.tables.values()), {k: t.rows for k, t in cap.tables.items()}


def test_a_blocks_interface_name_is_text_as_a_link_messages_is(tmp_path):
    """The interface a counter or link-event block names is a file's bytes: escaped as a
    netlink message's ifname is (printable ASCII, every other byte as \\xNN), never a control
    sequence in a port name (found by fuzz_dispatch)."""
    name = b"sw\x1b[31mp1\x00\x00"  # an escape sequence, and C string padding
    body = struct.pack("<I4sHHqqqqiHH", 32473, b"FWle", 1, 1, _t0(), 4, 2, 2, 3, len(name), 0) + name
    f = tmp_path / "named.pcapng"
    w = cw.PcapngBuilder().section()
    w.unknown(0x00000BAD, body)  # the custom block, framed and padded
    f.write_bytes(w.getvalue())
    cap = flapwatch.read_capture(f)
    assert [r["port"] for r in cap.tables["link"].records()] == ["sw\\x1b[31mp1"]


def test_counter_blocks_between_frames_keep_the_frames_numbered(tmp_path):
    """Frames and link messages around the blocks: the same rows and frame numbers with
    and without the blocks (a sample is not a frame)."""
    t0 = _t0()
    plain, mixed = tmp_path / "plain.pcapng", tmp_path / "mixed.pcapng"
    rec = tmp_path / "rec.pcapng"
    _record(rec, _samples(_mlx5_series(t0, polls=10), MLX5, "eth0"))
    blocks = []
    raw = rec.read_bytes()
    pos = 0
    while pos < len(raw):
        btype, length = struct.unpack_from("<II", raw, pos)
        if btype == 0x00000BAD:
            blocks.append(raw[pos : pos + length])
        pos += length
    for path, with_blocks in ((plain, False), (mixed, True)):
        with PcapngWriter(path) as w:
            nl = w.add_interface("netlink", LINKTYPE_NETLINK)
            for i in range(4):
                w.write(nl, t0 + i * 250 * MS, nlmon_frame(newlink_msg(ifindex=2, ifname="eth0", mac=MAC, up=i % 2 == 1,
                                                                        changes=i + 1, up_count=(i + 1) // 2,
                                                                        down_count=(i + 2) // 2)))
        if with_blocks:
            data = path.read_bytes()
            path.write_bytes(data + b"".join(blocks))
    a, b = flapwatch.read_capture(plain), flapwatch.read_capture(mixed)
    assert a.counts == b.counts and a.tables["link"].records() == b.tables["link"].records()


@pytest.mark.tools
def test_tshark_and_the_reference_readers_read_past_the_blocks(recorded, tmp_path):
    require_tools("tshark")
    path, _, samples = recorded
    r = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Custom Block" in r.stdout and "32473" in r.stdout
    from reference_loader import load_reference

    ref = load_reference()
    a, b = ref.read_tables(str(path), "dpkt"), ref.read_tables(str(path), "pyshark")
    assert a.frames == b.frames == 0
    assert a.counts == b.counts


@pytest.mark.tools
def test_a_recording_with_frames_and_blocks_opens_in_tshark(tmp_path):
    """Frames (netlink) and samples in one recording: tshark numbers and decodes the
    frames, the reference readers agree on them."""
    require_tools("tshark")
    t0 = _t0()
    rec = tmp_path / "rec.pcapng"
    _record(rec, _samples(_mlx5_series(t0, polls=5), MLX5, "eth0"))
    raw = rec.read_bytes()
    path = tmp_path / "both.pcapng"
    with PcapngWriter(path) as w:
        nl = w.add_interface("netlink", LINKTYPE_NETLINK)
        w.write(nl, t0, nlmon_frame(newlink_msg(ifindex=2, ifname="eth0", mac=MAC, up=False, changes=1, up_count=0,
                                                   down_count=1)))
    data = path.read_bytes()
    shb_len = struct.unpack_from("<I", raw, 4)[0]
    path.write_bytes(data + raw[shb_len:])  # the recording's blocks after the frame, same section
    r = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from reference_loader import load_reference

    ref = load_reference()
    a, b = ref.read_tables(str(path), "dpkt"), ref.read_tables(str(path), "pyshark")
    assert a.frames == b.frames == 1 == flapwatch.read_capture(path).counts["link"]
