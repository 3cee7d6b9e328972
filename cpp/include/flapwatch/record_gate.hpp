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
    if (admits(r.ts_ns, r.port, r.frame)) next_.on_record(r);
  }
  // Whether a record of this time and port goes on; a port's first is announced first
  // (`frame`: the record's, for the announcement; the engine does not read it).
  bool admits(int64_t ts, int32_t port, int64_t frame = 0) {
    if (ts < cfg_.selection.since_ns || ts >= cfg_.selection.until_ns) return false;
    if (port >= 0) {
      auto p = static_cast<size_t>(port);
      if (p >= state_.size()) [[unlikely]] state_.resize(p + 1, kUnknown);
      if (state_[p] == kUnknown) [[unlikely]] announce(ts, port, frame);
      if (state_[p] == kExcluded) return false;
    }
    return true;
  }

 private:
  enum : uint8_t { kUnknown, kSelected, kExcluded };

  void announce(int64_t ts, int32_t port, int64_t frame) {
    const std::string& name = strings_[port];
    bool selected = selected_port(cfg_.selection, name);
    state_[static_cast<size_t>(port)] = selected ? kSelected : kExcluded;
    if (!selected) return;
    Record info{};
    info.kind = RecordKind::port_info;
    info.ts_ns = ts;
    info.port = port;
    info.frame = frame;
    info.port_info.configured_speed_bps = configured_speed(cfg_.pfc, name);
    next_.on_record(info);
  }

  RecordSink& next_;
  const StringTable& strings_;
  const EngineConfig& cfg_;
  std::vector<uint8_t> state_;
};

}  // namespace flapwatch
