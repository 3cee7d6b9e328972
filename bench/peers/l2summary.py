"""The inspect job in plain Python + struct, shared by the dpkt and scapy peers.

Each peer lets its library split the frame (pcap records, Ethernet header, VLAN tags)
and hands this module the ethertype after the tags and the bytes after it. This module
decodes MAC control (PFC per-priority frames and quanta of enabled classes, PAUSE quanta)
and LLDP (chassis id, port id, TTL, system name, 802.3 MAC/PHY speed per neighbor) with
struct, counts frames per kind, and prints the keys of `flapwatch inspect --json` that the
benchmark compares: frames, counts, pfc_per_priority, pause_frames, pause_quanta_sum,
lldp_neighbors. The rules follow docs/DECODE_RULES.md.
"""

from __future__ import annotations

import ipaddress
import os
import struct

ETH_MAC_CONTROL, ETH_LLDP = 0x8808, 0x88CC
_PFC = struct.Struct(">HH8H")  # opcode, class-enable vector, 8 quanta
_U16 = struct.Struct(">H")

# IANA MAU type -> bit/s (a copy of flapwatch.tables.schema.mau_speed_bps, so the peers stand alone).
_MAU_SPEEDS = [((2, 15), 10**7), ((15, 21), 10**8), ((21, 31), 10**9), ((31, 42), 10**10), ((44, 47), 10**8),
               ((47, 54), 10**9), ((54, 56), 10**10), ((56, 57), 10**9), ((57, 70), 10**10), ((70, 75), 4 * 10**10),
               ((75, 79), 10**11)]


def mau_speed_bps(mau: int) -> int:
    if mau in (1, 5):
        return 10**7
    return next((speed for (lo, hi), speed in _MAU_SPEEDS if lo <= mau < hi), 0)


def file_stem(path: str) -> str:
    name = os.path.basename(path)
    name = name[:-3] if name.endswith(".gz") else name
    for ext in (".pcapng", ".pcap", ".cap"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def as_text(raw: bytes) -> str:
    raw = raw.rstrip(b"\0")
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x5C else f"\\x{b:02x}" for b in raw)


def _id_text(subtype: int, raw: bytes, mac_subtype: int, addr_subtype: int) -> str:
    if subtype == mac_subtype:
        return ":".join(f"{b:02x}" for b in raw)
    if subtype == addr_subtype and raw:
        family, addr = raw[0], raw[1:]
        if (family, len(addr)) in ((1, 4), (2, 16)):
            return str(ipaddress.ip_address(addr))
        return ":".join(f"{b:02x}" for b in addr)
    return as_text(raw)


class Summary:
    def __init__(self, path: str) -> None:
        self.port = file_stem(path)
        self.counts = dict.fromkeys(("pfc", "pause", "lldp", "link", "other", "malformed"), 0)
        self.pfc_frames = [0] * 8
        self.pfc_quanta = [0] * 8
        self.pause_frames = 0
        self.pause_quanta = 0
        self.neighbors: dict[tuple, dict] = {}

    def frame(self, ethertype: int, payload) -> None:
        """One Ethernet frame: its ethertype after the tags and what follows (bytes, or the
        library's object for it: only MAC control and LLDP are turned into bytes)."""
        if ethertype == ETH_MAC_CONTROL:
            kind = self.mac_control(bytes(payload))
        elif ethertype == ETH_LLDP:
            kind = self.lldp(bytes(payload))
        else:
            kind = "other"
        self.counts[kind] += 1

    def mac_control(self, p: bytes) -> str:
        if len(p) < 2:
            return "malformed"
        opcode = _U16.unpack_from(p)[0]
        if opcode == 0x0101:
            if len(p) < 20:
                return "malformed"
            _, enable, *quanta = _PFC.unpack_from(p)
            for i in range(8):
                if enable >> i & 1:
                    self.pfc_frames[i] += 1
                    self.pfc_quanta[i] += quanta[i]
            return "pfc"
        if opcode == 0x0001:
            if len(p) < 4:
                return "malformed"
            self.pause_frames += 1
            self.pause_quanta += _U16.unpack_from(p, 2)[0]
            return "pause"
        return "other"

    def lldp(self, p: bytes) -> str:
        tlvs = []
        pos = 0
        while pos + 2 <= len(p):
            head = _U16.unpack_from(p, pos)[0]
            kind, length = head >> 9, head & 0x1FF
            if kind == 0:
                break
            if pos + 2 + length > len(p):
                return "malformed"
            tlvs.append((kind, p[pos + 2 : pos + 2 + length]))
            pos += 2 + length
        if [k for k, _ in tlvs[:3]] != [1, 2, 3]:
            return "malformed"
        (_, chassis), (_, port_id), (_, ttl) = tlvs[:3]
        if len(chassis) < 2 or len(port_id) < 2 or len(ttl) < 2:
            return "malformed"
        name, speed = None, 0
        for kind, value in tlvs[3:]:
            if kind == 5 and name is None:
                name = as_text(value)
            elif kind == 127 and len(value) == 9 and value[:4] == b"\x00\x12\x0f\x01" and not speed:
                speed = mau_speed_bps(_U16.unpack_from(value, 7)[0])
        key = (self.port, _id_text(chassis[0], chassis[1:], 4, 5), _id_text(port_id[0], port_id[1:], 3, 4))
        seconds = _U16.unpack_from(ttl)[0]
        n = self.neighbors.get(key)
        if n is None:  # neighbors by MSAP per port; a TTL-0 LLDPDU is a shutdown, not a neighbor
            n = self.neighbors[key] = {"port": self.port, "chassis_id": key[1], "port_id": key[2], "ttl": seconds,
                                       "system_name": name, "speed_bps": speed or None, "frames": 0, "shutdowns": 0}
        n["frames"] += 1
        if seconds:
            n["ttl"] = seconds
        else:
            n["shutdowns"] += 1
        n["system_name"] = name or n["system_name"]
        n["speed_bps"] = speed or n["speed_bps"]
        return "lldp"

    def to_json(self) -> dict:
        return {
            "frames": sum(self.counts.values()),
            "counts": self.counts,
            "pfc_per_priority": [
                {"priority": i, "frames": self.pfc_frames[i], "quanta_sum": self.pfc_quanta[i]} for i in range(8)
            ],
            "pause_frames": self.pause_frames,
            "pause_quanta_sum": self.pause_quanta,
            "lldp_neighbors": list(self.neighbors.values()),
        }
