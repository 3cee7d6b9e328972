#include "flapwatch/pipeline.hpp"

#include <atomic>
#include <exception>
#include <thread>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/io/merged_captures.hpp"
#include "flapwatch/record_gate.hpp"
#include "flapwatch/record_ring.hpp"

namespace flapwatch {
namespace {

// The producer's sink: records go into the ring in staged batches (RecordRing::
// try_stage; offline nobody waits on a single record, so batching costs nothing), and
// the reader waits while the ring is full (offline back-pressure).
struct RingSink final : RecordSink {
  RingSink(RecordRing& r, const std::atomic<bool>& abandon) : ring(r), abandoned(abandon) {}
  void on_record(const Record& rec) override {
    while (!ring.try_stage(rec)) wait();
  }
  void flush() {
    while (!ring.flush()) wait();
  }
  void wait() {
    if (abandoned.load(std::memory_order_relaxed)) throw Abandoned{};  // the consumer failed: stop
    ++full_waits;
    std::this_thread::yield();
  }
  struct Abandoned {};
  RecordRing& ring;
  const std::atomic<bool>& abandoned;
  int64_t full_waits = 0;
};

}  // namespace

PipelineResult run_pipeline(const std::vector<std::string>& paths, StringTable& strings, Engine& engine,
                            const EngineConfig& cfg, PipelineOptions opts) {
  PipelineResult result;
  // Opening happens here, so open errors surface before any thread starts.
  MergedCaptures source(paths, strings, opts.strict);
  RecordRing ring(opts.ring_capacity);
  std::atomic<bool> done{false};
  std::atomic<bool> abandon{false};  // set if the tracker side throws, so the reader stops waiting
  std::exception_ptr error;
  int64_t full_waits = 0;

  std::thread reader([&] {
    try {
      Dispatcher dispatcher(strings);
      RingSink ring_sink(ring, abandon);
      RecordGate sink(ring_sink, strings, cfg);
      Frame f;
      DecodeError err;
      while (source.next(f)) {
        FrameKind k = dispatcher.dispatch(f, sink, err);
        if (k == FrameKind::malformed && opts.strict)
          throw CaptureError(source.current_path(), f.offset + err.pos,
                             "frame " + std::to_string(f.index) + ": " + err.reason);
        ++result.counts.by_kind[static_cast<int>(k)];
        if (opts.progress_bytes && (f.index & 0xffff) == 0)
          opts.progress_bytes->store(source.bytes_read(), std::memory_order_relaxed);
      }
      ring_sink.flush();
      if (opts.progress_bytes) opts.progress_bytes->store(source.bytes_read(), std::memory_order_relaxed);
      full_waits = ring_sink.full_waits;
    } catch (const RingSink::Abandoned&) {
    } catch (...) {
      error = std::current_exception();
    }
    done.store(true, std::memory_order_release);
  });

  // The tracker side: drain until the reader is done and the ring is empty.
  try {
    for (;;) {
      // A batch at a time: one look at the reader's index and one release per batch.
      size_t n = ring.consume_all([&](const Record& r) { engine.on_record(r); });
      result.records += static_cast<int64_t>(n);
      if (n) continue;
      if (done.load(std::memory_order_acquire)) {
        if (ring.empty()) break;  // re-check: items pushed before `done` was set
      } else {
        std::this_thread::yield();
      }
    }
  } catch (...) {  // e.g. bad_alloc in a tracker: stop the reader, join it, then report
    abandon.store(true, std::memory_order_relaxed);
    reader.join();
    throw;
  }
  reader.join();
  if (error) std::rethrow_exception(error);
  engine.finish();
  result.ring_full_waits = full_waits;
  result.warnings = source.warnings();
  for (const auto& w : engine.warnings()) result.warnings.push_back(w);
  return result;
}

}  // namespace flapwatch
