// LLDP (IEEE 802.1AB, ethertype 0x88cc): the TLVs flapwatch uses, as views into the
// frame. Mandatory Chassis ID, Port ID and TTL come first, in that order; optional
// TLVs with a wrong length are ignored rather than failing the frame, as Wireshark
// and lldpd do. The first occurrence of each optional field wins.
#pragma once
#include <cstdint>
#include <string>

#include "flapwatch/decode/decode_error.hpp"

namespace flapwatch {

constexpr uint16_t kEtherLldp = 0x88cc;

struct ByteView {
  const uint8_t* p = nullptr;
  uint32_t n = 0;
  bool present() const { return p != nullptr; }
};

struct LldpPdu {
  uint8_t chassis_subtype = 0, port_subtype = 0;
  ByteView chassis_id, port_id;  // without the subtype byte
  int32_t ttl = -1;
  ByteView port_desc, system_name, system_desc;
  int32_t caps_supported = -1, caps_enabled = -1;
  uint8_t mgmt_subtype = 0;
  ByteView mgmt_addr;
  int32_t port_vlan = -1;
  int8_t pfc_willing = -1, pfc_mbc = -1, pfc_cap = -1;
  int16_t pfc_enable = -1;
  int32_t mau_type = -1;
  int32_t max_frame_size = -1;
};

// Decodes the LLDPDU (the bytes after the ethertype).
bool decode_lldp(const uint8_t* p, uint32_t n, LldpPdu& out, DecodeError& err);

// Operational speed in bit/s of an IANA MAU type, 0 when unknown.
int64_t mau_speed_bps(int32_t mau_type);

// Text forms, written into `out` (reused by the caller, so no allocation per frame
// once it has grown). Chassis subtype 4 / port subtype 3 are MACs, chassis 5 /
// port 4 network addresses; everything else is text.
void format_chassis_id(const LldpPdu& pdu, std::string& out);
void format_port_id(const LldpPdu& pdu, std::string& out);
void format_mgmt_addr(const LldpPdu& pdu, std::string& out);
// Printable ASCII kept (but backslash), other bytes as \xNN; trailing NULs dropped.
void format_text(ByteView v, std::string& out);

}  // namespace flapwatch
