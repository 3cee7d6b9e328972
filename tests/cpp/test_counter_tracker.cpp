// CounterTracker through the Engine's push API (Engine::on_counter_sample, on_link_event):
// pfcwd's duration rule, a 32-bit wrap mid-storm, a reset mid-run, PHY link-downs with
// and without a carrier change (track/counter_tracker.hpp).
#include <doctest/doctest.h>

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
