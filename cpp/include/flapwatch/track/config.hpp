// EngineConfig: every threshold the trackers use, with the defaults of the network
// OSes we match (docs/DESIGN.md, "Flaps and policies", "PFC and PAUSE"), the presets
// users name, and validate(). The Python Config (python/flapwatch) mirrors the names,
// field order and defaults here.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
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
  double penalty;
  int64_t half_life_ns;
  double reuse, suppress;
  int64_t max_suppress_ns;
};

// The presets, by the names users give them. Windows: "5-in-10s" (Arista, Catalyst,
// OcNOS, Huawei errdisable), "10-in-5s" (Extreme). Dampening: "ios" (IOS event
// dampening), "ios-xr" (max-suppress 4 x half-life), "junos" (damping, 1000 per down).
const std::vector<WindowPolicy>& window_presets();
const std::vector<DampeningPolicy>& dampening_presets();
// One preset by name; std::invalid_argument naming the presets when there is none.
const WindowPolicy& window_preset(std::string_view name);
const DampeningPolicy& dampening_preset(std::string_view name);

// PFC storm rules: the share of the detection time a priority must be paused.
struct StormRule {
  const char* name;
  double duty;
};
constexpr StormRule kStormRules[] = {
    {"pfcwd", 1.0},      // paused continuously (SONiC pfcwd)
    {"pfcwd-99", 0.99},  // paused > 99 % of the detection time
};
// The rule's name for a duty, nullptr when no rule has it.
const char* storm_rule_name(double duty);

struct LinkConfig {
  int64_t job_budget_ns = 7 * kSec;  // RoCE transport timeout a training job survives
  int64_t micro_flap_ns = 10 * kMs;
  int64_t hold_down_ns = 0;  // what-if: a down shorter than this would not be reported (0: off)
  std::vector<WindowPolicy> windows{window_preset("5-in-10s")};
  std::vector<DampeningPolicy> dampening{dampening_preset("ios")};
};

struct PfcConfig {
  int64_t detection_ns = 200 * kMs;    // SONiC pfcwd detection time
  int64_t restoration_ns = 200 * kMs;  // pfcwd restoration time
  double storm_duty = kStormRules[0].duty;  // pfcwd: paused continuously
  int64_t window_ns = 1 * kSec;  // pause duty-cycle windows
  int64_t default_speed_bps = 100'000'000'000;
  std::vector<std::pair<std::string, int64_t>> port_speeds;  // configured per port
};

// LLDP: each port's own MAC where the captures may not say it (a wire capture with no
// link messages for its port): LLDPDUs from it are the port's own, never a neighbor.
// Keyed by port name: the name as captured ("ens1f0np0"), which also names that
// interface of every device, or "device:port" (docs/DECODE_RULES.md, LLDP).
struct LldpConfig {
  std::vector<std::pair<std::string, uint64_t>> own_macs;  // 48-bit MACs, as LldpRecord::src_mac
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
  LldpConfig lldp;
  Selection selection;

  // "" when the trackers can run on this configuration, else the first problem,
  // naming the field and why: "pfc.window_ns must be > 0 (got 0)".
  std::string validate() const;
  // Throws std::invalid_argument with validate()'s message (the Engine calls it).
  void check() const;
};

}  // namespace flapwatch
