"""LLDP (mirrors cpp/include/flapwatch/decode/lldp.hpp): one builder per TLV, an LLDPDU, an
LLDP frame, and ``lldpd_frame``: the LLDPDU lldpd sends, by keyword (what the simulator uses).

lldpd's layout: chassis, port, TTL, port description, system name and description,
capabilities, management address, 802.1 PFC configuration, 802.3 MAC/PHY and maximum frame
size, End; a shutdown LLDPDU (TTL 0) carries only the mandatory TLVs.
"""

from __future__ import annotations

import ipaddress
import struct

from flapwatch.wire.ethernet import MIN_FRAME, ethernet_frame, mac_bytes

ETH_LLDP = 0x88CC
LLDP_DST = mac_bytes("01:80:c2:00:00:0e")
OUI_8021 = 0x0080C2
OUI_8023 = 0x00120F

# System capabilities bits
CAP_BRIDGE, CAP_ROUTER, CAP_STATION = 0x0004, 0x0010, 0x0080


def tlv(tlv_type: int, value: bytes, length: int | None = None) -> bytes:
    """One TLV; ``length`` overrides the 9-bit length field (to write a lying TLV)."""
    n = len(value) if length is None else length
    return struct.pack(">H", (tlv_type << 9) | (n & 0x1FF)) + value


def end_tlv() -> bytes:
    return tlv(0, b"")


def _id_bytes(subtype: int, value: bytes | str, mac_subtype: int, addr_subtype: int) -> bytes:
    if isinstance(value, bytes):
        return value
    if subtype == mac_subtype:
        return mac_bytes(value)
    if subtype == addr_subtype:
        ip = ipaddress.ip_address(value)
        return bytes([1 if ip.version == 4 else 2]) + ip.packed
    return value.encode()


def chassis_id(subtype: int, value: bytes | str) -> bytes:
    """Subtype 4 (MAC) and 5 (network address) take text and encode it; raw bytes as they are."""
    return tlv(1, bytes([subtype]) + _id_bytes(subtype, value, mac_subtype=4, addr_subtype=5))


def port_id(subtype: int, value: bytes | str) -> bytes:
    """Subtype 3 (MAC) and 4 (network address) take text and encode it; 5 is an interface name."""
    return tlv(2, bytes([subtype]) + _id_bytes(subtype, value, mac_subtype=3, addr_subtype=4))


def ttl(seconds: int) -> bytes:
    return tlv(3, struct.pack(">H", seconds))


def _text(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def port_desc(text: str | bytes) -> bytes:
    return tlv(4, _text(text))


def system_name(text: str | bytes) -> bytes:
    return tlv(5, _text(text))


def system_desc(text: str | bytes) -> bytes:
    return tlv(6, _text(text))


def capabilities(supported: int, enabled: int) -> bytes:
    return tlv(7, struct.pack(">HH", supported, enabled))


def mgmt_addr(addr: str | bytes, subtype: int | None = None, if_subtype: int = 2, if_number: int = 0,
              oid: bytes = b"") -> bytes:
    """Management Address TLV. ``addr`` an IP string (subtype inferred) or raw bytes
    with an explicit IANA family ``subtype``; ``if_subtype`` 2 = ifIndex."""
    if isinstance(addr, str):
        ip = ipaddress.ip_address(addr)
        raw, subtype = ip.packed, (1 if ip.version == 4 else 2)
    else:
        raw = addr
    if subtype is None:
        raise ValueError("raw management address bytes need their IANA family subtype")
    body = bytes([len(raw) + 1, subtype]) + raw + struct.pack(">BIB", if_subtype, if_number, len(oid)) + oid
    return tlv(8, body)


def org_tlv(oui: int, subtype: int, body: bytes) -> bytes:
    return tlv(127, oui.to_bytes(3, "big") + bytes([subtype]) + body)


def port_vlan(vid: int) -> bytes:
    return org_tlv(OUI_8021, 1, struct.pack(">H", vid))


def pfc_config(willing: int, mbc: int, cap: int, enable: int) -> bytes:
    """IEEE 802.1Qaz PFC configuration TLV (802.1 subtype 0x0b)."""
    flags = (willing & 1) << 7 | (mbc & 1) << 6 | (cap & 0x0F)
    return org_tlv(OUI_8021, 0x0B, bytes([flags, enable & 0xFF]))


def mac_phy(mau_type: int, autoneg: int = 0x03, pmd_caps: int = 0x6C00) -> bytes:
    """802.3 MAC/PHY configuration/status (802.3 subtype 1)."""
    return org_tlv(OUI_8023, 1, struct.pack(">BHH", autoneg, pmd_caps, mau_type))


def max_frame_size(size: int) -> bytes:
    return org_tlv(OUI_8023, 4, struct.pack(">H", size))


def lldpdu(*tlvs: bytes, end: bool = True) -> bytes:
    """TLVs in the order given, then an End TLV unless ``end=False``."""
    return b"".join(tlvs) + (end_tlv() if end else b"")


def lldp_frame(src: str | int | bytes, *tlvs: bytes, end: bool = True, tags: list[tuple[int, int]] | None = None,
               pad_to: int = 0) -> bytes:
    """An LLDPDU of exactly these TLVs to 01:80:c2:00:00:0e (bad-input tests depend on every
    byte: a stray byte, a TLV past the end); ``pad_to`` pads the whole frame."""
    return ethernet_frame(LLDP_DST, src, ETH_LLDP, lldpdu(*tlvs, end=end), tags, pad_to)


def _lldpd_tlvs(chassis: bytes, port: str, seconds: int, description: str, name: str, sys_desc: str,
                caps: tuple[int, int], mgmt_ip: str | None, ifindex: int, pfc: tuple[int, int, int, int] | None,
                mau_type: int | None, max_frame: int | None) -> list[bytes]:
    tlvs = [chassis_id(4, chassis), port_id(5, port), ttl(seconds)]
    if not seconds:
        return tlvs
    if description:
        tlvs.append(port_desc(description))
    if name:
        tlvs.append(system_name(name))
    if sys_desc:
        tlvs.append(system_desc(sys_desc))
    tlvs.append(capabilities(*caps))
    if mgmt_ip:
        tlvs.append(mgmt_addr(mgmt_ip, if_subtype=2, if_number=ifindex))
    if pfc is not None:
        tlvs.append(pfc_config(*pfc))
    if mau_type is not None:
        tlvs.append(mac_phy(mau_type))
    if max_frame is not None:
        tlvs.append(max_frame_size(max_frame))
    return tlvs


def lldpd_frame(src: str | int | bytes, *, chassis_mac: str | int | bytes, port_id: str, ttl: int,
                port_desc: str = "", system_name: str = "", system_desc: str = "",
                caps: tuple[int, int] = (CAP_BRIDGE | CAP_ROUTER, CAP_ROUTER), mgmt_ip: str | None = None,
                ifindex: int = 0, pfc: tuple[int, int, int, int] | None = None, mau_type: int | None = None,
                max_frame: int | None = None, tags: list[tuple[int, int]] | None = None,
                pad_to: int = MIN_FRAME) -> bytes:
    """An LLDPDU as lldpd sends it: Chassis ID subtype 4 (MAC), Port ID subtype 5 (interface
    name), then the optional TLVs given. ``pfc`` = (willing, mbc, cap, enable bitmap). ``ttl``
    0 is a shutdown LLDPDU, which carries only the mandatory TLVs."""
    tlvs = _lldpd_tlvs(mac_bytes(chassis_mac), port_id, ttl, port_desc, system_name, system_desc, caps, mgmt_ip,
                       ifindex, pfc, mau_type, max_frame)
    return lldp_frame(src, *tlvs, tags=tags, pad_to=pad_to)
