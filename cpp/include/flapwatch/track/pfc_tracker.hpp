// PfcTracker: pause time per port and priority from PFC (and 802.3x PAUSE) frames.
//
// A frame with quanta q on an enabled class (re)sets that priority's pause timer to
// q x 512 bit times at the link speed; quanta 0 is XON and ends the pause now. While
// a timer runs the priority is paused; overlapping pauses merge into paused
// intervals. A storm is a priority paused continuously (storm_duty 1.0, SONiC pfcwd)
// or for more than storm_duty of it (gaps up to (1 - duty) x detection merge) for at
// least the detection time; it ends when no pause follows for the restoration time.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/grown_at.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"
#include "flapwatch/track/config.hpp"
#include "flapwatch/track/detections.hpp"

namespace flapwatch {

// quanta x 512 bit times at a speed, in whole ns rounded down, as a multiply by the speed's
// scaled reciprocal: exact for every numerator below 2^55 (quanta <= 0xffff makes it < 2^55;
// Granlund & Montgomery's round-up method), with no divide and no branch per frame (random
// quanta made a divide a tenth of a frame's cost, and a cached quotient a mispredicted branch).
struct PauseScale {
  uint64_t magic = 0;
  int shift = 0;

  PauseScale() = default;
  explicit PauseScale(int64_t speed_bps) {
    const auto d = static_cast<uint64_t>(speed_bps);
    const int l = d > 1 ? 64 - __builtin_clzll(d - 1) : 0;  // ceil(log2 d): 2^l >= d
    shift = 55 + l;
    magic = static_cast<uint64_t>((static_cast<unsigned __int128>(1) << shift) / d) + 1;  // < 2^56 + 1
  }
  int64_t ns(uint16_t quanta) const {
    const uint64_t n = static_cast<uint64_t>(quanta) * 512'000'000'000ULL;
    return static_cast<int64_t>(static_cast<unsigned __int128>(n) * magic >> shift);
  }
};

class PfcTracker {
 public:
  static constexpr int kPauseSlot = 8;  // 802.3x PAUSE, reported as priority -1

  // storm_policy[slot]: the string index under which storm trips and clears of that
  // priority (slot 8: PAUSE) go to policy_events.
  PfcTracker(const PfcConfig& cfg, Detections& out, std::array<int32_t, 9> storm_policy);

  void on_pfc(int64_t ts, int32_t port, const PfcRecord& r);
  // The same by its fields: `quanta` one per enabled class, in class order.
  void on_pfc(int64_t ts, int32_t port, uint8_t class_enable, const uint16_t* quanta);
  void on_pause(int64_t ts, int32_t port, uint16_t quanta);
  // The link speed learned from LLDP (802.3 MAU type) for this port.
  void set_speed(int32_t port, int64_t speed_bps);
  // The speed the configuration gives this port (resolved where port names are known).
  void set_configured_speed(int32_t port, int64_t speed_bps);
  void finish(int64_t t);
  // Live: closes expired pauses, trips storms that have lasted the detection time, and
  // ends storms whose restoration time has passed, as of t (no frame needed).
  void advance(int64_t t);

  struct Priority {
    // The open paused interval: [start, end), end = the pause timer's expiry; paused
    // time is accounted up to start_acc so windows fill in time order.
    bool active = false;
    int64_t start = 0, end = 0, start_acc = 0, interval_frames = 0;
    // A run: intervals whose gaps are at most the merge gap (0: continuous).
    int64_t run_start = -1, run_end = 0, run_paused = 0, run_frames = 0;
    // A storm: runs joined while the gaps stay under the restoration time.
    bool storm = false, tripped = false;  // tripped: the trip event went out
    int64_t storm_start = 0, storm_end = 0, storm_paused = 0, storm_frames = 0;
    // The duty-cycle window being filled: its index and its bounds [w_lo, w_hi) in ns
    // (empty while window is -1).
    int64_t window = -1, w_lo = INT64_MAX, w_hi = INT64_MIN, w_frames = 0, w_xon = 0, w_paused = 0;
    int64_t frames = 0, paused_total = 0, storms = 0, last_ts = 0;
    int64_t scale_speed = 0;  // the speed `scale` converts quanta at
    PauseScale scale;
  };
  struct PortState {
    std::array<Priority, 9> prio;
    int64_t speed_bps = 0;      // from LLDP
    int64_t configured_bps = 0;  // from the configuration
    bool warned = false;
    int64_t frames = 0;
  };
  const std::vector<PortState>& ports() const { return ports_; }
  // Ports whose quanta were converted at the default speed (no LLDP, no configuration).
  std::vector<int32_t> ports_at_default_speed() const;
  int64_t speed_of(int32_t port);

 private:
  PortState& state(int32_t port) { return grown_at(ports_, static_cast<size_t>(port)); }  // once per frame
  int64_t speed_of(PortState& s);
  // The duty-cycle window of t: the current one without a division when t is in it.
  int64_t window_of(const Priority& p, int64_t t) const {
    return t >= p.w_lo && t < p.w_hi ? p.window : t / cfg_.window_ns;
  }
  void set_window(Priority& p, int64_t w) const {
    p.window = w;
    p.w_lo = w >= 0 ? w * cfg_.window_ns : INT64_MAX;
    p.w_hi = w >= 0 ? (w + 1) * cfg_.window_ns : INT64_MIN;
  }
  void frame(int64_t ts, int32_t port, PortState& s, int slot, uint16_t quanta, int64_t speed);
  template <class QuantaOf>
  void enabled_classes(int64_t ts, int32_t port, unsigned class_enable, QuantaOf quanta_of);
  // Not paused at t: a run no pause from t on can join is finished, and a storm whose
  // restoration time has passed by t is over (live at each tick, and as a pause starts).
  void end_idle(int32_t port, int slot, Priority& p, int64_t t);
  void close_interval(int32_t port, int slot, Priority& p);
  void finish_run(int32_t port, int slot, Priority& p);
  void add_paused(int32_t port, int slot, Priority& p, int64_t from, int64_t to);
  void flush_window(int32_t port, int slot, Priority& p);
  void emit_storm(int32_t port, int slot, Priority& p);
  void maybe_trip(int32_t port, int slot, Priority& p, int64_t now);
  void policy_event(int64_t ts, int32_t port, int slot, bool trip, double value);

  PfcConfig cfg_;
  Detections& out_;
  std::array<int32_t, 9> storm_policy_;
  std::vector<PortState> ports_;
  int64_t merge_gap_ns_;
};

}  // namespace flapwatch
