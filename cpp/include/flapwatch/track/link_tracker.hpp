// LinkTracker: flaps per port from netlink link messages.
//
// The kernel hides flaps: linkwatch coalesces carrier events, so a sub-second flap
// may never show as a down message. The carrier up/down counters still move, and a
// jump of k between two messages that the states do not explain is k hidden flaps.
// A flap is counted (for policies) at its down instant; its row is written when it is
// known to be over (the up, or the message that revealed it). A down opens an outage:
// a link_down row at once, the flap row when it closes.
//
// A port's first message (docs/DESIGN.md, Captures start and end mid-flight): a dump
// reply is a baseline (state and counters, nothing to compare with). A notification
// that reports a change is an edge: down starts an outage then; up closes one that was
// open when the capture began (down_ns is the capture's start, flagged open_at_start;
// the policies do not count it, its down instant is unknown). A notification for a flag
// that is not the link's state (ifi_change without IFF_UP, e.g. promiscuity as a
// capture starts) is a baseline too. Counter jumps are counted from the first message on.
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
  // Emits policy clears due by t (call before each record, in time order). The first
  // call's t is the capture's start unless set_start() said otherwise.
  void advance(int64_t t);
  // The capture's start (the input's first record): the bound of an outage already
  // open then.
  void set_start(int64_t t) {
    if (start_ns_ < 0) start_ns_ = t;
  }
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
  void write_flap(int32_t port, PortState& s, int64_t ts, int64_t down, int64_t up, bool hidden,
                  bool open_at_start = false);
  void write_link_down(int32_t port, int64_t ts);
  void refresh_deadline();

  LinkConfig cfg_;
  Detections& out_;
  std::vector<int32_t> policy_names_;  // windows first, then dampening
  std::vector<PortState> ports_;
  int64_t next_deadline_ = kNever;
  int64_t start_ns_ = -1;
};

}  // namespace flapwatch
