// Dispatcher: one frame in, its records appended to a RecordBatch, its kind out.
// The per-frame path does not allocate: columns grow amortised, and strings are
// formatted into reused scratch buffers and interned (allocating only when new).
#pragma once
#include <string>

#include "flapwatch/decode/decode_error.hpp"
#include "flapwatch/io/source.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

class Dispatcher {
 public:
  explicit Dispatcher(StringTable& strings) : strings_(strings) {}

  // Appends the frame's records; a malformed frame gets one `malformed` row and
  // `err` says why (positions relative to the frame's first byte).
  FrameKind dispatch(const Frame& f, RecordBatch& out, DecodeError& err);

 private:
  FrameKind ethernet_like(const Frame& f, RecordBatch& out, DecodeError& err);
  FrameKind lldp(const Frame& f, const uint8_t* p, uint32_t n, uint64_t src, RecordBatch& out, DecodeError& err);
  FrameKind netlink(const Frame& f, RecordBatch& out, DecodeError& err);
  int32_t intern_or_absent(bool present);

  StringTable& strings_;
  std::string scratch_;
  std::string ifname_scratch_;
};

}  // namespace flapwatch
