// Dispatcher: one frame in, zero or more Records out (to a RecordSink), its kind
// returned. The per-frame path does not allocate: strings are formatted into reused
// scratch buffers and interned (allocating only for a string not seen before).
#pragma once
#include <string>
#include <vector>

#include "flapwatch/counters.hpp"
#include "flapwatch/decode/decode_error.hpp"
#include "flapwatch/io/source.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

// Where records go: a columnar RecordBatch, an SPSC ring, a tracker.
struct RecordSink {
  virtual void on_record(const Record& r) = 0;
  virtual ~RecordSink() = default;
};

// The RecordBatch as a sink.
struct BatchSink final : RecordSink {
  explicit BatchSink(RecordBatch& b) : batch(b) {}
  void on_record(const Record& r) override { batch.append(r); }
  RecordBatch& batch;
};

class Dispatcher {
 public:
  explicit Dispatcher(StringTable& strings) : strings_(strings) {}

  // Emits the frame's records; a malformed frame emits only one `malformed` record
  // and `err` says why (positions relative to the frame's first byte).
  FrameKind dispatch(const Frame& f, RecordSink& out, DecodeError& err);

  // Rx gaps (records.hpp, RxGapRecord): a port that received no frame for at least kRxGapNs,
  // its own frames left out (a capture on a port sees it send, and it sends while its
  // carrier is down until linkwatch runs). Off unless asked for: only the trackers use them.
  // Own addresses come from the port's link messages as they pass and from add_own_mac.
  // Before each link message of a port that received frames, a record of its reception
  // then (RxGapRecord::at_message): a silence still open, or traffic since its last gap.
  static constexpr int64_t kRxGapNs = flapwatch::kRxGapNs;
  void track_rx_gaps(bool on) { rx_gaps_ = on; }
  void add_own_mac(int32_t port, uint64_t mac);
  // A byte range of a capture read on its own (range_replay.hpp): what came before is
  // unknown here, so the rx records are relative, completed in file order by RxJoin: a
  // kRxRangeStart record at each port's first received frame, and a reception record
  // before every link message, even of a port that received nothing yet.
  void rx_relative(bool on) { rx_relative_ = on; }
  static constexpr uint8_t kRxRangeStart = 2;  // RxGapRecord::at_message of that first frame
  struct RxActivity {
    int64_t last = -1;  // the last frame received
    int64_t frames = 0;  // received since the last gap
    std::vector<uint64_t> own;  // the port's own addresses (one or two)
  };
  // Per port (its string index): the reception as of the last frame dispatched.
  const std::vector<RxActivity>& rx_activity() const { return rx_; }

 private:
  RxActivity& rx(int32_t port) {  // inline: once per frame
    auto p = static_cast<size_t>(port);
    if (p >= rx_.size()) [[unlikely]] rx_.resize(p + 1);
    return rx_[p];
  }
  void note_rx(const Frame& f, uint64_t src_mac, RecordSink& out);

  FrameKind ethernet_like(const Frame& f, RecordSink& out, DecodeError& err);
  FrameKind lldp(const uint8_t* p, uint32_t n, uint64_t src, RecordSink& out, DecodeError& err);
  FrameKind netlink(const Frame& f, RecordSink& out, DecodeError& err);
  FrameKind counter_block(const Frame& f, RecordSink& out);  // kLinkCounterBlock: counter records
  int32_t intern_scratch(bool present) { return present ? strings_.intern(scratch_) : -1; }

  StringTable& strings_;
  std::string scratch_;
  std::string qualified_;  // "device:ifname" for link messages of a file that names its device
  Record rec_{};
  // netlink frames hold several link messages; they are emitted only once the whole
  // frame decoded, so a malformed frame yields no partial rows.
  std::vector<Record> links_;  // reused: grows to the largest frame, then no allocation
  CounterSample counter_;  // reused for counter blocks
  bool rx_gaps_ = false;
  bool rx_relative_ = false;
  std::vector<RxActivity> rx_;  // per port
};

}  // namespace flapwatch
