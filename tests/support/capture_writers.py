"""Tiny writers of real-format capture bytes for tests and benchmarks.

Everything here produces the exact on-disk bytes (pcap, pcapng, frames) so tests can
state the expected decode next to the input, including the awkward cases real files
have: ns magic, big-endian files, several pcapng sections, per-interface if_tsresol
and if_tsoffset, Simple Packet Blocks, unknown blocks, stacked VLAN tags, SLL/SLL2,
netlink in either host byte order. No dependency beyond the standard library.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

# Link types (LINKTYPE_*), ethertypes and well-known addresses.
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_NETLINK = 253
LINKTYPE_LINUX_SLL2 = 276

ETH_MAC_CONTROL = 0x8808
ETH_LLDP = 0x88CC
ETH_IPV4 = 0x0800
TPID_8021Q = 0x8100
TPID_8021AD = 0x88A8
TPID_QINQ_OLD = 0x9100

MAC_CONTROL_DST = "01:80:c2:00:00:01"
LLDP_DST = "01:80:c2:00:00:0e"

NETLINK_ROUTE = 0
NETLINK_GENERIC = 16
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
NLMSG_DONE = 3
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_OPERSTATE = 16
IFLA_CARRIER = 33
IFLA_CARRIER_CHANGES = 35
IFLA_CARRIER_UP_COUNT = 47
IFLA_CARRIER_DOWN_COUNT = 48
IFLA_MTU = 4


def mac_bytes(mac: str | int | bytes) -> bytes:
    """'aa:bb:..' / 0xaabb.. / 6 raw bytes -> 6 bytes."""
    if isinstance(mac, bytes):
        assert len(mac) == 6
        return mac
    if isinstance(mac, int):
        return mac.to_bytes(6, "big")
    return bytes(int(part, 16) for part in mac.split(":"))


def mac_int(mac: str | int | bytes) -> int:
    return int.from_bytes(mac_bytes(mac), "big")


# --------------------------------------------------------------------------- pcap


@dataclass
class Record:
    """One pcap record. ``caplen`` overrides the header field (to write lying or
    truncated records); by default it is len(data). ``origlen`` defaults to caplen."""

    ts_ns: int
    data: bytes
    origlen: int | None = None
    caplen: int | None = None


def pcap_bytes(
    records: list[Record] | list[tuple[int, bytes]],
    *,
    linktype: int = LINKTYPE_ETHERNET,
    nano: bool = False,
    big_endian: bool = False,
    snaplen: int = 262144,
) -> bytes:
    """A whole pcap file. With µs magic the timestamp is floored to the microsecond."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for rec in records:
        if not isinstance(rec, Record):
            rec = Record(*rec)
        sec, rem = divmod(rec.ts_ns, 1_000_000_000)
        frac = rem if nano else rem // 1000
        caplen = len(rec.data) if rec.caplen is None else rec.caplen
        origlen = caplen if rec.origlen is None else rec.origlen
        out += struct.pack(e + "IIII", sec, frac, caplen, origlen)
        out += rec.data
    return bytes(out)


def pcap_ts_ns(ts_ns: int, nano: bool) -> int:
    """What a reader must report for ``ts_ns`` written by pcap_bytes."""
    return ts_ns if nano else ts_ns // 1000 * 1000


# ------------------------------------------------------------------------- pcapng


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


class PcapngWriter:
    """Build a pcapng file block by block.

    ``section()`` starts a section (SHB) in either byte order; ``interface()`` adds an
    IDB to the current section and returns its section-local id; ``packet()`` writes an
    EPB whose timestamp is given in the interface's own units (see ``units_for``).
    """

    def __init__(self) -> None:
        self._out = bytearray()
        self._e = "<"
        self._ifaces: list[tuple[int | None, int]] = []  # per section: (tsresol, tsoffset)

    # -- blocks
    def _block(self, btype: int, body: bytes) -> None:
        body = _pad4(body)
        total = len(body) + 12
        self._out += struct.pack(self._e + "II", btype, total) + body + struct.pack(self._e + "I", total)

    def _options(self, opts: list[tuple[int, bytes]]) -> bytes:
        if not opts:
            return b""
        out = bytearray()
        for code, value in opts:
            out += struct.pack(self._e + "HH", code, len(value)) + _pad4(value)
        out += struct.pack(self._e + "HH", 0, 0)  # opt_endofopt
        return bytes(out)

    def section(self, big_endian: bool = False, section_length: int = -1, options: list | None = None) -> "PcapngWriter":
        self._e = ">" if big_endian else "<"
        self._ifaces = []
        body = struct.pack(self._e + "IHHq", 0x1A2B3C4D, 1, 0, section_length)
        self._block(0x0A0D0D0A, body + self._options(options or [(4, b"capture_writers")]))
        return self

    def interface(
        self,
        linktype: int = LINKTYPE_ETHERNET,
        name: str | None = None,
        tsresol: int | None = None,
        tsoffset: int | None = None,
        snaplen: int = 0,
        description: str | None = None,
    ) -> int:
        """``tsresol`` is the raw option byte: n -> 10^-n s, 0x80|n -> 2^-n s; None omits
        it (µs). ``tsoffset`` is in seconds (signed 64-bit), None omits it."""
        opts: list[tuple[int, bytes]] = []
        if name is not None:
            opts.append((2, name.encode()))
        if description is not None:
            opts.append((3, description.encode()))
        if tsresol is not None:
            opts.append((9, bytes([tsresol])))
        if tsoffset is not None:
            opts.append((14, struct.pack(self._e + "q", tsoffset)))
        self._block(1, struct.pack(self._e + "HHI", linktype, 0, snaplen) + self._options(opts))
        self._ifaces.append((tsresol, tsoffset or 0))
        return len(self._ifaces) - 1

    def packet(self, iface: int, units: int, data: bytes, origlen: int | None = None, flags: int | None = None) -> None:
        """Enhanced Packet Block; ``units`` is the raw 64-bit timestamp."""
        body = struct.pack(
            self._e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data),
            len(data) if origlen is None else origlen,
        ) + _pad4(data)
        opts = [(2, struct.pack(self._e + "I", flags))] if flags is not None else []
        self._block(6, body + self._options(opts))

    def packet_at(self, iface: int, ts_ns: int, data: bytes, origlen: int | None = None) -> int:
        """EPB at (about) ``ts_ns``; returns the exact ns a reader must report."""
        tsresol, tsoffset = self._ifaces[iface]
        units = units_for(ts_ns, tsresol, tsoffset)
        self.packet(iface, units, data, origlen)
        return ts_from_units(units, tsresol, tsoffset)

    def simple_packet(self, data: bytes, origlen: int | None = None) -> None:
        """Simple Packet Block: no interface id (always 0), no timestamp."""
        self._block(3, struct.pack(self._e + "I", len(data) if origlen is None else origlen) + _pad4(data))

    def stats(self, iface: int, units: int, received: int = 0, dropped: int = 0) -> None:
        """Interface Statistics Block (not a frame: readers must skip it)."""
        opts = [(4, struct.pack(self._e + "Q", received)), (5, struct.pack(self._e + "Q", dropped))]
        self._block(5, struct.pack(self._e + "III", iface, units >> 32, units & 0xFFFFFFFF) + self._options(opts))

    def unknown(self, btype: int = 0x40000BAD, body: bytes = b"unknown block body") -> None:
        """Any block type a reader does not know (custom 0x00000BAD / 0x40000BAD, NRB 4, ...)."""
        self._block(btype, body)

    def raw(self, data: bytes) -> None:
        """Append bytes as they are (to write a truncated trailing block)."""
        self._out += data

    def getvalue(self) -> bytes:
        return bytes(self._out)


def _tsresol_units_per_sec(tsresol: int | None) -> tuple[int, int]:
    """(base, exponent): the timestamp unit is base^-exponent seconds."""
    if tsresol is None:
        return 10, 6
    return (2, tsresol & 0x7F) if tsresol & 0x80 else (10, tsresol)


def ts_from_units(units: int, tsresol: int | None, tsoffset: int = 0) -> int:
    """The ns timestamp DECODE_RULES assign to a raw pcapng timestamp."""
    base, exp = _tsresol_units_per_sec(tsresol)
    if base == 10:
        ns = units * 10 ** (9 - exp) if exp <= 9 else units // 10 ** (exp - 9)
    else:
        ns = units * 1_000_000_000 >> exp  # floor(units * 1e9 / 2^n)
    return ns + tsoffset * 1_000_000_000


def units_for(ts_ns: int, tsresol: int | None, tsoffset: int = 0) -> int:
    """Raw units nearest below ``ts_ns`` (after removing ``tsoffset``)."""
    base, exp = _tsresol_units_per_sec(tsresol)
    rel = ts_ns - tsoffset * 1_000_000_000
    return rel * base**exp // 1_000_000_000


# ---------------------------------------------------------------------- L2 frames


def vlan_tag(vid: int, tpid: int = TPID_8021Q, pcp: int = 0, dei: int = 0) -> tuple[int, int]:
    return tpid, (pcp << 13) | (dei << 12) | (vid & 0xFFF)


def _tags(tags: list[tuple[int, int]], ethertype: int) -> bytes:
    """The bytes after the first TPID: tci0, tpid1, tci1, ..., ethertype."""
    out = bytearray()
    for i, (tpid, tci) in enumerate(tags):
        if i > 0:
            out += struct.pack(">H", tpid)
        out += struct.pack(">H", tci)
    return bytes(out) + struct.pack(">H", ethertype)


def ethernet(
    dst: str | int | bytes,
    src: str | int | bytes,
    ethertype: int,
    payload: bytes,
    tags: list[tuple[int, int]] | None = None,
    pad_to: int = 0,
) -> bytes:
    """Ethernet II with optional stacked tags (outermost first). ``pad_to`` zero-pads
    to a minimum length (60 = the wire minimum without FCS)."""
    if tags:
        head = mac_bytes(dst) + mac_bytes(src) + struct.pack(">H", tags[0][0]) + _tags(tags, ethertype)
    else:
        head = mac_bytes(dst) + mac_bytes(src) + struct.pack(">H", ethertype)
    frame = head + payload
    return frame + b"\0" * max(0, pad_to - len(frame))


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


# -------------------------------------------------------------------- MAC control


def mac_control(opcode: int, body: bytes) -> bytes:
    return struct.pack(">H", opcode) + body


def pause(quanta: int) -> bytes:
    """802.3x PAUSE payload (after the ethertype), padded like a real 64-byte frame."""
    return mac_control(0x0001, struct.pack(">H", quanta)).ljust(46, b"\0")


def pfc(class_enable: int, quanta: list[int] | tuple[int, ...]) -> bytes:
    """802.1Qbb PFC payload: opcode 0x0101, 16-bit class-enable vector, 8 quanta."""
    assert len(quanta) == 8
    return mac_control(0x0101, struct.pack(">H8H", class_enable, *quanta)).ljust(46, b"\0")


def pfc_frame(src, class_enable, quanta, tags=None) -> bytes:
    return ethernet(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, pfc(class_enable, quanta), tags)


def pause_frame(src, quanta, tags=None) -> bytes:
    return ethernet(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, pause(quanta), tags)


# --------------------------------------------------------------------------- LLDP


def tlv(tlv_type: int, value: bytes, length: int | None = None) -> bytes:
    """One TLV; ``length`` overrides the 9-bit length field (to write a lying TLV)."""
    n = len(value) if length is None else length
    return struct.pack(">H", (tlv_type << 9) | (n & 0x1FF)) + value


def end_tlv() -> bytes:
    return tlv(0, b"")


def chassis_id(subtype: int, value: bytes | str) -> bytes:
    return tlv(1, bytes([subtype]) + _id_bytes(subtype, value, mac_subtype=4, addr_subtype=5))


def port_id(subtype: int, value: bytes | str) -> bytes:
    return tlv(2, bytes([subtype]) + _id_bytes(subtype, value, mac_subtype=3, addr_subtype=4))


def _id_bytes(subtype: int, value: bytes | str, mac_subtype: int, addr_subtype: int) -> bytes:
    if isinstance(value, bytes):
        return value
    if subtype == mac_subtype:
        return mac_bytes(value)
    if subtype == addr_subtype:
        ip = ipaddress.ip_address(value)
        return bytes([1 if ip.version == 4 else 2]) + ip.packed
    return value.encode()


def ttl(seconds: int) -> bytes:
    return tlv(3, struct.pack(">H", seconds))


def port_desc(text: str | bytes) -> bytes:
    return tlv(4, text if isinstance(text, bytes) else text.encode())


def system_name(text: str | bytes) -> bytes:
    return tlv(5, text if isinstance(text, bytes) else text.encode())


def system_desc(text: str | bytes) -> bytes:
    return tlv(6, text if isinstance(text, bytes) else text.encode())


def capabilities(supported: int, enabled: int) -> bytes:
    return tlv(7, struct.pack(">HH", supported, enabled))


def mgmt_addr(addr: str | bytes, subtype: int | None = None, if_subtype: int = 2, if_number: int = 0, oid: bytes = b"") -> bytes:
    """Management Address TLV. ``addr`` an IP string (subtype inferred) or raw bytes
    with an explicit IANA family ``subtype``."""
    if isinstance(addr, str):
        ip = ipaddress.ip_address(addr)
        raw, subtype = ip.packed, (1 if ip.version == 4 else 2)
    else:
        raw = addr
    assert subtype is not None
    body = bytes([len(raw) + 1, subtype]) + raw + struct.pack(">BIB", if_subtype, if_number, len(oid)) + oid
    return tlv(8, body)


def org_tlv(oui: int, subtype: int, body: bytes) -> bytes:
    return tlv(127, oui.to_bytes(3, "big") + bytes([subtype]) + body)


OUI_8021 = 0x0080C2
OUI_8023 = 0x00120F


def port_vlan(vid: int) -> bytes:
    return org_tlv(OUI_8021, 1, struct.pack(">H", vid))


def pfc_config(willing: int, mbc: int, cap: int, enable: int) -> bytes:
    """IEEE 802.1Qaz PFC configuration TLV (802.1 subtype 0x0b)."""
    flags = (willing & 1) << 7 | (mbc & 1) << 6 | (cap & 0x0F)
    return org_tlv(OUI_8021, 0x0B, bytes([flags, enable & 0xFF]))


def mac_phy(mau_type: int, autoneg: int = 0x03, pmd_caps: int = 0x6C00) -> bytes:
    return org_tlv(OUI_8023, 1, struct.pack(">BHH", autoneg, pmd_caps, mau_type))


def max_frame_size(size: int) -> bytes:
    return org_tlv(OUI_8023, 4, struct.pack(">H", size))


def lldpdu(*tlvs: bytes, end: bool = True) -> bytes:
    return b"".join(tlvs) + (end_tlv() if end else b"")


def lldp_frame(src, *tlvs: bytes, end: bool = True, tags=None) -> bytes:
    return ethernet(LLDP_DST, src, ETH_LLDP, lldpdu(*tlvs, end=end), tags)


# ------------------------------------------------------------------------ netlink


def netlink_cooked(payload: bytes, family: int = NETLINK_ROUTE, pkttype: int = 4) -> bytes:
    """LINKTYPE_NETLINK cooked header (always big-endian) + messages."""
    return struct.pack(">HHH8sH", pkttype, 824, 0, b"", family) + payload


def _align4(n: int) -> int:
    return (n + 3) & ~3


def nlmsg(msg_type: int, payload: bytes, *, big_endian: bool = False, flags: int = 0, seq: int = 0, pid: int = 0,
          length: int | None = None) -> bytes:
    """One netlink message, padded to 4; ``length`` overrides nlmsg_len."""
    e = ">" if big_endian else "<"
    n = 16 + len(payload) if length is None else length
    msg = struct.pack(e + "IHHII", n, msg_type, flags, seq, pid) + payload
    return msg + b"\0" * (_align4(len(msg)) - len(msg))


def rtattr(attr_type: int, data: bytes, *, big_endian: bool = False, length: int | None = None) -> bytes:
    e = ">" if big_endian else "<"
    n = 4 + len(data) if length is None else length
    attr = struct.pack(e + "HH", n, attr_type) + data
    return attr + b"\0" * (_align4(len(attr)) - len(attr))


def ifinfomsg(index: int, flags: int, *, change: int = 0, family: int = 0, ifi_type: int = 1, big_endian: bool = False) -> bytes:
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
) -> bytes:
    """An RTM_NEWLINK/RTM_DELLINK message with the attributes flapwatch reads (plus
    IFLA_MTU, which it must skip)."""
    e = {"big_endian": big_endian}
    attrs = b""
    if ifname is not None:
        attrs += rtattr(IFLA_IFNAME, ifname.encode() + b"\0", **e)
    if address is not None:  # a MAC string, or raw bytes of any length
        attrs += rtattr(IFLA_ADDRESS, address if isinstance(address, bytes) else mac_bytes(address), **e)
    if mtu is not None:
        attrs += rtattr(IFLA_MTU, struct.pack(">I" if big_endian else "<I", mtu), **e)
    if operstate is not None:
        attrs += rtattr(IFLA_OPERSTATE, bytes([operstate]), **e)
    if carrier is not None:
        attrs += rtattr(IFLA_CARRIER, bytes([carrier]), **e)
    u32 = ">I" if big_endian else "<I"
    for code, value in (
        (IFLA_CARRIER_CHANGES, carrier_changes),
        (IFLA_CARRIER_UP_COUNT, carrier_up_count),
        (IFLA_CARRIER_DOWN_COUNT, carrier_down_count),
    ):
        if value is not None:
            attrs += rtattr(code, struct.pack(u32, value), **e)
    return nlmsg(msg_type, ifinfomsg(index, flags, big_endian=big_endian) + attrs, big_endian=big_endian, seq=seq)
