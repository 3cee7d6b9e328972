// RangeReplay: one capture file through the engine on several threads, the detections
// exactly those of one reader (run_pipeline's choice for a single big uncompressed file).
//
// The file is cut into ranges of about range_bytes. Any thread decodes a range into
// its own records and string table (the first record found past the range's nominal
// start: io/capture_split.hpp); one thread at a time hands decoded ranges to the engine
// in file order. Handing over is where a range joins the file: its strings are interned
// into the shared table in the order it met them, its frame numbers shifted by the
// frames before it, its rx records completed (RxJoin). Ranges decoded ahead are bounded
// (memory stays flat with the file's size); every thread decodes when no range is ready
// to hand over, so the decoding and the trackers share the cores.
//
// A range whose start was a wrong guess (the range before did not stop there) is
// decoded again from the true boundary by the thread handing over. A range that failed
// (an error; strict: a malformed frame), found interfaces or sections changing, or began
// with a block that takes its time from the range before: from there the file is read
// on one thread (CaptureReader::skip_to), so errors and numbers are the one reader's.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/engine.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/record_gate.hpp"
#include "flapwatch/records.hpp"

namespace flapwatch {

// The rx records of ranges decoded on their own (Dispatcher::rx_relative) completed in
// file order: a range's first frame of a port is a gap when the port's last frame in
// the ranges before is at least kRxGapNs older; a gap found in the range is none when
// a later frame of the ranges before (time stepping back) makes the silence shorter;
// the frame counts continue across ranges.
class RxJoin {
 public:
  void begin_range() { ++range_; }
  // A record of the range, its port already the shared table's: false to drop it.
  bool fix(Record& r);
  // After the range: its dispatcher's reception per port (ports mapped by `port_of`).
  void end_range(const std::vector<Dispatcher::RxActivity>& range_rx, const std::vector<int32_t>& port_of);

 private:
  struct Port {
    int64_t last = -1, frames = 0;  // as of the ranges before this one
    int64_t range = -1;             // the range the fields below are of
    bool started = false;           // this range had a frame of the port
    int64_t carry = 0;              // frames before it to add to the range's count
  };
  Port& port(int32_t p);
  std::vector<Port> ports_;
  int64_t range_ = 0;
};

struct RangeReplayOptions {
  // Threads decoding at once. At least two threads run: with one decoder, the other hands
  // the decoded ranges over meanwhile (and waits, not spins, when there is none).
  unsigned threads = 2;
  uint64_t range_bytes = uint64_t(8) << 20;
  size_t ranges_ahead = 2;  // decoded ranges waiting per thread, at most
  bool strict = false;
  PortNaming naming;
  std::atomic<uint64_t>* progress_bytes = nullptr;
};

struct RangeReplayResult {
  FrameCounts counts;
  int64_t ranges = 0, redecoded = 0;
  bool fell_back = false;  // read on one thread from some range on
  std::vector<std::string> warnings;
};

// Whether `path` is a file RangeReplay would cut into at least two ranges.
bool range_replay_fits(const std::string& path, uint64_t range_bytes);

// Reads `path` through `gate` (a RecordGate in front of `engine`, on `strings`): the
// records exactly as one Dispatcher with rx gaps would give them, in file order (PFC and
// PAUSE frames as Engine::on_pfc and on_pause, once the gate admits them). `own`: each
// port's own MACs, by name. Does not call engine.finish().
RangeReplayResult range_replay(const std::string& path, StringTable& strings, RecordGate& gate, Engine& engine,
                               const std::vector<std::pair<std::string, uint64_t>>& own,
                               const RangeReplayOptions& opts);

}  // namespace flapwatch
