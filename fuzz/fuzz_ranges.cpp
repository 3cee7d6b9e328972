// libFuzzer target: a capture read in byte ranges (RangeReplay, through run_pipeline with
// threads = 1 or 2, by the input's first byte) gives exactly what one reader feeding the
// ring gives (threads = 0): the same error, or
// the same frame counts, records, warnings, strings and detections. The ranges are small
// (64 bytes to 4 KiB, from the input's last byte), so hostile files put range starts
// inside records, on look-alike record chains, past a cut end, on sections and interface
// blocks: every way the split can guess wrong. The input is a pcap or pcapng file.
#include <string>

#include "flapwatch/engine.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/pipeline.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

namespace {

struct Outcome {
  std::string error;  // what() of the error, empty: none
  FrameCounts counts;
  int64_t records = 0;
  std::vector<std::string> warnings, strings;
  std::string detections;  // every column's bytes, table after table
};

Outcome run(const std::string& path, unsigned threads, uint64_t range_bytes) {
  Outcome o;
  StringTable strings;
  EngineConfig cfg;
  try {
    Engine engine(cfg, strings);
    PipelineOptions opts;
    opts.threads = threads;
    opts.range_bytes = range_bytes;
    PipelineResult r = run_pipeline({path}, strings, engine, cfg, opts);
    o.counts = r.counts;
    o.records = r.records;
    o.warnings = r.warnings;
    engine.detections().for_each_table([&](const char*, auto& table) {
      table.for_each_column([&](const char*, auto& col) {
        o.detections.append(reinterpret_cast<const char*>(col.data()), col.size() * sizeof(col[0]));
        o.detections += '|';
      });
    });
  } catch (const CaptureError& e) {
    FUZZ_CHECK(!e.reason().empty());
    o.error = e.what();
  }
  o.strings = strings.snapshot_from(0);
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile file("fuzz_ranges");
  const std::string& path = file.write(data, size);
  const uint64_t range_bytes = 64 + (size ? data[size - 1] : 0) * 16;
  Outcome one = run(path, 0, range_bytes);  // one reader feeding the ring
  Outcome two = run(path, size && (data[0] & 1) ? 1 : 2, range_bytes);  // ranges, one decoder or two
  FUZZ_CHECK(one.error == two.error);
  if (!one.error.empty()) return 0;
  FUZZ_CHECK(one.counts.by_kind == two.counts.by_kind);
  FUZZ_CHECK(one.records == two.records);
  FUZZ_CHECK(one.warnings == two.warnings);
  FUZZ_CHECK(one.strings == two.strings);
  FUZZ_CHECK(one.detections == two.detections);
  return 0;
}
