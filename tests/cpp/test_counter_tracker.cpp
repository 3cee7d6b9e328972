// CounterTracker through the Engine's push API (Engine::on_counter_sample, on_link_event):
// pfcwd's duration rule, a 32-bit wrap mid-storm, a reset mid-run, PHY link-downs with
// and without a carrier change (track/counter_tracker.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "flapwatch/engine.hpp"

using namespace flapwatch;

namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000'000, kPoll = 100 * kMs;

CounterValue value(CounterMeaning m, int8_t dir, int8_t prio, CounterUnit unit, uint64_t v, uint8_t width = 64) {
  return CounterValue{m, dir, prio, unit, width, v};
}

// 60 polls of eth0: prio 3 fully paused in polls (storm_from, storm_to]; a reset at
// poll `reset` (every counter back to 0); the duration counter 32-bit from `wrap_base`.
struct Series {
  int storm_from = 20, storm_to = 30, reset = -1, phy_poll = -1;
  uint64_t wrap_base = 0;
  uint8_t width = 64;
};

Detections run(const Series& s, Engine& e, bool link_down_at_phy = false) {
  uint64_t dur = s.wrap_base, frames = 0, phy = 0;
  for (int i = 0; i <= 60; ++i) {
    if (i > s.storm_from && i <= s.storm_to) dur += 100'000, frames += 700;
    if (i == s.phy_poll) {
      ++phy;
      if (link_down_at_phy) {
        e.on_link_event(LinkEvent{kT0 + i * kPoll - 40 * kMs, "eth0", false});
        e.on_link_event(LinkEvent{kT0 + i * kPoll - 30 * kMs, "eth0", true});
      }
    }
    if (i == s.reset) dur = frames = phy = 0;
    CounterSample smp;
    smp.ts_ns = kT0 + i * kPoll;
    smp.interface = "eth0";
    uint64_t d = s.width == 32 ? dur % (uint64_t(1) << 32) : dur;
    smp.values = {value(CounterMeaning::pfc_pause_us, kDirRx, 3, CounterUnit::us, d, s.width),
                  value(CounterMeaning::pfc_frames, kDirRx, 3, CounterUnit::frames, frames),
                  value(CounterMeaning::link_down_events, kDirNone, -1, CounterUnit::events, phy, 32)};
    e.on_counter_sample(smp);
  }
  e.finish();
  return e.detections();
}

}  // namespace

TEST_CASE("a storm by the duration rule: one row, one trip and one clear") {
  StringTable strings;
  Engine e(EngineConfig{}, strings);
  const Detections& d = run(Series{}, e);
  REQUIRE(d.pfc_storms.size() == 1);
  CHECK(d.pfc_storms.priority[0] == 3);
  CHECK(d.pfc_storms.start_ns[0] == kT0 + 20 * kPoll);
  CHECK(d.pfc_storms.end_ns[0] == kT0 + 30 * kPoll);
  CHECK(d.pfc_storms.paused_ns[0] == 10 * kPoll);
  CHECK(d.policy_events.size() == 2);
  CHECK(d.flaps.size() == 0);
}

TEST_CASE("a 32-bit duration counter wrapping mid-storm: still one storm, a notice") {
  StringTable strings;
  Engine e(EngineConfig{}, strings);
  Series s;
  s.width = 32;
  s.wrap_base = (uint64_t(1) << 32) - 450'000;  // wraps in the storm's 5th poll
  const Detections& d = run(s, e);
  REQUIRE(d.pfc_storms.size() == 1);
  CHECK(d.pfc_storms.start_ns[0] == kT0 + 20 * kPoll);
  CHECK(d.pfc_storms.end_ns[0] == kT0 + 30 * kPoll);
  bool wrapped = false;
  for (const auto& w : e.warnings()) wrapped |= w.find("wrapped") != std::string::npos;
  CHECK(wrapped);
}

TEST_CASE("a reset mid-run (driver reload) makes no storm and no flap") {
  StringTable strings;
  Engine e(EngineConfig{}, strings);
  Series s;
  s.storm_from = s.storm_to = 100;  // no storm at all
  s.reset = 25;
  s.wrap_base = 5'000'000'000;  // a long uptime's worth before the reload
  const Detections& d = run(s, e);
  CHECK(d.pfc_storms.size() == 0);
  CHECK(d.flaps.size() == 0);
  bool reset = false;
  for (const auto& w : e.warnings()) reset |= w.find("reset") != std::string::npos;
  CHECK(reset);
}

TEST_CASE("a reset in the middle of a storm neither ends it nor starts a second") {
  StringTable strings;
  Engine e(EngineConfig{}, strings);
  Series s;
  s.reset = 25;
  const Detections& d = run(s, e);
  CHECK(d.pfc_storms.size() == 1);
}

TEST_CASE("PHY link-downs: a flap with source PHY counter, unless the carrier moved too") {
  {
    StringTable strings;
    Engine e(EngineConfig{}, strings);
    Series s;
    s.storm_from = s.storm_to = 100;
    s.phy_poll = 40;
    const Detections& d = run(s, e);
    REQUIRE(d.flaps.size() == 1);
    CHECK(d.flaps.source[0] == kFlapPhyCounter);
    CHECK(d.flaps.down_ns[0] == kT0 + 39 * kPoll);
    CHECK(d.flaps.up_ns[0] == kT0 + 40 * kPoll);
  }
  {
    StringTable strings;
    Engine e(EngineConfig{}, strings);
    Series s;
    s.storm_from = s.storm_to = 100;
    s.phy_poll = 40;
    const Detections& d = run(s, e, true);
    REQUIRE(d.flaps.size() == 1);  // the carrier's own flap, not a second one
    CHECK(d.flaps.source[0] == kFlapNetlink);
  }
}

namespace {

// eth0's PHY counter +1 at each of `phy_polls` (100 ms polls, 60 of them), with a netlink
// down and up 40 and 30 ms before each when `carrier` says so.
Detections phy_flaps(Engine& e, const std::vector<int>& phy_polls, bool carrier) {
  uint64_t phy = 0;
  for (int i = 0; i <= 60; ++i) {
    if (std::find(phy_polls.begin(), phy_polls.end(), i) != phy_polls.end()) {
      ++phy;
      if (carrier) {
        e.on_link_event(LinkEvent{kT0 + i * kPoll - 40 * kMs, "eth0", false});
        e.on_link_event(LinkEvent{kT0 + i * kPoll - 30 * kMs, "eth0", true});
      }
    }
    CounterSample smp;
    smp.ts_ns = kT0 + i * kPoll;
    smp.interface = "eth0";
    smp.values = {value(CounterMeaning::link_down_events, kDirNone, -1, CounterUnit::events, phy, 32)};
    e.on_counter_sample(smp);
  }
  e.finish();
  return e.detections();
}

// The policy events of one policy, as (ts, trip) in the order emitted.
std::vector<std::pair<int64_t, bool>> policy(const Detections& d, StringTable& strings, const char* name) {
  std::vector<std::pair<int64_t, bool>> out;
  for (size_t i = 0; i < d.policy_events.size(); ++i)
    if (strings[d.policy_events.policy[i]] == name) out.emplace_back(d.policy_events.ts_ns[i], d.policy_events.event[i] == 1);
  return out;
}

}  // namespace

TEST_CASE("PHY counter flaps count for the flap policies, once each, when they are known") {
  const std::vector<int> polls{40, 42, 44, 46, 48};  // five flaps in 0.8 s
  {
    StringTable strings;
    Engine e(EngineConfig{}, strings);
    const Detections& d = phy_flaps(e, polls, false);
    REQUIRE(d.flaps.size() == 5);
    CHECK(d.flaps.source[4] == kFlapPhyCounter);
    // Each is known at the first sample a grace second after the one that counted it (no
    // carrier down came to claim it): the fifth at poll 58, where 5-in-10s trips. It clears
    // 10 s after the first was counted (poll 50), at the end of input.
    auto window = policy(d, strings, "5-in-10s");
    REQUIRE(window.size() == 2);
    CHECK(window[0] == std::make_pair(kT0 + 58 * kPoll, true));
    CHECK(window[1] == std::make_pair(kT0 + 50 * kPoll + 10 * kSec, false));
    auto ios = policy(d, strings, "ios");  // 1000 a flap: suppressed past 2000, at the third
    REQUIRE(ios.size() == 2);
    CHECK(ios[0] == std::make_pair(kT0 + 54 * kPoll, true));
    CHECK_FALSE(ios[1].second);
  }
  {
    StringTable strings;
    Engine e(EngineConfig{}, strings);
    const Detections& d = phy_flaps(e, polls, true);  // the carrier moved each time
    REQUIRE(d.flaps.size() == 5);
    CHECK(d.flaps.source[4] == kFlapNetlink);  // the PHY counts matched the carrier's downs
    auto window = policy(d, strings, "5-in-10s");
    REQUIRE(window.size() == 2);  // counted once per flap: at the fifth carrier down
    CHECK(window[0] == std::make_pair(kT0 + 48 * kPoll - 40 * kMs, true));
  }
}
