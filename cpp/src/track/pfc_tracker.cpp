#include "flapwatch/track/pfc_tracker.hpp"

#include <algorithm>

namespace flapwatch {
PfcTracker::PfcTracker(const PfcConfig& cfg, Detections& out, std::array<int32_t, 9> storm_policy)
    : cfg_(cfg), out_(out), storm_policy_(storm_policy) {
  merge_gap_ns_ = cfg_.storm_duty >= 1.0 ? 0 : static_cast<int64_t>((1.0 - cfg_.storm_duty) * cfg_.detection_ns);
}

void PfcTracker::set_configured_speed(int32_t port, int64_t speed_bps) { state(port).configured_bps = speed_bps; }

std::vector<int32_t> PfcTracker::ports_at_default_speed() const {
  std::vector<int32_t> out;
  for (size_t p = 0; p < ports_.size(); ++p)
    if (ports_[p].warned) out.push_back(static_cast<int32_t>(p));
  return out;
}

void PfcTracker::set_speed(int32_t port, int64_t speed_bps) {
  if (speed_bps > 0) state(port).speed_bps = speed_bps;
}

int64_t PfcTracker::speed_of(int32_t port) { return speed_of(state(port)); }

int64_t PfcTracker::speed_of(PortState& s) {
  if (s.speed_bps > 0) return s.speed_bps;
  if (s.configured_bps > 0) return s.configured_bps;
  s.warned = true;
  return cfg_.default_speed_bps;
}

// Inline: called for every frame, nearly always within the current window.
inline void PfcTracker::add_paused(int32_t port, int slot, Priority& p, int64_t from, int64_t to) {
  if (from >= p.w_lo && to <= p.w_hi) [[likely]] {  // all in the current window
    const int64_t d = to > from ? to - from : 0;  // live: start_acc can be a tick after a late frame
    p.w_paused += d;
    p.paused_total += d;
    return;
  }
  while (from < to) {
    int64_t w = window_of(p, from);
    if (w != p.window) {
      flush_window(port, slot, p);
      set_window(p, w);
    }
    int64_t chunk_end = std::min(to, p.w_hi);
    p.w_paused += chunk_end - from;
    p.paused_total += chunk_end - from;
    from = chunk_end;
  }
}

// The per-frame path, inlined into on_pfc and on_pause. Written without branches on
// what varies frame to frame (paused or not, XON or not, the quanta): on real PFC traffic
// those are near coin tosses, and a mispredicted branch costs more than the arithmetic.
// While a priority is not paused, start, start_acc and end mean nothing and are set anyway.
[[gnu::always_inline]] inline void PfcTracker::frame(int64_t ts, int32_t port, PortState& s, int slot, uint16_t quanta,
                                                      int64_t speed) {
  Priority& p = s.prio[static_cast<size_t>(slot)];
  ts = std::max(ts, p.last_ts);  // captures can step back a few µs: time never runs backwards here
  p.last_ts = ts;
  if (p.active && ts > p.end) [[unlikely]] {  // the timer ran out before this frame
    close_interval(port, slot, p);
  }
  // A pause starting: first, a run no pause can join any more is finished and a storm
  // whose restoration time has passed is over (advance() does the same live). Left until
  // a later interval closed, the storm's trip state outlived it: the next storm did not
  // trip on time, and its trip came out with the one after it.
  if (!p.active && quanta != 0) end_idle(port, slot, p, ts);
  if (speed != p.scale_speed) [[unlikely]] {
    p.scale_speed = speed;
    p.scale = PauseScale(speed);
  }
  const bool was_active = p.active, pause = quanta != 0;
  // Still paused: account up to now, then the frame resets the timer (XON: ends it).
  // Not paused: a pause starts here (XON: nothing happens).
  add_paused(port, slot, p, was_active ? p.start_acc : ts, ts);
  p.start = was_active ? p.start : ts;
  p.start_acc = ts;
  p.end = ts + p.scale.ns(quanta);
  p.interval_frames += was_active | pause;  // 0 while not paused
  p.active = was_active | pause;
  if (was_active && !pause) close_interval(port, slot, p);
  if (!p.tripped) {
    // maybe_trip's own test, bounded from above without its branches: its chain starts no
    // earlier than `first` and is paused no later than `until`.
    const int64_t run = p.run_start >= 0 ? p.run_start : INT64_MAX;
    const int64_t first = p.active ? std::min(run, p.start) : run;
    const int64_t until = p.active ? std::min(ts, p.end) : p.run_end;
    if (until - cfg_.detection_ns >= first) maybe_trip(port, slot, p, ts);
  }
  // frame counters in the window of this frame
  if (ts < p.w_lo || ts >= p.w_hi) [[unlikely]] {
    flush_window(port, slot, p);
    set_window(p, ts / cfg_.window_ns);
  }
  p.w_frames++;
  p.w_xon += !pause;
  p.frames++;
}

// The enabled classes only (quanta of a disabled class mean nothing), by their bits: a
// test per class mispredicts on vectors that vary frame to frame. quanta_of(i): class i's.
template <class QuantaOf>
inline void PfcTracker::enabled_classes(int64_t ts, int32_t port, unsigned class_enable, QuantaOf quanta_of) {
  PortState& s = state(port);
  s.frames++;
  const int64_t speed = speed_of(s);
  for (unsigned bits = class_enable; bits; bits &= bits - 1) {
    int i = __builtin_ctz(bits);
    frame(ts, port, s, i, quanta_of(i), speed);
  }
}

void PfcTracker::on_pfc(int64_t ts, int32_t port, const PfcRecord& r) {
  enabled_classes(ts, port, r.class_enable, [&](int i) { return r.quanta[i]; });
}

void PfcTracker::on_pfc(int64_t ts, int32_t port, uint8_t class_enable, const uint16_t* quanta) {
  enabled_classes(ts, port, class_enable, [&](int) { return *quanta++; });  // in class order
}

[[gnu::always_inline]] void PfcTracker::on_pause(int64_t ts, int32_t port, uint16_t quanta) {
  PortState& s = state(port);
  s.frames++;
  frame(ts, port, s, kPauseSlot, quanta, speed_of(s));
}


void PfcTracker::end_idle(int32_t port, int slot, Priority& p, int64_t t) {
  if (p.run_start >= 0 && t - p.run_end > merge_gap_ns_) finish_run(port, slot, p);
  if (p.storm && p.run_start < 0 && t - p.storm_end >= cfg_.restoration_ns) emit_storm(port, slot, p);
}

[[gnu::always_inline]] inline void PfcTracker::close_interval(int32_t port, int slot, Priority& p) {
  add_paused(port, slot, p, p.start_acc, p.end);
  p.active = false;
  int64_t s = p.start, e = p.end;
  if (p.run_start >= 0 && s - p.run_end <= merge_gap_ns_) {
    p.run_end = std::max(p.run_end, e);
    p.run_paused += e - s;
    p.run_frames += p.interval_frames;
  } else {
    finish_run(port, slot, p);
    p.run_start = s;
    p.run_end = e;
    p.run_paused = e - s;
    p.run_frames = p.interval_frames;
  }
  p.interval_frames = 0;
}

void PfcTracker::finish_run(int32_t port, int slot, Priority& p) {
  if (p.run_start < 0) return;
  bool qualifies = p.run_end - p.run_start >= cfg_.detection_ns;
  if (p.storm && p.run_start - p.storm_end < cfg_.restoration_ns) {  // not restored yet: the storm goes on
    p.storm_end = p.run_end;
    p.storm_paused += p.run_paused;
    p.storm_frames += p.run_frames;
  } else {
    if (p.storm) emit_storm(port, slot, p);
    if (qualifies) {
      if (!p.tripped) policy_event(p.run_start + cfg_.detection_ns, port, slot, true, 0.0);
      p.tripped = true;
      p.storm = true;
      p.storm_start = p.run_start;
      p.storm_end = p.run_end;
      p.storm_paused = p.run_paused;
      p.storm_frames = p.run_frames;
    }
    // A run too short for a storm leaves `tripped` alone: a run may be finished after a
    // later interval has begun (or closed), and a trip by then is that later chain's (a
    // storm that tripped always finishes as a qualifying run, and emit_storm clears it).
  }
  p.run_start = -1;
}

// A storm is known as soon as the current paused chain has lasted the detection time.
void PfcTracker::maybe_trip(int32_t port, int slot, Priority& p, int64_t now) {
  if (p.tripped) return;
  int64_t chain_start = -1, paused_until = -1;
  if (p.active) {
    bool continues_run = p.run_start >= 0 && p.start - p.run_end <= merge_gap_ns_;
    chain_start = continues_run ? p.run_start : p.start;
    paused_until = std::min(now, p.end);
  } else if (p.run_start >= 0) {
    chain_start = p.run_start;
    paused_until = p.run_end;
  }
  if (chain_start >= 0 && paused_until - chain_start >= cfg_.detection_ns) {
    p.tripped = true;
    policy_event(chain_start + cfg_.detection_ns, port, slot, true, 0.0);
  }
}

void PfcTracker::policy_event(int64_t ts, int32_t port, int slot, bool trip, double value) {
  append_policy_event(out_.policy_events, ts, port, storm_policy_[static_cast<size_t>(slot)], trip, value);
}

void PfcTracker::advance(int64_t now) {
  for (size_t port = 0; port < ports_.size(); ++port) {
    for (int slot = 0; slot < 9; ++slot) {
      Priority& p = ports_[port].prio[static_cast<size_t>(slot)];
      if (p.frames == 0) continue;
      auto id = static_cast<int32_t>(port);
      if (p.active && now > p.end) close_interval(id, slot, p);
      if (p.active && now > p.start_acc) {  // account the pause so far: windows fill live
        add_paused(id, slot, p, p.start_acc, now);
        p.start_acc = now;
      }
      if (p.window >= 0 && now >= (p.window + 1) * cfg_.window_ns) {  // a window over: report it now
        flush_window(id, slot, p);
        set_window(p, -1);
      }
      maybe_trip(id, slot, p, now);
      if (!p.active) end_idle(id, slot, p, now);
    }
  }
}

void PfcTracker::emit_storm(int32_t port, int slot, Priority& p) {
  auto& t = out_.pfc_storms;
  t.ts_ns.push_back(p.storm_start + cfg_.detection_ns);
  t.port.push_back(port);
  t.priority.push_back(static_cast<int8_t>(slot == kPauseSlot ? -1 : slot));
  t.start_ns.push_back(p.storm_start);
  t.end_ns.push_back(p.storm_end);
  t.paused_ns.push_back(p.storm_paused);
  t.frames.push_back(p.storm_frames);
  // pfcwd restores the queue once no pause came for the restoration time
  policy_event(p.storm_end + cfg_.restoration_ns, port, slot, false, static_cast<double>(p.storm_paused));
  p.storm = false;
  p.tripped = false;
  p.storms++;
}

void PfcTracker::flush_window(int32_t port, int slot, Priority& p) {
  if (p.window < 0 || (p.w_frames == 0 && p.w_paused == 0)) return;
  auto& t = out_.pause_stats;
  t.ts_ns.push_back(p.window * cfg_.window_ns);
  t.port.push_back(port);
  t.priority.push_back(static_cast<int8_t>(slot == kPauseSlot ? -1 : slot));
  t.window_ns.push_back(cfg_.window_ns);
  t.frames.push_back(p.w_frames);
  t.xon_frames.push_back(p.w_xon);
  t.paused_ns.push_back(p.w_paused);
  t.duty.push_back(static_cast<double>(p.w_paused) / static_cast<double>(cfg_.window_ns));
  t.speed_bps.push_back(speed_of(port));
  p.w_frames = p.w_xon = p.w_paused = 0;
}

void PfcTracker::finish(int64_t) {
  for (size_t port = 0; port < ports_.size(); ++port) {
    for (int slot = 0; slot < 9; ++slot) {
      Priority& p = ports_[port].prio[static_cast<size_t>(slot)];
      if (p.frames == 0) continue;
      int32_t id = static_cast<int32_t>(port);
      if (p.active) close_interval(id, slot, p);
      finish_run(id, slot, p);
      if (p.storm) emit_storm(id, slot, p);
      flush_window(id, slot, p);
    }
  }
}

}  // namespace flapwatch
