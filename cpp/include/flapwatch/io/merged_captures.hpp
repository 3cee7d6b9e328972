// MergedCaptures: several captures (one per device, say) as one stream in timestamp
// order, by a k-way merge of their next frames. Each reader's pending frame stays
// valid because that reader is not advanced until its frame has been consumed.
// Within one file, file order is kept (a reader's frames are never reordered).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "flapwatch/io/capture_reader.hpp"

namespace flapwatch {

class MergedCaptures {
 public:
  // naming: one PortNaming per path (CaptureReader), or empty for none.
  MergedCaptures(const std::vector<std::string>& paths, StringTable& strings, bool strict,
                 const std::vector<PortNaming>& naming = {});

  // The earliest pending frame (ties: the earlier file). `f.data` is valid until the
  // next call.
  bool next(Frame& f);

  size_t files() const { return readers_.size(); }
  // The index (in `paths`) of the file of the frame handed out last.
  size_t current() const { return static_cast<size_t>(last_ < 0 ? 0 : last_); }
  const std::string& path(size_t i) const { return readers_[i]->path(); }
  // The file of the frame handed out last.
  const std::string& current_path() const { return readers_[static_cast<size_t>(last_ < 0 ? 0 : last_)]->path(); }
  std::vector<std::string> warnings() const;
  // Bytes consumed so far over all files (decompressed), for progress reports.
  uint64_t bytes_read() const {
    uint64_t n = 0;
    for (const auto& r : readers_) n += r->offset();
    return n;
  }

 private:
  std::vector<std::unique_ptr<CaptureReader>> readers_;
  std::vector<Frame> pending_;
  std::vector<uint8_t> has_;
  int last_ = -1;  // the reader whose frame was handed out last: advance it first
};

}  // namespace flapwatch
