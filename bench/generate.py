"""Write a large pcap of what a RoCE NIC port sees: mostly PFC, plus data, PAUSE, LLDP.

    python bench/generate.py                          # 5,000,000 frames -> bench/out/mix_5m.pcap
    python bench/generate.py --frames 200000 --out /tmp/x.pcap --seed 7
    python bench/generate.py --size-gb 2              # ~2 GB (for the RSS check)

The mix (per frame, LLDP aside):
  62 %  802.1Qbb PFC, 60-130 bytes: opcode 0x0101 to 01:80:c2:00:00:01, varied class-enable
        vectors, quanta 0xffff / 0 (XON) / random; 15 % inside an 802.1Q tag, 1 % 802.1ad+802.1Q.
        3 % carry junk quanta in classes whose enable bit is clear (a reader must ignore them).
  27 %  IPv4/UDP (RoCEv2, port 4791) data, 64-130 bytes; 20 % 802.1Q, 2 % 802.1ad+802.1Q.
   6 %  802.3x PAUSE, 60-130 bytes; 10 % 802.1Q.
   5 %  full-size 1514-byte IPv4/UDP data.
  and one LLDPDU every --lldp-every frames, rotating over 3 neighbors (802.3 MAC/PHY TLV included).
Timestamps increase by 20-500 ns per frame (ns magic; --usec writes a µs file, floored).

Frames are built with numpy, a chunk at a time: per-kind byte rows (record header, L2
header with tags, protocol header) are scattered into a zeroed byte buffer that is written
out, so memory stays flat whatever the size. The expected summary (frames per kind and
ethertype, PFC frames and quanta per enabled priority, PAUSE quanta, LLDP neighbors) is
written next to the capture as PATH.truth.json for the benchmark's checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests" / "support"))
import capture_writers as cw  # noqa: E402  (the pcap file header, as the tests write it)
from flapwatch import wire  # noqa: E402  (the frame builders)

PFC, DATA, PAUSE, FULL, LLDP = range(5)
KIND_P = [0.62, 0.27, 0.06, 0.05]  # PFC, DATA, PAUSE, FULL (LLDP placed separately)
TAGGED = {PFC: (0.15, 0.01), DATA: (0.20, 0.02), PAUSE: (0.10, 0.0), FULL: (0.0, 0.0)}  # (802.1Q, QinQ)
CHUNK = 1 << 17  # frames per chunk
START_NS = 1_700_000_000 * 10**9

# Class-enable vectors a RoCE fabric sends (priority 3 and/or 4 lossless), plus random ones.
CEV_COMMON = np.array([0x08, 0x10, 0x18, 0x08, 0x08, 0x10, 0x01, 0x80, 0xFF], np.uint16)

PFC_SRC = [f"b8:ce:f6:0{i}:aa:01" for i in range(4)]  # the switch port(s) pausing us
HOSTS = [f"0c:42:a1:{i:02x}:{i * 7 % 256:02x}:10" for i in range(16)]

# (chassis MAC, port id, system name, MAU type) of the LLDP neighbors.
NEIGHBORS = [
    ("b8:ce:f6:00:00:01", "Ethernet12", "leaf-a1", 77),  # 100G
    ("b8:ce:f6:00:00:02", "Ethernet12", "leaf-a2", 75),  # 100G
    ("7c:fe:90:00:11:22", "swp31", "spine-b7", 72),  # 40G
]


def lldp_frames() -> list[bytes]:
    out = []
    for chassis, port, name, mau in NEIGHBORS:
        out.append(
            wire.lldp_frame(
                chassis,
                wire.chassis_id(4, chassis),
                wire.port_id(5, port),
                wire.ttl(120),
                wire.port_desc(f"{name}:{port}"),
                wire.system_name(name),
                wire.system_desc("SONiC Software Version: SONiC.202311"),
                wire.capabilities(0x14, 0x14),
                wire.mgmt_addr("10.1.0.1"),
                wire.port_vlan(100),
                wire.pfc_config(willing=0, mbc=0, cap=8, enable=0x18),
                wire.mac_phy(mau),
                wire.max_frame_size(9216),
            )
        )
    return out


def macs(texts: list[str]) -> np.ndarray:
    return np.array([list(wire.mac_bytes(m)) for m in texts], np.uint8)


def scatter(buf: np.ndarray, at: np.ndarray, rows: np.ndarray) -> None:
    """buf[at[i] : at[i] + width] = rows[i] for every i, in one fancy assignment."""
    if len(at):
        buf[(at[:, None] + np.arange(rows.shape[1])).ravel()] = rows.ravel()


def be16(cols: list) -> np.ndarray:
    """Columns of 16-bit values -> (n, 2 * len(cols)) big-endian bytes."""
    return np.stack(np.broadcast_arrays(*cols), axis=1).astype(">u2").view(np.uint8)


class Truth:
    """What any correct reader must find in the capture."""

    def __init__(self) -> None:
        self.frames = 0
        self.counts = dict.fromkeys(("pfc", "pause", "lldp", "link", "other", "malformed"), 0)
        self.ethertypes: dict[str, int] = {}
        self.pfc_frames = np.zeros(8, np.int64)
        self.pfc_quanta = np.zeros(8, np.int64)
        self.pause_frames = 0
        self.pause_quanta = 0
        self.lldp = [0] * len(NEIGHBORS)
        self.bytes = 24

    def add_ethertype(self, et: int, n: int) -> None:
        if n:
            key = f"0x{et:04x}"
            self.ethertypes[key] = self.ethertypes.get(key, 0) + int(n)

    def to_json(self, port: str) -> dict:
        return {
            "frames": self.frames,
            "bytes": self.bytes,
            "counts": self.counts,
            "ethertypes": dict(sorted(self.ethertypes.items())),
            "pfc_per_priority": [
                {"priority": i, "frames": int(self.pfc_frames[i]), "quanta_sum": int(self.pfc_quanta[i])}
                for i in range(8)
            ],
            "pause_frames": self.pause_frames,
            "pause_quanta_sum": self.pause_quanta,
            "lldp_neighbors": [
                {"port": port, "chassis_id": ch, "port_id": pid, "ttl": 120, "system_name": name, "frames": n,
                 "shutdowns": 0}
                for (ch, pid, name, _), n in zip(NEIGHBORS, self.lldp)
                if n
            ],
        }


def chunk(rng: np.random.Generator, first: int, n: int, ts0: int, lldp_every: int, nano: bool, truth: Truth):
    """Frames first .. first+n-1 as pcap record bytes; returns (bytes, last ts)."""
    kind = rng.choice(4, size=n, p=KIND_P).astype(np.int8)
    index = np.arange(first, first + n)
    lldp_at = index % lldp_every == lldp_every // 2
    neighbor = (index[lldp_at] // lldp_every) % len(NEIGHBORS)
    kind[lldp_at] = LLDP

    u = rng.random(n)
    ntags = np.zeros(n, np.int64)
    for k, (q, qinq) in TAGGED.items():
        ntags[(kind == k) & (u < q + qinq)] = 1
        ntags[(kind == k) & (u < qinq)] = 2
    l2 = 14 + 4 * ntags

    # Lengths: control frames mostly at the minimum (60), some padded up to 130.
    length = np.full(n, 1514, np.int64)
    ctl = (kind == PFC) | (kind == PAUSE)
    padded = rng.random(n) < 0.25
    length[ctl] = np.where(padded[ctl], rng.integers(60, 131, n)[ctl], 60)
    length[kind == DATA] = rng.integers(64, 131, n)[kind == DATA]
    length[lldp_at] = [len(LLDP_FRAMES[i]) for i in neighbor]

    ts = ts0 + np.cumsum(rng.integers(20, 501, n))
    rec = 16 + length
    off = np.concatenate(([0], np.cumsum(rec)[:-1]))
    buf = np.zeros(int(rec.sum()), np.uint8)

    # Record headers (little-endian pcap).
    sec, sub = np.divmod(ts, 10**9)
    if not nano:
        sub //= 1000
    hdr = np.stack([sec, sub, length, length], axis=1).astype("<u4").view(np.uint8)
    scatter(buf, off, hdr)

    # L2 headers, by number of tags.
    body = off + 16
    control = np.isin(kind, (PFC, PAUSE))
    dst = np.where(control[:, None], macs([wire.MAC_CONTROL_DST])[0], MAC_HOSTS[rng.integers(16, size=n)])
    src = np.where(control[:, None], MAC_PFC[rng.integers(len(PFC_SRC), size=n)], MAC_HOSTS[rng.integers(16, size=n)])
    ethertype = np.select([control, kind == LLDP], [wire.ETH_MAC_CONTROL, wire.ETH_LLDP], wire.ETH_IPV4)
    vid = rng.choice(np.array([100, 200, 300]), n)
    pcp = np.where(kind == PFC, 7, 3)
    for t in (0, 1, 2):
        sel = np.flatnonzero((ntags == t) & ~lldp_at)
        tag_words = [[wire.TPID_8021Q, (pcp[sel] << 13) | vid[sel]]]
        if t == 2:
            tag_words = [[wire.TPID_8021AD, 10], [wire.TPID_8021Q, (pcp[sel] << 13) | vid[sel]]]
        words = [w for tag in tag_words[:t] for w in tag] + [ethertype[sel]]
        scatter(buf, body[sel], np.hstack([dst[sel], src[sel], be16(words)]))
    l3 = body + l2

    # PFC: opcode, class-enable vector, 8 quanta (only enabled classes carry meaning).
    sel = np.flatnonzero(kind == PFC)
    m = len(sel)
    cev = np.where(rng.random(m) < 0.9, rng.choice(CEV_COMMON, m), rng.integers(1, 256, m))
    enabled = (cev[:, None] >> np.arange(8)) & 1
    r = rng.random((m, 8))
    quanta = np.where(r < 0.4, 0xFFFF, np.where(r < 0.7, 0, rng.integers(1, 0x10000, (m, 8))))
    junk = rng.random(m) < 0.03
    quanta = np.where(enabled | junk[:, None], quanta, 0)
    scatter(buf, l3[sel], be16([0x0101, cev] + [quanta[:, i] for i in range(8)]))
    truth.pfc_frames += enabled.sum(axis=0)
    truth.pfc_quanta += (quanta * enabled).sum(axis=0)

    # PAUSE: opcode, quanta.
    sel = np.flatnonzero(kind == PAUSE)
    r = rng.random(len(sel))
    q = np.where(r < 0.5, 0xFFFF, np.where(r < 0.75, 0, rng.integers(1, 0x10000, len(sel))))
    scatter(buf, l3[sel], be16([0x0001, q]))
    truth.pause_frames += len(sel)
    truth.pause_quanta += int(q.sum())

    # IPv4 + UDP headers (RoCEv2), lengths consistent with the frame.
    sel = np.flatnonzero((kind == DATA) | (kind == FULL))
    k = len(sel)
    ip_len = length[sel] - l2[sel]
    src_ip, dst_ip = rng.integers(0, 256, k) | (1 << 8), rng.integers(0, 256, k) | (2 << 8)
    words = [0x4568, ip_len, rng.integers(0, 0x10000, k), 0x4000, 0x4011, 0, 0x0A00, src_ip, 0x0A00, dst_ip,
             rng.integers(49152, 0x10000, k), 4791, ip_len - 20, 0]
    scatter(buf, l3[sel], be16(words))

    # LLDP: whole frames from the templates.
    for i, nb in zip(np.flatnonzero(lldp_at), neighbor):
        frame = LLDP_FRAMES[nb]
        buf[body[i] : body[i] + len(frame)] = np.frombuffer(frame, np.uint8)
        truth.lldp[nb] += 1

    truth.frames += n
    truth.bytes += len(buf)
    truth.counts["pfc"] += int((kind == PFC).sum())
    truth.counts["pause"] += int((kind == PAUSE).sum())
    truth.counts["lldp"] += int(lldp_at.sum())
    truth.counts["other"] += int(((kind == DATA) | (kind == FULL)).sum())
    truth.add_ethertype(wire.ETH_MAC_CONTROL, int(control.sum()))
    truth.add_ethertype(wire.ETH_IPV4, int(((kind == DATA) | (kind == FULL)).sum()))
    truth.add_ethertype(wire.ETH_LLDP, int(lldp_at.sum()))
    return buf, int(ts[-1])


LLDP_FRAMES = lldp_frames()
MAC_HOSTS = macs(HOSTS)
MAC_PFC = macs(PFC_SRC)


def generate(out: Path, frames: int | None, size_bytes: int | None, seed: int, lldp_every: int, nano: bool,
             quiet: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    truth = Truth()
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ts = START_NS
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as f:
        f.write(cw.pcap_bytes([], nano=nano))  # the 24-byte file header
        while (frames is None or truth.frames < frames) and (size_bytes is None or truth.bytes < size_bytes):
            n = CHUNK if frames is None else min(CHUNK, frames - truth.frames)
            buf, ts = chunk(rng, truth.frames, n, ts, lldp_every, nano, truth)
            f.write(memoryview(buf))
            if not quiet and truth.frames % (CHUNK * 16) == 0:
                print(f"  {truth.frames:,} frames, {truth.bytes / 1e9:.2f} GB", file=sys.stderr)
    tmp.replace(out)
    result = truth.to_json(out.stem)
    result["seed"], result["nano"], result["lldp_every"] = seed, nano, lldp_every
    out.with_name(out.name + ".truth.json").write_text(json.dumps(result, indent=1) + "\n")
    if not quiet:
        dt = time.perf_counter() - t0
        print(f"wrote {out}: {truth.frames:,} frames, {truth.bytes / 1e9:.3f} GB in {dt:.1f} s "
              f"({dt / truth.frames * 1e6:.2f} s per million frames)", file=sys.stderr)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=5_000_000, help="number of frames (default 5,000,000)")
    p.add_argument("--size-gb", type=float, help="instead of --frames: write at least this many GB (1e9 bytes)")
    p.add_argument("--out", type=Path, help="output pcap (default bench/out/mix_<size>.pcap)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lldp-every", type=int, default=100_000, help="one LLDPDU every N frames")
    p.add_argument("--usec", action="store_true", help="µs timestamps (default: ns magic)")
    args = p.parse_args(argv)
    if args.size_gb:
        out = args.out or BENCH / "out" / f"mix_{args.size_gb:g}gb.pcap"
        generate(out, None, int(args.size_gb * 1e9), args.seed, args.lldp_every, not args.usec)
    else:
        out = args.out or BENCH / "out" / f"mix_{args.frames}.pcap"
        generate(out, args.frames, None, args.seed, args.lldp_every, not args.usec)
    return 0


if __name__ == "__main__":
    sys.exit(main())
