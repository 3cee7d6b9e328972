#include "flapwatch/capture.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "flapwatch/error.hpp"

namespace flapwatch {
namespace {

// Columns of millions of rows: with 2 MB pages their first touch faults 512 times less
// often than with 4 KB ones (the faults, not the decode, were most of read_capture's
// gap to a plain read loop). Only where transparent huge pages are on "madvise".
template <class T>
void advise_huge_pages(std::vector<T>& column) {
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  size_t bytes = column.capacity() * sizeof(T);
  if (bytes < 2 * kHuge) return;
  auto begin = reinterpret_cast<uintptr_t>(column.data());
  uintptr_t start = (begin + kHuge - 1) & ~(kHuge - 1), end = (begin + bytes) & ~(kHuge - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

}  // namespace

CaptureFile::CaptureFile(const std::string& path, ReadOptions opts)
    : opts_(opts), reader_(path, strings_, opts.strict), dispatcher_(strings_) {}

int64_t CaptureFile::read(RecordBatch& out, int64_t max_frames) {
  int64_t n = 0;
  Frame f;
  DecodeError err;
  BatchSink sink(out);
  // PFC and PAUSE are the kinds that come by the million: size their columns for the
  // most frames this read can give (a minimal record is ~76 bytes). Reserving costs
  // address space, not memory: pages the rows never reach are never touched, and the
  // columns never reallocate (no copy, no second round of page faults).
  size_t expect = max_frames > 0 ? static_cast<size_t>(max_frames) : reader_.file_size() / 76 + 1024;
  if (!done_) {
    out.pfc.reserve(expect);
    out.pause.reserve(expect);
    out.pfc.for_each_column([](const char*, auto& c) { advise_huge_pages(c); });
    out.pause.for_each_column([](const char*, auto& c) { advise_huge_pages(c); });
  }
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
