"""rtnetlink link messages in nlmon framing (mirrors cpp/include/flapwatch/decode/netlink.hpp):
nlmsg, rtattr, ifinfomsg; ``link_msg`` (the attributes flapwatch reads, in either host byte
order), ``newlink_msg`` (RTM_NEWLINK as the kernel fills it), ``done_msg`` (the end of a dump);
``nlmon_frame``: nlmon's cooked header, then the messages.

``newlink_msg`` follows the kernel's rtnl_fill_ifinfo attribute order as a real nlmon capture
shows it (captures/lab-netlink.pcap), without the nested AF_SPEC. The cooked header comes
from sources/nlrecord.py, the recorder that writes it (stdlib-only, so it imports nothing
from here).
"""

from __future__ import annotations

import struct

from flapwatch.sources.nlrecord import LINKTYPE_NETLINK, NETLINK_ROUTE, PACKET_OUTGOING, cooked_header
from flapwatch.wire.ethernet import BROADCAST, mac_bytes

NETLINK_GENERIC = 16
NLMSG_DONE = 3
NLM_F_MULTI = 0x2
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20

IFLA_ADDRESS = 1
IFLA_BROADCAST = 2
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_QDISC = 6
IFLA_TXQLEN = 13
IFLA_OPERSTATE = 16
IFLA_LINKMODE = 17
IFLA_STATS64 = 23
IFLA_GROUP = 27
IFLA_PROMISCUITY = 30
IFLA_NUM_TX_QUEUES = 31
IFLA_NUM_RX_QUEUES = 32
IFLA_CARRIER = 33
IFLA_CARRIER_CHANGES = 35
IFLA_PROTO_DOWN = 39
IFLA_GSO_MAX_SEGS = 40
IFLA_GSO_MAX_SIZE = 41
IFLA_CARRIER_UP_COUNT = 47
IFLA_CARRIER_DOWN_COUNT = 48
IFLA_MIN_MTU = 50
IFLA_MAX_MTU = 51

ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_PROMISC, IFF_MULTICAST, IFF_LOWER_UP = (
    0x1, 0x2, 0x8, 0x40, 0x100, 0x1000, 0x10000)
OPER_UNKNOWN, OPER_DOWN, OPER_UP = 0, 2, 6


def _align4(n: int) -> int:
    return (n + 3) & ~3


def nlmon_frame(payload: bytes, family: int = NETLINK_ROUTE, pkttype: int = PACKET_OUTGOING) -> bytes:
    """nlmon's 16-byte cooked header (LINKTYPE_NETLINK, always big-endian), then the messages."""
    return cooked_header(family, pkttype) + payload


def nlmsg(msg_type: int, payload: bytes, *, big_endian: bool = False, flags: int = 0, seq: int = 0, pid: int = 0,
          length: int | None = None) -> bytes:
    """One netlink message, padded to 4; ``length`` overrides nlmsg_len."""
    e = ">" if big_endian else "<"
    n = 16 + len(payload) if length is None else length
    msg = struct.pack(e + "IHHII", n, msg_type, flags, seq, pid) + payload
    return msg + b"\0" * (_align4(len(msg)) - len(msg))


def rtattr(attr_type: int, data: bytes, *, big_endian: bool = False, length: int | None = None) -> bytes:
    """One attribute, padded to 4; ``length`` overrides rta_len."""
    e = ">" if big_endian else "<"
    n = 4 + len(data) if length is None else length
    attr = struct.pack(e + "HH", n, attr_type) + data
    return attr + b"\0" * (_align4(len(attr)) - len(attr))


def ifinfomsg(index: int, flags: int, *, change: int = 0, family: int = 0, ifi_type: int = ARPHRD_ETHER,
              big_endian: bool = False) -> bytes:
    e = ">" if big_endian else "<"
    return struct.pack(e + "BBHiII", family, 0, ifi_type, index, flags, change)


def link_msg(
    index: int,
    flags: int,
    *,
    ifname: str | None = None,
    address: str | bytes | None = None,
    operstate: int | None = None,
    carrier: int | None = None,
    carrier_changes: int | None = None,
    carrier_up_count: int | None = None,
    carrier_down_count: int | None = None,
    mtu: int | None = 1500,
    msg_type: int = RTM_NEWLINK,
    big_endian: bool = False,
    seq: int = 0,
    dump: bool = False,
    change: int = 0,
    ifi_type: int = ARPHRD_ETHER,
) -> bytes:
    """An RTM_NEWLINK/RTM_DELLINK message with the attributes flapwatch reads (plus
    IFLA_MTU, which it must skip); None leaves an attribute out. A notification unless
    ``dump``: then a reply to an RTM_GETLINK dump (NLM_F_MULTI, a requester's seq and
    port id), which a port's first message is a baseline as."""
    e = {"big_endian": big_endian}
    u32 = ">I" if big_endian else "<I"
    attrs = b""
    if ifname is not None:
        attrs += rtattr(IFLA_IFNAME, ifname.encode() + b"\0", **e)
    if address is not None:  # a MAC string, or raw bytes of any length
        attrs += rtattr(IFLA_ADDRESS, address if isinstance(address, bytes) else mac_bytes(address), **e)
    if mtu is not None:
        attrs += rtattr(IFLA_MTU, struct.pack(u32, mtu), **e)
    if operstate is not None:
        attrs += rtattr(IFLA_OPERSTATE, bytes([operstate]), **e)
    if carrier is not None:
        attrs += rtattr(IFLA_CARRIER, bytes([carrier]), **e)
    for code, value in (
        (IFLA_CARRIER_CHANGES, carrier_changes),
        (IFLA_CARRIER_UP_COUNT, carrier_up_count),
        (IFLA_CARRIER_DOWN_COUNT, carrier_down_count),
    ):
        if value is not None:
            attrs += rtattr(code, struct.pack(u32, value), **e)
    header = {"flags": NLM_F_MULTI, "seq": seq or 1, "pid": 4242} if dump else {"seq": seq}
    body = ifinfomsg(index, flags, change=change, ifi_type=ifi_type, big_endian=big_endian) + attrs
    return nlmsg(msg_type, body, big_endian=big_endian, **header)


def newlink_msg(*, ifindex: int, ifname: str, mac: bytes, up: bool, admin_up: bool = True, changes: int,
                up_count: int, down_count: int, mtu: int = 9100, loopback: bool = False, stats: tuple[int, ...] = (),
                change: int = 0, promisc: bool = False, flags: int = 0, seq: int = 0, pid: int = 0) -> bytes:
    """RTM_NEWLINK as the kernel sends it: little-endian host order, every attribute
    rtnl_fill_ifinfo writes, in its order. ``up`` is the carrier; ``stats`` up to 24 u64
    counters of rtnl_link_stats64 (rx/tx packets, bytes, ...); ``promisc``: a capture holds
    the port in promiscuous mode."""
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
        rtattr(IFLA_IFNAME, ifname.encode() + b"\0"),
        rtattr(IFLA_TXQLEN, u32(1000)),
        rtattr(IFLA_OPERSTATE, bytes([operstate])),
        rtattr(IFLA_LINKMODE, b"\0"),
        rtattr(IFLA_MTU, u32(mtu)),
        rtattr(IFLA_MIN_MTU, u32(68)),
        rtattr(IFLA_MAX_MTU, u32(9216)),
        rtattr(IFLA_GROUP, u32(0)),
        rtattr(IFLA_PROMISCUITY, u32(1 if promisc else 0)),
        rtattr(IFLA_NUM_TX_QUEUES, u32(64)),
        rtattr(IFLA_GSO_MAX_SEGS, u32(65535)),
        rtattr(IFLA_GSO_MAX_SIZE, u32(65536)),
        rtattr(IFLA_NUM_RX_QUEUES, u32(64)),
        rtattr(IFLA_CARRIER, bytes([1 if up else 0])),
        rtattr(IFLA_CARRIER_CHANGES, u32(changes)),
        rtattr(IFLA_PROTO_DOWN, b"\0"),
        rtattr(IFLA_CARRIER_UP_COUNT, u32(up_count)),
        rtattr(IFLA_CARRIER_DOWN_COUNT, u32(down_count)),
        rtattr(IFLA_ADDRESS, mac),
        rtattr(IFLA_BROADCAST, bytes(6) if loopback else BROADCAST),
        rtattr(IFLA_STATS64, struct.pack("<24Q", *(tuple(stats) + (0,) * (24 - len(stats)))[:24])),
        rtattr(IFLA_QDISC, b"noqueue\0" if loopback else b"mq\0"),
    ]
    body = ifinfomsg(ifindex, ifi_flags, change=change, ifi_type=itype) + b"".join(attrs)
    return nlmsg(RTM_NEWLINK, body, flags=flags, seq=seq, pid=pid)


def done_msg(seq: int = 0, pid: int = 0, *, flags: int = NLM_F_MULTI, big_endian: bool = False) -> bytes:
    """NLMSG_DONE ending a dump: 4 bytes of error code 0."""
    return nlmsg(NLMSG_DONE, b"\0\0\0\0", flags=flags, seq=seq, pid=pid, big_endian=big_endian)
