#include "flapwatch/capture.hpp"

#include <cstdint>
#include <memory>

#include "flapwatch/column_prefaulter.hpp"
#include "flapwatch/error.hpp"

namespace flapwatch {

CaptureFile::CaptureFile(const std::string& path, ReadOptions opts)
    : opts_(opts), reader_(path, strings_, opts.strict, false, opts.naming), dispatcher_(strings_) {}

int64_t CaptureFile::read(RecordBatch& out, int64_t max_frames) {
  int64_t n = 0;
  Frame f;
  DecodeError err;
  BatchSink sink(out);
  // PFC and PAUSE are the kinds that come by the million: size their columns for the
  // most frames this read can give (a minimal record is ~76 bytes). Reserving costs
  // address space, not memory (ColumnPool maps with MAP_NORESERVE): pages the rows
  // never reach are never touched, and the columns never reallocate (no copy, no
  // second round of page faults). No transparent huge pages: first-touching them was
  // slower (bench/README.md).
  size_t expect = max_frames > 0 ? static_cast<size_t>(max_frames) : reader_.file_size() / 76 + 1024;
  if (!done_) {
    out.pfc.reserve(expect);
    out.pause.reserve(expect);
  }
  // A whole-file read of a big capture: fault the PFC and PAUSE columns in on the other
  // core, kAhead rows ahead of the decoder (ColumnPrefaulter says why): a first read in
  // a process then runs about as fast as one into pool memory already faulted in.
  constexpr size_t kAhead = size_t(1) << 18;
  std::unique_ptr<ColumnPrefaulter> prefault;
  const void* pfc_base = out.pfc.ts_ns.data();
  const void* pause_base = out.pause.ts_ns.data();
  if (max_frames <= 0 && !done_ && expect >= kAhead && ColumnPrefaulter::supported()) {
    std::vector<ColumnPrefaulter::Range> ranges;
    auto add = [&ranges](int group, auto& table) {
      table.for_each_column([&ranges, group](const char*, auto& c) {
        ranges.push_back({reinterpret_cast<char*>(c.data()), sizeof(*c.data()), c.capacity(), group});
      });
    };
    add(0, out.pfc);
    add(1, out.pause);
    prefault = std::make_unique<ColumnPrefaulter>(std::move(ranges));
  }
  while ((max_frames <= 0 || n < max_frames)) {
    if (prefault && (n & 0xffff) == 0) {
      if (out.pfc.ts_ns.data() != pfc_base || out.pause.ts_ns.data() != pause_base) {
        prefault.reset();  // more rows than reserved: the columns moved, stop
      } else {
        prefault->advance(0, out.pfc.size() + kAhead);
        prefault->advance(1, out.pause.size() + kAhead);
      }
    }
    if (done_ || !reader_.next(f)) {
      done_ = true;
      break;
    }
    FrameKind k = dispatcher_.dispatch_to(f, sink, err);
    if (k == FrameKind::malformed && opts_.strict)
      throw CaptureError(reader_.path(), f.offset + err.pos, std::string("frame ") + std::to_string(f.index) + ": " +
                                                                 err.reason);
    if (f.linktype == kLinkCounterBlock) continue;  // a counter sample, not a frame
    ++counts_.by_kind[static_cast<int>(k)];
    ++n;
  }
  return n;
}

}  // namespace flapwatch
