// RecordGate: the reader side's last step before the ring. It drops records the
// selection excludes (ports by shell pattern, a time range) and, before a port's
// first record, sends a port_info record with what the configuration says about it:
// port names can be read here, while the tracker thread never touches the string
// table (the reader thread keeps interning into it).
#pragma once
#include <cstdint>
#include <vector>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/engine.hpp"

namespace flapwatch {

// Records straight into an Engine on the same thread (the gate usually in front).
struct EngineSink final : RecordSink {
  explicit EngineSink(Engine& e) : engine(e) {}
  void on_record(const Record& r) override { engine.on_record(r); }
  Engine& engine;
};

class RecordGate final : public RecordSink {
 public:
  RecordGate(RecordSink& next, const StringTable& strings, const EngineConfig& cfg)
      : next_(next), strings_(strings), cfg_(cfg) {}

  void on_record(const Record& r) override {
    if (r.ts_ns < cfg_.selection.since_ns || r.ts_ns >= cfg_.selection.until_ns) return;
    if (r.port >= 0) {
      auto p = static_cast<size_t>(r.port);
      if (p >= state_.size()) state_.resize(p + 1, kUnknown);
      if (state_[p] == kUnknown) announce(r);
      if (state_[p] == kExcluded) return;
    }
    next_.on_record(r);
  }

 private:
  enum : uint8_t { kUnknown, kSelected, kExcluded };

  void announce(const Record& r) {
    const std::string& name = strings_[r.port];
    bool selected = selected_port(cfg_.selection, name);
    state_[static_cast<size_t>(r.port)] = selected ? kSelected : kExcluded;
    if (!selected) return;
    Record info{};
    info.kind = RecordKind::port_info;
    info.ts_ns = r.ts_ns;
    info.port = r.port;
    info.frame = r.frame;
    info.port_info.configured_speed_bps = configured_speed(cfg_.pfc, name);
    next_.on_record(info);
  }

  RecordSink& next_;
  const StringTable& strings_;
  const EngineConfig& cfg_;
  std::vector<uint8_t> state_;
};

}  // namespace flapwatch
