#include "flapwatch/live/afpacket_source.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace flapwatch {
namespace {

// ldh [12]; 0x8808 or 0x88cc: accept; 0x8100 / 0x88a8 (a tag left in the frame):
// look at [16]; anything else: drop in the kernel.
sock_filter kFilter[] = {
    {0x28, 0, 0, 12},          // 0: ldh [12]
    {0x15, 7, 0, 0x8808},      // 1: jeq MAC control -> accept
    {0x15, 6, 0, 0x88cc},      // 2: jeq LLDP -> accept
    {0x15, 1, 0, 0x8100},      // 3: jeq 802.1Q -> 5
    {0x15, 0, 3, 0x88a8},      // 4: jeq 802.1ad -> 5 else reject
    {0x28, 0, 0, 16},          // 5: ldh [16]
    {0x15, 2, 0, 0x8808},      // 6: -> accept
    {0x15, 1, 0, 0x88cc},      // 7: -> accept
    {0x06, 0, 0, 0},           // 8: reject
    {0x06, 0, 0, 0x0004ffff},  // 9: accept (whole frame)
};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

AfPacketSource::AfPacketSource(const std::string& ifname, StringTable& strings, uint32_t block_size, uint32_t blocks)
    : ifname_(ifname), port_(strings.intern(ifname)), block_size_(block_size), blocks_(blocks) {
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (!ifindex) fail("interface " + ifname);
  // Protocol 0 until the filter is attached, so nothing unfiltered queues up.
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("AF_PACKET socket");
  try {
    sock_fprog prog{static_cast<unsigned short>(sizeof kFilter / sizeof kFilter[0]), kFilter};
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) fail("SO_ATTACH_FILTER");
    int version = TPACKET_V3;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) fail("PACKET_VERSION");
    tpacket_req3 req{};
    req.tp_block_size = block_size_;
    req.tp_block_nr = blocks_;
    req.tp_frame_size = 2048;
    req.tp_frame_nr = block_size_ / req.tp_frame_size * blocks_;
    req.tp_retire_blk_tov = 10;  // ms: a block is handed over at the latest after this
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) fail("PACKET_RX_RING");
    ring_size_ = size_t(block_size_) * blocks_;
    void* ring = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (ring == MAP_FAILED) fail("mmap of the packet ring");
    ring_ = static_cast<uint8_t*>(ring);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("bind to " + ifname);
  } catch (...) {
    if (ring_) munmap(ring_, ring_size_);
    close(fd_);
    throw;
  }
}

AfPacketSource::~AfPacketSource() {
  if (ring_) munmap(ring_, ring_size_);
  if (fd_ >= 0) close(fd_);
}

const uint8_t* AfPacketSource::ready_block() {
  auto* bd = reinterpret_cast<tpacket_block_desc*>(ring_ + size_t(current_) * block_size_);
  // Acquire: the kernel's writes to the block happen-before we see TP_STATUS_USER.
  uint32_t status = __atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
  return (status & TP_STATUS_USER) ? reinterpret_cast<const uint8_t*>(bd) : nullptr;
}

void AfPacketSource::release_block() {
  auto* bd = reinterpret_cast<tpacket_block_desc*>(ring_ + size_t(current_) * block_size_);
  __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  current_ = (current_ + 1) % blocks_;
}

uint64_t AfPacketSource::kernel_drops() {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof st;
  // The kernel resets its counter on every read: add what it had, atomically.
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) return drops_.fetch_add(st.tp_drops) + st.tp_drops;
  return drops_.load();
}

bool AfPacketSource::alive() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && (err == ENETDOWN || err == ENXIO || err == ENODEV))
    return false;
  return if_nametoindex(ifname_.c_str()) != 0;
}

}  // namespace flapwatch
