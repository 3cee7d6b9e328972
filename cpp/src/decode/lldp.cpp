#include "flapwatch/decode/lldp.hpp"

#include <arpa/inet.h>

#include "flapwatch/bytes.hpp"
#include "flapwatch/text.hpp"

namespace flapwatch {
namespace {

constexpr uint8_t kTlvEnd = 0, kTlvChassis = 1, kTlvPort = 2, kTlvTtl = 3, kTlvPortDesc = 4, kTlvSysName = 5,
                  kTlvSysDesc = 6, kTlvCaps = 7, kTlvMgmt = 8, kTlvOrg = 127;
constexpr uint32_t kOui8021 = 0x0080c2, kOui8023 = 0x00120f;

void set_once(ByteView& v, const uint8_t* p, uint32_t n) {
  if (!v.present()) v = {p, n};
}

void org_tlv(const uint8_t* v, uint32_t len, LldpPdu& out) {
  if (len < 4) return;
  uint32_t oui = (uint32_t(v[0]) << 16) | (uint32_t(v[1]) << 8) | v[2];
  uint8_t sub = v[3];
  if (oui == kOui8021) {
    if (sub == 1 && len == 6 && out.port_vlan < 0) {
      out.port_vlan = bytes::be16(v + 4);
    } else if (sub == 0x0b && len == 6 && out.pfc_enable < 0) {  // 802.1Qaz PFC configuration
      out.pfc_willing = static_cast<int8_t>(v[4] >> 7 & 1);
      out.pfc_mbc = static_cast<int8_t>(v[4] >> 6 & 1);
      out.pfc_cap = static_cast<int8_t>(v[4] & 0x0f);
      out.pfc_enable = v[5];
    }
  } else if (oui == kOui8023) {
    if (sub == 1 && len == 9 && out.mau_type < 0) {  // MAC/PHY configuration/status
      out.mau_type = bytes::be16(v + 7);
    } else if (sub == 4 && len == 6 && out.max_frame_size < 0) {
      out.max_frame_size = bytes::be16(v + 4);
    }
  }
}

void append_hex_colon(const uint8_t* p, uint32_t n, std::string& out) {
  static const char* digits = "0123456789abcdef";
  for (uint32_t i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
}

// IANA address family 1 (IPv4) / 2 (IPv6) with the right length, else colon hex.
void append_address(uint8_t family, const uint8_t* p, uint32_t n, std::string& out) {
  char buf[INET6_ADDRSTRLEN];
  if (family == 1 && n == 4 && inet_ntop(AF_INET, p, buf, sizeof buf)) {
    out += buf;
  } else if (family == 2 && n == 16 && inet_ntop(AF_INET6, p, buf, sizeof buf)) {
    out += buf;
  } else {
    append_hex_colon(p, n, out);
  }
}

}  // namespace

bool decode_lldp(const uint8_t* p, uint32_t n, LldpPdu& out, DecodeError& err) {
  uint32_t pos = 0;
  int index = 0;
  while (pos + 2 <= n) {
    uint16_t head = bytes::be16(p + pos);
    uint8_t type = static_cast<uint8_t>(head >> 9);
    uint32_t len = head & 0x1ff;
    const uint8_t* v = p + pos + 2;
    if (pos + 2 + len > n) return fail(err, pos, "LLDP TLV runs past the end of the frame");
    if (type == kTlvEnd) break;
    static constexpr uint8_t kMandatory[] = {kTlvChassis, kTlvPort, kTlvTtl};
    if (index < 3 && type != kMandatory[index])
      return fail(err, pos,
                  index == 0 ? "LLDPDU does not start with a Chassis ID TLV"
                  : index == 1 ? "second LLDP TLV is not a Port ID"
                               : "third LLDP TLV is not a TTL");
    switch (type) {
      case kTlvChassis:
        if (index == 0) {
          if (len < 2) return fail(err, pos, "LLDP Chassis ID TLV shorter than 2 bytes");
          out.chassis_subtype = v[0];
          out.chassis_id = {v + 1, len - 1};
        }
        break;
      case kTlvPort:
        if (index == 1) {
          if (len < 2) return fail(err, pos, "LLDP Port ID TLV shorter than 2 bytes");
          out.port_subtype = v[0];
          out.port_id = {v + 1, len - 1};
        }
        break;
      case kTlvTtl:
        if (index == 2) {
          if (len < 2) return fail(err, pos, "LLDP TTL TLV shorter than 2 bytes");
          out.ttl = bytes::be16(v);
        }
        break;
      case kTlvPortDesc: set_once(out.port_desc, v, len); break;
      case kTlvSysName: set_once(out.system_name, v, len); break;
      case kTlvSysDesc: set_once(out.system_desc, v, len); break;
      case kTlvCaps:
        if (len >= 4 && out.caps_supported < 0) {
          out.caps_supported = bytes::be16(v);
          out.caps_enabled = bytes::be16(v + 2);
        }
        break;
      case kTlvMgmt:
        // addr_len counts the subtype byte; the rest of the TLV is not needed here.
        if (!out.mgmt_addr.present() && len >= 2 && v[0] >= 2 && uint32_t(v[0]) + 1 <= len) {
          out.mgmt_subtype = v[1];
          out.mgmt_addr = {v + 2, uint32_t(v[0]) - 1u};
        }
        break;
      case kTlvOrg: org_tlv(v, len, out); break;
      default: break;
    }
    ++index;
    pos += 2 + len;
  }
  if (index < 3) return fail(err, pos, "LLDPDU ends before its Chassis ID, Port ID and TTL TLVs");
  return true;
}

int64_t mau_speed_bps(int32_t m) {
  // IANA-MAU-MIB dot3MauType; values past 78 vary between MIB copies: unknown.
  if (m == 1 || (m >= 2 && m <= 14)) return 10'000'000;
  if ((m >= 15 && m <= 20) || (m >= 44 && m <= 46)) return 100'000'000;
  if ((m >= 21 && m <= 30) || (m >= 47 && m <= 53) || m == 56) return 1'000'000'000;
  if ((m >= 31 && m <= 41) || m == 54 || m == 55 || (m >= 57 && m <= 69)) return 10'000'000'000;
  if (m >= 70 && m <= 74) return 40'000'000'000;
  if (m >= 75 && m <= 78) return 100'000'000'000;
  return 0;
}

void format_text(ByteView v, std::string& out) { escape_text(v.p, v.n, out); }

void format_chassis_id(const LldpPdu& pdu, std::string& out) {
  out.clear();
  ByteView v = pdu.chassis_id;
  if (pdu.chassis_subtype == 4) {
    append_hex_colon(v.p, v.n, out);
  } else if (pdu.chassis_subtype == 5 && v.n >= 1) {
    append_address(v.p[0], v.p + 1, v.n - 1, out);
  } else {
    format_text(v, out);
  }
}

void format_port_id(const LldpPdu& pdu, std::string& out) {
  out.clear();
  ByteView v = pdu.port_id;
  if (pdu.port_subtype == 3) {
    append_hex_colon(v.p, v.n, out);
  } else if (pdu.port_subtype == 4 && v.n >= 1) {
    append_address(v.p[0], v.p + 1, v.n - 1, out);
  } else {
    format_text(v, out);
  }
}

void format_mgmt_addr(const LldpPdu& pdu, std::string& out) {
  out.clear();
  if (pdu.mgmt_subtype == 6) {
    append_hex_colon(pdu.mgmt_addr.p, pdu.mgmt_addr.n, out);
  } else {
    append_address(pdu.mgmt_subtype, pdu.mgmt_addr.p, pdu.mgmt_addr.n, out);
  }
}

}  // namespace flapwatch
