// FollowSession: the engine over a capture that another process (tcpdump -w,
// dumpcap, flapwatch agent --record) is still writing. Each poll() reads the records
// completed since the last one; detections accumulate in the engine, so following a
// file and replaying it afterwards give the same detections. Single-threaded: the
// caller polls (live frames arrive at human rates here; the Pipeline is for bulk).
#pragma once
#include <cstdint>
#include <string>

#include "flapwatch/capture.hpp"
#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/record_gate.hpp"

namespace flapwatch {

class FollowSession {
 public:
  FollowSession(const std::string& path, const EngineConfig& cfg)
      : cfg_(cfg), engine_(cfg_, strings_), reader_(path, strings_, false), dispatcher_(strings_),
        to_engine_(engine_), gate_(to_engine_, strings_, cfg_) {
    reader_.set_follow(true);
  }

  // Frames read (all available when max_frames <= 0).
  int64_t poll(int64_t max_frames = 0) {
    int64_t n = 0;
    Frame f;
    DecodeError err;
    while ((max_frames <= 0 || n < max_frames) && reader_.next(f)) {
      FrameKind k = dispatcher_.dispatch(f, gate_, err);
      ++counts_.by_kind[static_cast<int>(k)];
      ++n;
    }
    return n;
  }
  void finish() { engine_.finish(); }

  Engine& engine() { return engine_; }
  const StringTable& strings() const { return strings_; }
  const FrameCounts& counts() const { return counts_; }
  const CaptureReader& reader() const { return reader_; }

 private:
  struct EngineSink final : RecordSink {
    explicit EngineSink(Engine& e) : engine(e) {}
    void on_record(const Record& r) override { engine.on_record(r); }
    Engine& engine;
  };

  EngineConfig cfg_;
  StringTable strings_;
  Engine engine_;
  CaptureReader reader_;
  Dispatcher dispatcher_;
  EngineSink to_engine_;
  RecordGate gate_;
  FrameCounts counts_;
};

}  // namespace flapwatch
