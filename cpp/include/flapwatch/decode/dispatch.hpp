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

 private:
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
};

}  // namespace flapwatch
