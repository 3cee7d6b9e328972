// The flap policies on their own (WindowCounter: count in a sliding window;
// Dampener: exponential-decay penalty), and the configuration that names them:
// presets, defaults, validate().
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "flapwatch/track/config.hpp"
#include "flapwatch/track/policies.hpp"

using namespace flapwatch;

TEST_CASE("a window policy trips at the count-th flap in the window and clears when the oldest leaves") {
  WindowCounter w({"3-in-10s", 3, 10 * kSec});
  PolicyChange c{};
  CHECK(w.next_change() == kNever);
  CHECK_FALSE(w.on_flap(0, c));
  CHECK_FALSE(w.on_flap(1 * kSec, c));
  REQUIRE(w.on_flap(2 * kSec, c));
  CHECK(c.ts_ns == 2 * kSec);
  CHECK(c.tripped);
  CHECK(c.value == 3.0);
  CHECK(w.tripped());
  CHECK(w.next_change() == 10 * kSec);  // the flap at 0 leaves the window
  CHECK_FALSE(w.on_flap(5 * kSec, c));  // already tripped: no second trip
  CHECK(w.next_change() == 11 * kSec);  // 3 flaps in the window until the one at 1 s leaves
  CHECK_FALSE(w.advance(11 * kSec - 1, c));
  REQUIRE(w.advance(12 * kSec, c));  // due at 11 s, reported at 11 s however late the call
  CHECK(c.ts_ns == 11 * kSec);
  CHECK_FALSE(c.tripped);
  CHECK(c.value == 2.0);  // 2 s and 5 s
  CHECK_FALSE(w.tripped());
  CHECK(w.next_change() == kNever);
  CHECK_FALSE(w.on_flap(12 * kSec, c));  // 2 s has left (window (2 s, 12 s]): 5 s, 12 s
  REQUIRE(w.on_flap(13 * kSec, c));
  CHECK(c.ts_ns == 13 * kSec);
  CHECK(c.value == 3.0);
}

TEST_CASE("a flap exactly one window after another is not in its window") {
  WindowCounter w({"2-in-10s", 2, 10 * kSec});
  PolicyChange c{};
  CHECK_FALSE(w.on_flap(0, c));
  CHECK_FALSE(w.on_flap(10 * kSec, c));  // the window is (t - 10 s, t]
  REQUIRE(w.on_flap(20 * kSec - 1, c));
  CHECK(c.value == 2.0);
  CHECK(w.next_change() == 20 * kSec);
}

TEST_CASE("dampening adds the penalty per flap, decays it by half-lives, suppresses above suppress") {
  const DampeningPolicy ios = dampening_preset("ios");  // 1000 per flap, half-life 5 s, reuse 1000, suppress 2000
  Dampener d(ios);
  PolicyChange c{};
  CHECK_FALSE(d.on_flap(0, c));
  CHECK(d.penalty_at(0) == 1000.0);
  CHECK(d.penalty_at(5 * kSec) == 500.0);  // one half-life
  CHECK(d.penalty_at(10 * kSec) == 250.0);
  CHECK_FALSE(d.on_flap(5 * kSec, c));  // 500 + 1000 = 1500: not above 2000
  CHECK(d.penalty_at(5 * kSec) == 1500.0);
  REQUIRE(d.on_flap(5 * kSec, c));  // 1500 + 1000 = 2500
  CHECK(c.ts_ns == 5 * kSec);
  CHECK(c.tripped);
  CHECK(c.value == 2500.0);
  CHECK(d.tripped());
  // Reused when 2500 x 2^(-dt / 5 s) reaches 1000: dt = 5 s x log2(2.5), rounded up.
  const int64_t at = 5 * kSec + static_cast<int64_t>(std::ceil(5.0 * kSec * std::log2(2.5)));
  CHECK(d.next_change() == at);
  CHECK_FALSE(d.advance(at - 1, c));
  REQUIRE(d.advance(at, c));
  CHECK(c.ts_ns == at);
  CHECK_FALSE(c.tripped);
  CHECK(c.value == doctest::Approx(1000.0).epsilon(1e-9));
  CHECK(c.value <= 1000.0);
  CHECK_FALSE(d.tripped());
  CHECK(d.next_change() == kNever);
}

TEST_CASE("the dampening penalty never exceeds reuse x 2^(max_suppress / half-life)") {
  Dampener d({"cap", 1000, 5 * kSec, 1000, 2000, 20 * kSec});  // cap 1000 x 2^4 = 16000
  PolicyChange c{};
  int trips = 0;
  for (int i = 0; i < 30; ++i) trips += d.on_flap(1 * kSec, c);
  CHECK(trips == 1);
  CHECK(d.penalty_at(1 * kSec) == 16000.0);
  CHECK(d.next_change() == 1 * kSec + 20 * kSec);  // 5 s x log2(16000 / 1000): max_suppress exactly
}

TEST_CASE("presets are found by the names users give them") {
  CHECK(window_presets().size() == 2);
  const WindowPolicy& w = window_preset("10-in-5s");
  CHECK(w.count == 10);
  CHECK(w.window_ns == 5 * kSec);
  const DampeningPolicy& xr = dampening_preset("ios-xr");
  CHECK(xr.penalty == 1000.0);
  CHECK(xr.half_life_ns == 60 * kSec);
  CHECK(xr.reuse == 750.0);
  CHECK(xr.suppress == 2000.0);
  CHECK(xr.max_suppress_ns == 240 * kSec);
  CHECK(dampening_presets().size() == 3);
  CHECK_THROWS_WITH_AS(window_preset("errdisable"), "unknown window policy \"errdisable\" (presets: 5-in-10s, 10-in-5s)",
                       std::invalid_argument);
  CHECK_THROWS_AS(dampening_preset("eos"), std::invalid_argument);
  CHECK(std::string(storm_rule_name(1.0)) == "pfcwd");
  CHECK(std::string(storm_rule_name(0.99)) == "pfcwd-99");
  CHECK(storm_rule_name(0.5) == nullptr);
}

TEST_CASE("the defaults: 5-in-10s, ios dampening, pfcwd 200/200 ms, and they are valid") {
  const EngineConfig c;
  REQUIRE(c.link.windows.size() == 1);
  CHECK(c.link.windows[0].name == "5-in-10s");
  CHECK(c.link.windows[0].count == 5);
  CHECK(c.link.windows[0].window_ns == 10 * kSec);
  REQUIRE(c.link.dampening.size() == 1);
  CHECK(c.link.dampening[0].name == "ios");
  CHECK(c.link.job_budget_ns == 7 * kSec);
  CHECK(c.pfc.detection_ns == 200 * kMs);
  CHECK(c.pfc.restoration_ns == 200 * kMs);
  CHECK(c.pfc.storm_duty == 1.0);
  CHECK(c.validate().empty());
  CHECK_NOTHROW(c.check());
}

TEST_CASE("validate() names the field and why") {
  EngineConfig c;
  SUBCASE("pause window") {
    c.pfc.window_ns = 0;
    CHECK(c.validate() == "pfc.window_ns must be > 0 (got 0)");
  }
  SUBCASE("window policy count") {
    c.link.windows.push_back({"fast", 0, kSec});
    CHECK(c.validate() == "link.windows[1] (\"fast\").count must be > 0 (got 0)");
  }
  SUBCASE("dampening thresholds") {
    c.link.dampening[0].suppress = 500;
    CHECK(c.validate() == "link.dampening[0] (\"ios\").suppress must be > reuse (got 500, reuse 1000)");
  }
  SUBCASE("dampening half-life") {
    c.link.dampening[0].half_life_ns = 0;
    CHECK(c.validate() == "link.dampening[0] (\"ios\").half_life_ns must be > 0 (got 0)");
  }
  SUBCASE("storm duty") {
    c.pfc.storm_duty = 0;
    CHECK(c.validate() == "pfc.storm_duty must be in (0, 1] (got 0)");
  }
  SUBCASE("speeds") {
    c.pfc.port_speeds = {{"swp*", 400'000'000'000}, {"eth*", -1}};
    CHECK(c.validate() == "pfc.port_speeds[1] (\"eth*\").bps must be > 0 (got -1)");
  }
  SUBCASE("the first problem only") {
    c.link.hold_down_ns = -1;
    c.pfc.default_speed_bps = 0;
    CHECK(c.validate() == "link.hold_down_ns must be >= 0 (0: off) (got -1)");
  }
  CHECK_THROWS_WITH_AS(c.check(), ("invalid configuration: " + c.validate()).c_str(), std::invalid_argument);
}
