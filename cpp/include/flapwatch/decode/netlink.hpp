// Netlink link messages as nlmon captures them (LINKTYPE_NETLINK): a 16-byte cooked
// header, then one or more netlink messages in the capturing host's byte order,
// which the file does not record: we guess it per frame from the first nlmsg_len.
#pragma once
#include <cstdint>
#include <string_view>

#include "flapwatch/bytes.hpp"
#include "flapwatch/decode/decode_error.hpp"

namespace flapwatch {

constexpr uint32_t kNetlinkCookedLen = 16;
constexpr uint16_t kNetlinkRoute = 0;
constexpr uint16_t kRtmNewLink = 16, kRtmDelLink = 17;
constexpr uint16_t kNlmFMulti = 0x2;
constexpr uint16_t kIflaAddress = 1, kIflaIfname = 3, kIflaOperstate = 16, kIflaCarrier = 33, kIflaCarrierChanges = 35,
                   kIflaCarrierUpCount = 47, kIflaCarrierDownCount = 48;

struct LinkMessage {
  uint16_t type = 0;
  uint16_t dev_type = 0;  // ifi_type: ARPHRD_* (1 Ethernet, 772 loopback)
  int32_t ifindex = 0;
  uint32_t flags = 0;
  uint32_t change = 0;  // ifi_change: the flags the message reports changed (0 from linkwatch)
  // A reply to an RTM_GETLINK dump, not a notification: the kernel sets NLM_F_MULTI
  // and the requester's port id (and its sequence number) on dump replies; RTNLGRP_LINK
  // notifications carry no NLM_F_MULTI (docs/DESIGN.md, Captures start and end mid-flight).
  bool dump = false;
  std::string_view ifname;
  int8_t operstate = -1, carrier = -1;
  int64_t carrier_changes = -1, carrier_up_count = -1, carrier_down_count = -1;
  uint64_t mac = 0;  // IFLA_ADDRESS when it is a 6-byte MAC
};

// The netlink family of a LINKTYPE_NETLINK frame (the cooked header's protocol), or
// -1 when the frame is shorter than that header.
inline int netlink_family(const uint8_t* p, uint32_t n) {
  return n < kNetlinkCookedLen ? -1 : bytes::be16(p + 14);
}

// Calls on_link(const LinkMessage&) for each RTM_NEWLINK / RTM_DELLINK in the frame
// (after the cooked header). False, with `err` set (positions relative to the frame
// start), when the framing or an attribute is broken; rows already passed to
// on_link must then be discarded by the caller.
template <class OnLink>
bool decode_netlink_links(const uint8_t* frame, uint32_t n, OnLink&& on_link, DecodeError& err) {
  const uint32_t start = kNetlinkCookedLen;
  if (n < start + 16) return fail(err, start, "netlink frame shorter than one message header");
  const uint8_t* p = frame;
  uint32_t first_le = bytes::le32(p + start), first_be = bytes::be32(p + start);
  bool swap;  // messages not in this machine's order
  bool little;
  if (first_le >= 16 && first_le <= n - start)
    little = true;
  else if (first_be >= 16 && first_be <= n - start)
    little = false;
  else
    return fail(err, start, "netlink message length fits neither byte order");
  swap = little != (std::endian::native == std::endian::little);
  uint32_t pos = start;
  while (pos + 16 <= n) {
    uint32_t len = bytes::load<uint32_t>(p + pos, swap);
    uint16_t type = bytes::load<uint16_t>(p + pos + 4, swap);
    if (len < 16 || len > n - pos) return fail(err, pos, "netlink message length out of bounds");
    if (type == kRtmNewLink || type == kRtmDelLink) {
      if (len < 32) return fail(err, pos, "link message shorter than its ifinfomsg");
      LinkMessage m;
      m.type = type;
      uint16_t nl_flags = bytes::load<uint16_t>(p + pos + 6, swap);
      uint32_t nl_pid = bytes::load<uint32_t>(p + pos + 12, swap);
      m.dump = (nl_flags & kNlmFMulti) && nl_pid != 0;
      m.dev_type = bytes::load<uint16_t>(p + pos + 18, swap);
      m.ifindex = static_cast<int32_t>(bytes::load<uint32_t>(p + pos + 20, swap));
      m.flags = bytes::load<uint32_t>(p + pos + 24, swap);
      m.change = bytes::load<uint32_t>(p + pos + 28, swap);
      uint32_t a = pos + 32, end = pos + len;
      while (a + 4 <= end) {
        uint16_t alen = bytes::load<uint16_t>(p + a, swap);
        uint16_t atype = bytes::load<uint16_t>(p + a + 2, swap) & 0x3fff;
        if (alen < 4 || alen > end - a) return fail(err, a, "netlink attribute length out of bounds");
        const uint8_t* v = p + a + 4;
        uint32_t vlen = alen - 4u;
        auto need = [&](uint32_t k) { return vlen >= k; };
        switch (atype) {
          case kIflaIfname: {
            std::string_view s(reinterpret_cast<const char*>(v), vlen);
            m.ifname = s.substr(0, s.find('\0'));
            break;
          }
          case kIflaAddress:
            if (vlen == 6) m.mac = bytes::mac48(v);
            break;
          case kIflaOperstate:
            if (!need(1)) return fail(err, a, "IFLA_OPERSTATE attribute too short");
            m.operstate = static_cast<int8_t>(v[0]);
            break;
          case kIflaCarrier:
            if (!need(1)) return fail(err, a, "IFLA_CARRIER attribute too short");
            m.carrier = static_cast<int8_t>(v[0]);
            break;
          case kIflaCarrierChanges:
          case kIflaCarrierUpCount:
          case kIflaCarrierDownCount: {
            if (!need(4)) return fail(err, a, "IFLA_CARRIER_* counter attribute too short");
            int64_t c = bytes::load<uint32_t>(v, swap);
            (atype == kIflaCarrierChanges ? m.carrier_changes
             : atype == kIflaCarrierUpCount ? m.carrier_up_count
                                            : m.carrier_down_count) = c;
            break;
          }
          default: break;
        }
        a += (alen + 3u) & ~3u;
      }
      on_link(m);
    }
    pos += (len + 3u) & ~3u;
  }
  return true;
}

}  // namespace flapwatch
