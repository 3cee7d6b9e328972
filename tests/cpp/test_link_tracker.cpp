// LinkTracker fed link records directly (no capture, no decoder): flaps from down/up
// messages, hidden flaps from carrier counter jumps, the job budget, the hold-time
// what-if, open outages at the end, and the policies it feeds.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "flapwatch/engine.hpp"
#include "flapwatch/track/link_tracker.hpp"

using namespace flapwatch;

namespace {

constexpr uint32_t kIffUp = 0x1, kIffLowerUp = 0x10000;
constexpr int32_t kPort = 3;

// A link message as the decoder makes it: carrier up (IFF_UP|LOWER_UP, carrier 1) or
// down (IFF_UP, carrier 0), with the carrier counters (-1: absent). A reply to a dump,
// so a port's first one is a baseline; notification() makes the kernel's notification.
LinkRecord link(bool up, int64_t up_count, int64_t down_count, int64_t changes = -2) {
  LinkRecord r{};
  r.dump = 1;
  r.dev_type = 1;  // ARPHRD_ETHER
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

LinkRecord notification(bool up, int64_t up_count, int64_t down_count, uint32_t change = 0) {
  LinkRecord r = link(up, up_count, down_count);
  r.dump = 0;
  r.change = change;
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
  int open_at_start = 0;
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
  CHECK(int(f.open_at_start[i]) == want.open_at_start);
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

// ------------------------------------------------ captures that start mid-flight

TEST_CASE("a first notification of a down starts an outage then: link_down at once, the flap at the up") {
  LinkConfig cfg = no_policies();
  cfg.windows = {{"1-in-10s", 1, 10 * kSec}};
  Fixture fx(cfg);
  fx.tracker.set_start(1 * kSec);  // the capture began at 1 s, with other records
  fx.feed(2 * kSec, notification(false, 4, 5));
  REQUIRE(fx.out.link_down.size() == 1);  // before the link is back
  CHECK(fx.out.link_down.ts_ns[0] == 2 * kSec);
  CHECK(fx.out.link_down.port[0] == kPort);
  CHECK(fx.out.link_down.down_ns[0] == 2 * kSec);
  CHECK(fx.out.flaps.size() == 0);
  CHECK(fx.port().down_since == 2 * kSec);
  REQUIRE(fx.out.policy_events.size() == 1);  // the down is in the capture: the policies count it
  CHECK(fx.out.policy_events.ts_ns[0] == 2 * kSec);
  fx.feed(2 * kSec + 5 * kMs, notification(true, 5, 5));
  REQUIRE(fx.out.flaps.size() == 1);
  check_flap(fx.out.flaps, 0, {2 * kSec + 5 * kMs, 2 * kSec, 2 * kSec + 5 * kMs, 5 * kMs, 0, 0, 0});
  CHECK(fx.port().flaps == 1);
  CHECK(fx.port().micro == 1);
  CHECK(fx.port().hidden == 0);  // the counters before the first message are not flaps we saw
}

TEST_CASE("a first notification of an up closes an outage open at the capture's start, flagged as a bound") {
  LinkConfig cfg = no_policies();
  cfg.windows = {{"1-in-10s", 1, 10 * kSec}};
  cfg.hold_down_ns = 10 * kSec;
  Fixture fx(cfg);
  fx.tracker.set_start(1 * kSec);
  fx.feed(1 * kSec + 3 * kMs, notification(true, 9, 8));
  REQUIRE(fx.out.flaps.size() == 1);
  // down_ns: the capture's start; the duration a lower bound; held unknown (a longer real
  // outage would not have been held).
  check_flap(fx.out.flaps, 0, {1 * kSec + 3 * kMs, 1 * kSec, 1 * kSec + 3 * kMs, 3 * kMs, 0, -1, 0, 1});
  CHECK(fx.out.link_down.size() == 0);  // it opened before the capture
  CHECK(fx.out.policy_events.size() == 0);  // its down instant is unknown: no policy counts it
  CHECK(fx.port().flaps == 1);
  CHECK(fx.port().micro == 0);  // 3 ms is a bound: no micro-flap
  CHECK(fx.port().down_total == 3 * kMs);
  // Later messages compare with it as with any baseline: a counter jump is hidden flaps.
  fx.feed(2 * kSec, notification(true, 11, 10));
  CHECK(fx.out.flaps.size() == 3);
  CHECK(fx.port().hidden == 2);
}

TEST_CASE("the first message is a baseline when it is a dump reply or reports no change of the link") {
  Fixture fx(no_policies());
  fx.tracker.set_start(1 * kSec);
  SUBCASE("a dump reply, up") {
    fx.feed(2 * kSec, link(true, 1, 0));
  }
  SUBCASE("a notification of another flag (promiscuity as a capture starts), up") {
    fx.feed(2 * kSec, notification(true, 3, 2, 0x100));
    CHECK(fx.out.flaps.size() == 0);
  }
  SUBCASE("a dump reply of a port administratively down, then brought up: no outage") {
    LinkRecord admin_down = link(false, 0, 0);
    admin_down.flags = 0;
    fx.feed(2 * kSec, admin_down);
    fx.feed(3 * kSec, notification(true, 1, 0, 0x1));
  }
  SUBCASE("a first notification of an admin up (IFF_UP in ifi_change): it was admin down") {
    fx.feed(2 * kSec, notification(true, 1, 0, 0x1));
  }
  SUBCASE("the deletion of a port never seen") {
    LinkRecord del = notification(false, 1, 1);
    del.msg_type = 17;
    fx.feed(2 * kSec, del);
  }
  fx.tracker.finish(4 * kSec);
  CHECK(fx.out.flaps.size() == 0);
  CHECK(fx.out.link_down.size() == 0);
  CHECK(fx.port().flaps == 0);
}

TEST_CASE("a first message that says the carrier is down opens an outage at the start; its up closes it") {
  // The same outage as a first notification of the up gives (the real-kernel corpus missed it
  // when nlrecord dumped first): open at start, its down a bound.
  Fixture fx(no_policies());
  fx.tracker.set_start(1 * kSec);
  SUBCASE("a dump reply") {
    fx.feed(2 * kSec, link(false, 0, 1));
  }
  SUBCASE("a notification of another flag (promiscuity as a capture starts on a down port)") {
    fx.feed(2 * kSec, notification(false, 0, 1, 0x100));
  }
  CHECK(fx.out.link_down.size() == 0);  // it opened before the capture
  fx.feed(3 * kSec, notification(true, 1, 1));
  REQUIRE(fx.out.flaps.size() == 1);
  CHECK(fx.out.flaps.open_at_start[0] == 1);
  CHECK(fx.out.flaps.down_ns[0] == 1 * kSec);  // the capture's start: a lower bound of the duration
  CHECK(fx.out.flaps.up_ns[0] == 3 * kSec);
  CHECK(fx.out.flaps.down_latest_ns[0] == 2 * kSec);  // down no later than the first message said so
  CHECK(fx.out.flaps.down_earliest_ns[0] == -1);
  CHECK(fx.port().micro == 0);
  fx.tracker.finish(4 * kSec);
  CHECK(fx.out.link_down.size() == 0);
}

TEST_CASE("an administrative up or down notified first is an edge (ifi_change has IFF_UP)") {
  Fixture fx(no_policies());
  fx.tracker.set_start(1 * kSec);
  LinkRecord admin_down = notification(false, 1, 1, 0x1);
  admin_down.flags = 0;  // IFF_UP cleared
  fx.feed(2 * kSec, admin_down);
  REQUIRE(fx.out.link_down.size() == 1);
  fx.feed(3 * kSec, notification(true, 2, 1));
  REQUIRE(fx.out.flaps.size() == 1);
  check_flap(fx.out.flaps, 0, {3 * kSec, 2 * kSec, 3 * kSec, 1 * kSec, 0, 0, 0});
}

TEST_CASE("every down writes a link_down row at once; an outage still open at the end keeps its open row") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(true, 1, 0));
  fx.feed(2 * kSec, notification(false, 1, 1));
  fx.feed(2 * kSec + 50 * kMs, notification(true, 2, 1));
  fx.feed(3 * kSec, notification(true, 4, 3));  // two hidden flaps: over already, no link_down
  fx.feed(4 * kSec, notification(false, 4, 4));
  REQUIRE(fx.out.link_down.size() == 2);
  CHECK(fx.out.link_down.ts_ns[0] == 2 * kSec);
  CHECK(fx.out.link_down.ts_ns[1] == 4 * kSec);
  CHECK(fx.out.flaps.size() == 3);
  fx.tracker.finish(5 * kSec);
  REQUIRE(fx.out.flaps.size() == 4);
  check_flap(fx.out.flaps, 3, {4 * kSec, 4 * kSec, -1, -1, 0, 0, 0});
  CHECK(fx.out.link_down.size() == 2);
}

// ------------------------------------------------ through the engine

namespace {

Record link_record(int64_t ts, int32_t port, const LinkRecord& l) {
  Record r{};
  r.ts_ns = ts;
  r.port = port;
  r.kind = RecordKind::link;
  r.link = l;
  return r;
}

}  // namespace

TEST_CASE("engine: the loopback makes no port; link_down reaches the callback at the down; ports say down since") {
  StringTable strings;
  const int32_t lo = strings.intern("lo"), eth = strings.intern("eth0");
  Engine engine(EngineConfig{}, strings);
  std::vector<std::pair<DetectionKind, int64_t>> heard;
  engine.set_callback([&](DetectionKind k, const Detections& d, size_t row) {
    heard.emplace_back(k, k == DetectionKind::link_down ? d.link_down.ts_ns[row] : -1);
  });
  LinkRecord loopback = notification(false, 0, 0);  // even a down: lo is no port
  SUBCASE("by IFF_LOOPBACK") { loopback.flags |= 0x8; }
  SUBCASE("by ARPHRD_LOOPBACK") { loopback.dev_type = 772; }
  engine.on_record(link_record(1 * kSec, lo, loopback));
  engine.on_record(link_record(1 * kSec, eth, link(true, 1, 0)));
  engine.on_record(link_record(2 * kSec, eth, notification(false, 1, 1)));
  REQUIRE(heard.size() == 1);
  CHECK(heard[0] == std::make_pair(DetectionKind::link_down, 2 * kSec));
  PortTable now = engine.port_snapshot();
  REQUIRE(now.size() == 1);
  CHECK(now.port[0] == eth);
  CHECK(now.oper_up[0] == 0);
  CHECK(now.down_since_ns[0] == 2 * kSec);
  engine.on_record(link_record(3 * kSec, eth, notification(true, 2, 1)));
  engine.finish();
  const PortTable& ports = engine.detections().ports;
  REQUIRE(ports.size() == 1);
  CHECK(ports.down_since_ns[0] == -1);
  CHECK(ports.flaps[0] == 1);
}

TEST_CASE("engine: an outage open at the capture's start is bounded by the first record of any kind") {
  StringTable strings;
  const int32_t eth = strings.intern("eth0"), other = strings.intern("eth1");
  Engine engine(EngineConfig{}, strings);
  engine.on_record(link_record(1 * kSec, other, link(true, 1, 0)));  // the capture's first record
  engine.on_record(link_record(4 * kSec, eth, notification(true, 3, 3)));
  engine.finish();
  const FlapTable& f = engine.detections().flaps;
  REQUIRE(f.size() == 1);
  CHECK(f.down_ns[0] == 1 * kSec);
  CHECK(f.duration_ns[0] == 3 * kSec);
  CHECK(f.open_at_start[0] == 1);
}

// Each flap's true down, up and duration as ranges (track/link_tracker.hpp): linkwatch may
// hold a carrier down back until its next run, an up after a notified down is urgent.
namespace {

struct Range {
  int64_t down_earliest, down_latest, up_earliest, up_latest, duration_min, duration_max;
};

void check_range(const FlapTable& f, size_t i, const Range& want) {
  CAPTURE(i);
  REQUIRE(i < f.size());
  CHECK(f.down_earliest_ns[i] == want.down_earliest);
  CHECK(f.down_latest_ns[i] == want.down_latest);
  CHECK(f.up_earliest_ns[i] == want.up_earliest);
  CHECK(f.up_latest_ns[i] == want.up_latest);
  CHECK(f.duration_min_ns[i] == want.duration_min);
  CHECK(f.duration_max_ns[i] == want.duration_max);
}

constexpr int64_t kDelay = LinkTracker::kMaxDelayNs, kNotify = LinkTracker::kNotifyNs;

}  // namespace

TEST_CASE("a carrier down may have waited for linkwatch's next run; the up after it was notified at once") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(true, 1, 0));  // baseline (a dump reply)
  fx.feed(5 * kSec, notification(false, 1, 1));
  fx.feed(5 * kSec + 300 * kMs, notification(true, 2, 1));
  // Right after the up: the next down can only have happened after the up's message.
  fx.feed(5 * kSec + 900 * kMs, notification(false, 2, 2));
  fx.feed(6 * kSec, notification(true, 3, 2));
  REQUIRE(fx.out.flaps.size() == 2);
  check_range(fx.out.flaps, 0, {5 * kSec - kDelay, 5 * kSec, 5 * kSec + 300 * kMs - kNotify, 5 * kSec + 300 * kMs,
                                300 * kMs - kNotify, 300 * kMs + kDelay});
  check_range(fx.out.flaps, 1, {5 * kSec + 300 * kMs, 5 * kSec + 900 * kMs, 6 * kSec - kNotify, 6 * kSec,
                                100 * kMs - kNotify, 700 * kMs});
  CHECK(fx.out.flaps.duration_ns[0] == 300 * kMs);  // what the messages say, as before
}

TEST_CASE("the neighbor's last frame before a down bounds it; an admin down is notified at once") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(true, 1, 0));
  fx.tracker.on_rx(4 * kSec + 800 * kMs, kPort);  // an LLDPDU received: the link was up
  fx.feed(5 * kSec, notification(false, 1, 1));
  fx.feed(5 * kSec + 50 * kMs, notification(true, 2, 1));
  constexpr uint32_t kChangeUp = 0x1;
  LinkRecord admin_down = notification(false, 2, 1, kChangeUp);
  admin_down.flags = 0;  // IFF_UP cleared: `ip link set dev eth0 down` on the port itself
  fx.feed(8 * kSec, admin_down);
  fx.feed(9 * kSec, notification(true, 2, 1, kChangeUp));
  REQUIRE(fx.out.flaps.size() == 2);
  const int64_t rx = 4 * kSec + 800 * kMs - LinkTracker::kRxMarginNs;
  check_range(fx.out.flaps, 0, {rx, 5 * kSec, 5 * kSec + 50 * kMs - kNotify, 5 * kSec + 50 * kMs,
                                50 * kMs - kNotify, 5 * kSec + 50 * kMs - rx});
  check_range(fx.out.flaps, 1, {8 * kSec - kNotify, 8 * kSec, 9 * kSec - kNotify, 9 * kSec, 1 * kSec - kNotify,
                                1 * kSec + kNotify});
}

TEST_CASE("hidden flaps lie within linkwatch's delay before the message that revealed them") {
  Fixture fx(no_policies());
  fx.feed(1 * kSec, link(true, 1, 0));
  fx.feed(1 * kSec + 600 * kMs, notification(true, 3, 2));  // 2 hidden, the previous message 600 ms before
  fx.feed(5 * kSec, notification(true, 4, 3));  // 1 hidden, its previous message 3.4 s before
  REQUIRE(fx.out.flaps.size() == 3);
  for (size_t i : {0, 1})
    check_range(fx.out.flaps, i, {1 * kSec, 1 * kSec + 600 * kMs, 1 * kSec, 1 * kSec + 600 * kMs, 0, 600 * kMs});
  check_range(fx.out.flaps, 2, {5 * kSec - kDelay, 5 * kSec, 5 * kSec - kDelay, 5 * kSec, 0, kDelay});
}

TEST_CASE("hidden flaps in the wire's silences: one per gap when the gaps account for each, else linkwatch's bounds") {
  Fixture fx(no_policies());
  const int64_t m = LinkTracker::kRxMarginNs;
  fx.feed(1 * kSec, link(true, 1, 0));
  // Steady traffic with two silences, then a message revealing two hidden flaps: one in each.
  fx.tracker.on_rx_gap(1 * kSec + 240 * kMs, kPort, 1 * kSec + 200 * kMs, 150);
  fx.tracker.on_rx_gap(1 * kSec + 570 * kMs, kPort, 1 * kSec + 500 * kMs, 260);
  fx.tracker.on_rx_state(2 * kSec, kPort, 2 * kSec - 1 * kMs, 430);  // traffic on at the message
  fx.feed(2 * kSec, notification(true, 3, 2));
  // Two silences, three hidden flaps (one was too short to leave a gap): linkwatch's bounds.
  fx.tracker.on_rx_gap(2 * kSec + 340 * kMs, kPort, 2 * kSec + 300 * kMs, 200);
  fx.tracker.on_rx_gap(2 * kSec + 740 * kMs, kPort, 2 * kSec + 700 * kMs, 300);
  fx.tracker.on_rx_state(3 * kSec, kPort, 3 * kSec - 1 * kMs, 260);
  fx.feed(3 * kSec, notification(true, 6, 5));
  // A trickle (one frame between two silences: no traffic to speak of): linkwatch's bounds.
  fx.tracker.on_rx_gap(3 * kSec + 500 * kMs, kPort, 3 * kSec + 100 * kMs, 1);
  fx.tracker.on_rx_state(4 * kSec, kPort, 4 * kSec - 1 * kMs, 500);
  fx.feed(4 * kSec, notification(true, 7, 6));
  // One silence, one hidden flap, but the port has been silent since 4.6 s too (two silences
  // for one flap, either a pause): linkwatch's bounds. With the message a down,
  // the open silence is that down's own, and the hidden flap is in the closed gap.
  fx.tracker.on_rx_gap(4 * kSec + 300 * kMs, kPort, 4 * kSec + 250 * kMs, 200);
  fx.tracker.on_rx_state(5 * kSec, kPort, 4 * kSec + 600 * kMs, 300);
  fx.feed(5 * kSec, notification(true, 8, 7));
  fx.tracker.on_rx_gap(5 * kSec + 300 * kMs, kPort, 5 * kSec + 250 * kMs, 200);
  fx.tracker.on_rx_state(6 * kSec, kPort, 5 * kSec + 600 * kMs, 300);
  fx.feed(6 * kSec, notification(false, 8, 9));  // one hidden flap, then the down this message reports
  fx.feed(6 * kSec + 100 * kMs, notification(true, 9, 9));
  // The last flap's up just before the run, the frame after it just after: the silence still
  // open at a message that says up is its gap.
  fx.tracker.on_rx_gap(7 * kSec + 200 * kMs, kPort, 7 * kSec + 150 * kMs, 100);
  fx.tracker.on_rx_state(8 * kSec, kPort, 8 * kSec - 30 * kMs, 700);
  fx.feed(8 * kSec, notification(true, 11, 11));
  REQUIRE(fx.out.flaps.size() == 11);
  check_range(fx.out.flaps, 9, {7 * kSec + 150 * kMs - m, 7 * kSec + 200 * kMs, 7 * kSec + 150 * kMs - m,
                                7 * kSec + 200 * kMs, 0, 50 * kMs + m});
  check_range(fx.out.flaps, 10, {8 * kSec - 30 * kMs - m, 8 * kSec, 8 * kSec - 30 * kMs - m, 8 * kSec, 0, 30 * kMs + m});
  check_range(fx.out.flaps, 6, {4 * kSec, 5 * kSec, 4 * kSec, 5 * kSec, 0, 1 * kSec});
  check_range(fx.out.flaps, 7, {5 * kSec + 250 * kMs - m, 5 * kSec + 300 * kMs, 5 * kSec + 250 * kMs - m,
                                5 * kSec + 300 * kMs, 0, 50 * kMs + m});
  CHECK(!fx.out.flaps.hidden[8]);
  check_range(fx.out.flaps, 0, {1 * kSec + 200 * kMs - m, 1 * kSec + 240 * kMs, 1 * kSec + 200 * kMs - m,
                                1 * kSec + 240 * kMs, 0, 40 * kMs + m});
  check_range(fx.out.flaps, 1, {1 * kSec + 500 * kMs - m, 1 * kSec + 570 * kMs, 1 * kSec + 500 * kMs - m,
                                1 * kSec + 570 * kMs, 0, 70 * kMs + m});
  for (size_t i : {2, 3, 4})
    check_range(fx.out.flaps, i, {2 * kSec, 3 * kSec, 2 * kSec, 3 * kSec, 0, 1 * kSec});
  check_range(fx.out.flaps, 5, {3 * kSec, 4 * kSec, 3 * kSec, 4 * kSec, 0, 1 * kSec});
  for (size_t i = 0; i < 8; ++i) CHECK(fx.out.flaps.hidden[i]);
  CHECK(fx.out.flaps.down_ns[0] == 1 * kSec);  // down_ns/up_ns of a hidden flap: the messages, as before
  CHECK(fx.out.flaps.up_ns[0] == 2 * kSec);
}

TEST_CASE("an outage open at either end: what is unknown is -1, a lower bound where there is one") {
  Fixture fx(no_policies());
  fx.tracker.set_start(1 * kSec);
  fx.feed(3 * kSec, notification(true, 5, 5));  // first message: an up closing an outage open at the start
  fx.feed(4 * kSec, notification(false, 5, 6));
  fx.tracker.finish(10 * kSec);  // still down
  REQUIRE(fx.out.flaps.size() == 2);
  // The down may have been pending when the capture began and the up folded into it.
  check_range(fx.out.flaps, 0, {-1, 3 * kSec, 3 * kSec - kDelay, 3 * kSec, 0, -1});
  check_range(fx.out.flaps, 1, {3 * kSec, 4 * kSec, -1, -1, 6 * kSec, -1});
}

TEST_CASE("engine: a pushed link event is bounded by the port's previous event alone") {
  StringTable strings;
  Engine engine(EngineConfig{}, strings);
  auto push = [&](int64_t t, bool up, int64_t changes, bool baseline = false) {
    LinkEvent e;
    e.ts_ns = t;
    e.interface = "Ethernet0";
    e.up = up;
    e.carrier_changes = changes;
    e.baseline = baseline;
    engine.on_link_event(e);
  };
  push(1 * kSec, true, 0, true);
  push(2 * kSec, true, 0);  // a poll: unchanged
  push(2 * kSec + 200 * kMs, false, 1);
  push(3 * kSec, false, 1);
  push(3 * kSec + 200 * kMs, true, 2);
  engine.finish();
  const FlapTable& f = engine.detections().flaps;
  REQUIRE(f.size() == 1);
  check_range(f, 0, {2 * kSec, 2 * kSec + 200 * kMs, 3 * kSec, 3 * kSec + 200 * kMs, 800 * kMs, 1200 * kMs});
}
