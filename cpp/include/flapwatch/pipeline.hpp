// Pipeline: a reader thread decodes frames into Records and pushes them into a
// bounded SPSC ring; the calling thread drains the ring into the Engine.
// Offline a full ring back-pressures the reader (it waits, nothing is lost); the
// waits are counted. A reader error is rethrown on the calling thread after both
// sides stopped.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/records.hpp"

namespace flapwatch {

struct PipelineResult {
  FrameCounts counts;
  int64_t records = 0;
  int64_t ring_full_waits = 0;  // times the reader found the ring full and waited
  std::vector<std::string> warnings;
};

struct PipelineOptions {
  bool strict = false;
  size_t ring_capacity = 1 << 14;
  // When set, the reader stores the bytes consumed so far here now and then (relaxed):
  // another thread can draw a progress bar from it.
  std::atomic<uint64_t>* progress_bytes = nullptr;
  // One PortNaming per path (the device and interface that name its ports), or empty.
  std::vector<PortNaming> naming;
};

// Reads `paths` merged by time through `engine` (constructed on `strings`), then
// calls engine.finish().
PipelineResult run_pipeline(const std::vector<std::string>& paths, StringTable& strings, Engine& engine,
                            const EngineConfig& cfg, PipelineOptions opts = {});

}  // namespace flapwatch
