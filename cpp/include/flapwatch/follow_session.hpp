// FollowSession: the engine over captures that other processes (tcpdump -w on the
// wire, flapwatch.nlrecord on netlink, flapwatch agent --record) are still writing.
// Each poll() reads the records completed since the last one, file by file;
// detections accumulate in the engine. Files are not merged by time within a poll:
// each port's records come from one file in the usual setups, and the trackers take
// small back-steps. Single-threaded: the caller polls (the Pipeline is for bulk).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "flapwatch/capture.hpp"
#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/record_gate.hpp"

namespace flapwatch {

class FollowSession {
 public:
  // naming: one PortNaming per path (CaptureReader), or empty for none.
  FollowSession(const std::vector<std::string>& paths, const EngineConfig& cfg,
                const std::vector<PortNaming>& naming = {})
      : cfg_(cfg), engine_(cfg_, strings_), dispatcher_(strings_), to_engine_(engine_),
        gate_(to_engine_, strings_, cfg_) {
    if (!naming.empty() && naming.size() != paths.size())
      throw std::invalid_argument("port naming: " + std::to_string(naming.size()) + " entries for " +
                                  std::to_string(paths.size()) + " captures");
    for (size_t i = 0; i < paths.size(); ++i)
      readers_.push_back(std::make_unique<CaptureReader>(paths[i], strings_, false, true,
                                                         naming.empty() ? PortNaming{} : naming[i]));
  }

  // Frames read (all available when max_frames <= 0).
  int64_t poll(int64_t max_frames = 0) {
    int64_t n = 0;
    Frame f;
    DecodeError err;
    for (auto& reader : readers_) {
      while ((max_frames <= 0 || n < max_frames) && reader->next(f)) {
        FrameKind k = dispatcher_.dispatch(f, gate_, err);
        ++counts_.by_kind[static_cast<int>(k)];
        ++n;
      }
    }
    return n;
  }
  // Ends the session: flushes open state (the ports table, pending clears). The next
  // take_new_rows() hands out every table whole.
  void finish() {
    engine_.finish();
    handed_out_.clear();
  }

  // Calls f(name, table, first_new_row) for each detection table, rows from
  // first_new_row on being those added since the last call; they then count as
  // handed out.
  template <class F>
  void take_new_rows(F&& f) {
    size_t k = 0;
    engine_.detections().for_each_table([&](const char* name, auto& table) {
      if (handed_out_.size() <= k) handed_out_.push_back(0);
      f(name, table, handed_out_[k]);
      handed_out_[k++] = table.size();
    });
  }

  Engine& engine() { return engine_; }
  const StringTable& strings() const { return strings_; }
  const FrameCounts& counts() const { return counts_; }

 private:
  EngineConfig cfg_;
  StringTable strings_;
  Engine engine_;
  std::vector<std::unique_ptr<CaptureReader>> readers_;
  Dispatcher dispatcher_;
  EngineSink to_engine_;
  RecordGate gate_;
  FrameCounts counts_;
  std::vector<size_t> handed_out_;  // per detection table: rows take_new_rows() has handed out
};

}  // namespace flapwatch
