#include "flapwatch/track/counter_tracker.hpp"

#include <algorithm>
#include <string_view>
#include <type_traits>

namespace flapwatch {
namespace {

constexpr int64_t kMaxQuanta = 65535, kQuantumBits = 512;
constexpr uint64_t k2To32 = uint64_t(1) << 32;
// More PHY link-downs between two samples than this is another counter (a reset to a
// garbage value), not flaps: treated as a reset.
constexpr uint64_t kMaxPhyDelta = 4096;

using M = CounterMeaning;
bool is(uint8_t m, M want) { return m == static_cast<uint8_t>(want); }

// The slot (priority 0..7, 8 = 802.3x PAUSE) a counter speaks for, -1 none; what it is.
enum Role { kNone, kDuration, kPauseFrames, kXon };
Role role(uint8_t meaning, int8_t prio, int& slot) {
  slot = -1;
  if (prio >= 0 && prio < 8) {
    slot = prio;
    if (is(meaning, M::pfc_pause_us)) return kDuration;
    if (is(meaning, M::pfc_frames) || is(meaning, M::pfc_xoff)) return kPauseFrames;
    if (is(meaning, M::pfc_xon)) return kXon;
    slot = -1;
    return kNone;
  }
  slot = PfcTracker::kPauseSlot;
  if (is(meaning, M::pause_us)) return kDuration;
  if (is(meaning, M::pause_frames) || is(meaning, M::pause_xoff)) return kPauseFrames;
  if (is(meaning, M::pause_xon)) return kXon;
  slot = -1;
  return kNone;
}

}  // namespace

CounterTracker::CounterTracker(const PfcConfig& cfg, const LinkConfig& link, Detections& out,
                               std::array<int32_t, 9> storm_policy, int32_t watchdog_policy, const PfcTracker& frames,
                               LinkTracker& flap_policies)
    : cfg_(cfg), link_(link), out_(out), storm_policy_(storm_policy), watchdog_policy_(watchdog_policy),
      frames_(frames), flap_policies_(flap_policies) {}

CounterTracker::PortState& CounterTracker::state(int32_t port) {
  if (static_cast<size_t>(port) >= ports_.size()) ports_.resize(static_cast<size_t>(port) + 1);
  return ports_[static_cast<size_t>(port)];
}

int64_t CounterTracker::paused_ns(int32_t port) const {
  if (static_cast<size_t>(port) >= ports_.size()) return 0;
  int64_t n = 0;
  for (const auto& q : ports_[static_cast<size_t>(port)].slot) n += q.paused_total;
  return n;
}

void CounterTracker::notice(int64_t ts, int32_t port, CounterNotice what, const Key* k) {
  notices_.push_back(Notice{ts, port, what, k ? k->meaning : kNoMeaning, k ? k->direction : int8_t(0),
                            k ? k->priority : int8_t(-1)});
}

void CounterTracker::on_counter(int64_t ts, int32_t port, const CounterRecord& r) {
  PortState& s = state(port);
  if (s.assembling && r.sample != s.sample) complete(port, s, s.ts);  // the rest of that sample was lost
  if (!s.assembling) {
    s.assembling = true;
    s.sample = r.sample;
    s.ts = ts;
    s.refresh_ms = r.refresh_ms;
    if ((r.flags & kSampleNamesReread) && s.samples > 0) {
      notice(ts, port, CounterNotice::list_changed, nullptr);
      for (auto& k : s.keys) k.known = false;  // a new list: a new epoch for every counter
    }
  }
  if (r.count == 0 || r.meaning == kNoMeaning) {
    complete(port, s, s.ts);
    return;
  }
  uint8_t ordinal = 0;
  for (const auto& k : s.keys)
    if (k.fresh && k.meaning == r.meaning && k.direction == r.direction && k.priority == r.priority) ++ordinal;
  Key* key = nullptr;
  for (auto& k : s.keys)
    if (k.meaning == r.meaning && k.direction == r.direction && k.priority == r.priority && k.ordinal == ordinal) {
      key = &k;
      break;
    }
  if (!key) {
    s.keys.push_back(Key{r.meaning, r.direction, r.priority, ordinal});
    key = &s.keys.back();
  }
  key->value = r.value;
  key->width = r.width;
  key->unit = r.unit;
  key->fresh = true;
  key->seen = r.sample;
  if (r.index + 1 >= r.count) complete(port, s, s.ts);
}

void CounterTracker::complete(int32_t port, PortState& s, int64_t ts) {
  s.assembling = false;
  ++s.samples;
  ++samples_;
  // A repeat of a driver's cached copy (bnxt): nothing moved within 1.5 refresh periods.
  if (s.refresh_ms && s.eval_ts >= 0 && ts - s.eval_ts < int64_t(s.refresh_ms) * 1'500'000) {
    bool same = true;
    for (const auto& k : s.keys)
      if (k.fresh != (k.known && !k.absent) || (k.fresh && k.value != k.eval_value)) same = false;
    if (same) {
      for (auto& k : s.keys) k.fresh = false;
      s.last_read = ts;
      return;
    }
  }
  int64_t dt = s.eval_ts >= 0 ? ts - s.eval_ts : -1;
  int64_t gap = s.last_read >= 0 ? ts - s.last_read : dt;
  for (auto& k : s.keys) {
    k.delta = -1;
    if (!k.fresh) {
      if (!k.absent && s.samples > 1) notice(ts, port, CounterNotice::vanished, &k);
      k.absent = true;
      k.known = false;
      continue;
    }
    if (k.absent) {
      notice(ts, port, CounterNotice::reappeared, &k);
      k.absent = false;
    }
    if (!k.known || dt <= 0) {  // a baseline: the first read of this epoch
      k.known = true;
      k.eval_value = k.value;
      continue;
    }
    if (k.value >= k.eval_value) {
      k.delta = static_cast<int64_t>(k.value - k.eval_value);
    } else {
      // 32-bit: a wrap when what it wrapped by is plausible (a duration cannot grow by
      // more than the interval); anything else going backwards is a reset.
      uint64_t wrapped = k.value + k2To32 - k.eval_value;
      bool plausible = k.width == 32 && k.eval_value < k2To32 && wrapped < (k2To32 >> 1) &&
                       (k.unit != static_cast<uint8_t>(CounterUnit::us) ||
                        static_cast<int64_t>(wrapped) * 1000 <= dt + dt / 10 + 1'000'000);
      if (plausible) {
        k.delta = static_cast<int64_t>(wrapped);
        notice(ts, port, CounterNotice::wrap, &k);
      } else {
        notice(ts, port, CounterNotice::reset, &k);
      }
    }
    if (is(k.meaning, M::link_down_events) && k.delta > static_cast<int64_t>(kMaxPhyDelta)) {
      notice(ts, port, CounterNotice::reset, &k);
      k.delta = -1;
    }
    if (k.unit == static_cast<uint8_t>(CounterUnit::us) && k.delta > 0) {
      const int64_t slack = std::max<int64_t>(dt / 10, int64_t(s.refresh_ms) * 1'000'000) + 1'000'000;
      if (k.delta > (dt + slack) / 1000) {  // more pause than time: not one poll's pause
        notice(ts, port, CounterNotice::jumped, &k);
        k.delta = -1;
      }
    }
    k.eval_value = k.value;
  }
  if (dt > 0) evaluate(port, s, ts, dt, gap > 0 ? gap : dt);
  s.eval_ts = ts;
  s.last_read = ts;
  for (auto& k : s.keys) k.fresh = false;
  judge_phy(port, s, ts, false);
}

void CounterTracker::evaluate(int32_t port, PortState& s, int64_t ts, int64_t dt, int64_t gap) {
  int64_t prev = ts - dt;
  // Per slot: what the counters say about this poll.
  struct Acc {
    bool any = false, unknown = false, has_dur = false, has_frames = false;
    int64_t paused_us = 0, frames = 0;
    int64_t dur[3] = {0, 0, 0};  // per direction (none, rx, tx)
    int64_t xoff[3] = {0, 0, 0}, xon[3] = {0, 0, 0};
    bool has_xon[3] = {false, false, false};
  };
  std::array<Acc, 9> acc{};
  for (const auto& k : s.keys) {
    if (is(k.meaning, M::link_down_events)) {
      if (k.delta > 0) s.phy.push_back(PendingPhy{prev, ts, k.delta});
      continue;
    }
    if (is(k.meaning, M::storm_watchdog_events)) {
      if (k.delta > 0) append_policy_event(out_.policy_events, ts, port, watchdog_policy_, true, double(k.delta));
      continue;
    }
    int slot;
    Role rl = role(k.meaning, k.priority, slot);
    if (rl == kNone || k.absent) continue;
    Acc& a = acc[static_cast<size_t>(slot)];
    a.any = true;
    if (k.delta < 0) {
      a.unknown = true;
      continue;
    }
    size_t d = static_cast<size_t>(std::clamp<int>(k.direction, 0, 2));
    switch (rl) {
      case kDuration:
        a.has_dur = true;
        a.paused_us = std::max(a.paused_us, k.delta);  // rx and tx together: the longer
        a.dur[d] = std::max(a.dur[d], k.delta);
        break;
      case kPauseFrames:
        a.has_frames = true;
        a.frames += k.delta;
        a.xoff[d] += k.delta;
        break;
      case kXon:
        a.has_frames = true;
        a.frames += k.delta;
        a.xon[d] += k.delta;
        a.has_xon[d] = true;
        break;
      case kNone: break;
    }
  }
  const auto& fp = frames_.ports();
  int64_t speed = cfg_.default_speed_bps;
  if (static_cast<size_t>(port) < fp.size()) {
    const auto& p = fp[static_cast<size_t>(port)];
    speed = p.speed_bps ? p.speed_bps : p.configured_bps ? p.configured_bps : speed;
  }
  const int64_t max_pause_ns = kMaxQuanta * kQuantumBits * 1'000'000'000 / speed;
  // A copying driver (bnxt 1 s, SONiC's flex counters): the values are the driver's
  // copies, and two copies are a whole number of refresh periods apart whatever the
  // polls' phase, so the interval the paused time covers is dt rounded to periods (as
  // pfcwd measures its interval between syncd's copy stamps, not between its polls).
  // Shrinking dt instead (less the last poll gap) let 90 % pauses pass for storms.
  int64_t dt_eff = dt;
  if (s.refresh_ms) {
    const int64_t period = int64_t(s.refresh_ms) * 1'000'000;
    dt_eff = std::max<int64_t>(1, (dt + period / 2) / period) * period;
  }
  (void)gap;
  for (int slot = 0; slot < 9; ++slot) {
    Acc& a = acc[static_cast<size_t>(slot)];
    if (!a.any) continue;
    bool frame_rule = false;
    int64_t bound = 0;
    uint8_t storming = 0, active = 0;  // direction masks: qualifying, with PFC activity
    for (size_t d = 0; d < 3; ++d) {
      if (a.has_frames ? a.xoff[d] + a.xon[d] > 0 : a.dur[d] > 0) active |= uint8_t(1u << d);
      if (a.has_dur && static_cast<double>(a.dur[d]) * 1000 > kStormDuty * static_cast<double>(dt_eff))
        storming |= uint8_t(1u << d);
      if (a.xoff[d] <= 0 || (a.has_xon[d] && a.xon[d] > 0)) continue;
      int64_t b = a.xoff[d] * max_pause_ns;
      bound = std::max(bound, b);
      if (static_cast<double>(b) >= kStormDuty * static_cast<double>(dt_eff)) {
        frame_rule = true;
        if (!a.has_dur) storming |= uint8_t(1u << d);
      }
    }
    int64_t paused = a.has_dur ? a.paused_us * 1000 : std::min(bound, dt);
    slot_poll(port, slot, s.slot[static_cast<size_t>(slot)], ts, dt, dt_eff, a.unknown, a.has_dur,
              std::min(paused, dt), a.frames, frame_rule, storming, active);
  }
}

void CounterTracker::slot_poll(int32_t port, int slot, Slot& q, int64_t ts, int64_t dt, int64_t dt_eff, bool unknown,
                               bool has_dur, int64_t paused, int64_t frames, bool frame_rule, uint8_t storming,
                               uint8_t active) {
  if (unknown) {  // a new epoch: this poll says nothing; a storm neither grows nor restores
    if (!q.storm) q.acc = 0, q.run_start = -1, q.run_paused = q.run_frames = 0;
    return;
  }
  q.paused_total += has_dur ? paused : 0;
  bool qualifies =
      has_dur ? static_cast<double>(paused) > kStormDuty * static_cast<double>(dt_eff) : frame_rule;
  if (qualifies) {
    if (q.run_start < 0) q.run_start = ts - dt, q.acc = 0, q.run_paused = q.run_frames = 0, q.dirs = 0;
    q.dirs |= storming;
    q.acc += dt;
    q.run_paused += paused;
    q.run_frames += frames;
    if (!q.storm && static_cast<double>(q.acc) >= kStormDuty * static_cast<double>(cfg_.detection_ns)) {
      const auto& fp = frames_.ports();
      bool frames_saw = static_cast<size_t>(port) < fp.size() && fp[static_cast<size_t>(port)].prio[slot].frames > 0;
      if (!frames_saw) {  // else the frame tracker has this priority: one storm, not two
        q.storm = q.tripped = true;
        q.trip_ts = ts;
        q.storm_start = q.run_start;
        q.storm_end = ts;
        q.storm_paused = q.run_paused;
        q.storm_frames = q.run_frames;
        q.quiet = 0;
        append_policy_event(out_.policy_events, ts, port, storm_policy_[static_cast<size_t>(slot)], true, 0.0);
        return;
      }
    }
  } else if (!q.storm) {
    q.acc = 0, q.run_start = -1, q.run_paused = q.run_frames = 0;
  }
  if (!q.storm) return;
  // pfc_restore.lua watches the storming queue's own PFC: the direction(s) that
  // stormed, not the other (a port pausing its peer says nothing about being paused).
  bool activity = (active & (q.dirs ? q.dirs : uint8_t(7))) != 0;
  if (activity) {  // pfc_restore.lua: any new PFC frame restarts the restoration countdown
    q.quiet = 0;
    q.storm_end = ts;
    q.storm_paused += paused;
    q.storm_frames += frames;
  } else {
    q.quiet += dt;
    if (q.quiet >= cfg_.restoration_ns) emit_storm(port, slot, q, ts);
  }
}

void CounterTracker::emit_storm(int32_t port, int slot, Slot& q, int64_t clear_ts) {
  auto& t = out_.pfc_storms;
  t.ts_ns.push_back(q.trip_ts);
  t.port.push_back(port);
  t.priority.push_back(static_cast<int8_t>(slot == PfcTracker::kPauseSlot ? -1 : slot));
  t.start_ns.push_back(q.storm_start);
  t.end_ns.push_back(q.storm_end);
  t.paused_ns.push_back(q.storm_paused);
  t.frames.push_back(q.storm_frames);
  append_policy_event(out_.policy_events, clear_ts, port, storm_policy_[static_cast<size_t>(slot)], false,
                      static_cast<double>(q.storm_paused));
  q.storm = q.tripped = false;
  q.acc = 0, q.run_start = -1, q.run_paused = q.run_frames = 0, q.quiet = 0, q.dirs = 0;
}

void CounterTracker::on_link_downs(int64_t ts, int32_t port, int64_t n) {
  PortState& s = state(port);
  for (int64_t i = 0; i < n && s.downs.size() < 4096; ++i) s.downs.push_back(ts);
}

void CounterTracker::judge_phy(int32_t port, PortState& s, int64_t now, bool all) {
  while (!s.phy.empty() && (all || now >= s.phy.front().t1 + kPhyGraceNs)) {
    PendingPhy p = s.phy.front();
    s.phy.pop_front();
    int64_t matched = 0;
    // Carrier downs in the interval first, then the grace after it (late carrier work).
    for (int pass = 0; pass < 2 && matched < p.k; ++pass) {
      int64_t hi = pass == 0 ? p.t1 : p.t1 + kPhyGraceNs;
      for (auto it = s.downs.begin(); it != s.downs.end() && matched < p.k;) {
        if (*it >= p.t0 && *it <= hi) {
          it = s.downs.erase(it);
          ++matched;
        } else {
          ++it;
        }
      }
    }
    for (int64_t i = matched; i < p.k; ++i) {
      ++s.phy_flaps;
      // Every column, named: a column added to the table later gets its default.
      out_.flaps.for_each_column([&](const char* name, auto& col) {
        using T = typename std::decay_t<decltype(col)>::value_type;
        std::string_view c(name);
        T v = 0;
        if (c == "ts_ns" || c == "up_ns") v = static_cast<T>(p.t1);
        else if (c == "port") v = static_cast<T>(port);
        else if (c == "down_ns") v = static_cast<T>(p.t0);
        else if (c == "duration_ns") v = static_cast<T>(-1);
        else if (c == "hidden") v = 1;
        else if (c == "held") v = static_cast<T>(link_.hold_down_ns > 0 ? -1 : 0);
        else if (c == "source") v = static_cast<T>(kFlapPhyCounter);
        // Down and up again between the two samples: that is all the counter says.
        else if (c == "down_earliest_ns" || c == "up_earliest_ns") v = static_cast<T>(p.t0);
        else if (c == "down_latest_ns" || c == "up_latest_ns") v = static_cast<T>(p.t1);
        else if (c == "duration_max_ns") v = static_cast<T>(p.t1 - p.t0);
        col.push_back(v);
      });
      flap_policies_.count_flap(port, p.t1);  // a flap like the carrier's: the flap policies count it
    }
  }
  // Downs no pending count can claim any more.
  int64_t horizon = s.phy.empty() ? now - 10 * kPhyGraceNs : s.phy.front().t0;
  while (!s.downs.empty() && s.downs.front() <= horizon) s.downs.pop_front();
}

void CounterTracker::advance(int64_t now) {
  for (size_t p = 0; p < ports_.size(); ++p)
    if (!ports_[p].phy.empty()) judge_phy(static_cast<int32_t>(p), ports_[p], now, false);
}

void CounterTracker::finish(int64_t) {
  for (size_t p = 0; p < ports_.size(); ++p) {
    PortState& s = ports_[p];
    auto port = static_cast<int32_t>(p);
    if (s.assembling) complete(port, s, s.ts);
    judge_phy(port, s, 0, true);
    for (int slot = 0; slot < 9; ++slot) {
      Slot& q = s.slot[static_cast<size_t>(slot)];
      if (q.storm) emit_storm(port, slot, q, q.storm_end + cfg_.restoration_ns);
    }
  }
}

}  // namespace flapwatch
