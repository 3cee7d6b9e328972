// LinkTracker fed link records directly (no capture, no decoder): flaps from down/up
// messages, hidden flaps from carrier counter jumps, the job budget, the hold-time
// what-if, open outages at the end, and the policies it feeds.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "flapwatch/track/link_tracker.hpp"

using namespace flapwatch;

namespace {

constexpr uint32_t kIffUp = 0x1, kIffLowerUp = 0x10000;
constexpr int32_t kPort = 3;

// A link message as the decoder makes it: carrier up (IFF_UP|LOWER_UP, carrier 1) or
// down (IFF_UP, carrier 0), with the carrier counters (-1: absent).
LinkRecord link(bool up, int64_t up_count, int64_t down_count, int64_t changes = -2) {
  LinkRecord r{};
  r.msg_type = 16;  // RTM_NEWLINK
  r.ifindex = 7;
  r.flags = up ? (kIffUp | kIffLowerUp) : kIffUp;
  r.operstate = up ? 6 : 2;
  r.carrier = up ? 1 : 0;
  r.carrier_up_count = up_count;
  r.carrier_down_count = down_count;
  r.carrier_changes = changes == -2 ? (up_count < 0 || down_count < 0 ? -1 : up_count + down_count) : changes;
  return r;
}

LinkConfig no_policies() {
  LinkConfig c;
  c.windows.clear();
  c.dampening.clear();
  return c;
}

struct Fixture {
  explicit Fixture(const LinkConfig& cfg) : tracker(cfg, strings, out) {}
  StringTable strings;
  Detections out;
  LinkTracker tracker;

  void feed(int64_t ts, const LinkRecord& r) {
    tracker.advance(ts);
    tracker.on_link(ts, kPort, r);
  }
  const LinkTracker::PortState& port() const { return tracker.ports().at(kPort); }
};

struct FlapRow {
  int64_t ts, down, up, duration;
  int hidden, held, over_budget;
};

void check_flap(const FlapTable& f, size_t i, const FlapRow& want) {
  CAPTURE(i);
  REQUIRE(i < f.size());
  CHECK(f.port[i] == kPort);
  CHECK(f.ts_ns[i] == want.ts);
  CHECK(f.down_ns[i] == want.down);
  CHECK(f.up_ns[i] == want.up);
  CHECK(f.duration_ns[i] == want.duration);
  CHECK(int(f.hidden[i]) == want.hidden);
  CHECK(int(f.held[i]) == want.held);
  CHECK(int(f.over_budget[i]) == want.over_budget);
}

}  // namespace

TEST_CASE("a down then an up is one flap, timed from the two messages") {
  Fixture fx(no_policies());  // job budget 7 s, micro-flap 10 ms
  fx.feed(1 * kSec, link(true, 1, 0));  // baseline
  fx.feed(2 * kSec, link(false, 1, 1));
  CHECK(fx.out.flaps.size() == 0);  // known only when it is over
  fx.feed(2 * kSec + 5 * kMs, link(true, 2, 1));
  // A second outage, longer than the job budget.
  fx.feed(3 * kSec, link(false, 2, 2));
  fx.feed(11 * kSec, link(true, 3, 2));
  fx.tracker.finish(12 * kSec);

  REQUIRE(fx.out.flaps.size() == 2);
  check_flap(fx.out.flaps, 0, {2 * kSec + 5 * kMs, 2 * kSec, 2 * kSec + 5 * kMs, 5 * kMs, 0, 0, 0});
  check_flap(fx.out.flaps, 1, {11 * kSec, 3 * kSec, 11 * kSec, 8 * kSec, 0, 0, 1});
  const auto& s = fx.port();
  CHECK(s.messages == 5);
  CHECK(s.flaps == 2);
  CHECK(s.hidden == 0);
  CHECK(s.micro == 1);  // 5 ms < 10 ms
  CHECK(s.down_total == 8 * kSec + 5 * kMs);
  CHECK(s.longest == 8 * kSec);
  CHECK(s.over_budget == 1);
  CHECK(s.up);
  CHECK(fx.out.policy_events.size() == 0);
}

TEST_CASE("a port down at its first message has no outage to report when it comes up") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(false, 0, 1));
  fx.feed(2 * kSec, link(true, 1, 1));
  fx.tracker.finish(3 * kSec);
  CHECK(fx.out.flaps.size() == 0);
  CHECK(fx.port().flaps == 0);
  CHECK(fx.port().up);
}

TEST_CASE("carrier counter jumps are hidden flaps") {
  Fixture fx(no_policies());
  SUBCASE("down count: every down the states do not show") {
    fx.feed(1 * kSec, link(true, 1, 0));
    fx.feed(2 * kSec, link(true, 4, 3));  // up before and after, 3 downs in between
    REQUIRE(fx.out.flaps.size() == 3);
    for (size_t i = 0; i < 3; ++i) check_flap(fx.out.flaps, i, {2 * kSec, 1 * kSec, 2 * kSec, -1, 1, 0, 0});
    // A down message that moved the count by 2: one hidden flap, then the visible down.
    fx.feed(3 * kSec, link(false, 5, 5));
    REQUIRE(fx.out.flaps.size() == 4);
    check_flap(fx.out.flaps, 3, {3 * kSec, 2 * kSec, 3 * kSec, -1, 1, 0, 0});
    CHECK(fx.port().down_since == 3 * kSec);
    CHECK(fx.port().flaps == 4);
    CHECK(fx.port().hidden == 4);
    CHECK(fx.port().down_total == 0);  // hidden flaps have no known duration
  }
  SUBCASE("carrier changes when the down count is absent: two changes per flap") {
    fx.feed(1 * kSec, link(true, -1, -1, 1));
    fx.feed(2 * kSec, link(false, -1, -1, 4));  // 3 changes: the visible down and one hidden flap
    REQUIRE(fx.out.flaps.size() == 1);
    check_flap(fx.out.flaps, 0, {2 * kSec, 1 * kSec, 2 * kSec, -1, 1, 0, 0});
    CHECK(fx.port().down_since == 2 * kSec);
  }
  SUBCASE("a counter that went backwards or jumped implausibly far is no count of flaps") {
    fx.feed(1 * kSec, link(true, 10, 9));
    fx.feed(2 * kSec, link(true, 1, 0));  // interface re-created: counters restart
    fx.feed(3 * kSec, link(true, 1 + 5000, 5000));  // more than 4096 flaps between two messages
    CHECK(fx.out.flaps.size() == 0);
    CHECK(fx.port().hidden == 0);
  }
}

TEST_CASE("the hold-time what-if marks downs a hold-down timer would have hidden") {
  LinkConfig cfg = no_policies();
  cfg.hold_down_ns = 100 * kMs;
  Fixture fx(cfg);
  fx.feed(1 * kSec, link(true, 1, 0));
  fx.feed(2 * kSec, link(false, 1, 1));
  fx.feed(2 * kSec + 50 * kMs, link(true, 2, 1));  // 50 ms < 100 ms: held
  fx.feed(3 * kSec, link(false, 2, 2));
  fx.feed(3 * kSec + 300 * kMs, link(true, 3, 2));  // 300 ms: not held
  fx.feed(4 * kSec, link(true, 4, 3));  // hidden: duration unknown
  REQUIRE(fx.out.flaps.size() == 3);
  check_flap(fx.out.flaps, 0, {2 * kSec + 50 * kMs, 2 * kSec, 2 * kSec + 50 * kMs, 50 * kMs, 0, 1, 0});
  check_flap(fx.out.flaps, 1, {3 * kSec + 300 * kMs, 3 * kSec, 3 * kSec + 300 * kMs, 300 * kMs, 0, 0, 0});
  check_flap(fx.out.flaps, 2, {4 * kSec, 3 * kSec + 300 * kMs, 4 * kSec, -1, 1, -1, 0});
}

TEST_CASE("a port still down at the end is an open outage, over budget once it outlasted it") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(true, 1, 0));
  fx.feed(2 * kSec, link(false, 1, 1));
  SUBCASE("within the budget") {
    fx.tracker.finish(9 * kSec);  // down 7 s: not more than the 7 s budget
    REQUIRE(fx.out.flaps.size() == 1);
    check_flap(fx.out.flaps, 0, {2 * kSec, 2 * kSec, -1, -1, 0, 0, 0});
    CHECK(fx.port().over_budget == 0);
  }
  SUBCASE("past the budget") {
    fx.tracker.finish(9 * kSec + 1);
    REQUIRE(fx.out.flaps.size() == 1);
    check_flap(fx.out.flaps, 0, {2 * kSec, 2 * kSec, -1, -1, 0, 0, 1});
    CHECK(fx.port().over_budget == 1);
  }
  CHECK(fx.port().flaps == 0);  // an outage, not (yet) a flap
}

TEST_CASE("the tracker counts a flap for its policies at the down, and clears them when due") {
  LinkConfig cfg;
  cfg.windows = {{"3-in-10s", 3, 10 * kSec}};
  cfg.dampening = {dampening_preset("ios")};  // penalty 1000, half-life 5 s, reuse 1000, suppress 2000, max 20 s
  Fixture fx(cfg);
  const int32_t window_id = fx.strings.intern("3-in-10s"), ios_id = fx.strings.intern("ios");
  fx.feed(0, link(true, 1, 0));
  // Downs at 1, 2 and 3 s, each up again 100 ms later.
  for (int64_t i = 1; i <= 3; ++i) {
    fx.feed(i * kSec, link(false, i, i));
    fx.feed(i * kSec + 100 * kMs, link(true, i + 1, i));
  }
  // Dampening: 1000 at 1 s, decayed a second at each next down: above 2000 at the third.
  const double p3 = 1000 * (1 + std::exp2(-0.2) + std::exp2(-0.4));
  const int64_t reuse_at = 3 * kSec + static_cast<int64_t>(std::ceil(5.0 * kSec * std::log2(p3 / 1000)));
  REQUIRE(fx.out.policy_events.size() == 2);  // trips only: no clear is due yet
  const auto& e = fx.out.policy_events;
  CHECK(e.ts_ns[0] == 3 * kSec);
  CHECK(e.policy[0] == window_id);
  CHECK(e.event[0] == 1);
  CHECK(e.value[0] == 3.0);
  CHECK(e.ts_ns[1] == 3 * kSec);
  CHECK(e.policy[1] == ios_id);
  CHECK(e.event[1] == 1);
  CHECK(e.value[1] == doctest::Approx(p3).epsilon(1e-12));
  CHECK(std::llabs(fx.tracker.next_deadline() - reuse_at) <= 1);  // the earlier clear: ~9.97 s

  fx.tracker.finish(4 * kSec);  // every pending clear, stamped with the instant it is due
  REQUIRE(e.size() == 4);
  auto clear_of = [&](int32_t policy) {
    for (size_t i = 2; i < e.size(); ++i)
      if (e.policy[i] == policy && e.event[i] == 0) return i;
    FAIL("no clear");
    return size_t(0);
  };
  // The penalty decays to reuse at 3 s + half-life x log2(P / reuse).
  const size_t ios_clear = clear_of(ios_id);
  CHECK(std::llabs(e.ts_ns[ios_clear] - reuse_at) <= 1);
  CHECK(e.value[ios_clear] == doctest::Approx(1000.0).epsilon(1e-9));
  // The window falls below 3 flaps when the first (1 s) leaves it: 1 s + 10 s.
  const size_t window_clear = clear_of(window_id);
  CHECK(e.ts_ns[window_clear] == 11 * kSec);
  CHECK(e.value[window_clear] == 2.0);  // the flaps at 2 and 3 s are still in the window
  for (size_t i = 0; i < e.size(); ++i) CHECK(e.port[i] == kPort);
}
