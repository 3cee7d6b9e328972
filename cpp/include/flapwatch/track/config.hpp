// EngineConfig: every threshold the trackers use, with the defaults of the network
// OSes we match (DESIGN.md, "What the trackers must know").
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace flapwatch {

constexpr int64_t kMs = 1'000'000, kSec = 1'000'000'000;

// Errdisable-style flap detection: `count` flaps within `window_ns` trips.
struct WindowPolicy {
  std::string name;
  int count;
  int64_t window_ns;
};

// Route/event dampening: each flap adds `penalty`; the penalty halves every
// half-life; above `suppress` the port is suppressed, below `reuse` it is reused;
// it never exceeds reuse * 2^(max_suppress / half_life).
struct DampeningPolicy {
  std::string name;
  double penalty, reuse, suppress;
  int64_t half_life_ns, max_suppress_ns;
};

struct LinkConfig {
  int64_t job_budget_ns = 7 * kSec;  // RoCE transport timeout a training job survives
  int64_t micro_flap_ns = 10 * kMs;
  int64_t hold_down_ns = 0;  // what-if: a down shorter than this would not be reported (0: off)
  std::vector<WindowPolicy> windows{{"errdisable", 5, 10 * kSec}};
  std::vector<DampeningPolicy> dampening{{"ios", 1000, 1000, 2000, 5 * kSec, 20 * kSec}};
};

struct PfcConfig {
  int64_t detection_ns = 200 * kMs;    // SONiC pfcwd detection time
  int64_t restoration_ns = 200 * kMs;  // pfcwd restoration time
  // 1.0: paused continuously (pfcwd); 0.99: paused > 99 % of the detection window.
  double storm_duty = 1.0;
  int64_t window_ns = 1 * kSec;  // pause duty-cycle windows
  int64_t default_speed_bps = 100'000'000'000;
  std::vector<std::pair<std::string, int64_t>> port_speeds;  // configured per port
};

// What to look at: ports by shell pattern (empty: all), records in [since, until).
struct Selection {
  std::vector<std::string> ports;
  int64_t since_ns = std::numeric_limits<int64_t>::min();
  int64_t until_ns = std::numeric_limits<int64_t>::max();
};

struct EngineConfig {
  LinkConfig link;
  PfcConfig pfc;
  Selection selection;
};

}  // namespace flapwatch
