#include "flapwatch/range_replay.hpp"

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "flapwatch/error.hpp"
#include "flapwatch/io/capture_split.hpp"

namespace flapwatch {

RxJoin::Port& RxJoin::port(int32_t p) {
  auto i = static_cast<size_t>(p);
  if (i >= ports_.size()) ports_.resize(i + 1);
  Port& s = ports_[i];
  if (s.range != range_) {
    s.range = range_;
    s.started = false;
    s.carry = 0;
  }
  return s;
}

bool RxJoin::fix(Record& r) {
  if (r.kind != RecordKind::rx_gap || r.port < 0) return true;
  Port& s = port(r.port);
  RxGapRecord& g = r.rx_gap;
  if (g.at_message == Dispatcher::kRxRangeStart) {  // the range's first frame of the port
    s.started = true;
    if (s.last >= 0 && r.ts_ns - s.last >= kRxGapNs) {
      g = RxGapRecord{s.last, s.frames, 0};
      return true;
    }
    s.carry = s.frames;
    return false;
  }
  if (!s.started) {  // a link message before the range's first frame of the port
    if (s.last < 0) return false;
    g.start_ns = s.last;
    g.frames = s.frames;
    return true;
  }
  g.start_ns = std::max(g.start_ns, s.last);
  g.frames += s.carry;
  if (g.at_message) return true;
  if (r.ts_ns - g.start_ns >= kRxGapNs) {
    s.carry = 0;
    return true;
  }
  s.carry = g.frames;  // a frame of the ranges before came later: no silence that long
  return false;
}

void RxJoin::end_range(const std::vector<Dispatcher::RxActivity>& range_rx, const std::vector<int32_t>& port_of) {
  for (size_t i = 0; i < range_rx.size(); ++i) {
    const Dispatcher::RxActivity& a = range_rx[i];
    if (a.last < 0) continue;
    Port& s = port(port_of[i]);
    s.last = std::max(s.last, a.last);
    s.frames = a.frames + s.carry;
  }
}

bool range_replay_fits(const std::string& path, uint64_t range_bytes) {
  RecordScanner scanner(path);
  return scanner.ok() && range_bytes > 0 && scanner.size() >= 2 * range_bytes;
}

namespace {

// A range's PFC and PAUSE frames as 16-bit words, 12 bytes and two per quanta of an
// enabled class (a PFC frame of this traffic: ~17 bytes, a Record 104): most records are
// these, and writing them on one core and reading them back on the other is what a range
// costs beyond decoding. Kept: what the engine reads of them (time, port, class-enable
// vector, the enabled classes' quanta); not the frame number, source MAC or VLAN, which it
// does not read (Engine::on_pfc). A record whose port does not fit in 16 bits goes whole
// into the range's other records.
//   [port] [pause << 12 | quanta words << 8 | class_enable] [ts_ns: 4 words] [quanta: PAUSE 1, PFC one per enabled class]
struct MacControlWords {
  static constexpr size_t kHead = 6, kMax = kHead + 8;
  struct Frame {
    int64_t ts;
    uint16_t port;
    bool pause;
    uint8_t class_enable;
    const uint16_t* quanta;
  };
  static bool fits(const Record& r) { return r.port >= 0 && r.port <= UINT16_MAX; }
  // Room for kMax words at `end` of `w` (its size is how far it is written: no zeroing).
  [[gnu::always_inline]] static uint16_t* room(std::vector<uint16_t>& w, size_t end) {
    if (end + kMax > w.size()) [[unlikely]] grow(w);
    return w.data() + end;
  }
  [[gnu::noinline]] static void grow(std::vector<uint16_t>& w) { w.resize(std::max<size_t>(2 * w.size(), 1 << 16)); }
  // The record at `o`; returns the words written.
  [[gnu::always_inline]] static size_t write(uint16_t* o, const Record& r) {
    const bool pause = r.kind == RecordKind::pause;
    const unsigned ce = pause ? 0 : r.pfc.class_enable;
    std::memcpy(o + 2, &r.ts_ns, sizeof r.ts_ns);
    uint16_t* q = o + kHead;
    if (pause) {
      *q++ = r.pause.quanta;
    } else {
      for (unsigned bits = ce; bits; bits &= bits - 1) *q++ = r.pfc.quanta[__builtin_ctz(bits)];
    }
    const auto n = static_cast<unsigned>(q - o - kHead);
    o[0] = static_cast<uint16_t>(r.port);
    o[1] = static_cast<uint16_t>((pause ? 0x1000 : 0) | n << 8 | ce);
    return kHead + n;
  }
  // The frame at `w` into `f`; returns where the next one starts.
  static const uint16_t* read(const uint16_t* w, Frame& f) {
    std::memcpy(&f.ts, w + 2, sizeof f.ts);
    f.port = w[0];
    f.pause = w[1] & 0x1000;
    f.class_enable = static_cast<uint8_t>(w[1]);
    f.quanta = w + kHead;
    return f.quanta + (w[1] >> 8 & 0xf);
  }
};

// One range's decoding: its records and strings, and how its reader ended.
struct DecodedRange {
  uint64_t begin = 0, end = UINT64_MAX;  // the record found at the nominal start; the next range's nominal start
  std::vector<uint16_t> mac_control;  // PFC and PAUSE frames (MacControlWords): mac_control_n of them
  size_t mac_control_n = 0, mac_control_words = 0;  // in its first mac_control_words words
  std::vector<Record> records;     // the others,
  std::vector<size_t> records_at;  // each after this many mac_control frames
  std::unique_ptr<StringTable> strings;
  FrameCounts counts;
  int64_t frames = 0;
  uint64_t stopped_at = 0;
  bool changed_state = false, clockless = false, stopped_short = false;
  std::vector<Dispatcher::RxActivity> rx;
  std::vector<std::string> warnings;
  std::exception_ptr error;
};

struct RangeSink final : RecordSink {
  explicit RangeSink(DecodedRange& d) : out(d) {}
  [[gnu::always_inline]] void on_record(const Record& r) override {  // compiled into the range's reading loop
    if ((r.kind == RecordKind::pfc || r.kind == RecordKind::pause) && MacControlWords::fits(r)) [[likely]] {
      out.mac_control_words +=
          MacControlWords::write(MacControlWords::room(out.mac_control, out.mac_control_words), r);
      ++out.mac_control_n;
    } else {
      out.records.push_back(r);
      out.records_at.push_back(out.mac_control_n);
    }
  }
  DecodedRange& out;
};

class RangeReplay {
 public:
  RangeReplay(const std::string& path, StringTable& strings, RecordGate& gate, Engine& engine,
              const std::vector<std::pair<std::string, uint64_t>>& own, const RangeReplayOptions& opts)
      : path_(path), strings_(strings), gate_(gate), engine_(engine), own_(own), opts_(opts), scanner_(path) {
    n_ = (scanner_.size() + opts.range_bytes - 1) / opts.range_bytes;
    // Decoded ranges waiting, at most: a few per thread, and never more than kMaxAhead
    // (each holds up to ~3 MB of records: memory stays flat whatever --threads says).
    ahead_ = std::clamp<size_t>(opts.ranges_ahead * std::max(1u, opts.threads), 2, kMaxAhead);
    slots_.resize(ahead_);
    state_.assign(n_, kWaiting);
  }

  RangeReplayResult run() {
    // At least two threads: with one decoder, the other hands its ranges over meanwhile.
    std::vector<std::thread> helpers;
    for (unsigned t = 1; t < std::max(2u, opts_.threads); ++t) helpers.emplace_back([this] { work(); });
    work();
    for (auto& t : helpers) t.join();
    if (error_) std::rethrow_exception(error_);
    result_.ranges = static_cast<int64_t>(n_);
    return std::move(result_);
  }

 private:
  enum State : uint8_t { kWaiting, kDecoding, kDecoded };
  static constexpr size_t kMaxAhead = 16;

  // Every thread: hand the next range over when it is decoded and nobody is handing
  // over, else decode the next range if the ranges ahead allow, else wait.
  void work() {
    std::unique_lock lk(mu_);
    for (;;) {
      if (failed_ || next_over_ >= n_) return;
      if (!handing_over_ && state_[next_over_] == kDecoded) {
        size_t k = next_over_;
        handing_over_ = true;
        lk.unlock();
        try {
          hand_over(k);
        } catch (...) {
          lk.lock();
          failed_ = true;
          error_ = std::current_exception();
          cv_.notify_all();
          return;
        }
        lk.lock();
        handing_over_ = false;
        next_over_ = result_.fell_back || ended_ ? n_ : next_over_ + 1;
        cv_.notify_all();
        continue;
      }
      if (next_decode_ < n_ && next_decode_ - next_over_ < ahead_ && decoding_ < std::max(1u, opts_.threads)) {
        size_t k = next_decode_++;
        state_[k] = kDecoding;
        ++decoding_;
        lk.unlock();
        decode(k, slot(k));
        lk.lock();
        --decoding_;
        state_[k] = kDecoded;
        cv_.notify_all();
        continue;
      }
      cv_.wait(lk);
    }
  }

  DecodedRange& slot(size_t k) { return slots_[k % ahead_]; }
  uint64_t nominal(size_t k) const { return k >= n_ ? UINT64_MAX : k * opts_.range_bytes; }

  void decode(size_t k, DecodedRange& d) {
    uint64_t begin = 0;
    try {
      std::vector<uint8_t> window;
      if (k > 0) begin = scanner_.record_at_or_after(nominal(k), window);
    } catch (...) {  // (bad_alloc) no start found: the range is decoded again by the thread handing over
      begin = UINT64_MAX;
    }
    decode_from(begin, nominal(k + 1), d);
  }

  // Records that start in [begin, end) into `d`, on this range's own strings.
  void decode_from(uint64_t begin, uint64_t end, DecodedRange& d) {
    d.begin = begin;
    d.end = end;
    d.mac_control_n = d.mac_control_words = 0;  // its words kept: written over, never zeroed again
    d.records.clear();
    d.records_at.clear();
    d.strings.reset();
    d.counts = {};
    d.frames = 0;
    d.stopped_at = 0;
    d.changed_state = d.clockless = d.stopped_short = false;
    d.rx.clear();
    d.warnings.clear();
    d.error = nullptr;
    if (begin == UINT64_MAX) return;  // no record found: the range is decoded again from the true boundary
    try {
      d.strings = std::make_unique<StringTable>();
      StringTable& strings = *d.strings;
      CaptureReader reader(path_, strings, opts_.strict, false, opts_.naming);
      reader.restrict_to(begin, end);
      Dispatcher dispatcher = range_dispatcher(strings);
      RangeSink sink(d);
      read_frames(reader, dispatcher, sink, d.counts);  // a strict error here is said again by the one reader
      d.frames = reader.frames_read();
      d.stopped_at = reader.next_record_offset();
      d.changed_state = reader.changed_state_in_range();
      d.clockless = reader.clockless_in_range();
      d.stopped_short = reader.stopped_short();
      d.rx = dispatcher.rx_activity();
      d.warnings = reader.warnings();
    } catch (...) {
      d.error = std::current_exception();
    }
  }

  // A Dispatcher as a range's reader needs it: rx gaps relative to the range, every port's own MACs.
  Dispatcher range_dispatcher(StringTable& strings) const {
    Dispatcher dispatcher(strings);
    dispatcher.track_rx_gaps(true);
    dispatcher.rx_relative(true);
    for (const auto& [name, mac] : own_) dispatcher.add_own_mac(strings.intern(name), mac);
    return dispatcher;
  }

  // Every frame `reader` has left through `dispatcher` into `sink`, counted by kind (a counter
  // sample is no frame); strict: a malformed frame is a CaptureError naming it. `progress`:
  // the bytes read go to opts_.progress_bytes now and then (the thread reading the rest).
  template <class Sink>
  void read_frames(CaptureReader& reader, Dispatcher& dispatcher, Sink& sink, FrameCounts& counts,
                   bool progress = false) const {
    Frame f;
    DecodeError err;
    while (reader.next(f)) {
      FrameKind kind = dispatcher.dispatch_to(f, sink, err);
      if (kind == FrameKind::malformed && opts_.strict)
        throw CaptureError(path_, f.offset + err.pos, "frame " + std::to_string(f.index) + ": " + err.reason);
      if (f.linktype != kLinkCounterBlock) ++counts.by_kind[static_cast<int>(kind)];
      if (progress && opts_.progress_bytes && (f.index & 0xffff) == 0)
        opts_.progress_bytes->store(reader.offset(), std::memory_order_relaxed);
    }
  }

  // Range k joins the file: checked against the range before, then its records to the gate.
  void hand_over(size_t k) {
    DecodedRange& d = slot(k);
    if (d.begin != expected_) {  // the scan's guess was not where the range before stopped
      ++result_.redecoded;
      decode_from(expected_, d.end, d);
    }
    if (d.error || (k > 0 && d.clockless)) {
      read_rest_from(expected_);
      return;
    }
    // Its strings join the shared table in the order the range met them.
    port_of_.resize(d.strings->size());
    for (size_t i = 0; i < port_of_.size(); ++i) port_of_[i] = strings_.intern((*d.strings)[static_cast<int32_t>(i)]);
    auto map = [&](int32_t& s) {
      if (s >= 0) s = port_of_[static_cast<size_t>(s)];
    };
    rx_.begin_range();
    // PFC and PAUSE frames straight to the PFC tracker, through the gate (no Record made).
    const uint16_t* w = d.mac_control.data();
    size_t next_mc = 0;
    auto mac_control_until = [&](size_t until) {
      MacControlWords::Frame f;
      for (; next_mc < until; ++next_mc) {
        w = MacControlWords::read(w, f);
        const int32_t port = port_of_[f.port];
        if (!gate_.admits(f.ts, port)) continue;
        if (f.pause) engine_.on_pause(f.ts, port, f.quanta[0]);
        else engine_.on_pfc(f.ts, port, f.class_enable, f.quanta);
      }
    };
    for (size_t i = 0; i < d.records.size(); ++i) {
      mac_control_until(d.records_at[i]);
      Record& r = d.records[i];
      map(r.port);
      r.frame += frame_base_;
      switch (r.kind) {
        case RecordKind::lldp:
          map(r.lldp.chassis_id);
          map(r.lldp.port_id);
          map(r.lldp.port_desc);
          map(r.lldp.system_name);
          map(r.lldp.system_desc);
          map(r.lldp.mgmt_addr);
          break;
        case RecordKind::malformed:
          map(r.malformed.reason);
          break;
        case RecordKind::rx_gap:
          if (!rx_.fix(r)) continue;
          break;
        default:
          break;
      }
      gate_.on_record(r);
    }
    mac_control_until(d.mac_control_n);
    rx_.end_range(d.rx, port_of_);
    frame_base_ += d.frames;
    for (int i = 0; i < kFrameKinds; ++i) result_.counts.by_kind[i] += d.counts.by_kind[i];
    result_.warnings.insert(result_.warnings.end(), d.warnings.begin(), d.warnings.end());
    expected_ = d.stopped_at;
    if (opts_.progress_bytes) opts_.progress_bytes->store(std::min(expected_, scanner_.size()), std::memory_order_relaxed);
    if (d.changed_state && k + 1 < n_) read_rest_from(expected_);
    // Stopped before its end or at a block cut short (perhaps one of the leading blocks
    // every range's reader reads first): the file ends there (the warning said "read stops
    // here"), as for one reader; the ranges after it hold nothing to read.
    if ((d.stopped_at < d.end || d.stopped_short) && k + 1 < n_) ended_ = true;
  }

  // The rest of the file from `offset` (a record boundary) on this thread, as one reader.
  void read_rest_from(uint64_t offset) {
    result_.fell_back = true;
    CaptureReader reader(path_, strings_, opts_.strict, false, opts_.naming);
    reader.skip_to(offset);
    Dispatcher dispatcher = range_dispatcher(strings_);
    struct JoinSink final : RecordSink {
      JoinSink(RxJoin& j, RecordSink& g) : join(j), gate(g) {}
      void on_record(const Record& rec) override {
        Record r = rec;
        if (join.fix(r)) gate.on_record(r);
      }
      RxJoin& join;
      RecordSink& gate;
    } sink(rx_, gate_);
    rx_.begin_range();
    read_frames(reader, dispatcher, sink, result_.counts, true);
    std::vector<int32_t> same(dispatcher.rx_activity().size());
    for (size_t i = 0; i < same.size(); ++i) same[i] = static_cast<int32_t>(i);
    rx_.end_range(dispatcher.rx_activity(), same);
    result_.warnings.insert(result_.warnings.end(), reader.warnings().begin(), reader.warnings().end());
    if (opts_.progress_bytes) opts_.progress_bytes->store(scanner_.size(), std::memory_order_relaxed);
  }

  const std::string& path_;
  StringTable& strings_;
  RecordGate& gate_;
  Engine& engine_;  // behind gate_ (PFC and PAUSE frames go to it directly)
  const std::vector<std::pair<std::string, uint64_t>>& own_;
  RangeReplayOptions opts_;
  RecordScanner scanner_;
  size_t n_ = 0, ahead_ = 0;
  std::vector<DecodedRange> slots_;

  // Shared between the threads, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<State> state_;
  size_t next_decode_ = 0, next_over_ = 0;
  unsigned decoding_ = 0;  // threads decoding now: at most opts_.threads
  bool handing_over_ = false, failed_ = false;
  std::exception_ptr error_;

  // The handing-over thread's (one at a time, ordered by mu_).
  bool ended_ = false;
  uint64_t expected_ = 0;  // where the next range must start: where the one before stopped
  int64_t frame_base_ = 0;
  std::vector<int32_t> port_of_;
  RxJoin rx_;
  RangeReplayResult result_;
};

}  // namespace

RangeReplayResult range_replay(const std::string& path, StringTable& strings, RecordGate& gate, Engine& engine,
                               const std::vector<std::pair<std::string, uint64_t>>& own,
                               const RangeReplayOptions& opts) {
  RangeReplay replay(path, strings, gate, engine, own, opts);
  return replay.run();
}

}  // namespace flapwatch
