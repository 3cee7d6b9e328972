#include "flapwatch/capture.hpp"

#include "flapwatch/error.hpp"

namespace flapwatch {

CaptureFile::CaptureFile(const std::string& path, ReadOptions opts)
    : opts_(opts), reader_(path, strings_, opts.strict), dispatcher_(strings_) {}

int64_t CaptureFile::read(RecordBatch& out, int64_t max_frames) {
  int64_t n = 0;
  Frame f;
  DecodeError err;
  BatchSink sink(out);
  while ((max_frames <= 0 || n < max_frames)) {
    if (done_ || !reader_.next(f)) {
      done_ = true;
      break;
    }
    FrameKind k = dispatcher_.dispatch(f, sink, err);
    if (k == FrameKind::malformed && opts_.strict)
      throw CaptureError(reader_.path(), f.offset + err.pos, std::string("frame ") + std::to_string(f.index) + ": " +
                                                                 err.reason);
    ++counts_.by_kind[static_cast<int>(k)];
    ++n;
  }
  return n;
}

}  // namespace flapwatch
