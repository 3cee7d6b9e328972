// LinkTracker: flaps per port from netlink link messages.
//
// The kernel hides flaps: linkwatch coalesces carrier events, so a sub-second flap
// may never show as a down message. The carrier up/down counters still move, and a
// jump of k between two messages that the states do not explain is k hidden flaps.
// A flap is counted (for policies) at its down instant; its row is written when it is
// known to be over (the up, or the message that revealed it).
#pragma once
#include <cstdint>
#include <vector>

#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"
#include "flapwatch/track/config.hpp"
#include "flapwatch/track/detections.hpp"
#include "flapwatch/track/policies.hpp"

namespace flapwatch {

class LinkTracker {
 public:
  LinkTracker(const LinkConfig& cfg, StringTable& strings, Detections& out);

  void on_link(int64_t ts, int32_t port, const LinkRecord& r);
  // Emits policy clears due by t (call before each record, in time order).
  void advance(int64_t t);
  // End of input at t: pending clears are emitted (no further flap can change them),
  // ports still down get a row with up_ns = -1.
  void finish(int64_t t);

  struct PortState {
    bool known = false;
    bool up = false;
    int64_t last_ts = 0;
    int64_t down_since = -1;
    int64_t up_count = -1, down_count = -1, changes = -1;
    int64_t messages = 0, flaps = 0, hidden = 0, micro = 0, down_total = 0, longest = 0, over_budget = 0;
    std::vector<WindowCounter> windows;
    std::vector<Dampener> dampeners;
  };
  const std::vector<PortState>& ports() const { return ports_; }
  int64_t next_deadline() const { return next_deadline_; }

 private:
  PortState& state(int32_t port);
  void flap_instant(int32_t port, PortState& s, int64_t t);  // feeds the policies
  void write_flap(int32_t port, PortState& s, int64_t ts, int64_t down, int64_t up, bool hidden);
  void refresh_deadline();

  LinkConfig cfg_;
  Detections& out_;
  std::vector<int32_t> policy_names_;  // windows first, then dampening
  std::vector<PortState> ports_;
  int64_t next_deadline_ = kNever;
};

}  // namespace flapwatch
