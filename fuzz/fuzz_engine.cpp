// libFuzzer target: a capture made from the input, through the whole offline path of
// flapwatch.analyze on one thread: CaptureReader -> Dispatcher -> RecordGate -> Engine
// (link, PFC and LLDP trackers) -> finish(). Hostile timestamps (near the int64
// limits, jumping back and forth), counters and quanta reach the trackers here, as
// they would in the live agent. The input is a pcap or pcapng file (no magic forced).
#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/record_gate.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

namespace {

// EngineSink (record_gate.hpp) plus a count of what went through it.
struct CountingEngineSink final : RecordSink {
  explicit CountingEngineSink(Engine& e) : sink(e) {}
  void on_record(const Record& r) override {
    sink.on_record(r);
    ++records;
  }
  EngineSink sink;
  int64_t records = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile file("fuzz_engine");
  const std::string& path = file.write(data, size);
  EngineConfig cfg;
  if (size > 0 && (data[size - 1] & 1)) {  // also the other policy shapes
    cfg.pfc.storm_duty = 0.99;
    cfg.link.hold_down_ns = 50 * kMs;
    cfg.pfc.port_speeds = {{"*", 400'000'000'000}};
  }
  StringTable strings;
  try {
    CaptureReader reader(path, strings, false);
    Engine engine(cfg, strings);
    CountingEngineSink engine_sink(engine);
    RecordGate gate(engine_sink, strings, cfg);
    Dispatcher dispatcher(strings);
    Frame f;
    DecodeError err;
    while (reader.next(f)) dispatcher.dispatch(f, gate, err);
    engine.finish();
    FUZZ_CHECK(engine.records() == engine_sink.records);
    // Detections name ports and strings that exist.
    engine.detections().for_each_table([&](const char*, auto& table) {
      table.for_each_column([&](const char* name, auto& col) {
        if (std::string_view(name) == "port")
          for (auto v : col) FUZZ_CHECK(v >= 0 && static_cast<size_t>(v) < strings.size());
      });
    });
  } catch (const CaptureError& e) {
    FUZZ_CHECK(!e.reason().empty());
  }
  return 0;
}
