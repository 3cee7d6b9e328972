"""MAC control frames (mirrors cpp/include/flapwatch/decode/mac_control.hpp): 802.1Qbb PFC
and 802.3x PAUSE. ``pfc`` / ``pause`` are the payload after the ethertype (for any framing:
Ethernet, SLL, SLL2); ``pfc_frame`` / ``pause_frame`` the whole Ethernet frame."""

from __future__ import annotations

import struct

from flapwatch.wire.ethernet import MIN_FRAME, ethernet_frame, mac_bytes

ETH_MAC_CONTROL = 0x8808
MAC_CONTROL_DST = mac_bytes("01:80:c2:00:00:01")
OP_PAUSE = 0x0001
OP_PFC = 0x0101
MIN_PAYLOAD = 46  # MIN_FRAME less the 14-byte untagged header


def mac_control_pdu(opcode: int, body: bytes, pad_to: int = 0) -> bytes:
    """Opcode and fields, zero-padded to ``pad_to`` bytes."""
    pdu = struct.pack(">H", opcode) + body
    return pdu + b"\0" * max(0, pad_to - len(pdu))


def pause(quanta: int, pad_to: int = MIN_PAYLOAD) -> bytes:
    """802.3x PAUSE payload: opcode 0x0001 and one pause time, padded like a 60-byte frame's."""
    return mac_control_pdu(OP_PAUSE, struct.pack(">H", quanta), pad_to)


def pfc(class_enable: int, quanta: list[int] | tuple[int, ...], pad_to: int = MIN_PAYLOAD) -> bytes:
    """802.1Qbb PFC payload: opcode 0x0101, 16-bit class-enable vector, eight 16-bit quanta,
    padded like a 60-byte frame's."""
    if len(quanta) != 8:
        raise ValueError(f"PFC carries 8 quanta, not {len(quanta)}")
    return mac_control_pdu(OP_PFC, struct.pack(">H8H", class_enable, *quanta), pad_to)


def pfc_frame(src: str | int | bytes, class_enable: int, quanta: list[int] | tuple[int, ...],
              tags: list[tuple[int, int]] | None = None, pad_to: int = MIN_FRAME) -> bytes:
    """A PFC frame to 01:80:c2:00:00:01, tagged or not, padded to ``pad_to`` as a whole."""
    return ethernet_frame(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, pfc(class_enable, quanta, 0), tags, pad_to)


def pause_frame(src: str | int | bytes, quanta: int, tags: list[tuple[int, int]] | None = None,
                pad_to: int = MIN_FRAME) -> bytes:
    """A PAUSE frame to 01:80:c2:00:00:01, tagged or not, padded to ``pad_to`` as a whole."""
    return ethernet_frame(MAC_CONTROL_DST, src, ETH_MAC_CONTROL, pause(quanta, 0), tags, pad_to)
