"""DECODE_RULES.md in struct: bytes of one frame -> count kind + rows (the dpkt backend).

dpkt parses the fixed cooked headers (SLL, SLL2); the rest is struct because dpkt's
own decoders differ from the rules: dpkt.ethernet.Ethernet follows at most two tags
and only while the inner one is 0x8100 (and also takes 0x9200, ISL, MPLS, 802.3
length frames), dpkt.sll/sll2 do not follow tags at all, and dpkt has no MAC control,
LLDP or netlink decoder.

Malformed positions (DECODE_RULES only says "where decoding failed"): the start of the
structure that could not be decoded: the MAC control payload when the opcode is
missing, else the fields after the opcode; the offending LLDP TLV header (the End TLV
or the frame end when the mandatory TLVs are missing); the netlink message; the rtattr.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import dpkt

from flapwatch.tables import schema
from .common import address_text, bytes_as_text, int8, link_port, lldp_id_text, mac_to_int

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_NETLINK = 253
LINKTYPE_LINUX_SLL2 = 276

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
ETH_MAC_CONTROL = 0x8808
ETH_LLDP = 0x88CC


@dataclass
class Decoded:
    kind: str  # one of schema.COUNT_KINDS
    rows: list[tuple[str, dict]] = field(default_factory=list)  # (table, fields) without ts/frame
    bad_pos: int = -1  # malformed: position in the frame
    reason: str = ""


class _Malformed(Exception):
    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos, self.reason = pos, reason


class _SLLHeader(dpkt.sll.SLL):
    """dpkt's SLL header fields without its payload decode (we only need the header)."""

    def unpack(self, buf):
        dpkt.Packet.unpack(self, buf)


class _SLL2Header(dpkt.sll2.SLL2):
    def unpack(self, buf):
        dpkt.Packet.unpack(self, buf)


def decode_frame(linktype: int, data: bytes) -> Decoded:
    try:
        if linktype == LINKTYPE_NETLINK:
            return _netlink(data)
        l2 = _l2(linktype, data)
        if l2 is None:
            return Decoded("other")
        ethertype, off, src_mac, vlan = l2
        if ethertype == ETH_MAC_CONTROL:
            return _mac_control(data, off, src_mac, vlan)
        if ethertype == ETH_LLDP:
            return Decoded("lldp", [("lldp", _lldp(data, off, src_mac))])
        return Decoded("other")
    except _Malformed as bad:
        return Decoded("malformed", bad_pos=bad.pos, reason=bad.reason)


# --------------------------------------------------------------------------- L2


def _l2(linktype: int, data: bytes) -> tuple[int, int, int, int] | None:
    """(ethertype after tags, payload offset, src_mac, outermost vid) or None when the
    link type is not decoded or the frame is too short for its L2 header."""
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        ethertype, off, src_mac = struct.unpack_from(">H", data, 12)[0], 14, mac_to_int(data[6:12])
    elif linktype in (LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2):
        cls, size = (_SLLHeader, 16) if linktype == LINKTYPE_LINUX_SLL else (_SLL2Header, 20)
        if len(data) < size:
            return None
        hdr = cls(data[:size])
        ethertype, off = hdr.ethtype, size
        src_mac = mac_to_int(hdr.hdr) if hdr.hlen == 6 else 0
    else:
        return None
    vlan = -1
    while ethertype in VLAN_TPIDS:
        if len(data) < off + 4:
            return None
        tci, ethertype = struct.unpack_from(">HH", data, off)
        if vlan == -1:
            vlan = tci & 0x0FFF
        off += 4
    return ethertype, off, src_mac, vlan


# -------------------------------------------------------------------- MAC control


def _mac_control(data: bytes, off: int, src_mac: int, vlan: int) -> Decoded:
    payload = data[off:]
    if len(payload) < 2:
        raise _Malformed(off, "MAC control: no opcode")
    opcode = struct.unpack_from(">H", payload)[0]
    base = {"src_mac": src_mac, "vlan": vlan}
    if opcode == 0x0001:
        if len(payload) < 4:
            raise _Malformed(off + 2, "PAUSE: no pause time after the opcode")
        return Decoded("pause", [("pause", {**base, "quanta": struct.unpack_from(">H", payload, 2)[0]})])
    if opcode == 0x0101:
        if len(payload) < 20:
            raise _Malformed(off + 2, "PFC: class-enable vector and 8 quanta do not fit")
        enable, *quanta = struct.unpack_from(">H8H", payload, 2)
        row = {**base, "class_enable": enable & 0xFF}
        row.update({f"quanta_{i}": q for i, q in enumerate(quanta)})
        return Decoded("pfc", [("pfc", row)])
    return Decoded("other")


# --------------------------------------------------------------------------- LLDP

OUI_8021 = b"\x00\x80\xc2"
OUI_8023 = b"\x00\x12\x0f"
_MANDATORY = (1, 2, 3)


def _lldp(data: bytes, off: int, src_mac: int) -> dict:
    row: dict = {"src_mac": src_mac, "speed_bps": 0}
    end = len(data)
    pos = off
    index = 0
    while pos + 2 <= end:  # a single trailing byte is padding, as in the C++ core
        header = struct.unpack_from(">H", data, pos)[0]
        tlv_type, length = header >> 9, header & 0x1FF
        if pos + 2 + length > end:
            raise _Malformed(pos, f"LLDP: TLV {tlv_type} runs past the end")
        value = data[pos + 2 : pos + 2 + length]
        if index < 3 and tlv_type != _MANDATORY[index]:
            raise _Malformed(pos, f"LLDP: TLV {index + 1} has type {tlv_type}, expected {_MANDATORY[index]}")
        if tlv_type == 0:
            break
        if index == 0 or index == 1:
            if length < 2:
                raise _Malformed(pos, f"LLDP: {'chassis' if index == 0 else 'port'} id length {length}")
            if index == 0:
                row["chassis_subtype"] = value[0]
                row["chassis_id"] = lldp_id_text(value[0], value[1:], mac_subtype=4, addr_subtype=5)
            else:
                row["port_subtype"] = value[0]
                row["port_id"] = lldp_id_text(value[0], value[1:], mac_subtype=3, addr_subtype=4)
        elif index == 2:
            if length < 2:
                raise _Malformed(pos, f"LLDP: TTL length {length}")
            row["ttl"] = struct.unpack_from(">H", value)[0]
        else:
            _optional_tlv(row, tlv_type, value)
        pos += 2 + length
        index += 1
    if index < 3:
        raise _Malformed(pos, "LLDP: ends before chassis id, port id and TTL")
    return row


def _set_once(row: dict, **values) -> None:
    """First valid occurrence wins (a later TLV of the same kind is ignored)."""
    key = next(iter(values))
    if key not in row:
        row.update(values)


def _optional_tlv(row: dict, tlv_type: int, value: bytes) -> None:
    n = len(value)
    if tlv_type == 4:
        _set_once(row, port_desc=bytes_as_text(value))
    elif tlv_type == 5:
        _set_once(row, system_name=bytes_as_text(value))
    elif tlv_type == 6:
        _set_once(row, system_desc=bytes_as_text(value))
    elif tlv_type == 7 and n >= 4:
        supported, enabled = struct.unpack_from(">HH", value)
        _set_once(row, caps_supported=supported, caps_enabled=enabled)
    elif tlv_type == 8 and n >= 1:
        addr_len = value[0]
        if addr_len >= 2 and 1 + addr_len <= n:
            _set_once(row, mgmt_addr=address_text(value[1], value[2 : 1 + addr_len]))
    elif tlv_type == 127 and n >= 4:
        oui, subtype = value[:3], value[3]
        if oui == OUI_8021 and subtype == 0x01 and n == 6:
            _set_once(row, port_vlan=struct.unpack_from(">H", value, 4)[0])
        elif oui == OUI_8021 and subtype == 0x0B and n == 6:
            flags = value[4]
            _set_once(row, pfc_willing=flags >> 7 & 1, pfc_mbc=flags >> 6 & 1, pfc_cap=flags & 0x0F, pfc_enable=value[5])
        elif oui == OUI_8023 and subtype == 0x01 and n == 9:
            mau = struct.unpack_from(">H", value, 7)[0]
            _set_once(row, mau_type=mau, speed_bps=schema.mau_speed_bps(mau))
        elif oui == OUI_8023 and subtype == 0x04 and n == 6:
            _set_once(row, max_frame_size=struct.unpack_from(">H", value, 4)[0])


# ------------------------------------------------------------------------ netlink

NETLINK_COOKED_LEN = 16
IFLA_ADDRESS = 1
NLM_F_MULTI = 0x2
IFLA_IFNAME = 3
_U8_ATTRS = {16: "operstate", 33: "carrier"}  # IFLA_OPERSTATE, IFLA_CARRIER
_U32_ATTRS = {35: "carrier_changes", 47: "carrier_up_count", 48: "carrier_down_count"}


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _guess_byte_order(data: bytes, start: int) -> str:
    left = len(data) - start
    if left >= 4:
        for e in ("<", ">"):
            if 16 <= struct.unpack_from(e + "I", data, start)[0] <= left:
                return e
    raise _Malformed(start, "netlink: no byte order gives a valid first nlmsg_len")


def _netlink(data: bytes) -> Decoded:
    if len(data) < NETLINK_COOKED_LEN:
        return Decoded("other")
    if struct.unpack_from(">H", data, 14)[0] != 0:  # only NETLINK_ROUTE
        return Decoded("other")
    start = NETLINK_COOKED_LEN
    e = _guess_byte_order(data, start)  # no message at all: malformed (no nlmsg_len)
    rows = []
    pos = start
    while pos + 16 <= len(data):  # fewer trailing bytes than a header: padding
        length, msg_type = struct.unpack_from(e + "IH", data, pos)
        if length < 16 or pos + length > len(data):
            raise _Malformed(pos, f"netlink: nlmsg_len {length}")
        if msg_type in (schema.RTM_NEWLINK, schema.RTM_DELLINK):
            rows.append(("link", _link_message(data, pos, length, msg_type, e)))
        pos += _align4(length)
    return Decoded("link", rows) if rows else Decoded("other")


def _link_message(data: bytes, pos: int, length: int, msg_type: int, e: str) -> dict:
    if length < 32:
        raise _Malformed(pos, "netlink: link message shorter than nlmsghdr + ifinfomsg")
    nl_flags, _seq, pid = struct.unpack_from(e + "HII", data, pos + 6)
    dev_type, ifindex, flags, change = struct.unpack_from(e + "HiII", data, pos + 18)
    # A dump reply (NLM_F_MULTI, the requester's port id) or a notification (neither).
    dump = int(bool(nl_flags & NLM_F_MULTI) and pid != 0)
    row = {"msg_type": msg_type, "ifindex": ifindex, "flags": flags, "mac": 0, "dev_type": dev_type,
           "change": change, "dump": dump}
    ifname = None
    end = pos + length
    a = pos + 32
    # a repeated attribute overwrites (the rules leave it open; the C++ core does so)
    while a + 4 <= end:  # fewer trailing bytes than an rtattr header: padding
        alen, atype = struct.unpack_from(e + "HH", data, a)
        if alen < 4 or a + alen > end:
            raise _Malformed(a, f"netlink: rtattr length {alen}")
        atype &= 0x3FFF
        value = data[a + 4 : a + alen]
        if atype == IFLA_IFNAME:
            ifname = bytes_as_text(value.split(b"\0", 1)[0])
        elif atype == IFLA_ADDRESS:
            if len(value) == 6:  # other lengths (tunnels, infiniband): mac stays 0
                row["mac"] = mac_to_int(value)
        elif atype in _U8_ATTRS:
            if not value:
                raise _Malformed(a, f"netlink: attribute {atype} empty")
            row[_U8_ATTRS[atype]] = int8(value[0])
        elif atype in _U32_ATTRS:
            if len(value) < 4:
                raise _Malformed(a, f"netlink: attribute {atype} shorter than 4 bytes")
            row[_U32_ATTRS[atype]] = struct.unpack_from(e + "I", value)[0]
        a += _align4(alen)
    row["port"] = link_port(ifname, ifindex)
    return row
