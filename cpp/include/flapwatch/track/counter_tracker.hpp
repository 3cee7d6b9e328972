// CounterTracker: PFC storms, PHY flaps and the NIC's storm watchdog from counter
// samples (docs/DESIGN.md, "Counters"; flapwatch/counters.hpp for the records).
//
// Per port and counter (meaning, direction, priority) it keeps the last value and
// turns each poll into deltas: a 32-bit counter that went down by a wrap's worth is a
// wrap (the delta goes on); any other decrease is a reset (driver reload: a new epoch,
// no delta that poll); a counter absent from a sample, or back after being absent,
// starts a new epoch too, and so does a pause duration that grew by more than the time
// passed (plus a tenth, or a refresh period): a count that moved while it was out of
// sight (a log that dropped the empty dumps of a vanished counter). None of them ever
// makes a storm or a flap; each is a notice.
//
// Storms follow SONiC pfcwd's counter rules, per port and priority (slot 8: 802.3x
// PAUSE), rx and tx together (a priority paused or pausing, as the frame tracker sees
// either direction on a port):
// - duration rule (mlx5, bnxt, SAI *_US): a poll qualifies when the pause-duration
//   delta exceeds storm_duty_counters (99 %) of the poll interval (pfc_detect_mellanox);
// - frame rule (ice, i40e: XOFF counts only): a poll qualifies when new pause frames
//   came, no XON did (pfc_detect_broadcom: no ON->OFF transition), and the frames
//   times the longest pause a frame can ask (65535 quanta at the link speed) could
//   cover 99 % of the interval: the frame count bounds the paused time from above;
// - a storm trips when qualifying polls have lasted 99 % of the detection time, and
//   restores (pfc_restore.lua) once no new PFC frame (or no pause time, where only
//   durations exist) came for the restoration time in the direction(s) that stormed
//   (the port's healthy PFC the other way does not hold a storm open).
// A driver that copies its counters every refresh period (bnxt 1 s) returns repeats in
// between: a sample whose values all equal the last evaluated one within 1.5 refresh
// periods is a repeat, not a poll with "no pause"; when values move, the interval the
// paused time covers is the time since the last change rounded to whole refresh
// periods (two copies are whole periods apart, whatever the polls' phase: pfcwd too
// measures between the copies' stamps).
// Where the frame tracker has seen PFC frames of the same port and priority, frames
// speak for it: the counters do not trip a second storm.
//
// PHY link-down counter deltas (mlx5 link_down_events_phy) are matched against the
// carrier downs the link tracker saw in the interval (plus a grace second, for the
// driver's late carrier work); the unmatched ones are flaps with source "PHY counter",
// bounded by the two samples, and the port's flap policies count them as they count the
// carrier's flaps, when they are known (LinkTracker::count_flap). Storm-watchdog
// increments (mlx5 tx_pause_storm_*) are a policy event "nic-storm-watchdog" (event 1,
// value = the increments; no clear: the NIC acted, there is no state to clear).
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "flapwatch/counters.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/track/config.hpp"
#include "flapwatch/track/detections.hpp"
#include "flapwatch/track/link_tracker.hpp"
#include "flapwatch/track/pfc_tracker.hpp"

namespace flapwatch {

// flaps.source
enum FlapSource : uint8_t { kFlapNetlink = 0, kFlapCarrierCounters = 1, kFlapPhyCounter = 2 };
constexpr const char* kFlapSourceNames[] = {"netlink", "carrier counters", "PHY counter"};

// What a notice reports.
enum class CounterNotice : uint8_t { wrap, reset, vanished, reappeared, list_changed, jumped };
constexpr const char* kCounterNoticeNames[] = {"wrapped (32-bit)", "reset (went backwards: a new epoch)",
                                               "vanished from the sample", "reappeared (a new epoch)",
                                               "name list changed (re-read)",
                                               "jumped by more pause than time passed (a new epoch)"};

class CounterTracker {
 public:
  static constexpr double kStormDuty = 0.99;  // pfcwd: paused > 99 % of the poll interval
  static constexpr int64_t kPhyGraceNs = 1'000'000'000;

  // flap_policies: the link tracker, whose flap policies count the PHY counter's flaps too.
  CounterTracker(const PfcConfig& cfg, const LinkConfig& link, Detections& out, std::array<int32_t, 9> storm_policy,
                 int32_t watchdog_policy, const PfcTracker& frames, LinkTracker& flap_policies);

  void on_counter(int64_t ts, int32_t port, const CounterRecord& r);
  // Carrier downs the link tracker saw (netlink, or hidden in the carrier counters).
  void on_link_downs(int64_t ts, int32_t port, int64_t n);
  void advance(int64_t now);
  void finish(int64_t now);

  struct Notice {
    int64_t ts_ns;
    int32_t port;
    CounterNotice what;
    uint8_t meaning;
    int8_t direction, priority;
  };
  const std::vector<Notice>& notices() const { return notices_; }
  int64_t samples() const { return samples_; }
  // The paused time counted per port (all priorities), for the ports table.
  int64_t paused_ns(int32_t port) const;
  // The same for one slot: 0..7 a priority, 8 802.3x PAUSE (the live metrics, by priority).
  int64_t paused_ns(int32_t port, int slot) const {
    return static_cast<size_t>(port) < ports_.size() && slot >= 0 && slot < 9
               ? ports_[static_cast<size_t>(port)].slot[static_cast<size_t>(slot)].paused_total
               : 0;
  }
  size_t port_count() const { return ports_.size(); }
  bool has_port(int32_t port) const {
    return static_cast<size_t>(port) < ports_.size() && ports_[static_cast<size_t>(port)].samples > 0;
  }
  int64_t phy_flaps(int32_t port) const {
    return static_cast<size_t>(port) < ports_.size() ? ports_[static_cast<size_t>(port)].phy_flaps : 0;
  }

 private:
  struct Key {
    uint8_t meaning;
    int8_t direction, priority;
    uint8_t ordinal;  // several counters of one meaning (mlx5 storm warning and error): their order
    uint8_t width = 64, unit = 0;
    uint64_t value = 0;       // as last read
    uint64_t eval_value = 0;  // at the last evaluated poll
    bool known = false;       // eval_value is a baseline in the current epoch
    bool absent = false;      // missing from the last sample(s)
    uint32_t seen = 0;        // the sample it was last read in
    bool fresh = false;       // read in the sample being assembled
    int64_t delta = -1;       // this poll's delta, -1: none (new epoch)
  };
  struct Slot {
    int64_t acc = 0, run_start = -1, run_paused = 0, run_frames = 0, trip_ts = 0;
    bool storm = false, tripped = false;
    uint8_t dirs = 0;  // directions (bit 0 none, 1 rx, 2 tx) whose polls qualified: restoration watches them
    int64_t storm_start = 0, storm_end = 0, storm_paused = 0, storm_frames = 0, quiet = 0;
    int64_t paused_total = 0;
  };
  struct PendingPhy {
    int64_t t0, t1, k;
  };
  struct PortState {
    std::vector<Key> keys;
    std::array<Slot, 9> slot;
    uint32_t sample = 0;  // the sample being assembled
    bool assembling = false;
    int64_t ts = 0, last_read = -1, eval_ts = -1;
    uint16_t refresh_ms = 0;
    int64_t samples = 0, phy_flaps = 0;
    std::deque<int64_t> downs;  // carrier down instants not yet matched with a PHY count
    std::deque<PendingPhy> phy;
  };

  PortState& state(int32_t port);
  void complete(int32_t port, PortState& s, int64_t ts);
  void evaluate(int32_t port, PortState& s, int64_t ts, int64_t dt, int64_t gap);
  void slot_poll(int32_t port, int slot, Slot& q, int64_t ts, int64_t dt, int64_t gap, bool unknown, bool has_dur,
                 int64_t paused, int64_t frames, bool frame_rule_ok, uint8_t storming, uint8_t active);
  void emit_storm(int32_t port, int slot, Slot& q, int64_t ts);
  void judge_phy(int32_t port, PortState& s, int64_t now, bool all);
  void notice(int64_t ts, int32_t port, CounterNotice what, const Key* k);

  PfcConfig cfg_;
  LinkConfig link_;
  Detections& out_;
  std::array<int32_t, 9> storm_policy_;
  int32_t watchdog_policy_;
  const PfcTracker& frames_;
  LinkTracker& flap_policies_;
  std::vector<PortState> ports_;
  std::vector<Notice> notices_;
  int64_t samples_ = 0;
};

}  // namespace flapwatch
