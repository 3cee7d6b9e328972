// Pipeline: a reader thread decodes frames into Records and pushes them into a
// bounded SPSC ring; the calling thread drains the ring into the Engine.
// Offline a full ring back-pressures the reader (it waits, nothing is lost); the
// waits are counted. A reader error is rethrown on the calling thread after both
// sides stopped.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/records.hpp"

namespace flapwatch {

struct PipelineResult {
  FrameCounts counts;
  int64_t records = 0;
  int64_t ring_full_waits = 0;  // times the reader found the ring full and waited
  // RangeReplay (threads > 1): the ranges read, those decoded again from the true
  // boundary, and whether the file was read on one thread from some range on.
  int64_t ranges = 0, ranges_redecoded = 0;
  bool ranges_fell_back = false;
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
  // Records from elsewhere (counter samples from `ethtool -S` logs, in time order),
  // merged by time with the captures' records before the gate.
  const std::vector<Record>* extra = nullptr;
  // Threads decoding one big uncompressed capture (alone, no extra records): RangeReplay
  // (range_replay.hpp) cuts it into ranges of range_bytes, decoded by up to `threads`
  // threads at once while another hands them to the trackers; the detections are the
  // same. 0: one reader thread feeding the ring whatever the file (the reference the
  // ranges are tested against; what every other input takes).
  unsigned threads = 1;
  uint64_t range_bytes = uint64_t(8) << 20;
};

// Each port's own MACs (IFLA_ADDRESS) from the link messages in `paths`, read before the
// merged replay: a wire capture may start before a port's first link message, and the
// port's own LLDPDUs must not be judged a neighbor's meanwhile. A file is read while its
// frames are link messages, and past its first other frame only when it describes a
// netlink interface (a pcapng holding both): wire-only captures cost one frame; a file
// that is not a regular file (a pipe) is left to the replay. Ports
// are named as the replay names them (interned into `strings`).
std::vector<std::pair<int32_t, uint64_t>> link_addresses(const std::vector<std::string>& paths, StringTable& strings,
                                                         const std::vector<PortNaming>& naming);

// Reads `paths` merged by time through `engine` (constructed on `strings`), then
// calls engine.finish(). First tells the engine every port's own MACs: link_addresses(),
// and the configuration's lldp.own_macs named "port" also as "device:port" for each
// device the naming gives.
PipelineResult run_pipeline(const std::vector<std::string>& paths, StringTable& strings, Engine& engine,
                            const EngineConfig& cfg, PipelineOptions opts = {});

}  // namespace flapwatch
