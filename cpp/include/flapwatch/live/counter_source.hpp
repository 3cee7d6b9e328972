// The live counter source (docs/DESIGN.md, "Counters"; the kernel's uapi linux/ethtool.h, ethtool_netlink.h):
// `ethtool -S` through the SIOCETHTOOL ioctls, for each watched interface, from one
// thread per agent (LiveAgent runs it), plus the ethtool netlink extras where the
// kernel and the driver have them (802.3x PAUSE frame counts, PAUSE_GET with stats;
// the PHY link-down count, LINKSTATE_GET EXT_DOWN_CNT). veth and dummy have neither:
// those are skipped with a notice, once.
//
// Names are never trusted stale: each read asks ETHTOOL_GSSET_INFO for the count and
// re-reads the names (ETHTOOL_GSTRINGS) when it changed, and again when GSTATS answers
// with another count or 0 (kernels since the Dec 2025 fix refuse a mismatched buffer;
// older ones copy the driver's count, so the buffer has headroom) and once a second
// (a list whose count stayed the same can still have changed). A read whose count
// moved under it is discarded and retried with the new names.
#pragma once
#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "flapwatch/counters.hpp"

namespace flapwatch {

// One name pattern of a driver profile (python/flapwatch/counters/profiles.py passes
// them; std::regex has no named groups, so the priority's group is given by number).
struct CounterRuleSpec {
  std::string pattern;  // ECMAScript, matched against the whole trimmed name
  int prio_group = 0;   // the capture group holding the priority, 0: none
  CounterMeaning meaning = CounterMeaning::pfc_frames;
  int8_t direction = kDirNone;
  CounterUnit unit = CounterUnit::frames;
  uint8_t width = 64;
};

struct CounterProfile {
  std::string driver;  // as ETHTOOL_GDRVINFO names it (mlx5_core, bnxt_en, ice, i40e)
  std::vector<std::string> aliases;
  int64_t refresh_ns = 0;
  std::vector<CounterRuleSpec> rules;
};

// The profile's classification of a name list: value index -> counter.
struct Classified {
  std::vector<std::pair<uint32_t, CounterValue>> counters;
};
Classified classify(const CounterProfile& p, const std::vector<std::string>& names);
// The profile for a driver (name or alias), else the one knowing most names (at least
// one), else nullptr.
const CounterProfile* choose_profile(const std::vector<CounterProfile>& profiles, const std::string& driver,
                                     const std::vector<std::string>& names);

// `ethtool -S IFACE` for one interface, by ioctl.
class EthtoolReader {
 public:
  explicit EthtoolReader(std::string ifname);
  ~EthtoolReader();
  EthtoolReader(const EthtoolReader&) = delete;
  EthtoolReader& operator=(const EthtoolReader&) = delete;

  // One read: values in names() order. false (and error() says why) when the
  // interface is gone or has no statistics (EOPNOTSUPP).
  bool read();
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<uint64_t>& values() const { return values_; }
  int64_t ts_ns() const { return ts_ns_; }      // CLOCK_REALTIME just before GSTATS
  int64_t read_ns() const { return read_ns_; }  // GSTATS' own duration
  bool names_changed() const { return names_changed_; }  // this read re-read a different list
  uint64_t name_rereads() const { return rereads_; }
  const std::string& error() const { return error_; }
  const std::string& interface() const { return ifname_; }
  std::string driver();  // ETHTOOL_GDRVINFO, "" unknown

 private:
  bool ioctl_(void* data);
  int64_t count();  // GSSET_INFO, -1 error
  bool read_names(int64_t n);

  std::string ifname_;
  int fd_ = -1;
  std::vector<std::string> names_;
  std::vector<uint64_t> values_;
  std::vector<uint64_t> buf_;
  int64_t ts_ns_ = 0, read_ns_ = 0, names_at_ = 0;
  bool names_changed_ = false;
  uint64_t rereads_ = 0;
  std::string error_;
};

// The ethtool generic-netlink extras for one interface: 802.3x PAUSE frame counts
// (PAUSE_GET with ETHTOOL_FLAG_STATS) and the PHY link-down count (LINKSTATE_GET,
// EXT_DOWN_CNT). Each is asked until the kernel or driver says it has none.
class EthtoolNetlink {
 public:
  EthtoolNetlink();
  ~EthtoolNetlink();
  EthtoolNetlink(const EthtoolNetlink&) = delete;
  EthtoolNetlink& operator=(const EthtoolNetlink&) = delete;
  bool available() const { return family_ != 0; }
  // Appends what the interface has to `out`; sets no_pause / no_down_count when the
  // answer says it never will (EOPNOTSUPP, or an attribute the reply lacks).
  void read(const std::string& ifname, std::vector<CounterValue>& out, bool& no_pause, bool& no_down_count);

 private:
  bool request(uint8_t cmd, const std::string& ifname, std::vector<uint8_t>& reply, int& err);
  int fd_ = -1;
  uint16_t family_ = 0;
  uint32_t seq_ = 1;
};

}  // namespace flapwatch
