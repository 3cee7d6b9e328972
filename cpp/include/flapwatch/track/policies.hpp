// Flap policies users compare against. Each is per port, fed flap instants in time
// order, and reports trips and clears at the exact instants the vendor formula gives
// (not when the next record happens to arrive): `next_change()` says when it would
// clear if nothing else happens, and `advance(t)` emits up to t.
#pragma once
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>

#include "flapwatch/track/config.hpp"

namespace flapwatch {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct PolicyChange {
  int64_t ts_ns;
  bool tripped;  // true: trip, false: clear
  double value;
};

// `count` flaps within a sliding `window` (errdisable flap detection).
class WindowCounter {
 public:
  explicit WindowCounter(const WindowPolicy& p) : p_(p) {}

  // Flap at t; returns true (and sets `out`) when this flap trips the policy.
  bool on_flap(int64_t t, PolicyChange& out) {
    prune(t);
    times_.push_back(t);
    if (!tripped_ && static_cast<int>(times_.size()) >= p_.count) {
      tripped_ = true;
      out = {t, true, static_cast<double>(times_.size())};
      return true;
    }
    return false;
  }
  // When the count would fall below `count` with no further flap.
  int64_t next_change() const {
    if (!tripped_) return kNever;
    return times_[times_.size() - static_cast<size_t>(p_.count)] + p_.window_ns;
  }
  // Emits the clear if it is due by t.
  bool advance(int64_t t, PolicyChange& out) {
    int64_t at = next_change();
    if (at > t) return false;
    tripped_ = false;
    prune(at);
    out = {at, false, static_cast<double>(times_.size())};
    return true;
  }
  bool tripped() const { return tripped_; }

 private:
  void prune(int64_t t) {  // keep flaps in (t - window, t]
    while (!times_.empty() && times_.front() <= t - p_.window_ns) times_.pop_front();
  }
  WindowPolicy p_;
  std::deque<int64_t> times_;
  bool tripped_ = false;
};

// Exponential-decay dampening (IOS event dampening, IOS-XR, Junos damping).
class Dampener {
 public:
  explicit Dampener(const DampeningPolicy& p)
      : p_(p), max_penalty_(p.reuse * std::exp2(static_cast<double>(p.max_suppress_ns) / p.half_life_ns)) {}

  double penalty_at(int64_t t) const {
    if (penalty_ == 0) return 0;
    return penalty_ * std::exp2(-static_cast<double>(t - t_) / p_.half_life_ns);
  }
  bool on_flap(int64_t t, PolicyChange& out) {
    penalty_ = std::min(penalty_at(t) + p_.penalty, max_penalty_);
    t_ = t;
    if (!suppressed_ && penalty_ > p_.suppress) {
      suppressed_ = true;
      out = {t, true, penalty_};
      return true;
    }
    return false;
  }
  // When the penalty decays to the reuse threshold: t + half_life * log2(P / reuse).
  int64_t next_change() const {
    if (!suppressed_) return kNever;
    double dt = p_.half_life_ns * std::log2(penalty_ / p_.reuse);
    return t_ + static_cast<int64_t>(std::ceil(dt));
  }
  bool advance(int64_t t, PolicyChange& out) {
    int64_t at = next_change();
    if (at > t) return false;
    suppressed_ = false;
    out = {at, false, penalty_at(at)};
    return true;
  }
  bool tripped() const { return suppressed_; }

 private:
  DampeningPolicy p_;
  double max_penalty_;
  double penalty_ = 0;
  int64_t t_ = 0;
  bool suppressed_ = false;
};

}  // namespace flapwatch
