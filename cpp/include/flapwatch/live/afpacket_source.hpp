// AfPacketSource: MAC-control (0x8808) and LLDP (0x88cc) frames live from one
// interface, through an AF_PACKET TPACKET_V3 ring (the kernel fills blocks of frames
// we read in place; no copy, no syscall per frame) with a classic BPF filter so every
// other frame stays in the kernel. The kernel strips VLAN tags into tp_vlan_tci; we
// put the tag back so frames decode (and record) as they were on the wire.
// Timestamps are the kernel's receive time, in ns.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/io/source.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

class AfPacketSource {
 public:
  AfPacketSource(const std::string& ifname, StringTable& strings, uint32_t block_size = 1 << 20,
                 uint32_t blocks = 8);
  ~AfPacketSource();
  AfPacketSource(const AfPacketSource&) = delete;
  AfPacketSource& operator=(const AfPacketSource&) = delete;

  int fd() const { return fd_; }
  const std::string& interface() const { return ifname_; }

  // Calls on_frame(const Frame&) for every frame in the blocks the kernel has handed
  // over, then returns the blocks to it.
  template <class OnFrame>
  size_t drain(OnFrame&& on_frame) {
    size_t n = 0;
    while (const uint8_t* block = ready_block()) {
      n += walk_block(block, on_frame);
      release_block();
    }
    return n;
  }
  // Frames the kernel dropped because the ring was full (PACKET_STATISTICS).
  uint64_t kernel_drops();
  // False once the interface has gone (ENETDOWN / ENXIO on the socket).
  bool alive();

 private:
  const uint8_t* ready_block();
  void release_block();
  template <class OnFrame>
  size_t walk_block(const uint8_t* block, OnFrame& on_frame);
  const uint8_t* restore_vlan(const uint8_t* data, uint32_t& len, uint16_t tpid, uint16_t tci);

  std::string ifname_;
  int fd_ = -1;
  int32_t port_;
  uint8_t* ring_ = nullptr;
  size_t ring_size_ = 0;
  uint32_t block_size_, blocks_, current_ = 0;
  int64_t index_ = 0;
  std::atomic<uint64_t> drops_{0};  // stats() may be called from any thread
  std::vector<uint8_t> scratch_;  // a frame with its VLAN tag put back
};

}  // namespace flapwatch

#include "flapwatch/live/afpacket_source_impl.hpp"
