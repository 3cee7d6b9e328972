#include "flapwatch/pipeline.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/io/merged_captures.hpp"
#include "flapwatch/range_replay.hpp"
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

// Two files feeding one port (one kind of record: link messages, or wire frames) in
// turns: A, then B, then A again. Files of one capture cut in sequence (dumpcap -b)
// hand a port over once; two devices whose interfaces share a name, or one capture
// given twice, interleave. Each port and kind is reported once, as a warning.
class InterleaveCheck final : public RecordSink {
 public:
  InterleaveCheck(RecordSink& next, const MergedCaptures& source, const StringTable& strings)
      : next_(next), source_(source), strings_(strings) {}

  void on_record(const Record& r) override {
    bool traffic = r.kind == RecordKind::link || r.kind == RecordKind::pfc || r.kind == RecordKind::pause ||
                   r.kind == RecordKind::lldp;
    if (traffic && r.port >= 0 && source_.files() > 1) check(r);
    next_.on_record(r);
  }
  std::vector<std::string> warnings;

 private:
  struct Seen {
    int32_t last = -1;          // the file of the last record
    std::vector<uint8_t> left;  // files this port's records came from and then moved on from
    bool reported = false;
  };
  void check(const Record& r) {
    size_t slot = static_cast<size_t>(r.port) * 2 + (r.kind == RecordKind::link ? 1 : 0);
    if (slot >= seen_.size()) seen_.resize(slot + 1);
    Seen& s = seen_[slot];
    auto file = static_cast<int32_t>(source_.current());
    if (s.last == file) return;
    if (s.last >= 0) {
      if (s.left.empty()) s.left.resize(source_.files());
      if (s.left[static_cast<size_t>(file)] && !s.reported) {
        s.reported = true;
        warnings.push_back("port " + strings_[r.port] + ": " +
                           (r.kind == RecordKind::link ? "link messages" : "wire frames") + " from " +
                           source_.path(static_cast<size_t>(s.last)) + " and " + source_.path(static_cast<size_t>(file)) +
                           " interleave in time: two devices with the same interface name, or one capture given "
                           "twice (name each capture's device: --device, FILE=DEVICE, a directory per device)");
      }
      s.left[static_cast<size_t>(s.last)] = 1;
    }
    s.last = file;
  }
  RecordSink& next_;
  const MergedCaptures& source_;
  const StringTable& strings_;
  std::vector<Seen> seen_;  // per port and kind (wire, link)
};

// The pass over link messages: keeps each port's addresses.
struct AddressSink final : RecordSink {
  void on_record(const Record& r) override {
    if (r.kind != RecordKind::link || r.link.mac == 0 || is_loopback(r.link)) return;
    std::pair<int32_t, uint64_t> a{r.port, r.link.mac};
    if (std::find(found.begin(), found.end(), a) == found.end()) found.push_back(a);
  }
  std::vector<std::pair<int32_t, uint64_t>> found;
};

}  // namespace

std::vector<std::pair<int32_t, uint64_t>> link_addresses(const std::vector<std::string>& paths, StringTable& strings,
                                                         const std::vector<PortNaming>& naming) {
  AddressSink sink;
  Dispatcher dispatcher(strings);
  for (size_t i = 0; i < paths.size(); ++i) {
    struct stat st {};
    if (stat(paths[i].c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // a pipe is read once, by the replay
    CaptureReader reader(paths[i], strings, false, false, i < naming.size() ? naming[i] : PortNaming{});
    Frame f;
    DecodeError err;
    while (reader.next(f)) {
      if (f.linktype == kLinkNetlink) {
        dispatcher.dispatch(f, sink, err);
      } else if (f.linktype != kLinkCounterBlock && !reader.has_linktype(kLinkNetlink)) {
        break;  // a wire capture: no link message in it
      }
    }
  }
  return sink.found;
}

PipelineResult run_pipeline(const std::vector<std::string>& paths, StringTable& strings, Engine& engine,
                            const EngineConfig& cfg, PipelineOptions opts) {
  PipelineResult result;
  // Opening happens here, so open errors surface before any thread starts.
  MergedCaptures source(paths, strings, opts.strict, opts.naming);
  // Every port's own address before the first LLDPDU is judged (docs/DECODE_RULES.md, LLDP).
  std::vector<std::pair<int32_t, uint64_t>> own = link_addresses(paths, strings, opts.naming);
  for (const auto& n : opts.naming)
    if (!n.device.empty())
      for (const auto& [port, mac] : cfg.lldp.own_macs)
        own.emplace_back(strings.intern(CaptureReader::qualify(n.device, port)), mac);
  for (const auto& [port, mac] : own) engine.add_own_mac(port, mac);
  if (opts.threads > 0 && paths.size() == 1 && (!opts.extra || opts.extra->empty()) &&
      range_replay_fits(paths[0], opts.range_bytes)) {
    std::vector<std::pair<std::string, uint64_t>> own_named;  // interned as the reader thread below would
    for (const auto& [port, mac] : own) own_named.emplace_back(strings[port], mac);
    for (const auto& [port, mac] : cfg.lldp.own_macs) {
      strings.intern(port);
      own_named.emplace_back(port, mac);
    }
    EngineSink engine_sink(engine);
    const int64_t before = engine.records();
    RecordGate gate(engine_sink, strings, cfg);
    RangeReplayOptions ro;
    ro.threads = opts.threads;
    ro.range_bytes = opts.range_bytes;
    ro.strict = opts.strict;
    ro.naming = opts.naming.empty() ? PortNaming{} : opts.naming[0];
    ro.progress_bytes = opts.progress_bytes;
    RangeReplayResult ranged = range_replay(paths[0], strings, gate, engine, own_named, ro);
    engine.finish();
    result.counts = ranged.counts;
    result.records = engine.records() - before;  // what passed the gate, as the ring counts it
    result.warnings = std::move(ranged.warnings);
    result.ranges = ranged.ranges;
    result.ranges_redecoded = ranged.redecoded;
    result.ranges_fell_back = ranged.fell_back;
    for (const auto& w : engine.warnings()) result.warnings.push_back(w);
    return result;
  }
  RecordRing ring(opts.ring_capacity);
  std::atomic<bool> done{false};
  std::atomic<bool> abandon{false};  // set if the tracker side throws, so the reader stops waiting
  std::exception_ptr error;
  std::vector<std::string> interleaved;
  int64_t full_waits = 0;

  std::thread reader([&] {
    try {
      Dispatcher dispatcher(strings);
      dispatcher.track_rx_gaps(true);  // the link tracker places hidden flaps in them
      for (const auto& [port, mac] : own) dispatcher.add_own_mac(port, mac);
      for (const auto& [port, mac] : cfg.lldp.own_macs) dispatcher.add_own_mac(strings.intern(port), mac);
      RingSink ring_sink(ring, abandon);
      InterleaveCheck check(ring_sink, source, strings);
      RecordGate sink(check, strings, cfg);
      Frame f;
      DecodeError err;
      size_t extra = 0;  // opts.extra's records go in before the first frame after them
      auto extra_until = [&](int64_t ts) {
        for (; opts.extra && extra < opts.extra->size() && (*opts.extra)[extra].ts_ns <= ts; ++extra)
          sink.on_record((*opts.extra)[extra]);
      };
      while (source.next(f)) {
        extra_until(f.ts_ns);
        FrameKind k = dispatcher.dispatch_to(f, sink, err);
        if (k == FrameKind::malformed && opts.strict)
          throw CaptureError(source.current_path(), f.offset + err.pos,
                             "frame " + std::to_string(f.index) + ": " + err.reason);
        if (f.linktype != kLinkCounterBlock) ++result.counts.by_kind[static_cast<int>(k)];  // a sample: no frame
        if (opts.progress_bytes && (f.index & 0xffff) == 0)
          opts.progress_bytes->store(source.bytes_read(), std::memory_order_relaxed);
      }
      extra_until(INT64_MAX);
      ring_sink.flush();
      if (opts.progress_bytes) opts.progress_bytes->store(source.bytes_read(), std::memory_order_relaxed);
      full_waits = ring_sink.full_waits;
      interleaved = std::move(check.warnings);
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
  for (auto& w : interleaved) result.warnings.push_back(std::move(w));
  for (const auto& w : engine.warnings()) result.warnings.push_back(w);
  return result;
}

}  // namespace flapwatch
