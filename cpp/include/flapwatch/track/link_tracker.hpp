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
//
// A message is not the change (net/core/link_watch.c; docs/DESIGN.md, "Durations with
// their uncertainty"). Each flap carries the range its true down and up can lie in, and
// its duration's. Linkwatch holds a non-urgent event (a carrier down on a NIC-like port)
// until its next run, at most a second after the previous one anywhere in the kernel, so
// a down's message can be up to kMaxDelayNs late: the down lies after the port's previous
// message (it was up then) and the last LLDPDU the port received from its neighbor
// (on_rx), within kMaxDelayNs of its message. An up after a down already notified is
// urgent: notified within kNotifyNs. A change of the port's own admin state (ifi_change
// has IFF_UP) is notified by rtnetlink at once. Hidden flaps lie between the previous
// message and the one revealing them, within kMaxDelayNs of it. Which runs the kernel made
// for devices the capture does not show (other namespaces) is unknowable, so no message
// is taken as a run at once, except as said. A pushed event (not the kernel's) is bounded
// by the port's previous message alone.
#pragma once
#include <algorithm>
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

  // pushed: an embedder's link event (Engine::on_link_event, LiveAgent::push_link; frame
  // -1), not a kernel message: linkwatch's timing says nothing of it.
  void on_link(int64_t ts, int32_t port, const LinkRecord& r, bool pushed = false);
  // The port received a frame from its neighbor at ts: the link was up then.
  void on_rx(int64_t ts, int32_t port) {
    PortState& s = state(port);
    s.last_rx = std::max(s.last_rx, ts);
  }
  // A silence in what the port received, from start to ts (RxGapRecord; frames: received
  // since the gap before). Kept until the port's next message: when the hidden flaps it
  // reveals are as many as the gaps since the previous one, and the traffic around them was
  // steady (kDenseFrames before each gap and after the last), flap i lies in gap i - its
  // range narrows from linkwatch's second to the silence (docs/DESIGN.md, Durations with
  // their uncertainty). A link down always silences the port; a traffic pause can too, so
  // a silence still open at the message counts as the last gap when the message says up (the
  // last flap's up came just before the run), is that down's own when it reports a down.
  void on_rx_gap(int64_t ts, int32_t port, int64_t start, int64_t frames);
  // The port's reception as its next link message is read: last frame, frames since the last gap.
  void on_rx_state(int64_t ts, int32_t port, int64_t last_frame, int64_t frames) {
    PortState& s = state(port);
    s.rx_state_ts = ts;
    s.rx_last = last_frame;
    s.rx_silent = ts - last_frame >= kRxSilenceNs;
    s.rx_after = frames;
  }
  static constexpr int64_t kRxSilenceNs = kRxGapNs;  // records.hpp: the dispatcher's gap, once
  static constexpr int64_t kDenseFrames = 3;  // fewer between two gaps: a trickle, not traffic
  static constexpr size_t kMaxGaps = 256;     // more since the last message: not used (no flap per gap)

  // Emits policy clears due by t (call before each record, in time order). The first
  // call's t is the capture's start unless set_start() said otherwise.
  void advance(int64_t t) {  // inline: called for every record
    set_start(t);
    advanced_ = std::max(advanced_, t);
    if (t >= next_deadline_) [[unlikely]] emit_clears(t);
  }
  // The capture's start (the input's first record): the bound of an outage already
  // open then.
  void set_start(int64_t t) {
    if (start_ns_ < 0) start_ns_ = t;
  }
  // End of input at t: pending clears are emitted (no further flap can change them),
  // ports still down get a row with up_ns = -1.
  void finish(int64_t t);
  // A flap another source found (a PHY link-down counter's, no carrier change): counted
  // for the port's flap policies as its own flaps are, at t, or later where the policies
  // have already been advanced past t (a policy takes a port's flaps in time order, and a
  // clear already emitted stays emitted): the time it became known.
  void count_flap(int32_t port, int64_t t);

  struct PortState {
    bool known = false;
    bool up = false;
    int64_t last_ts = 0;
    int64_t down_since = -1;
    int64_t up_count = -1, down_count = -1, changes = -1;
    int64_t messages = 0, flaps = 0, hidden = 0, micro = 0, down_total = 0, longest = 0, over_budget = 0;
    int64_t last_rx = -1;  // the last frame received from the neighbor
    int64_t down_earliest = -1, down_latest = -1;  // the open outage's true down
    int64_t down_at_start = -1;  // a first message that said down (dump reply, flag change): its time
    struct RxGap {
      int64_t start, end;
      bool dense;  // steady traffic before it (kDenseFrames)
    };
    std::vector<RxGap> rx_gaps;  // since the last message
    bool rx_gaps_unusable = false;  // too many since the last message
    int64_t rx_state_ts = -1;  // on_rx_state: for the message at this time
    int64_t rx_last = -1;  // the last frame received, as of that message
    bool rx_silent = false;
    int64_t rx_after = 0;

    std::vector<WindowCounter> windows;
    std::vector<Dampener> dampeners;
  };
  const std::vector<PortState>& ports() const { return ports_; }
  int64_t next_deadline() const { return next_deadline_; }

  // linkwatch's timing (kernel/linkwatch.py models it), with margins for a busy kworker and
  // the recorder's timestamps. A run at once follows its change by 0.3-0.9 ms, then sends one
  // message per device it processes (5-30 µs each: a device-wide event of 64 ports adds ~2 ms).
  // On a quiet veth here an up's message came up to 1.17 ms after its command returned. A held-back
  // event waits for linkwatch_nextevent (the previous non-urgent run + HZ), and the timer
  // wheel fires a one-second timer up to one level-1 bucket late: 8 jiffies, 32 ms at
  // HZ=250, 80 ms at HZ=100 (runs 1.020 s apart seen on a HZ=250 kernel).
  static constexpr int64_t kNotifyNs = 5'000'000;
  static constexpr int64_t kMaxDelayNs = 1'000'000'000 + 80'000'000 + 10'000'000;
  // A neighbor's frame is stamped as the receiver takes it, which may be shortly after
  // the carrier went down on a NIC whose driver drains its ring late.
  static constexpr int64_t kRxMarginNs = 1'000'000;

  // Where a flap's true down and up can lie, and its duration (-1: unknown / unbounded).
  struct Bounds {
    int64_t down_earliest = -1, down_latest = -1, up_earliest = -1, up_latest = -1;
    int64_t duration_min = -1, duration_max = -1;
  };

 private:
  PortState& state(int32_t port);
  void flap_instant(int32_t port, PortState& s, int64_t t);  // feeds the policies
  void write_flap(int32_t port, PortState& s, int64_t ts, int64_t down, int64_t up, bool hidden, const Bounds& b,
                  bool open_at_start = false);

  void write_link_down(int32_t port, int64_t ts);
  void emit_clears(int64_t t);  // the policy clears due by t
  void refresh_deadline();

  LinkConfig cfg_;
  Detections& out_;
  std::vector<int32_t> policy_names_;  // windows first, then dampening
  std::vector<PortState> ports_;
  int64_t next_deadline_ = kNever;
  int64_t advanced_ = INT64_MIN;  // the latest advance(): clears due by it are out, and no
                                  // port's policies have a flap after it (each flap advances first)
  int64_t start_ns_ = -1;
};

}  // namespace flapwatch
