"""Frame bytes as real devices send them: Ethernet (PFC, PAUSE, LLDP, RoCEv2 data, ARP) and
rtnetlink RTM_NEWLINK messages in nlmon framing. Used by the simulator (simulate.py);
pure functions of their arguments, standard library only.

The LLDPDU layout follows lldpd (chassis, port, TTL, port description, system name and
description, capabilities, management address, 802.1 PFC configuration, 802.3 MAC/PHY and
maximum frame size); the RTM_NEWLINK attribute order follows the kernel's rtnl_fill_ifinfo
as a real nlmon capture shows it (captures/lab-netlink.pcap), without the nested AF_SPEC.
"""

from __future__ import annotations

import ipaddress
import struct

from flapwatch.sources.nlrecord import cooked_header

ETH_MAC_CONTROL = 0x8808
ETH_LLDP = 0x88CC
ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
TPID_8021Q = 0x8100
MAC_CONTROL_DST = bytes.fromhex("0180c2000001")
LLDP_DST = bytes.fromhex("0180c200000e")
BROADCAST = b"\xff" * 6

# rtnetlink
RTM_NEWLINK = 16
NLMSG_DONE = 3
NLM_F_MULTI = 0x2
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_PROMISC, IFF_MULTICAST, IFF_LOWER_UP = (
    0x1, 0x2, 0x8, 0x40, 0x100, 0x1000, 0x10000)
OPER_DOWN, OPER_UP, OPER_UNKNOWN = 2, 6, 0

# LLDP system capabilities bits
CAP_BRIDGE, CAP_ROUTER, CAP_STATION = 0x0004, 0x0010, 0x0080


def mac_bytes(mac: str | int | bytes) -> bytes:
    if isinstance(mac, bytes):
        return mac
    if isinstance(mac, int):
        return mac.to_bytes(6, "big")
    return bytes.fromhex(mac.replace(":", ""))


def mac_text(mac: str | int | bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac_bytes(mac))


# ----------------------------------------------------------------------------- Ethernet


def ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes, vlan: int | None = None, pcp: int = 0,
             pad_to: int = 60) -> bytes:
    """Ethernet II, optionally 802.1Q-tagged, zero-padded to the 60-byte minimum (no FCS)."""
    head = dst + src
    if vlan is not None:
        head += struct.pack(">HH", TPID_8021Q, (pcp << 13) | (vlan & 0xFFF))
    frame = head + struct.pack(">H", ethertype) + payload
    return frame + b"\0" * max(0, pad_to - len(frame))


def pfc_frame(src: bytes, class_enable: int, quanta: tuple[int, ...] | list[int], vlan: int | None = None,
              pcp: int = 0) -> bytes:
    """802.1Qbb PFC: opcode 0x0101, class-enable vector, eight 16-bit quanta."""
    body = struct.pack(">HH8H", 0x0101, class_enable, *quanta)
    return ethernet(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, body, vlan, pcp)


def pause_frame(src: bytes, quanta: int, vlan: int | None = None) -> bytes:
    """802.3x PAUSE: opcode 0x0001 and one pause time."""
    return ethernet(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, struct.pack(">HH", 0x0001, quanta), vlan)


def _ipv4_checksum(header: bytes) -> int:
    s = sum(struct.unpack(f">{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def roce_frame(src: bytes, dst: bytes, src_ip: str, dst_ip: str, psn: int, payload_len: int = 64) -> bytes:
    """A RoCEv2 data frame: IPv4/UDP to port 4791 with a BTH (RDMA WRITE middle) and zero payload."""
    bth = struct.pack(">BBHII", 0x07, 0x40, 0xFFFF, 0x000011, psn & 0xFFFFFF)  # opcode, flags, pkey, dest QP, PSN
    udp_len = 8 + len(bth) + payload_len + 4  # + ICRC
    udp = struct.pack(">HHHH", 49152 + (psn & 0x3FFF), 4791, udp_len, 0) + bth + bytes(payload_len) + b"\0" * 4
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 26 << 2 | 0x2, 20 + len(udp), psn & 0xFFFF, 0x4000, 64, 17, 0,
                     ipaddress.ip_address(src_ip).packed, ipaddress.ip_address(dst_ip).packed)
    ip = ip[:10] + struct.pack(">H", _ipv4_checksum(ip)) + ip[12:]
    return ethernet(dst, src, ETH_IPV4, ip + udp)


def arp_request(src: bytes, src_ip: str, target_ip: str) -> bytes:
    body = struct.pack(">HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, src, ipaddress.ip_address(src_ip).packed, bytes(6),
                       ipaddress.ip_address(target_ip).packed)
    return ethernet(BROADCAST, src, ETH_ARP, body)


# --------------------------------------------------------------------------------- LLDP


def _tlv(tlv_type: int, value: bytes) -> bytes:
    return struct.pack(">H", (tlv_type << 9) | len(value)) + value


def _org(oui: int, subtype: int, body: bytes) -> bytes:
    return _tlv(127, oui.to_bytes(3, "big") + bytes([subtype]) + body)


def lldp_frame(src: bytes, *, chassis_mac: bytes, port_id: str, ttl: int, port_desc: str = "", system_name: str = "",
               system_desc: str = "", caps: tuple[int, int] = (CAP_BRIDGE | CAP_ROUTER, CAP_ROUTER),
               mgmt_ip: str | None = None, ifindex: int = 0, pfc: tuple[int, int, int, int] | None = None,
               mau_type: int | None = None, max_frame: int | None = None) -> bytes:
    """An LLDPDU as lldpd sends it. Chassis ID subtype 4 (MAC), Port ID subtype 5 (interface
    name). ``pfc`` = (willing, mbc, cap, enable bitmap). ``ttl`` 0 is a shutdown LLDPDU, which
    carries only the mandatory TLVs."""
    tlvs = [_tlv(1, b"\x04" + chassis_mac), _tlv(2, b"\x05" + port_id.encode()), _tlv(3, struct.pack(">H", ttl))]
    if ttl:
        if port_desc:
            tlvs.append(_tlv(4, port_desc.encode()))
        if system_name:
            tlvs.append(_tlv(5, system_name.encode()))
        if system_desc:
            tlvs.append(_tlv(6, system_desc.encode()))
        tlvs.append(_tlv(7, struct.pack(">HH", *caps)))
        if mgmt_ip:
            raw = ipaddress.ip_address(mgmt_ip).packed
            family = 1 if len(raw) == 4 else 2
            tlvs.append(_tlv(8, bytes([len(raw) + 1, family]) + raw + struct.pack(">BIB", 2, ifindex, 0)))
        if pfc is not None:
            willing, mbc, cap, enable = pfc
            tlvs.append(_org(0x0080C2, 0x0B, bytes([(willing & 1) << 7 | (mbc & 1) << 6 | (cap & 0x0F), enable])))
        if mau_type is not None:
            tlvs.append(_org(0x00120F, 0x01, struct.pack(">BHH", 0x03, 0x6C00, mau_type)))
        if max_frame is not None:
            tlvs.append(_org(0x00120F, 0x04, struct.pack(">H", max_frame)))
    tlvs.append(_tlv(0, b""))
    return ethernet(LLDP_DST, src, ETH_LLDP, b"".join(tlvs))


# ------------------------------------------------------------------------------ netlink


def nlmon_frame(payload: bytes) -> bytes:
    """nlmon's 16-byte cooked header (LINKTYPE_NETLINK), then the netlink messages."""
    return cooked_header() + payload


def _rta(attr_type: int, data: bytes) -> bytes:
    a = struct.pack("<HH", 4 + len(data), attr_type) + data
    return a + b"\0" * (-len(a) % 4)


def _nlmsg(msg_type: int, payload: bytes, flags: int = 0, seq: int = 0, pid: int = 0) -> bytes:
    m = struct.pack("<IHHII", 16 + len(payload), msg_type, flags, seq, pid) + payload
    return m + b"\0" * (-len(m) % 4)


def newlink_msg(*, ifindex: int, ifname: str, mac: bytes, up: bool, admin_up: bool = True, changes: int,
                up_count: int, down_count: int, mtu: int = 9100, loopback: bool = False, stats: tuple[int, ...] = (),
                change: int = 0, promisc: bool = False, flags: int = 0, seq: int = 0, pid: int = 0) -> bytes:
    """RTM_NEWLINK in little-endian host order, attributes in the kernel's order. ``up`` is the
    carrier; ``stats`` up to 24 u64 counters of rtnl_link_stats64 (rx/tx packets, bytes, ...);
    ``promisc``: a capture holds the port in promiscuous mode."""
    if loopback:
        ifi_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
        operstate, itype = OPER_UNKNOWN, ARPHRD_LOOPBACK
    else:
        ifi_flags = IFF_BROADCAST | IFF_MULTICAST
        if admin_up:
            ifi_flags |= IFF_UP | (IFF_RUNNING | IFF_LOWER_UP if up else 0)
        operstate, itype = (OPER_UP if up and admin_up else OPER_DOWN), ARPHRD_ETHER
        if promisc:
            ifi_flags |= IFF_PROMISC
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    attrs = [
        _rta(3, ifname.encode() + b"\0"),  # IFLA_IFNAME
        _rta(13, u32(1000)),  # IFLA_TXQLEN
        _rta(16, bytes([operstate])),  # IFLA_OPERSTATE
        _rta(17, b"\0"),  # IFLA_LINKMODE
        _rta(4, u32(mtu)),  # IFLA_MTU
        _rta(50, u32(68)),  # IFLA_MIN_MTU
        _rta(51, u32(9216)),  # IFLA_MAX_MTU
        _rta(27, u32(0)),  # IFLA_GROUP
        _rta(30, u32(1 if promisc else 0)),  # IFLA_PROMISCUITY
        _rta(31, u32(64)),  # IFLA_NUM_TX_QUEUES
        _rta(40, u32(65535)),  # IFLA_GSO_MAX_SEGS
        _rta(41, u32(65536)),  # IFLA_GSO_MAX_SIZE
        _rta(32, u32(64)),  # IFLA_NUM_RX_QUEUES
        _rta(33, bytes([1 if up else 0])),  # IFLA_CARRIER
        _rta(35, u32(changes)),  # IFLA_CARRIER_CHANGES
        _rta(39, b"\0"),  # IFLA_PROTO_DOWN
        _rta(47, u32(up_count)),  # IFLA_CARRIER_UP_COUNT
        _rta(48, u32(down_count)),  # IFLA_CARRIER_DOWN_COUNT
        _rta(1, mac),  # IFLA_ADDRESS
        _rta(2, bytes(6) if loopback else BROADCAST),  # IFLA_BROADCAST
        _rta(23, struct.pack("<24Q", *(tuple(stats) + (0,) * (24 - len(stats)))[:24])),  # IFLA_STATS64
        _rta(6, b"noqueue\0" if loopback else b"mq\0"),  # IFLA_QDISC
    ]
    body = struct.pack("<BBHiII", 0, 0, itype, ifindex, ifi_flags, change) + b"".join(attrs)
    return _nlmsg(RTM_NEWLINK, body, flags, seq, pid)


def done_msg(seq: int, pid: int) -> bytes:
    """NLMSG_DONE ending a dump: 4 bytes of error code 0."""
    return _nlmsg(NLMSG_DONE, b"\0\0\0\0", NLM_F_MULTI, seq, pid)
