"""`flapwatch inspect`: what is in a capture, summarised while streaming.

The summary is built batch by batch from iter_capture, so memory stays flat
whatever the capture size; all sums are exact integers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from flapwatch.tables import schema
from flapwatch.sources.capture import Capture, iter_capture

PAUSE_QUANTUM_BITS = 512  # one pause quantum is 512 bit times (802.3 Annex 31B)


def _port_sums(ports: np.ndarray, values: np.ndarray, nstrings: int) -> np.ndarray:
    """Exact per-port-index sums of non-negative integers."""
    if len(ports) == 0:
        return np.zeros(nstrings, dtype=np.int64)
    first = ports[0]
    if (ports == first).all():  # the common single-port case, without bincount
        out = np.zeros(nstrings, dtype=np.int64)
        out[first] = int(values.sum(dtype=np.int64))
        return out
    # float64 bincount is exact below 2**53 (5e9 frames of 65535 quanta).
    return np.rint(np.bincount(ports, weights=values, minlength=nstrings)).astype(np.int64)


@dataclass
class LldpNeighbor:
    port: str
    chassis_id: str
    port_id: str
    ttl: int  # the last non-zero TTL heard
    system_name: str | None
    speed_bps: int
    frames: int = 0
    shutdowns: int = 0  # TTL-0 LLDPDUs: the neighbor said it was going away
    src_macs: set = field(default_factory=set)


@dataclass
class LinkPort:
    port: str
    ifindex: int
    messages: int = 0
    first_ts_ns: int = 0
    last_ts_ns: int = 0
    operstate: int = -1
    carrier: int = -1
    carrier_changes: int = -1
    carrier_up_count: int = -1
    carrier_down_count: int = -1
    down_messages: int = 0  # messages saying the carrier is down


@dataclass
class CaptureSummary:
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(schema.COUNT_KINDS, 0))
    # port -> [frames per priority], [quanta sum per priority]
    pfc_frames: dict[str, np.ndarray] = field(default_factory=dict)
    pfc_quanta: dict[str, np.ndarray] = field(default_factory=dict)
    pause_frames: dict[str, int] = field(default_factory=dict)
    pause_quanta: dict[str, int] = field(default_factory=dict)
    lldp: dict[tuple[str, str, str], LldpNeighbor] = field(default_factory=dict)  # (port, chassis id, port id)
    own_macs: set = field(default_factory=set)  # the ports' own addresses (netlink IFLA_ADDRESS)
    links: dict[str, LinkPort] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    first_ts_ns: int | None = None
    last_ts_ns: int | None = None

    @property
    def frames(self) -> int:
        return sum(self.counts.values())

    def add(self, cap: Capture) -> None:
        for kind, n in cap.counts.items():
            self.counts[kind] += n
        self.warnings += cap.warnings
        strings = cap.strings
        for table in cap.tables.values():
            ts = table["ts_ns"]
            if len(ts):
                lo, hi = int(ts.min()), int(ts.max())
                self.first_ts_ns = lo if self.first_ts_ns is None else min(self.first_ts_ns, lo)
                self.last_ts_ns = hi if self.last_ts_ns is None else max(self.last_ts_ns, hi)
        self._add_pfc(cap.pfc, strings)
        self._add_pause(cap.pause, strings)
        self._add_lldp(cap.lldp)
        self._add_link(cap.link)
        for reason in cap.malformed.text("reason"):
            self.malformed[reason] = self.malformed.get(reason, 0) + 1

    def _add_pfc(self, t, strings) -> None:
        if t.rows == 0:
            return
        port, enable = t["port"], t["class_enable"]
        present = np.unique(port)
        for i in range(8):
            on = (enable >> i) & 1  # quanta of a class whose enable bit is clear mean nothing
            frames = _port_sums(port, on, len(strings))
            quanta = _port_sums(port, t[f"quanta_{i}"] * on, len(strings))
            for p in present.tolist():
                name = strings[p]
                self.pfc_frames.setdefault(name, np.zeros(8, np.int64))[i] += frames[p]
                self.pfc_quanta.setdefault(name, np.zeros(8, np.int64))[i] += quanta[p]

    def _add_pause(self, t, strings) -> None:
        if t.rows == 0:
            return
        port = t["port"]
        frames = np.bincount(port, minlength=len(strings))
        quanta = _port_sums(port, t["quanta"], len(strings))
        for p in np.unique(port).tolist():
            name = strings[p]
            self.pause_frames[name] = self.pause_frames.get(name, 0) + int(frames[p])
            self.pause_quanta[name] = self.pause_quanta.get(name, 0) + int(quanta[p])

    def _add_lldp(self, t) -> None:
        if t.rows == 0:
            return
        ports, chassis, port_ids, names = t.text("port"), t.text("chassis_id"), t.text("port_id"), t.text("system_name")
        for port, ch, pid, ttl, name, speed, src in zip(
            ports, chassis, port_ids, t["ttl"].tolist(), names, t["speed_bps"].tolist(), t["src_mac"].tolist()
        ):
            key = (port, ch, pid)  # the MSAP, per port, as lldpd keys neighbors
            n = self.lldp.get(key)
            if n is None:
                n = self.lldp[key] = LldpNeighbor(port, ch, pid, ttl, name, speed)
            n.frames += 1
            n.src_macs.add(src)
            if ttl == 0:
                n.shutdowns += 1
            else:
                n.ttl = ttl
            n.system_name = name or n.system_name
            n.speed_bps = speed or n.speed_bps

    def neighbors(self) -> list[LldpNeighbor]:
        """What each port heard from others: its own LLDPDUs (sent from its own address, as a
        capture on the port sees them leave) are not a neighbor."""
        return [n for n in self.lldp.values() if not n.src_macs <= self.own_macs]

    def _add_link(self, t) -> None:
        self.own_macs.update(m for m in t["mac"].tolist() if m)
        cols = ("ts_ns", "ifindex", "operstate", "carrier", "carrier_changes", "carrier_up_count", "carrier_down_count")
        for port, row in zip(t.text("port"), zip(*(t[c].tolist() for c in cols))):
            ts, ifindex, oper, carrier, changes, up, down = row
            lp = self.links.get(port)
            if lp is None:
                lp = self.links[port] = LinkPort(port, ifindex, first_ts_ns=ts)
            lp.messages += 1
            lp.last_ts_ns = ts
            lp.ifindex = ifindex
            lp.operstate = oper if oper >= 0 else lp.operstate
            lp.carrier = carrier if carrier >= 0 else lp.carrier
            lp.down_messages += carrier == 0
            for name, value in (("carrier_changes", changes), ("carrier_up_count", up), ("carrier_down_count", down)):
                if value >= 0:
                    setattr(lp, name, value)

    def _own_frames(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.lldp.values():
            if n.src_macs <= self.own_macs:
                out[n.port] = out.get(n.port, 0) + n.frames
        return out

    def port_speed_bps(self, port: str) -> int:
        """The link speed LLDP announced on this port (802.3 MAU type), 0 unknown."""
        speeds = [n.speed_bps for n in self.neighbors() if n.port == port and n.speed_bps]
        return speeds[-1] if speeds else 0

    def to_json(self) -> dict:
        total_frames = np.zeros(8, np.int64)
        total_quanta = np.zeros(8, np.int64)
        for port in self.pfc_frames:
            total_frames += self.pfc_frames[port]
            total_quanta += self.pfc_quanta[port]
        per_priority = lambda f, q: [{"priority": i, "frames": int(f[i]), "quanta_sum": int(q[i])} for i in range(8)]  # noqa: E731
        return {
            "files": self.files,
            "frames": self.frames,
            "counts": dict(self.counts),
            "first_ts_ns": self.first_ts_ns,
            "last_ts_ns": self.last_ts_ns,
            "pfc_per_priority": per_priority(total_frames, total_quanta),
            "pfc_per_port": {
                port: per_priority(self.pfc_frames[port], self.pfc_quanta[port]) for port in sorted(self.pfc_frames)
            },
            "pause_frames": sum(self.pause_frames.values()),
            "pause_quanta_sum": sum(self.pause_quanta.values()),
            "pause_per_port": {
                port: {
                    "frames": self.pause_frames[port],
                    "quanta_sum": self.pause_quanta[port],
                    "speed_bps": self.port_speed_bps(port) or None,
                    "pause_seconds": pause_seconds(self.pause_quanta[port], self.port_speed_bps(port)),
                }
                for port in sorted(self.pause_frames)
            },
            "lldp_neighbors": [
                {
                    "port": n.port,
                    "chassis_id": n.chassis_id,
                    "port_id": n.port_id,
                    "ttl": n.ttl,
                    "system_name": n.system_name,
                    "speed_bps": n.speed_bps or None,
                    "frames": n.frames,
                    "shutdowns": n.shutdowns,
                }
                for n in self.neighbors()
            ],
            "lldp_own_frames": {port: frames for port, frames in self._own_frames().items()},
            "link_per_port": [vars(lp).copy() for lp in self.links.values()],
            "malformed_reasons": dict(self.malformed),
            "warnings": list(self.warnings),
        }


def pause_seconds(quanta_sum: int, speed_bps: int) -> float | None:
    """Pause time asked for: quanta x 512 bit times at the link speed (None when unknown)."""
    return quanta_sum * PAUSE_QUANTUM_BITS / speed_bps if speed_bps else None


def summarize(paths: list[str | os.PathLike], *, batch_frames: int = 1 << 20, strict: bool = False) -> CaptureSummary:
    summary = CaptureSummary()
    for path in paths:
        summary.files.append(os.fspath(path))
        for batch in iter_capture(path, batch_frames=batch_frames, strict=strict):
            summary.add(batch)
    return summary
