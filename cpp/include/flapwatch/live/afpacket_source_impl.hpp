// The per-frame part of AfPacketSource, inline for the hot loop.
#pragma once
#include <linux/if_packet.h>

#include <cstring>

namespace flapwatch {

template <class OnFrame>
size_t AfPacketSource::walk_block(const uint8_t* block, OnFrame& on_frame) {
  auto* bd = reinterpret_cast<const tpacket_block_desc*>(block);
  uint32_t count = bd->hdr.bh1.num_pkts;
  const uint8_t* p = block + bd->hdr.bh1.offset_to_first_pkt;
  Frame f;
  f.port = port_;
  f.linktype = kLinkEthernet;
  f.offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    auto* h = reinterpret_cast<const tpacket3_hdr*>(p);
    const uint8_t* data = p + h->tp_mac;
    uint32_t len = h->tp_snaplen;
    if (h->tp_status & TP_STATUS_VLAN_VALID) {
      uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid : 0x8100;
      data = restore_vlan(data, len, tpid, static_cast<uint16_t>(h->hv1.tp_vlan_tci));
    }
    f.ts_ns = int64_t(h->tp_sec) * 1'000'000'000 + h->tp_nsec;
    f.index = index_++;
    f.data = data;
    f.caplen = len;
    f.origlen = h->tp_len;
    on_frame(f);
    p += h->tp_next_offset;
  }
  return count;
}

inline const uint8_t* AfPacketSource::restore_vlan(const uint8_t* data, uint32_t& len, uint16_t tpid,
                                                   uint16_t tci) {
  if (len < 12) return data;
  scratch_.resize(len + 4);
  std::memcpy(scratch_.data(), data, 12);
  scratch_[12] = static_cast<uint8_t>(tpid >> 8);
  scratch_[13] = static_cast<uint8_t>(tpid);
  scratch_[14] = static_cast<uint8_t>(tci >> 8);
  scratch_[15] = static_cast<uint8_t>(tci);
  std::memcpy(scratch_.data() + 16, data + 12, len - 12);
  len += 4;
  return scratch_.data();
}

}  // namespace flapwatch
