#include "flapwatch/track/link_tracker.hpp"

#include <algorithm>

namespace flapwatch {
namespace {

constexpr uint32_t kIffUp = 0x1, kIffRunning = 0x40, kIffLowerUp = 0x10000;
constexpr uint16_t kRtmDelLink = 17;

// Whether a port's first message is an edge: a notification (not a dump reply) of the
// link's state. Linkwatch notifies a carrier change with ifi_change 0; an administrative
// up or down has IFF_UP in it. A change of other flags (promiscuity as a capture
// starts, ...) says nothing of the link, and a deletion of a port never seen is no
// outage we could bound: both are baselines like a dump reply.
bool first_is_edge(const LinkRecord& r) {
  return !r.dump && r.msg_type != kRtmDelLink &&
         (r.change == 0 || (r.change & (kIffUp | kIffRunning | kIffLowerUp)) != 0);
}

// Carrier as the message states it: IFLA_CARRIER when present, else IFF_LOWER_UP;
// an administratively down or deleted interface is down too.
bool link_is_up(const LinkRecord& r) {
  if (r.msg_type == kRtmDelLink || !(r.flags & kIffUp)) return false;
  return r.carrier >= 0 ? r.carrier != 0 : (r.flags & kIffLowerUp) != 0;
}

// More flaps between two messages than this is not a count of flaps but another
// counter (an interface re-created under the same name, a garbled message): treated
// like a counter that went backwards. It also bounds the work one message can cause.
constexpr int64_t kMaxHiddenFlaps = 4096;

// Counter delta, or -1 when either side is missing, the counter went backwards (a
// re-created interface) or jumped implausibly far.
int64_t delta(int64_t now, int64_t before) {
  return now < 0 || before < 0 || now < before || now - before > kMaxHiddenFlaps ? -1 : now - before;
}

}  // namespace

LinkTracker::LinkTracker(const LinkConfig& cfg, StringTable& strings, Detections& out) : cfg_(cfg), out_(out) {
  for (const auto& w : cfg_.windows) policy_names_.push_back(strings.intern(w.name));
  for (const auto& d : cfg_.dampening) policy_names_.push_back(strings.intern(d.name));
}

LinkTracker::PortState& LinkTracker::state(int32_t port) {
  if (static_cast<size_t>(port) >= ports_.size()) ports_.resize(static_cast<size_t>(port) + 1);
  PortState& s = ports_[static_cast<size_t>(port)];
  if (s.windows.empty() && s.dampeners.empty()) {
    for (const auto& w : cfg_.windows) s.windows.emplace_back(w);
    for (const auto& d : cfg_.dampening) s.dampeners.emplace_back(d);
  }
  return s;
}

namespace {

// The duration's range from the down's and the up's (-1: unknown / unbounded).
void close_bounds(LinkTracker::Bounds& b) {
  b.duration_min = b.up_earliest < 0 ? -1 : std::max<int64_t>(0, b.up_earliest - b.down_latest);
  b.duration_max = b.up_latest < 0 || b.down_earliest < 0 ? -1 : b.up_latest - b.down_earliest;
}

}  // namespace

void LinkTracker::on_link(int64_t ts, int32_t port, const LinkRecord& r, bool pushed) {
  PortState& s = state(port);
  const int64_t message_ts = ts;
  ++s.messages;
  bool up = link_is_up(r);
  // The earliest a change this message reports can have happened (-1: no limit). The port's
  // own admin change is notified at once; a carrier change may have waited for linkwatch's
  // next run; a pushed event (an embedder's, SONiC's poll) has no timing we know: only its
  // previous message bounds it.
  const int64_t reach = pushed ? -1 : ts - ((r.change & kIffUp) ? kNotifyNs : kMaxDelayNs);
  const int64_t up_reach = pushed ? -1 : ts - kNotifyNs;  // an urgent up
  auto known = [](int64_t t) { return t >= 0 ? t : int64_t{-1}; };
  if (!s.known) {  // no history to compare with: counter jumps before it are unknowable
    s.known = true;
    s.rx_gaps.clear();  // silences before the first message explain nothing
    s.rx_gaps_unusable = false;
    s.up = up;
    s.down_since = -1;  // down at a baseline is a state, not an outage we saw start
    s.last_ts = ts;
    s.up_count = r.carrier_up_count;
    s.down_count = r.carrier_down_count;
    s.changes = r.carrier_changes;
    if (!first_is_edge(r)) {
      // A baseline that says the carrier is down on a port administratively up (a dump reply, a
      // capture's promiscuity change): an outage open when the capture began, as a first
      // notification of an up says. Admin down is no outage: bringing it up is no flap.
      s.down_at_start = up || r.msg_type == kRtmDelLink || !(r.flags & kIffUp) ? -1 : ts;
      return;
    }
    if (!up) {  // the notification of a down: the outage starts now
      s.down_since = ts;
      s.down_earliest = known(std::min(ts, std::max(reach, s.last_rx - kRxMarginNs)));
      s.down_latest = ts;
      write_link_down(port, ts);
      flap_instant(port, s, ts);
    } else if (!(r.change & kIffUp)) {  // a carrier up closes an outage open when the capture began;
      // an admin up (IFF_UP in ifi_change) ends an admin down, which is no outage
      int64_t start = start_ns_ >= 0 ? std::min(start_ns_, ts) : ts;
      // The down may have been pending in linkwatch when the capture began, and the up
      // folded into it: both lie before this message, the up within reach of it.
      Bounds b{-1, ts, known(reach), ts};
      close_bounds(b);
      write_flap(port, s, ts, start, ts, false, b, true);
    }
    return;
  }
  ts = std::max(ts, s.last_ts);  // captures can step back a few µs: never go backwards per port
  bool went_down = s.up && !up, came_up = !s.up && up;
  int64_t hidden = 0;
  if (int64_t d = delta(r.carrier_down_count, s.down_count); d >= 0) {
    hidden = d - (went_down ? 1 : 0);
  } else if (int64_t c = delta(r.carrier_changes, s.changes); c >= 0) {
    hidden = (c - (went_down ? 1 : 0) - (came_up ? 1 : 0)) / 2;
  }
  // Changes since the previous message (its state was read then) and no earlier than
  // linkwatch allows.
  const int64_t since = std::min(ts, std::max(reach, s.last_ts));
  // Hidden flaps happened between the previous message and this one, before any
  // transition this message shows; linkwatch may have held them whatever sent it.
  const int64_t hidden_since = std::min(ts, std::max(pushed ? -1 : ts - kMaxDelayNs, s.last_ts));
  // The wire's silences since the previous message, if they account for each hidden flap:
  // the gaps that ended, and a silence still open at a message that says up (the last flap's
  // up came just before linkwatch's run, the frame after it just after). The traffic must
  // have been steady before each, and after the last gap that ended.
  size_t first_gap = 0;
  const bool open_gap = s.rx_state_ts == message_ts && s.rx_silent && up && !came_up && s.rx_last >= hidden_since;
  bool place = hidden > 0 && !pushed && !s.rx_gaps_unusable && s.rx_state_ts == message_ts &&
               s.rx_after >= kDenseFrames && (!s.rx_silent || went_down || open_gap);
  if (place) {
    while (first_gap < s.rx_gaps.size() && s.rx_gaps[first_gap].start < hidden_since) ++first_gap;
    bool steady = std::all_of(s.rx_gaps.begin() + static_cast<std::ptrdiff_t>(first_gap), s.rx_gaps.end(),
                              [](const PortState::RxGap& g) { return g.dense; });
    place = steady && static_cast<int64_t>(s.rx_gaps.size() - first_gap) + (open_gap ? 1 : 0) == hidden;
  }
  for (int64_t i = 0; i < hidden; ++i) {
    flap_instant(port, s, ts);
    Bounds b{hidden_since, ts, hidden_since, ts};
    if (place) {
      // Down after the last frame before the silence (stamped up to kRxMarginNs late), up
      // before the first frame after it (before this message, for the open one).
      const size_t k = first_gap + static_cast<size_t>(i);
      const int64_t g0 = k < s.rx_gaps.size() ? s.rx_gaps[k].start : s.rx_last;
      const int64_t g1 = k < s.rx_gaps.size() ? s.rx_gaps[k].end : ts;
      int64_t from = std::clamp(g0 - kRxMarginNs, hidden_since, ts), to = std::clamp(g1, from, ts);
      b = Bounds{from, to, from, to};
    }
    close_bounds(b);
    write_flap(port, s, ts, s.last_ts, ts, true, b);
  }
  s.rx_gaps.clear();
  s.rx_gaps_unusable = false;
  if (went_down) {
    s.down_since = ts;
    // The neighbor's last frame: the link was still up then.
    s.down_earliest = std::min(ts, std::max(since, s.last_rx - kRxMarginNs));
    s.down_latest = ts;
    write_link_down(port, ts);
    flap_instant(port, s, ts);
  } else if (came_up && s.down_since >= 0) {
    // The down was notified, so the up was urgent: linkwatch ran at once.
    Bounds b{s.down_earliest, s.down_latest, std::max(since, up_reach), ts};
    close_bounds(b);
    write_flap(port, s, ts, s.down_since, ts, false, b);
    s.down_since = -1;
  } else if (came_up && s.down_at_start >= 0) {
    // Down since before the capture: its down unknown (no later than the baseline), its up may
    // have waited for linkwatch like any carrier change.
    int64_t start = start_ns_ >= 0 ? std::min(start_ns_, s.down_at_start) : s.down_at_start;
    Bounds b{-1, s.down_at_start, since, ts};
    close_bounds(b);
    write_flap(port, s, ts, start, ts, false, b, true);
  }
  if (went_down || came_up) s.down_at_start = -1;
  s.up = up;
  s.last_ts = ts;
  if (r.carrier_up_count >= 0) s.up_count = r.carrier_up_count;
  if (r.carrier_down_count >= 0) s.down_count = r.carrier_down_count;
  if (r.carrier_changes >= 0) s.changes = r.carrier_changes;
}

void LinkTracker::on_rx_gap(int64_t ts, int32_t port, int64_t start, int64_t frames) {
  PortState& s = state(port);
  if (s.rx_gaps.size() >= kMaxGaps) {
    s.rx_gaps_unusable = true;
    return;
  }
  s.rx_gaps.push_back({start, ts, frames >= kDenseFrames});
}

void LinkTracker::flap_instant(int32_t port, PortState& s, int64_t t) {
  // Clears due before this flap come first, in time order.
  advance(t);
  PolicyChange c;
  size_t k = 0;
  auto emit = [&](int32_t name) { append_policy_event(out_.policy_events, c.ts_ns, port, name, c.tripped, c.value); };
  for (auto& w : s.windows) {
    if (w.on_flap(t, c)) emit(policy_names_[k]);
    ++k;
  }
  for (auto& d : s.dampeners) {
    if (d.on_flap(t, c)) emit(policy_names_[k]);
    ++k;
  }
  refresh_deadline();
}

void LinkTracker::write_flap(int32_t port, PortState& s, int64_t ts, int64_t down, int64_t up, bool hidden,
                             const Bounds& b, bool open_at_start) {
  // open_at_start: the duration is a lower bound; what it decides stays decided.
  int64_t duration = hidden || up < 0 ? -1 : up - down;
  auto& f = out_.flaps;
  f.ts_ns.push_back(ts);
  f.port.push_back(port);
  f.down_ns.push_back(down);
  f.up_ns.push_back(up);
  f.duration_ns.push_back(duration);
  f.hidden.push_back(hidden);
  int8_t held = 0;  // no hold time configured: nothing would be hidden
  if (cfg_.hold_down_ns > 0) {
    held = duration < 0 ? -1 : duration < cfg_.hold_down_ns;
    if (open_at_start && held == 1) held = -1;  // a longer real outage would not have been
  }
  f.held.push_back(held);
  bool over = duration >= 0 && duration > cfg_.job_budget_ns;
  f.over_budget.push_back(over);
  f.open_at_start.push_back(open_at_start);
  f.source.push_back(hidden ? 1 : 0);  // carrier counters : netlink (flaps.source)
  f.down_earliest_ns.push_back(b.down_earliest);
  f.down_latest_ns.push_back(b.down_latest);
  f.up_earliest_ns.push_back(b.up_earliest);
  f.up_latest_ns.push_back(b.up_latest);
  f.duration_min_ns.push_back(b.duration_min);
  f.duration_max_ns.push_back(b.duration_max);
  if (up < 0) return;  // still down: an outage, not (yet) a flap
  ++s.flaps;
  s.hidden += hidden;
  if (duration >= 0) {
    s.down_total += duration;
    s.longest = std::max(s.longest, duration);
    s.micro += !open_at_start && duration < cfg_.micro_flap_ns;  // a bound says nothing of micro
    s.over_budget += over;
  }
}

void LinkTracker::write_link_down(int32_t port, int64_t ts) {
  auto& d = out_.link_down;
  d.ts_ns.push_back(ts);
  d.port.push_back(port);
  d.down_ns.push_back(ts);
}

void LinkTracker::count_flap(int32_t port, int64_t t) {
  flap_instant(port, state(port), std::max(t, advanced_));
}

void LinkTracker::emit_clears(int64_t t) {
  PolicyChange c;
  for (size_t p = 0; p < ports_.size(); ++p) {
    PortState& s = ports_[p];
    size_t k = 0;
    auto emit = [&]() {
      append_policy_event(out_.policy_events, c.ts_ns, static_cast<int32_t>(p), policy_names_[k], false, c.value);
    };
    for (auto& w : s.windows) {
      if (w.advance(t, c)) emit();
      ++k;
    }
    for (auto& d : s.dampeners) {
      if (d.advance(t, c)) emit();
      ++k;
    }
  }
  refresh_deadline();
}

void LinkTracker::refresh_deadline() {
  next_deadline_ = kNever;
  for (const auto& s : ports_) {
    for (const auto& w : s.windows) next_deadline_ = std::min(next_deadline_, w.next_change());
    for (const auto& d : s.dampeners) next_deadline_ = std::min(next_deadline_, d.next_change());
  }
}

void LinkTracker::finish(int64_t t) {
  advance(kNever - 1);  // every pending clear: nothing can change them any more
  for (size_t p = 0; p < ports_.size(); ++p) {
    PortState& s = ports_[p];
    if (!s.known || s.up || s.down_since < 0) continue;
    // Still down: an open outage; it counts against the budget once it has outlasted it.
    // Down at least since its latest possible down; how long in all is unbounded.
    Bounds b{s.down_earliest, s.down_latest, -1, -1, std::max<int64_t>(0, t - s.down_latest), -1};
    write_flap(static_cast<int32_t>(p), s, s.down_since, s.down_since, -1, false, b);
    bool over = t - s.down_since > cfg_.job_budget_ns;
    out_.flaps.over_budget.back() = over;
    s.over_budget += over;
  }
}

}  // namespace flapwatch
