// The layer-2 header of a frame, per link type: Ethernet II, Linux cooked v1 (SLL)
// and v2 (SLL2), with stacked 802.1Q / 802.1ad / 0x9100 tags peeled off.
#pragma once
#include <cstdint>

#include "flapwatch/bytes.hpp"
#include "flapwatch/io/source.hpp"

namespace flapwatch {

struct L2Header {
  const uint8_t* payload = nullptr;
  uint32_t payload_pos = 0;  // where the payload starts in the frame
  uint32_t len = 0;          // payload bytes
  uint64_t src_mac = 0;
  int32_t vlan = -1;  // VID of the outermost tag
  uint16_t ethertype = 0;
};

inline bool is_vlan_tpid(uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

// False when the frame is too short for its header (or not an L2 link type).
[[gnu::always_inline]] inline bool parse_l2(uint16_t linktype, const uint8_t* p, uint32_t n, L2Header& h) {
  uint32_t pos;
  switch (linktype) {
    case kLinkEthernet:
      if (n < 14) return false;
      h.src_mac = bytes::mac48(p + 6);
      pos = 12;
      break;
    case kLinkSll:  // pkttype, hatype, halen, addr[8], protocol
      if (n < 16) return false;
      h.src_mac = bytes::be16(p + 4) == 6 ? bytes::mac48(p + 6) : 0;
      pos = 14;
      break;
    case kLinkSll2:  // protocol, reserved, ifindex, hatype, pkttype, halen, addr[8]
      if (n < 20) return false;
      h.src_mac = p[11] == 6 ? bytes::mac48(p + 12) : 0;
      h.ethertype = bytes::be16(p);
      h.vlan = -1;
      pos = 20;
      goto tags;
    default:
      return false;
  }
  h.ethertype = bytes::be16(p + pos);
  pos += 2;
  h.vlan = -1;
tags:
  while (is_vlan_tpid(h.ethertype)) {
    if (n < pos + 4) return false;
    if (h.vlan < 0) h.vlan = bytes::be16(p + pos) & 0x0fff;
    h.ethertype = bytes::be16(p + pos + 2);
    pos += 4;
  }
  h.payload = p + pos;
  h.payload_pos = pos;
  h.len = n - pos;
  return true;
}

}  // namespace flapwatch
