// CaptureFile: a capture read in batches: reader + dispatcher + counts. It is the
// unit the Python binding wraps (read_capture reads one batch of everything;
// iter_capture reads bounded batches so memory stays flat).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

struct ReadOptions {
  // Truncation and malformed frames become CaptureError instead of a warning / a
  // `malformed` row.
  bool strict = false;
  // The device and interface that name the file's ports (CaptureReader).
  PortNaming naming;
};

class CaptureFile {
 public:
  CaptureFile(const std::string& path, ReadOptions opts = {});

  // Reads up to max_frames frames (all when max_frames <= 0) into `out` (appending).
  // Returns the number of frames read; 0 means the capture is exhausted.
  int64_t read(RecordBatch& out, int64_t max_frames = 0);

  bool done() const { return done_; }
  const FrameCounts& counts() const { return counts_; }
  const StringTable& strings() const { return strings_; }
  const std::vector<std::string>& warnings() const { return reader_.warnings(); }
  const std::string& path() const { return reader_.path(); }
  const CaptureReader& reader() const { return reader_; }

 private:
  ReadOptions opts_;
  StringTable strings_;
  CaptureReader reader_;
  Dispatcher dispatcher_;
  FrameCounts counts_;
  bool done_ = false;
};

}  // namespace flapwatch
