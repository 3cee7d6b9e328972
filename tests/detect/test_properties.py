"""Property tests (hypothesis) of the capture readers.

- write -> read round trips: pcap (µs / ns magic, both byte orders) and pcapng (several
  sections in either byte order, several interfaces each with its own if_tsresol and
  if_tsoffset, EPB and SPB) from tests/support/capture_writers.py, and pcapng from the core's own
  writer (flapwatch.sources.pcapng.PcapngWriter), of arbitrary frames and timestamps: every frame
  comes back once, in file order, with its timestamp, port and decoded fields;
- arbitrary byte mutations of a valid capture give records, CaptureWarning or
  CaptureError and nothing else, and the counts always add up (every frame in exactly one
  kind, every table's rows agree with its count); a mutation confined to packet data
  never changes how many frames there are.

Deadline-free and a bounded, derandomized example count (CI is reproducible and under
a minute); FLAPWATCH_HYPOTHESIS_EXAMPLES=5000 explores more by hand.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import capture_writers as cw
from flapwatch import wire
import flapwatch
from flapwatch import CaptureError, CaptureWarning

MAX_TS = 2**62  # the reader's bound on |ts_ns| (years 1824..2116): CaptureError beyond
EXAMPLES = int(os.environ.get("FLAPWATCH_HYPOTHESIS_EXAMPLES", "300"))
PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FLAPWATCH_HYPOTHESIS_EXAMPLES"),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

# --------------------------------------------------------------- frame strategies


@dataclass
class Frame:
    """A frame to write and what it must decode to."""

    data: bytes
    kind: str  # pfc, pause, other
    fields: dict


macs = st.integers(min_value=0, max_value=2**48 - 1)
tags = st.lists(
    st.tuples(st.sampled_from([wire.TPID_8021Q, wire.TPID_8021AD, wire.TPID_QINQ_OLD]), st.integers(0, 0xFFFF)), max_size=3
)


@st.composite
def pfc_frames(draw) -> Frame:
    src, tg = draw(macs), draw(tags)
    cev = draw(st.integers(0, 0xFFFF))
    quanta = draw(st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8))
    data = wire.ethernet_frame(wire.MAC_CONTROL_DST, src, wire.ETH_MAC_CONTROL, wire.pfc(cev, quanta), tg or None)
    vlan = tg[0][1] & 0xFFF if tg else -1
    return Frame(data, "pfc", {"src_mac": src, "vlan": vlan, "class_enable": cev & 0xFF,
                               **{f"quanta_{i}": q for i, q in enumerate(quanta)}})


@st.composite
def pause_frames(draw) -> Frame:
    src, tg, q = draw(macs), draw(tags), draw(st.integers(0, 0xFFFF))
    data = wire.ethernet_frame(wire.MAC_CONTROL_DST, src, wire.ETH_MAC_CONTROL, wire.pause(q), tg or None)
    return Frame(data, "pause", {"src_mac": src, "vlan": tg[0][1] & 0xFFF if tg else -1, "quanta": q})


@st.composite
def other_frames(draw) -> Frame:
    """Arbitrary bytes (the empty frame included) whose ethertype is not one flapwatch
    decodes (nor a VLAN tag): they must count as "other"."""
    data = bytearray(draw(st.binary(max_size=300)))
    if len(data) >= 14:
        et = struct.unpack_from(">H", data, 12)[0]
        if et in (0x8808, 0x88CC, 0x8100, 0x88A8, 0x9100):
            data[12:14] = b"\x08\x00"
    return Frame(bytes(data), "other", {})


frames = st.one_of(pfc_frames(), pause_frames(), other_frames())


def _check_counts(cap) -> None:
    """Every frame in exactly one kind; each table agrees with its count."""
    assert cap.frames == sum(cap.counts.values())
    for kind in ("pfc", "pause", "lldp", "malformed"):
        assert cap.tables[kind].rows == cap.counts[kind], kind
    assert len(set(cap.tables["link"]["frame"].tolist())) == cap.counts["link"]
    for table in cap.tables.values():
        idx = table["frame"].tolist()
        assert idx == sorted(idx) and all(0 <= i < cap.frames for i in idx)


def _check_roundtrip(cap, written: list[tuple[Frame, int, str]]) -> None:
    """``written``: (frame, expected ts_ns, expected port) in file order."""
    assert cap.warnings == []
    assert cap.frames == len(written)
    _check_counts(cap)
    want = {k: sum(1 for f, _, _ in written if f.kind == k) for k in ("pfc", "pause", "other")}
    assert cap.counts == {**want, "lldp": 0, "link": 0, "malformed": 0}
    for kind in ("pfc", "pause"):
        table = cap.tables[kind]
        rows = [(i, w) for i, w in enumerate(written) if w[0].kind == kind]
        assert table["frame"].tolist() == [i for i, _ in rows]
        assert table["ts_ns"].tolist() == [ts for _, (_, ts, _) in rows]
        assert table.text("port") == [port for _, (_, _, port) in rows]
        for name in rows[0][1][0].fields if rows else ():
            assert table[name].tolist() == [f.fields[name] for _, (f, _, _) in rows], name


def _read(path) -> flapwatch.Capture:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a round trip warns about nothing
        return flapwatch.read_capture(path)


# ----------------------------------------------------------------- round trips


@PROPS
@given(
    records=st.lists(st.tuples(frames, st.integers(0, 2**32 * 10**9 - 1)), max_size=25),
    nano=st.booleans(),
    big_endian=st.booleans(),
)
def test_pcap_roundtrip(tmp_path_factory, records, nano, big_endian):
    path = tmp_path_factory.mktemp("p") / "leaf1-swp3.pcap"
    path.write_bytes(cw.pcap_bytes([(ts, f.data) for f, ts in records], nano=nano, big_endian=big_endian))
    cap = _read(path)
    _check_roundtrip(cap, [(f, cw.pcap_ts_ns(ts, nano), "leaf1-swp3") for f, ts in records])


tsresols = st.one_of(
    st.none(), st.integers(0, 12), st.integers(0, 40).map(lambda n: 0x80 | n)
)


@st.composite
def pcapng_files(draw):
    """(bytes, [(frame, ts_ns, port)]): 1-3 sections in either byte order, 1-3
    interfaces each (named or not, own tsresol / tsoffset), EPBs and SPBs."""
    w = cw.PcapngBuilder()
    written = []
    stem = "cap"
    for s in range(draw(st.integers(1, 3))):
        w.section(big_endian=draw(st.booleans()))
        ifaces = []
        for i in range(draw(st.integers(1, 3))):
            name = draw(st.one_of(st.none(), st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)))
            tsresol = draw(tsresols)
            tsoffset = draw(st.one_of(st.none(), st.integers(-(10**6), 10**6)))
            w.interface(name=name, tsresol=tsresol, tsoffset=tsoffset)
            port = name if name else (stem if (s, i) == (0, 0) else f"{stem}#{i}")
            ifaces.append((port, tsresol, tsoffset or 0))
        last_ts = written[-1][1] if written else 0
        for _ in range(draw(st.integers(0, 8))):
            f = draw(frames)
            if draw(st.integers(0, 5)) == 0:  # a Simple Packet Block: interface 0, the previous timestamp
                w.simple_packet(f.data)
                written.append((f, last_ts, ifaces[0][0]))
                continue
            i = draw(st.integers(0, len(ifaces) - 1))
            port, tsresol, tsoffset = ifaces[i]
            base, exp = cw._tsresol_units_per_sec(tsresol)
            # any raw timestamp whose ns value is within the reader's bound (±2^62 ns)
            max_units = ((MAX_TS - max(tsoffset, 0) * 10**9) * base**exp) // 10**9
            units = draw(st.integers(0, min(max_units, 2**64 - 1)))
            w.packet(i, units, f.data)
            last_ts = cw.ts_from_units(units, tsresol, tsoffset)
            written.append((f, last_ts, port))
        if draw(st.booleans()):
            w.stats(0, 0, received=1)
        if draw(st.booleans()):
            w.unknown()
    return w.getvalue(), written


@PROPS
@given(pcapng_files())
def test_pcapng_roundtrip(tmp_path_factory, file):
    data, written = file
    path = tmp_path_factory.mktemp("n") / "cap.pcapng"
    path.write_bytes(data)
    _check_roundtrip(_read(path), written)


@PROPS
@given(
    packets=st.lists(
        st.tuples(st.integers(0, 3), frames, st.integers(0, MAX_TS)), max_size=25
    ),
    names=st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="\\"),
                           min_size=1, max_size=16), min_size=4, max_size=4, unique=True),
)
def test_own_pcapng_writer_roundtrip(tmp_path_factory, packets, names):
    """The core's PcapngWriter (simulate, the agent's --record): what it writes reads
    back exactly, nanosecond timestamps and interface names included."""
    from flapwatch.sources.pcapng import PcapngWriter

    path = tmp_path_factory.mktemp("w") / "own.pcapng"
    with PcapngWriter(path) as w:
        ids = [w.add_interface(n) for n in names]
        for i, f, ts in packets:
            w.write(ids[i], ts, f.data)
        assert w.packets == len(packets)
    _check_roundtrip(_read(path), [(f, ts, names[i]) for i, f, ts in packets])


@PROPS
@given(ts=st.integers(MAX_TS + 1, 2**63 - 1))
def test_timestamps_past_the_bound_are_an_error_not_garbage(tmp_path_factory, ts):
    """Beyond ±2^62 ns the reader refuses the packet (CaptureError naming it) instead
    of wrapping: later sums of times (pause ends, gaps) must fit in int64. (The writer
    still writes such a timestamp.)"""
    from flapwatch.sources.pcapng import PcapngWriter

    path = tmp_path_factory.mktemp("b") / "far.pcapng"
    with PcapngWriter(path) as w:
        i = w.add_interface("swp1")
        w.write(i, 1, wire.pause_frame("02:00:00:00:00:07", 1))
        w.write(i, ts, wire.pause_frame("02:00:00:00:00:07", 2))
    try:
        flapwatch.read_capture(path)
    except CaptureError as e:
        assert "timestamp out of range" in e.reason
    else:
        raise AssertionError(f"ts {ts} read without an error")


# ------------------------------------------------------------------- mutations


def _seed(kind: str) -> tuple[bytes, list[tuple[int, int]]]:
    """A valid capture of every frame kind, and the byte ranges of its packet data."""
    src = "02:00:00:00:00:07"
    eth = [
        wire.pfc_frame(src, 0xFF, list(range(8)), tags=[wire.vlan_tag(3)]),
        wire.pause_frame(src, 9),
        wire.lldp_frame(src, wire.chassis_id(4, src), wire.port_id(5, "e1"), wire.ttl(120), wire.system_name("leaf"),
                      wire.mgmt_addr("10.1.1.1"), wire.mac_phy(16), wire.pfc_config(1, 0, 8, 0x18)),
    ]
    nl = wire.nlmon_frame(wire.link_msg(2, 1, ifname="e1", carrier=1, carrier_changes=4, carrier_up_count=2,
                                       carrier_down_count=2))
    if kind == "pcap":
        data = cw.pcap_bytes([(i, f) for i, f in enumerate(eth * 2)], nano=True)
        spans, pos = [], 24
        for f in eth * 2:
            spans.append((pos + 16, pos + 16 + len(f)))
            pos += 16 + len(f)
        return data, spans
    w = cw.PcapngBuilder().section()
    a = w.interface(name="swp1", tsresol=9)
    b = w.interface(linktype=cw.LINKTYPE_NETLINK, name="nlmon0")
    spans = []
    for i, f in enumerate(eth + [nl]):
        start = len(w.getvalue()) + 28
        w.packet_at(b if f is nl else a, 10**18 + i, f)
        spans.append((start, start + len(f)))
    w.section(big_endian=True)
    w.interface(tsresol=0x80 | 10)
    start = len(w.getvalue()) + 12
    w.simple_packet(eth[1])
    spans.append((start, start + len(eth[1])))
    return w.getvalue(), spans


SEEDS = {k: _seed(k) for k in ("pcap", "pcapng")}

mutations = st.lists(
    st.tuples(st.sampled_from(["set", "delete", "insert"]), st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, ops) -> bytes:
    out = bytearray(data)
    for op, where, value in ops:
        if not out:
            out += value
            continue
        pos = int(where * len(out))
        if op == "set":
            out[pos:pos + len(value)] = value[: len(out) - pos]
        elif op == "delete":
            del out[pos:pos + len(value)]
        else:
            out[pos:pos] = value
    return bytes(out)


def _read_any(path, data: bytes, strict: bool = False):
    """Records, CaptureWarning or CaptureError: anything else fails the test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cap = flapwatch.read_capture(path, strict=strict)
        except CaptureError as e:
            assert e.reason and 0 <= e.offset <= max(len(data), 1 << 40), e
            return None, caught
    for w in caught:
        assert issubclass(w.category, CaptureWarning), w
    _check_counts(cap)
    assert len(cap.warnings) == len(caught) <= 1  # a warning ends the read
    return cap, caught


@PROPS
@given(kind=st.sampled_from(["pcap", "pcapng"]), ops=mutations, gz=st.booleans())
def test_mutations_give_records_warnings_or_errors(tmp_path_factory, kind, ops, gz):
    import gzip

    data = _mutate(SEEDS[kind][0], ops)
    path = tmp_path_factory.mktemp("m") / f"mut.{kind}{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    cap, caught = _read_any(path, data)
    strict, _ = _read_any(path, data, strict=True)
    if cap is None:
        assert strict is None  # strict is never more forgiving
    elif caught or cap.counts["malformed"]:
        assert strict is None  # strict raises on what the lenient read warned about
    else:
        assert strict is not None and strict.counts == cap.counts


@PROPS
@given(kind=st.sampled_from(["pcap", "pcapng"]), data=st.data())
def test_mutating_packet_data_keeps_every_frame(tmp_path_factory, kind, data):
    """Bytes changed inside packet data (never a header): the container is intact, so
    the frames the writer wrote all come back, whatever they now decode to."""
    seed, spans = SEEDS[kind]
    out = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 12))):
        start, end = data.draw(st.sampled_from(spans))
        pos = data.draw(st.integers(start, end - 1))
        out[pos] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("d") / f"data.{kind}"
    path.write_bytes(bytes(out))
    cap, caught = _read_any(path, bytes(out))
    assert cap is not None and not caught
    assert cap.frames == len(spans)
