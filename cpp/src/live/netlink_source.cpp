#include "flapwatch/live/netlink_source.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "flapwatch/decode/netlink.hpp"

namespace flapwatch {

int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

NetlinkSource::NetlinkSource(StringTable& strings, const std::string& port_name, bool dump)
    : port_(strings.intern(port_name)), buf_(kNetlinkCookedLen + (1 << 16)) {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd_ < 0) throw std::runtime_error(std::string("netlink socket: ") + std::strerror(errno));
  int rcvbuf = 4 << 20;  // bursts of link messages must not overrun us
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) == 0 ||
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int e = errno;
    close(fd_);
    throw std::runtime_error(std::string("netlink bind: ") + std::strerror(e));
  }
  // The nlmon cooked header, written once: pkttype 4 (as nlmon marks kernel
  // messages), ARPHRD_NETLINK 824, no address, protocol NETLINK_ROUTE (0).
  std::memset(buf_.data(), 0, kNetlinkCookedLen);
  buf_[1] = 4;
  buf_[2] = 824 >> 8;
  buf_[3] = 824 & 0xff;
  if (dump) request_dump();
}

NetlinkSource::~NetlinkSource() {
  if (fd_ >= 0) close(fd_);
}

void NetlinkSource::request_dump() {
  struct {
    nlmsghdr h;
    ifinfomsg i;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq_++;
  req.i.ifi_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    throw std::runtime_error(std::string("netlink dump request: ") + std::strerror(errno));
}

bool NetlinkSource::receive(Frame& f) {
  for (;;) {
    ssize_t n = recv(fd_, buf_.data() + kNetlinkCookedLen, buf_.size() - kNetlinkCookedLen, 0);
    if (n > 0) {
      f.ts_ns = realtime_ns();
      f.index = index_++;
      f.offset = 0;
      f.data = buf_.data();
      f.caplen = f.origlen = static_cast<uint32_t>(n) + kNetlinkCookedLen;
      f.port = port_;
      f.linktype = kLinkNetlink;
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // the kernel dropped messages: count, resync
      ++overruns_;
      try {
        request_dump();
      } catch (const std::exception&) {
      }
      continue;
    }
    return false;  // EAGAIN: nothing pending
  }
}

}  // namespace flapwatch
