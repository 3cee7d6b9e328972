"""Ethernet framing (mirrors cpp/include/flapwatch/decode/ethernet.hpp): MAC addresses,
802.1Q / 802.1ad / old-QinQ tag stacks, Ethernet II, Linux cooked headers (SLL, SLL2); and
the data traffic the decoders count as "other" (RoCEv2, ARP).

Padding: ``ethernet_frame`` and ``lldp_frame`` write exactly the bytes given (``pad_to`` to
pad); the frames devices send (``pfc_frame``, ``pause_frame``, ``lldpd_frame``, ``roce_frame``,
``arp_request``) are zero-padded to the 60-byte wire minimum (no FCS) as a NIC does them.
"""

from __future__ import annotations

import ipaddress
import struct

LINKTYPE_LINUX_SLL = 113  # LINKTYPE_ETHERNET and LINKTYPE_NETLINK: flapwatch.sources.pcapng
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
TPID_8021Q = 0x8100
TPID_8021AD = 0x88A8
TPID_QINQ_OLD = 0x9100
MIN_FRAME = 60  # the wire minimum without FCS
BROADCAST = b"\xff" * 6


def mac_bytes(mac: str | int | bytes) -> bytes:
    """'aa:bb:..' / 0xaabb.. / 6 raw bytes -> 6 bytes."""
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"a MAC address is 6 bytes, not {len(mac)}")
        return mac
    if isinstance(mac, int):
        return mac.to_bytes(6, "big")
    return bytes(int(part, 16) for part in mac.split(":"))


def mac_int(mac: str | int | bytes) -> int:
    return int.from_bytes(mac_bytes(mac), "big")


def mac_text(mac: str | int | bytes) -> str:
    """The 'aa:bb:cc:dd:ee:ff' form the tables use."""
    return ":".join(f"{b:02x}" for b in mac_bytes(mac))


# ----------------------------------------------------------------------------- VLAN tags


def vlan_tag(vid: int, tpid: int = TPID_8021Q, pcp: int = 0, dei: int = 0) -> tuple[int, int]:
    """(TPID, TCI) of one tag; a frame's ``tags`` list them outermost first."""
    return tpid, (pcp << 13) | (dei << 12) | (vid & 0xFFF)


def _tags(tags: list[tuple[int, int]], ethertype: int) -> bytes:
    """The bytes after the first TPID: tci0, tpid1, tci1, ..., ethertype."""
    out = bytearray()
    for i, (tpid, tci) in enumerate(tags):
        if i > 0:
            out += struct.pack(">H", tpid)
        out += struct.pack(">H", tci)
    return bytes(out) + struct.pack(">H", ethertype)


def _pad(frame: bytes, pad_to: int) -> bytes:
    return frame + b"\0" * max(0, pad_to - len(frame))


# ----------------------------------------------------------------------------- Ethernet II


def ethernet_frame(
    dst: str | int | bytes,
    src: str | int | bytes,
    ethertype: int,
    payload: bytes,
    tags: list[tuple[int, int]] | None = None,
    pad_to: int = 0,
) -> bytes:
    """Ethernet II with optional stacked tags (outermost first), zero-padded to ``pad_to``
    bytes (0: no padding; 60: the wire minimum without FCS)."""
    head = mac_bytes(dst) + mac_bytes(src)
    if tags:
        head += struct.pack(">H", tags[0][0]) + _tags(tags, ethertype)
    else:
        head += struct.pack(">H", ethertype)
    return _pad(head + payload, pad_to)


# ------------------------------------------------------------------- Linux cooked (SLL)


def _sll_tagged(ethertype: int, payload: bytes, tags: list[tuple[int, int]] | None) -> tuple[int, bytes]:
    if not tags:
        return ethertype, payload
    return tags[0][0], _tags(tags, ethertype) + payload


def sll(
    protocol: int,
    payload: bytes,
    addr: str | int | bytes = "02:00:00:00:00:01",
    halen: int = 6,
    pkttype: int = 0,
    hatype: int = 1,
    tags: list[tuple[int, int]] | None = None,
) -> bytes:
    """LINUX_SLL (113): 16-byte cooked header. ``addr`` raw bytes may be up to 8 long."""
    protocol, payload = _sll_tagged(protocol, payload, tags)
    a = addr if isinstance(addr, bytes) else mac_bytes(addr)
    return struct.pack(">HHH", pkttype, hatype, halen) + a.ljust(8, b"\0")[:8] + struct.pack(">H", protocol) + payload


def sll2(
    protocol: int,
    payload: bytes,
    addr: str | int | bytes = "02:00:00:00:00:01",
    halen: int = 6,
    ifindex: int = 2,
    pkttype: int = 0,
    hatype: int = 1,
    tags: list[tuple[int, int]] | None = None,
) -> bytes:
    """LINUX_SLL2 (276): 20-byte header, what ``tcpdump -i any`` writes now."""
    protocol, payload = _sll_tagged(protocol, payload, tags)
    a = addr if isinstance(addr, bytes) else mac_bytes(addr)
    return struct.pack(">HHIHBB", protocol, 0, ifindex, hatype, pkttype, halen) + a.ljust(8, b"\0")[:8] + payload


# ------------------------------------------------- data traffic (decoded as kind "other")


def _ipv4_checksum(header: bytes) -> int:
    s = sum(struct.unpack(f">{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def roce_frame(src: str | int | bytes, dst: str | int | bytes, src_ip: str, dst_ip: str, psn: int,
               payload_len: int = 64, pad_to: int = MIN_FRAME) -> bytes:
    """A RoCEv2 data frame: IPv4/UDP to port 4791 with a BTH (RDMA WRITE middle) and zero payload."""
    bth = struct.pack(">BBHII", 0x07, 0x40, 0xFFFF, 0x000011, psn & 0xFFFFFF)  # opcode, flags, pkey, dest QP, PSN
    udp_len = 8 + len(bth) + payload_len + 4  # + ICRC
    udp = struct.pack(">HHHH", 49152 + (psn & 0x3FFF), 4791, udp_len, 0) + bth + bytes(payload_len) + b"\0" * 4
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 26 << 2 | 0x2, 20 + len(udp), psn & 0xFFFF, 0x4000, 64, 17, 0,
                     ipaddress.ip_address(src_ip).packed, ipaddress.ip_address(dst_ip).packed)
    ip = ip[:10] + struct.pack(">H", _ipv4_checksum(ip)) + ip[12:]
    return ethernet_frame(dst, src, ETH_IPV4, ip + udp, pad_to=pad_to)


def arp_request(src: str | int | bytes, src_ip: str, target_ip: str, pad_to: int = MIN_FRAME) -> bytes:
    """A broadcast ARP who-has."""
    body = struct.pack(">HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, mac_bytes(src), ipaddress.ip_address(src_ip).packed,
                       bytes(6), ipaddress.ip_address(target_ip).packed)
    return ethernet_frame(BROADCAST, src, ETH_ARP, body, pad_to=pad_to)
