// NetlinkSource: link messages live from a NETLINK_ROUTE socket subscribed to
// RTNLGRP_LINK, framed exactly as nlmon captures them (LINKTYPE_NETLINK: a 16-byte
// cooked header, then the datagram), so the same decoder and the same recording
// path serve live and offline. An initial RTM_GETLINK dump makes the state and the
// carrier counters known from the start (hidden flaps need a baseline).
// Netlink has no kernel receive timestamp (SO_TIMESTAMPNS is not delivered on
// netlink sockets): the time is taken right after recv().
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/io/source.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

class NetlinkSource {
 public:
  NetlinkSource(StringTable& strings, const std::string& port_name = "netlink", bool dump = true);
  ~NetlinkSource();
  NetlinkSource(const NetlinkSource&) = delete;
  NetlinkSource& operator=(const NetlinkSource&) = delete;

  int fd() const { return fd_; }
  // Reads every pending datagram (non-blocking) and calls on_frame(const Frame&).
  template <class OnFrame>
  size_t drain(OnFrame&& on_frame) {
    size_t n = 0;
    Frame f;
    while (receive(f)) {
      on_frame(f);
      ++n;
    }
    return n;
  }
  // Times the kernel dropped messages because our socket buffer was full (ENOBUFS);
  // each is followed by a fresh dump so the counters resynchronise.
  uint64_t overruns() const { return overruns_.load(); }
  void request_dump();

 private:
  bool receive(Frame& f);

  int fd_ = -1;
  int32_t port_;
  int64_t index_ = 0;
  uint32_t seq_ = 1;
  std::atomic<uint64_t> overruns_{0};  // read by stats() on other threads
  std::vector<uint8_t> buf_;
};

int64_t realtime_ns();

}  // namespace flapwatch
