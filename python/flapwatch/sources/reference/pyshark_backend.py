"""The pyshark reference backend: tshark's dissectors, mapped onto DECODE_RULES.md.

pyshark (tshark -T pdml) gives every field with its position in the frame. The TLV,
message and attribute framing is rebuilt from those positions, and the rules' checks
(mandatory TLV order, lengths, first occurrence wins, ...) are applied to it; values
come from tshark's fields. Formatting into the schema (ids as text, IPs as Python
prints them) is common.py's, so only the parsing differs from the dpkt backend.

Where tshark 4.0 and DECODE_RULES.md differ, and what this backend does (each one is
exercised in tests/test_reference_backends.py):
- Multi-section pcapng: tshark reports the section-local interface id and looks its
  name up in the first section's list; it calls a nameless interface "unknown" and
  shows names as UTF-8. Names of later sections, nameless and non-ASCII ones come from
  a small IDB scan of the file (``_pcapng_sections``), made text by the rules.
- if_tsresol finer than about 2^-34 s or 10^-10 s: tshark's conversion overflows
  (units * 1e9 in 64 bits) and its timestamps are wrong. Not corrected (no raw units).
- Simple Packet Blocks: tshark gives no timestamp; the rule (previous frame's ts) is
  applied here. pcapng custom blocks are records for tshark: skipped (no encap type).
- A frame too short for Ethernet / SLL / a tag, or for the netlink cooked header:
  tshark says malformed, the rules say "other".
- LLDP: tshark stops dissecting the LLDPDU (mostly flagged Malformed) at an optional
  TLV shorter or longer than it expects (capabilities != 4 bytes, port VLAN < 6, MAC/PHY < 9,
  max-frame-size < 6, PFC configuration < 6, org TLV < 4, a management address without
  its interface-number / OID fields or whose addr_len runs past the TLV), at a
  repeated Port ID TLV, and at a MAC id that is not 6 bytes or a network-address id
  whose length does not match its family. The TLVs after it are unknown, so the frame
  is counted malformed here; the rules ignore the TLV (or format the id) and go on.
- LLDP without TTL (chassis, port, End): tshark shows no error; the rules, applied
  here, make it malformed. A management address's IPv4/IPv6 is shown by tshark
  whatever addr_len says: its bytes are then taken from the TLV's raw bytes.
  tshark prints IPv4-mapped IPv6 as ::ffff:a.b.c.d, Python as ::ffff:x:y: every
  address is re-printed with ipaddress.
- Netlink: tshark steps to the next message by nlmsg_len, not align4(nlmsg_len); it
  stops at a message shorter than its fixed header (RTM_NEWADDR < 8 bytes) and at an
  empty IFLA_ADDRESS (a dissector assertion): malformed here, rows by the rules.
  tshark accepts nlmsg_len < 16, an rtattr running past its message, a u32 attribute
  of 2 bytes, and silently drops an rtattr of length < 4: all malformed by the rules,
  checked here from tshark's length fields. tshark does not mask NLA_F_NESTED /
  NLA_F_NET_BYTEORDER before naming an attribute (it shows raw ``attr_data``), has no
  field for IFLA_ADDRESS (only tree text), and shows IFLA_CARRIER as a boolean of
  bit 0: those values are read from the attribute's raw bytes.
- pcap linktype with FCS bits set (0x30000001 in a tcpdump test file): both backends
  mask them, as libpcap does.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import shutil
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass

import pyshark
from pyshark.capture.capture import TSharkCrashException

from flapwatch.tables import schema
from flapwatch.errors import CaptureError
from .common import (
    Naming,
    RawCapture,
    TableBuilder,
    bytes_as_text,
    colon_hex,
    epoch_text_to_ns,
    int8,
    link_port,
)

# wiretap encapsulation numbers (frame.encap_type), not LINKTYPE_ values
WTAP_ETHERNET = 1
WTAP_SLL = 25
WTAP_NETLINK = 158
WTAP_SLL2 = 210

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
_TAG_ID_FIELDS = ("vlan.id", "ieee8021ad.id", "ieee8021ad.svid", "ieee8021ad.cvid")
_ETHERTYPE_FIELDS = ("eth.type", "sll.etype", "vlan.etype", "ieee8021ah.etype", "ieee8021ad.etype")


@dataclass
class _Field:
    name: str
    pos: int
    show: str | None
    raw: str | None  # hex of the field's bytes (PDML "value"); masked for bit fields
    unmasked: str | None

    def int(self) -> int:
        return int(self.show, 0)

    def bytes(self) -> bytes:
        return bytes.fromhex(self.unmasked or self.raw or "")


class _Frame:
    """All fields of one packet (every layer), indexed by name and by position."""

    def __init__(self, packet) -> None:
        self.layers = [layer.layer_name for layer in packet.layers]
        self.by_name: dict[str, list[_Field]] = {}
        for layer in [packet.frame_info, *packet.layers]:
            for name, container in layer._all_fields.items():
                for f in container.all_fields:
                    pos = int(f.pos) if f.pos not in (None, "") else -1
                    field = _Field(name, pos, f.show, f.raw_value, getattr(f, "unmaskedvalue", None))
                    self.by_name.setdefault(name, []).append(field)

    def first(self, name: str) -> _Field | None:
        fields = self.by_name.get(name)
        return fields[0] if fields else None

    def value(self, name: str) -> str | None:
        f = self.first(name)
        return f.show if f else None

    def at(self, names, pos: int) -> _Field | None:
        for name in (names,) if isinstance(names, str) else names:
            for f in self.by_name.get(name, ()):
                if f.pos == pos:
                    return f
        return None

    def within(self, name: str, lo: int, hi: int) -> _Field | None:
        """First field called ``name`` positioned in [lo, hi)."""
        for f in self.by_name.get(name, ()):
            if lo <= f.pos < hi:
                return f
        return None

    def positions(self, name: str) -> dict[int, _Field]:
        out: dict[int, _Field] = {}
        for f in self.by_name.get(name, ()):
            out.setdefault(f.pos, f)
        return out


class _Malformed(Exception):
    def __init__(self, pos: int, reason: str) -> None:
        super().__init__(reason)
        self.pos, self.reason = pos, reason


# ----------------------------------------------------------------------- driver


def read_tables(path: str, strict: bool = False, naming: Naming | None = None) -> RawCapture:
    if shutil.which("tshark") is None:
        raise RuntimeError("the pyshark backend needs tshark (Wireshark's CLI) on PATH")
    sections = _pcapng_sections(path)
    naming = naming or Naming(path)
    out = TableBuilder()
    # pyshark's own event loop set-up: in the main thread it installs the SafeChildWatcher
    # without which asyncio's default watcher races for tshark's exit status.
    cap = pyshark.FileCapture(path, keep_packets=False, override_prefs={"frame.show_file_off": "TRUE"})
    last_ts = 0
    end_of_last = 24
    index = 0
    error = None
    try:
        for packet in cap:
            f = _Frame(packet)
            encap = f.value("frame.encap_type")
            if encap is None:
                continue  # a pcapng custom block shown as a record: not a frame
            epoch = f.value("frame.time_epoch")
            is_spb = epoch is None
            ts = last_ts if is_spb else epoch_text_to_ns(epoch)
            last_ts = ts
            data_off = int(f.value("frame.file_off")) + (16 if sections is None else 12 if is_spb else 28)
            end_of_last = data_off + int(f.value("frame.cap_len"))
            port = _wire_port(f, sections, naming)
            common = {"ts_ns": ts, "port": port, "frame": index}
            index += 1
            try:
                kind, rows = _decode(f, int(encap))
            except _Malformed as bad:
                if strict:
                    raise CaptureError(path, data_off + bad.pos, bad.reason) from None
                row = {**common, "offset": data_off + bad.pos, "reason": bad.reason}
                out.add_frame("malformed", [("malformed", row)])
                continue
            out.add_frame(kind, [(table, {**common, **values}) for table, values in naming.rows(rows)])
    except TSharkCrashException:
        # tshark exits with an error after the last complete frame of a truncated file;
        # pyshark raises it when the packet generator finishes (or on close).
        error = _tshark_error(cap)
    finally:
        error = _close(cap) or error
        _release_child_watcher()
    if error:
        # tshark stops at a truncated record with an error after the complete frames.
        if strict:
            raise CaptureError(path, end_of_last, error)
        out.warn(path, end_of_last, error)
    return out.finish()


def _tshark_error(cap) -> str | None:
    """tshark's error line after a failed exit, None when it did not report one.

    asyncio sometimes loses the exit status of an already reaped tshark and reports
    255 ("Unknown child process"); only a line tshark wrote as an error counts."""
    cap._running_processes.clear()  # else pyshark re-raises in close() / __del__
    line = cap._last_error_line or ""
    return line if line.startswith("tshark:") else None


def _release_child_watcher() -> None:
    """Undo what pyshark set up for tshark's exit status in the main thread: a SafeChildWatcher
    on the thread's event loop, i.e. a SIGCHLD handler and a wakeup fd. Left in place, every
    later child exit in the process writes a byte to that fd, which nobody reads once the loop
    stops; when its buffer is full, Python prints "Exception ignored ... BlockingIOError" for
    each (47 of them in a run of the test suite). Closing the watcher removes both; asyncio
    makes its default watcher again if asked."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(asyncio, "set_child_watcher"):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12 deprecates child watchers
        asyncio.set_child_watcher(None)


def _close(cap) -> str | None:
    """Close pyshark's tshark; return tshark's error line if it failed."""
    try:
        cap.close()
    except TSharkCrashException:
        return _tshark_error(cap)
    return None


def _wire_port(f: _Frame, sections: list[list[bytes | None]] | None, naming: Naming) -> str:
    if sections is None:  # pcap: one interface, no name
        return naming.wire(None, 0, 0)
    section = int(f.value("frame.section_number") or 1) - 1
    local = int(f.value("frame.interface_id") or 0)
    name = f.value("frame.interface_name")
    plain = name is not None and all(0x20 <= ord(c) <= 0x7E and c != "\\" for c in name)
    if section != 0 or name == "unknown" or not plain:
        # tshark 4.0 looks up later sections' names in the first section's list, calls
        # a nameless interface "unknown", and shows names as UTF-8 (not the rules' text)
        ifaces = sections[section] if section < len(sections) else []
        raw = ifaces[local] if local < len(ifaces) else None
        name = bytes_as_text(raw) if raw is not None else None
    return naming.wire(name, section, local)


def _pcapng_sections(path: str) -> list[list[bytes | None]] | None:
    """Raw IDB if_names per pcapng section (None for a pcap file): what tshark 4.0
    reports wrongly for later sections. The blocks are walked by length only."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw.startswith(b"\x1f\x8b"):
        # what a cut stream still holds is enough for the names (tshark reports the damage)
        raw = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(raw)
    if raw[:4] != b"\x0a\x0d\x0d\x0a":
        return None
    sections: list[list[str | None]] = []
    e = "<"
    off = 0
    while off + 12 <= len(raw):
        btype = struct.unpack_from(e + "I", raw, off)[0]
        if btype == 0x0A0D0D0A:
            e = "<" if raw[off + 8 : off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            sections.append([])
        total = struct.unpack_from(e + "I", raw, off + 4)[0]
        if total < 12 or off + total > len(raw):
            break
        if btype == 1 and sections:
            name = None
            opt = off + 16
            while opt + 4 <= off + total - 4:
                code, length = struct.unpack_from(e + "HH", raw, opt)
                if code == 0:
                    break
                if code == 2:
                    name = raw[opt + 4 : opt + 4 + length]
                opt += 4 + ((length + 3) & ~3)
            sections[-1].append(name)
        off += total
    return sections


# ------------------------------------------------------------------------ decode


def _decode(f: _Frame, encap: int) -> tuple[str, list[tuple[str, dict]]]:
    if encap == WTAP_NETLINK:
        return _netlink(f)
    if encap == WTAP_ETHERNET:
        if "eth" not in f.layers:
            return "other", []  # too short for Ethernet (tshark: malformed)
        src_mac = int(f.first("eth.src").raw, 16)
    elif encap in (WTAP_SLL, WTAP_SLL2):
        if "sll" not in f.layers or (f.first("sll.etype") is None and f.first("sll.ltype") is None):
            return "other", []  # too short for the cooked header (tshark: malformed)
        halen = f.first("sll.halen")
        src = f.first("sll.src.eth") or f.first("sll.src.other") or f.first("sll.src.ipv4")
        src_mac = int(src.raw[:12], 16) if halen and halen.int() == 6 and src else 0
    else:
        return "other", []
    # Follow the tag chain: the ethertype fields in frame order up to the first one that
    # is not a TPID (later ones belong to encapsulated frames, e.g. VXLAN).
    last = None
    for fld in sorted((x for name in _ETHERTYPE_FIELDS for x in f.by_name.get(name, ())), key=lambda x: x.pos):
        last = fld
        if fld.int() not in VLAN_TPIDS:
            break
    if last is None:
        return "other", []  # an SLL non-ethertype protocol, or an 802.3 length field
    ethertype = last.int()
    if ethertype in VLAN_TPIDS:
        return "other", []  # a tag cut short (tshark: malformed)
    tag_ids = sorted(
        (x for name in _TAG_ID_FIELDS for x in f.by_name.get(name, ()) if x.pos < last.pos), key=lambda x: x.pos
    )
    vlan = tag_ids[0].int() if tag_ids else -1
    # SLL2 puts its protocol field first: the payload starts after the 20-byte header.
    payload = (20 if encap == WTAP_SLL2 else 16) if last.name == "sll.etype" else last.pos + 2
    if ethertype == 0x8808:
        return _mac_control(f, payload, src_mac, vlan)
    if ethertype == 0x88CC:
        return "lldp", [("lldp", _lldp(f, payload, src_mac))]
    return "other", []


def _mac_control(f: _Frame, payload: int, src_mac: int, vlan: int):
    opcode = f.at("macc.opcode", payload)
    if opcode is None:
        raise _Malformed(payload, "MAC control: no opcode")
    base = {"src_mac": src_mac, "vlan": vlan}
    if opcode.int() == 0x0001:
        quanta = f.at("macc.pause_time", payload + 2)
        if quanta is None:
            raise _Malformed(payload + 2, "PAUSE: no pause time after the opcode")
        return "pause", [("pause", {**base, "quanta": quanta.int()})]
    if opcode.int() == 0x0101:
        enbv = f.at("macc.cbfc.enbv", payload + 2)
        quanta = [f.at(f"macc.cbfc.pause_time.c{i}", payload + 4 + 2 * i) for i in range(8)]
        if enbv is None or None in quanta:
            raise _Malformed(payload + 2, "PFC: class-enable vector and 8 quanta do not fit")
        row = {**base, "class_enable": enbv.int() & 0xFF}
        row.update({f"quanta_{i}": q.int() for i, q in enumerate(quanta)})
        return "pfc", [("pfc", row)]
    return "other", []


# --------------------------------------------------------------------------- LLDP

_MANDATORY = (1, 2, 3)
OUI_8021 = 0x0080C2
OUI_8023 = 0x00120F


def _lldp(f: _Frame, start: int, src_mac: int) -> dict:
    end = int(f.value("frame.cap_len"))
    types = f.positions("lldp.tlv.type")
    lengths = f.positions("lldp.tlv.len")
    row: dict = {"src_mac": src_mac, "speed_bps": 0}
    pos, index = start, 0
    while pos < end:
        if pos not in types:
            # tshark dissected no TLV here: its header or body runs past the end, a
            # mandatory TLV is out of order ("bad type"), or tshark gave up on the
            # TLV before (see the module docstring)
            raise _Malformed(pos, "LLDP: tshark found no TLV here")
        tlv_type, length = types[pos].int(), lengths[pos].int()
        if pos + 2 + length > end:
            raise _Malformed(pos, f"LLDP: TLV {tlv_type} runs past the end")
        if index < 3 and tlv_type != _MANDATORY[index]:
            raise _Malformed(pos, f"LLDP: TLV {index + 1} has type {tlv_type}, expected {_MANDATORY[index]}")
        if tlv_type == 0:
            break
        lo, hi = pos + 2, pos + 2 + length
        if index < 3 and length < 2:
            raise _Malformed(pos, f"LLDP: mandatory TLV {tlv_type} length {length}")
        if index == 0:
            row["chassis_subtype"] = f.at("lldp.chassis.subtype", lo).int()
            row["chassis_id"] = _id_text(f, "lldp.chassis.id", pos, hi, row["chassis_subtype"], 4, 5)
        elif index == 1:
            row["port_subtype"] = f.at("lldp.port.subtype", lo).int()
            row["port_id"] = _id_text(f, "lldp.port.id", pos, hi, row["port_subtype"], 3, 4)
        elif index == 2:
            row["ttl"] = f.at("lldp.time_to_live", lo).int()
        else:
            _optional(f, row, tlv_type, length, lo, hi)
        pos = hi
        index += 1
    if index < 3:
        raise _Malformed(pos, "LLDP: ends before chassis id, port id and TTL")
    return row


def _ip_text(text: str) -> str:
    ip = ipaddress.ip_address(text)  # re-printed as inet_ntop does (RFC 5952), like the C++ core
    return socket.inet_ntop(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, ip.packed)


def _id_text(f: _Frame, prefix: str, pos: int, hi: int, subtype: int, mac_subtype: int, addr_subtype: int) -> str:
    lo = pos + 3  # after the TLV header and the subtype byte
    if subtype == mac_subtype:
        field = f.within(f"{prefix}.mac", lo, hi)
        if field is None:  # tshark rejects a MAC id that is not 6 bytes
            raise _Malformed(pos, "LLDP: tshark rejects the MAC id length")
        return colon_hex(field.bytes())
    if subtype == addr_subtype:
        ip = f.within(f"{prefix}.ip4", lo, hi) or f.within(f"{prefix}.ip6", lo, hi)
        if ip is not None:
            return _ip_text(ip.show)
        field = f.within(prefix, lo, hi)  # another family: the bytes after the family byte
        if field is None:  # tshark rejects an IPv4/IPv6 id of the wrong length
            raise _Malformed(pos, "LLDP: tshark rejects the network address length")
        return colon_hex(field.bytes())
    field = f.within(prefix, lo, hi)
    return bytes_as_text(field.bytes()) if field is not None else ""


def _optional(f: _Frame, row: dict, tlv_type: int, n: int, lo: int, hi: int) -> None:
    def once(**values):  # the first valid occurrence wins
        if next(iter(values)) not in row:
            row.update(values)

    def text(name: str) -> str:
        field = f.within(name, lo, hi)
        return bytes_as_text(field.bytes()) if field is not None else ""

    if tlv_type == 4:
        once(port_desc=text("lldp.port.desc"))
    elif tlv_type == 5:
        once(system_name=text("lldp.tlv.system.name"))
    elif tlv_type == 6:
        once(system_desc=text("lldp.tlv.system.desc"))
    elif tlv_type == 7 and n >= 4:
        once(caps_supported=f.at("lldp.tlv.system_cap", lo).int(), caps_enabled=f.at("lldp.tlv.enable_system_cap", lo + 2).int())
    elif tlv_type == 8 and n >= 1:
        addr_len = f.at("lldp.mgn.address.len", lo)
        if addr_len is not None and addr_len.int() >= 2 and 1 + addr_len.int() <= n:
            size = addr_len.int() - 1
            ip = f.at(("lldp.mgn.addr.ip4", "lldp.mgn.addr.ip6"), lo + 2)
            if ip is not None and size == (4 if ip.name.endswith("ip4") else 16):
                once(mgmt_addr=_ip_text(ip.show))
            else:
                # tshark shows an IPv4/IPv6 whatever addr_len says: take the address
                # bytes from the TLV's raw bytes (header 2, addr_len 1, subtype 1)
                tlv = f.at("", lo - 2).bytes()
                once(mgmt_addr=colon_hex(tlv[4 : 4 + size]))
    elif tlv_type == 127 and n >= 4:
        oui = f.at("lldp.orgtlv.oui", lo).int()
        sub_field = f.at(("lldp.ieee.802_1.subtype", "lldp.ieee.802_3.subtype"), lo + 3)
        subtype = sub_field.int() if sub_field is not None else -1
        if oui == OUI_8021 and subtype == 0x01 and n == 6:
            once(port_vlan=f.at("lldp.ieee.802_1.port_vlan.id", lo + 4).int())
        elif oui == OUI_8021 and subtype == 0x0B and n == 6:
            enable = sum(f.at(f"lldp.dcbx.feature.pfc.prio{i}", lo + 5).int() << i for i in range(8))
            once(
                pfc_willing=f.at("lldp.dcbx.ieee.willing", lo + 4).int(),
                pfc_mbc=f.at("lldp.dcbx.ieee.pfc.mbc", lo + 4).int(),
                pfc_cap=f.at("lldp.dcbx.ieee.pfc.numtcs", lo + 4).int(),
                pfc_enable=enable,
            )
        elif oui == OUI_8023 and subtype == 0x01 and n == 9:
            mau = f.at("lldp.ieee.802_3.pmd_mau_type", lo + 7).int()
            once(mau_type=mau, speed_bps=schema.mau_speed_bps(mau))
        elif oui == OUI_8023 and subtype == 0x04 and n == 6:
            once(max_frame_size=f.at("lldp.ieee.802_3.max_frame_size", lo + 4).int())


# ------------------------------------------------------------------------ netlink

_MSG_TYPE_FIELDS = ("netlink-route.nltype", "netlink.hdr_type")
_IFLA_VALUE_FIELDS = {
    3: "netlink-route.ifla_ifname",
    16: "netlink-route.ifla_operstate",
    33: "netlink-route.ifla_carrier",
    35: "netlink-route.ifla_carrier_changes",
    47: "netlink-route.ifla_carrier_up_count",
    48: "netlink-route.ifla_carrier_down_count",
}
_ROW_KEY = {16: "operstate", 33: "carrier", 35: "carrier_changes", 47: "carrier_up_count", 48: "carrier_down_count"}


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _netlink(f: _Frame):
    family = f.first("netlink.family")
    if family is None:
        return "other", []  # shorter than the cooked header (tshark: malformed)
    if family.int() != 0:
        return "other", []
    end = int(f.value("frame.cap_len"))
    lengths = f.positions("netlink.hdr_len")
    rows = []
    pos = 16
    if pos == end:
        raise _Malformed(pos, "netlink: no message to read nlmsg_len from")
    while pos < end:
        if end - pos < 16 or pos not in lengths:
            raise _Malformed(pos, "netlink: no message header here")
        length = lengths[pos].int()
        if length < 16 or pos + length > end:
            raise _Malformed(pos, f"netlink: nlmsg_len {length}")
        msg_type = f.at(_MSG_TYPE_FIELDS, pos + 4)
        if msg_type is not None and msg_type.int() in (schema.RTM_NEWLINK, schema.RTM_DELLINK):
            rows.append(("link", _link_message(f, pos, length, msg_type.int())))
        pos += _align4(length)
    return ("link", rows) if rows else ("other", [])


def _link_message(f: _Frame, pos: int, length: int, msg_type: int) -> dict:
    if length < 32:
        raise _Malformed(pos, "netlink: link message shorter than nlmsghdr + ifinfomsg")
    ifindex = f.at("netlink-route.ifi_index", pos + 20).int()
    row = {"msg_type": msg_type, "ifindex": ifindex, "flags": f.at("netlink-route.ifi_flags", pos + 24).int(), "mac": 0,
           "dev_type": f.at("netlink-route.ifi_type", pos + 18).int(),
           "change": f.at("netlink-route.ifi_change", pos + 28).int()}
    # a dump reply: NLM_F_MULTI (0x2) and the requester's port id; a notification has neither
    multi = f.at("netlink.hdr_flags", pos + 6).int() & 0x2
    row["dump"] = int(bool(multi) and f.at("netlink.hdr_pid", pos + 12).int() != 0)
    attr_lens = f.positions("netlink.attr_len")
    ifname = None
    end = pos + length
    a = pos + 32
    while a < end:  # a repeated attribute overwrites, as in the dpkt backend
        if a not in attr_lens:
            raise _Malformed(a, "netlink: tshark found no rtattr here")
        alen = attr_lens[a].int()
        if alen < 4 or a + alen > end:
            raise _Malformed(a, f"netlink: rtattr length {alen}")
        atype = f.at("netlink.attr_type", a + 2).int() & 0x3FFF
        if atype == 1:  # IFLA_ADDRESS: tshark has no field, only the tree text
            data = f.at("", a).bytes()[4:alen]
            if len(data) == 6:
                row["mac"] = int.from_bytes(data, "big")
        elif atype in _IFLA_VALUE_FIELDS:
            # tshark's typed field, or raw attr_data when a flag bit hid the type
            value = f.at((_IFLA_VALUE_FIELDS[atype], "netlink.attr_data"), a + 4)
            data = (value.bytes() if value is not None else b"")[: alen - 4]
            if atype == 3:
                ifname = bytes_as_text(data.split(b"\0", 1)[0])
            elif atype in (16, 33):
                if not data:
                    raise _Malformed(a, f"netlink: attribute {atype} empty")
                row[_ROW_KEY[atype]] = int8(data[0])
            else:
                if alen - 4 < 4:
                    raise _Malformed(a, f"netlink: attribute {atype} shorter than 4 bytes")
                row[_ROW_KEY[atype]] = value.int() if value.name != "netlink.attr_data" else _u32(f, data)
        a += _align4(alen)
    row["port"] = link_port(ifname, ifindex)
    return row


def _u32(f: _Frame, data: bytes) -> int:
    """A u32 from raw attribute bytes, in the byte order tshark chose for the frame
    (told by how it showed nlmsg_len against its raw bytes)."""
    hdr = f.first("netlink.hdr_len")
    little = int.from_bytes(bytes.fromhex(hdr.raw), "little") == hdr.int()
    return int.from_bytes(data[:4], "little" if little else "big")
