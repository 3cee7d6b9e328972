// split_capture: byte ranges of one capture file for readers on several threads, each
// range starting where a scan of the bytes there finds a record (pcap: a chain of
// plausible record headers; pcapng: of blocks whose two length fields agree).
//
// A scan can be fooled by bytes inside a frame that look like a chain of records, so
// a range's start is a claim, checked by the reader of the range before it: that reader
// starts at a true boundary, and its last record must end exactly where the next range
// starts (CaptureReader::next_record_offset()). A result built from ranges that fail
// the check is thrown away and the file read again on one thread: the ranges change
// how fast a file is read, never what is read from it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flapwatch {

struct CaptureRange {
  uint64_t begin = 0;         // a record's first byte (0: the file's start)
  uint64_t end = UINT64_MAX;  // the next range's begin
};

// At most `parts` ranges of at least `min_bytes` each, in file order, covering the
// file; empty when it cannot or need not be split (gzip, not a regular file, too small,
// no boundary found).
std::vector<CaptureRange> split_capture(const std::string& path, unsigned parts, uint64_t min_bytes);

// Whether the ranges a set of readers read from them fit together: each range's reader
// stopped exactly at the next range's begin, no range before the last changed the
// interfaces, no range after the first needed the clock of the one before.
struct RangeRead {
  uint64_t stopped_at = 0;
  bool changed_state = false;
  bool clockless = false;
};
bool ranges_fit(const std::vector<CaptureRange>& ranges, const std::vector<RangeRead>& reads);

}  // namespace flapwatch
