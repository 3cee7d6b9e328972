#include "flapwatch/live/counter_source.hpp"

#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace flapwatch {
namespace {

int64_t clock_ns(clockid_t c) {
  timespec ts;
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string trimmed(const char* p, size_t n) {
  std::string s(p, strnlen(p, n));
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The ethtool netlink numbers (the kernel's uapi linux/ethtool_netlink.h).
constexpr uint8_t kMsgLinkstateGet = 6, kMsgPauseGet = 21;
constexpr uint16_t kHeaderDevName = 2, kHeaderFlags = 3, kFlagStats = 4;
constexpr uint16_t kLinkstateExtDownCnt = 7, kPauseStats = 5, kPauseStatTxFrames = 2, kPauseStatRxFrames = 3;

void put_attr(std::vector<uint8_t>& b, uint16_t type, const void* data, size_t len) {
  nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
  size_t at = b.size();
  const auto* head = reinterpret_cast<const uint8_t*>(&a);
  const auto* body = static_cast<const uint8_t*>(data);
  b.insert(b.end(), head, head + sizeof a);  // (sizeof a == NLA_HDRLEN)
  if (len) b.insert(b.end(), body, body + len);
  b.resize(at + NLA_ALIGN(NLA_HDRLEN + len));  // padding: zeros
}

// Calls f(type, payload, len) for each attribute in [p, p + n).
template <class F>
void each_attr(const uint8_t* p, size_t n, F&& f) {
  while (n >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > n) return;
    f(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), p + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    size_t step = NLA_ALIGN(a.nla_len);
    if (step >= n) return;
    p += step;
    n -= step;
  }
}

// Fills in the netlink and genetlink headers of `msg` (attributes already appended).
uint32_t finish_genl(std::vector<uint8_t>& msg, uint16_t family, uint8_t cmd, uint32_t seq) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_len = static_cast<uint32_t>(msg.size());
  h->nlmsg_type = family;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = seq;
  auto* g = reinterpret_cast<genlmsghdr*>(msg.data() + NLMSG_HDRLEN);
  g->cmd = cmd;
  g->version = 1;
  return seq;
}

}  // namespace

Classified classify(const CounterProfile& p, const std::vector<std::string>& names) {
  Classified out;
  std::vector<std::regex> rx;
  rx.reserve(p.rules.size());
  for (const auto& r : p.rules) rx.emplace_back(r.pattern, std::regex::ECMAScript | std::regex::optimize);
  std::smatch m;
  for (uint32_t i = 0; i < names.size(); ++i) {
    for (size_t k = 0; k < rx.size(); ++k) {
      if (!std::regex_match(names[i], m, rx[k])) continue;
      const CounterRuleSpec& r = p.rules[k];
      CounterValue v{r.meaning, r.direction, -1, r.unit, r.width, 0};
      if (r.prio_group > 0 && static_cast<size_t>(r.prio_group) < m.size() && m[r.prio_group].matched)
        v.priority = static_cast<int8_t>(std::stoi(m[r.prio_group].str()));
      out.counters.emplace_back(i, v);
      break;
    }
  }
  return out;
}

const CounterProfile* choose_profile(const std::vector<CounterProfile>& profiles, const std::string& driver,
                                     const std::vector<std::string>& names) {
  for (const auto& p : profiles)
    if (!driver.empty() && (p.driver == driver || std::find(p.aliases.begin(), p.aliases.end(), driver) != p.aliases.end()))
      return &p;
  const CounterProfile* best = nullptr;
  size_t best_n = 0;
  for (const auto& p : profiles) {
    size_t n = classify(p, names).counters.size();
    if (n > best_n) best = &p, best_n = n;
  }
  return best;
}

// ---- ioctl -----------------------------------------------------------------------

EthtoolReader::EthtoolReader(std::string ifname) : ifname_(std::move(ifname)) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

EthtoolReader::~EthtoolReader() {
  if (fd_ >= 0) close(fd_);
}

bool EthtoolReader::ioctl_(void* data) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(data);
  if (::ioctl(fd_, SIOCETHTOOL, &ifr) == 0) return true;
  error_ = std::strerror(errno);
  return false;
}

std::string EthtoolReader::driver() {
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  if (!ioctl_(&info)) return "";
  return trimmed(info.driver, sizeof info.driver);
}

int64_t EthtoolReader::count() {
  alignas(8) uint8_t q[sizeof(ethtool_sset_info) + sizeof(uint32_t)] = {};
  auto* info = reinterpret_cast<ethtool_sset_info*>(q);
  info->cmd = ETHTOOL_GSSET_INFO;
  info->sset_mask = 1ULL << ETH_SS_STATS;
  if (!ioctl_(info)) return -1;
  uint32_t n;
  std::memcpy(&n, q + sizeof(ethtool_sset_info), sizeof n);
  return (info->sset_mask & (1ULL << ETH_SS_STATS)) ? int64_t(n) : 0;
}

bool EthtoolReader::read_names(int64_t n) {
  std::vector<uint8_t> b(sizeof(ethtool_gstrings) + static_cast<size_t>(n) * ETH_GSTRING_LEN);
  auto* g = reinterpret_cast<ethtool_gstrings*>(b.data());
  g->cmd = ETHTOOL_GSTRINGS;
  g->string_set = ETH_SS_STATS;
  g->len = static_cast<uint32_t>(n);
  if (!ioctl_(g)) return false;
  if (g->len != static_cast<uint32_t>(n)) return false;  // changed (or refused) under us
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(n));
  const char* data = reinterpret_cast<const char*>(b.data() + sizeof(ethtool_gstrings));
  for (int64_t i = 0; i < n; ++i) names.push_back(trimmed(data + i * ETH_GSTRING_LEN, ETH_GSTRING_LEN));
  if (names != names_) {
    names_changed_ = true;
    names_ = std::move(names);
  }
  ++rereads_;
  names_at_ = clock_ns(CLOCK_MONOTONIC);
  return true;
}

bool EthtoolReader::read() {
  names_changed_ = false;
  for (int attempt = 0; attempt < 4; ++attempt) {
    int64_t n = count();
    if (n < 0) return false;
    if (n == 0) {
      error_ = "no statistics (ETH_SS_STATS is empty or unsupported)";
      return false;
    }
    bool stale = static_cast<size_t>(n) != names_.size() || clock_ns(CLOCK_MONOTONIC) - names_at_ > 1'000'000'000;
    if (stale && !read_names(n)) continue;
    // Headroom: kernels before the fix copy the driver's count whatever we asked.
    size_t words = 1 + static_cast<size_t>(n) * 2 + 64;
    if (buf_.size() < words) buf_.assign(words, 0);
    auto* st = reinterpret_cast<ethtool_stats*>(buf_.data());
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = static_cast<uint32_t>(n);
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    ts_ns_ = clock_ns(CLOCK_REALTIME);
    bool ok = ioctl_(st);
    read_ns_ = clock_ns(CLOCK_MONOTONIC) - t0;
    if (!ok) return false;
    if (st->n_stats != static_cast<uint32_t>(n)) {  // 0 (refused) or another count: the list moved
      names_.clear();
      continue;
    }
    values_.assign(buf_.begin() + 1, buf_.begin() + 1 + n);
    return true;
  }
  error_ = "the statistics list kept changing while being read";
  return false;
}

// ---- generic netlink -------------------------------------------------------------

EthtoolNetlink::EthtoolNetlink() {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd_ < 0) return;
  timeval tv{0, 200'000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // CTRL_CMD_GETFAMILY "ethtool"
  std::vector<uint8_t> msg(NLMSG_HDRLEN + GENL_HDRLEN);
  put_attr(msg, CTRL_ATTR_FAMILY_NAME, "ethtool", 8);
  finish_genl(msg, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, seq_++);
  if (send(fd_, msg.data(), msg.size(), 0) < 0) return;
  std::vector<uint8_t> buf(8192);
  ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
  if (n < static_cast<ssize_t>(NLMSG_HDRLEN + GENL_HDRLEN)) return;
  auto* r = reinterpret_cast<nlmsghdr*>(buf.data());
  if (r->nlmsg_type == NLMSG_ERROR || r->nlmsg_len > static_cast<uint32_t>(n)) return;
  each_attr(buf.data() + NLMSG_HDRLEN + GENL_HDRLEN, r->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN,
            [&](uint16_t type, const uint8_t* p, size_t len) {
              if (type == CTRL_ATTR_FAMILY_ID && len >= 2) std::memcpy(&family_, p, 2);
            });
}

EthtoolNetlink::~EthtoolNetlink() {
  if (fd_ >= 0) close(fd_);
}

bool EthtoolNetlink::request(uint8_t cmd, const std::string& ifname, std::vector<uint8_t>& reply, int& err) {
  err = 0;
  std::vector<uint8_t> hdr;
  put_attr(hdr, kHeaderDevName, ifname.c_str(), ifname.size() + 1);
  uint32_t flags = kFlagStats;
  put_attr(hdr, kHeaderFlags, &flags, 4);
  std::vector<uint8_t> msg(NLMSG_HDRLEN + GENL_HDRLEN);
  put_attr(msg, NLA_F_NESTED | 1, hdr.data(), hdr.size());  // ETHTOOL_A_*_HEADER is attribute 1
  const uint32_t seq = finish_genl(msg, family_, cmd, seq_++);
  if (send(fd_, msg.data(), msg.size(), 0) < 0) {
    err = errno;
    return false;
  }
  reply.resize(16384);
  for (;;) {  // skip anything stale from an earlier timed-out request
    ssize_t n = recv(fd_, reply.data(), reply.size(), 0);
    if (n < static_cast<ssize_t>(NLMSG_HDRLEN)) {
      err = n < 0 ? errno : EIO;
      return false;
    }
    auto* r = reinterpret_cast<nlmsghdr*>(reply.data());
    if (r->nlmsg_seq != seq) continue;
    if (r->nlmsg_type == NLMSG_ERROR) {
      auto* e = reinterpret_cast<nlmsgerr*>(reply.data() + NLMSG_HDRLEN);
      err = -e->error;
      return false;
    }
    reply.resize(std::min<size_t>(r->nlmsg_len, static_cast<size_t>(n)));
    return reply.size() >= NLMSG_HDRLEN + GENL_HDRLEN;
  }
}

void EthtoolNetlink::read(const std::string& ifname, std::vector<CounterValue>& out, bool& no_pause,
                          bool& no_down_count) {
  std::vector<uint8_t> reply;
  int err;
  const size_t body = NLMSG_HDRLEN + GENL_HDRLEN;
  if (!no_pause) {
    if (request(kMsgPauseGet, ifname, reply, err)) {
      bool found = false;
      each_attr(reply.data() + body, reply.size() - body, [&](uint16_t type, const uint8_t* p, size_t len) {
        if (type != kPauseStats) return;
        each_attr(p, len, [&](uint16_t t, const uint8_t* q, size_t l) {
          if ((t != kPauseStatTxFrames && t != kPauseStatRxFrames) || l < 8) return;
          uint64_t v;
          std::memcpy(&v, q, 8);
          out.push_back(CounterValue{CounterMeaning::pause_frames, t == kPauseStatRxFrames ? kDirRx : kDirTx, -1,
                                     CounterUnit::frames, 64, v});
          found = true;
        });
      });
      if (!found) no_pause = true;
    } else if (err != EAGAIN && err != EINTR) {
      no_pause = true;
    }
  }
  if (!no_down_count) {
    if (request(kMsgLinkstateGet, ifname, reply, err)) {
      bool found = false;
      each_attr(reply.data() + body, reply.size() - body, [&](uint16_t type, const uint8_t* p, size_t len) {
        if (type != kLinkstateExtDownCnt || len < 4) return;
        uint32_t v;
        std::memcpy(&v, p, 4);
        out.push_back(CounterValue{CounterMeaning::link_down_events, kDirNone, -1, CounterUnit::events, 32, v});
        found = true;
      });
      if (!found) no_down_count = true;
    } else if (err != EAGAIN && err != EINTR) {
      no_down_count = true;
    }
  }
}

}  // namespace flapwatch
