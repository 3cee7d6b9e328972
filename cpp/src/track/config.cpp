#include "flapwatch/track/config.hpp"

#include <sstream>
#include <stdexcept>

namespace flapwatch {
namespace {

template <class Policy>
const Policy& find_preset(const std::vector<Policy>& presets, std::string_view name, const char* what) {
  for (const auto& p : presets)
    if (p.name == name) return p;
  std::string known;
  for (const auto& p : presets) known += (known.empty() ? "" : ", ") + p.name;
  throw std::invalid_argument("unknown " + std::string(what) + " policy \"" + std::string(name) + "\" (presets: " +
                              known + ")");
}

template <class V>
std::string str(const V& v) {
  std::ostringstream m;
  m << v;
  return m.str();
}

// The first problem found, as "field must be ... (got value)".
class Problems {
 public:
  template <class V>
  void require(bool ok, const std::string& field, const char* rule, const V& value) {
    if (ok || !first_.empty()) return;
    first_ = field + " must be " + rule + " (got " + str(value) + ")";
  }
  std::string first() const { return first_; }

 private:
  std::string first_;
};

std::string item(const char* list, size_t i, const std::string& name) {
  return std::string(list) + "[" + std::to_string(i) + "] (\"" + name + "\")";
}

}  // namespace

const std::vector<WindowPolicy>& window_presets() {
  static const std::vector<WindowPolicy> presets{
      {"5-in-10s", 5, 10 * kSec},
      {"10-in-5s", 10, 5 * kSec},
  };
  return presets;
}

const std::vector<DampeningPolicy>& dampening_presets() {
  static const std::vector<DampeningPolicy> presets{
      {"ios", 1000, 5 * kSec, 1000, 2000, 20 * kSec},
      {"ios-xr", 1000, 60 * kSec, 750, 2000, 240 * kSec},
      {"junos", 1000, 5 * kSec, 1000, 2000, 20 * kSec},
  };
  return presets;
}

const WindowPolicy& window_preset(std::string_view name) { return find_preset(window_presets(), name, "window"); }

const DampeningPolicy& dampening_preset(std::string_view name) {
  return find_preset(dampening_presets(), name, "dampening");
}

const char* storm_rule_name(double duty) {
  for (const auto& r : kStormRules)
    if (r.duty == duty) return r.name;
  return nullptr;
}

std::string EngineConfig::validate() const {
  Problems p;
  p.require(link.job_budget_ns >= 0, "link.job_budget_ns", ">= 0", link.job_budget_ns);
  p.require(link.micro_flap_ns >= 0, "link.micro_flap_ns", ">= 0", link.micro_flap_ns);
  p.require(link.hold_down_ns >= 0, "link.hold_down_ns", ">= 0 (0: off)", link.hold_down_ns);
  for (size_t i = 0; i < link.windows.size(); ++i) {
    const WindowPolicy& w = link.windows[i];
    p.require(w.count > 0, item("link.windows", i, w.name) + ".count", "> 0", w.count);
    p.require(w.window_ns > 0, item("link.windows", i, w.name) + ".window_ns", "> 0", w.window_ns);
  }
  for (size_t i = 0; i < link.dampening.size(); ++i) {
    const DampeningPolicy& d = link.dampening[i];
    const std::string at = item("link.dampening", i, d.name);
    p.require(d.penalty > 0, at + ".penalty", "> 0", d.penalty);
    p.require(d.half_life_ns > 0, at + ".half_life_ns", "> 0", d.half_life_ns);
    p.require(d.reuse > 0, at + ".reuse", "> 0", d.reuse);
    p.require(d.suppress > d.reuse, at + ".suppress", "> reuse", str(d.suppress) + ", reuse " + str(d.reuse));
    p.require(d.max_suppress_ns >= 0, at + ".max_suppress_ns", ">= 0", d.max_suppress_ns);
  }
  p.require(pfc.detection_ns >= 0, "pfc.detection_ns", ">= 0", pfc.detection_ns);
  p.require(pfc.restoration_ns >= 0, "pfc.restoration_ns", ">= 0", pfc.restoration_ns);
  p.require(pfc.storm_duty > 0 && pfc.storm_duty <= 1, "pfc.storm_duty", "in (0, 1]", pfc.storm_duty);
  p.require(pfc.window_ns > 0, "pfc.window_ns", "> 0", pfc.window_ns);
  p.require(pfc.default_speed_bps > 0, "pfc.default_speed_bps", "> 0", pfc.default_speed_bps);
  for (size_t i = 0; i < pfc.port_speeds.size(); ++i) {
    const auto& [pattern, bps] = pfc.port_speeds[i];
    p.require(bps > 0, item("pfc.port_speeds", i, pattern) + ".bps", "> 0", bps);
  }
  for (size_t i = 0; i < lldp.own_macs.size(); ++i) {
    const auto& [port, mac] = lldp.own_macs[i];
    p.require(!port.empty(), item("lldp.own_macs", i, port) + ".port", "a port name", "\"\"");
    p.require(mac != 0 && mac >> 48 == 0, item("lldp.own_macs", i, port) + ".mac", "a 48-bit MAC, not 0",
              std::to_string(mac));
  }
  return p.first();
}

void EngineConfig::check() const {
  if (std::string why = validate(); !why.empty()) throw std::invalid_argument("invalid configuration: " + why);
}

}  // namespace flapwatch
