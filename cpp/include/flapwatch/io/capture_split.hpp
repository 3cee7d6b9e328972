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
#include <memory>
#include <string>
#include <vector>

namespace flapwatch {

struct CaptureRange {
  uint64_t begin = 0;         // a record's first byte (0: the file's start)
  uint64_t end = UINT64_MAX;  // the next range's begin
};

// Finds where records start in one capture file (pcap or pcapng, uncompressed, regular):
// the first offset at or after a given one where a chain of records begins (a claim, as
// above). Thread-safe: positional reads, the caller's window buffer.
class RecordScanner {
 public:
  explicit RecordScanner(const std::string& path);
  // A file it can scan (not gzip, a pipe or unreadable).
  bool ok() const { return ok_; }
  uint64_t size() const { return size_; }
  // The first record start found at or after `nominal` (rounded down to 4 bytes, within
  // 1 MiB of it), UINT64_MAX none (or `nominal` inside the file header).
  uint64_t record_at_or_after(uint64_t nominal, std::vector<uint8_t>& window) const;
  struct Format {
    bool pcapng = false, swap = false;
    uint32_t frac_limit = 1000000;  // pcap: µs or ns fraction bound
    uint32_t max_caplen = 0;        // the snap length, else CaptureReader::kMaxCaplen
  };

 private:
  struct File;
  std::shared_ptr<File> file_;
  Format fmt_;
  uint64_t size_ = 0;
  bool ok_ = false;
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
  bool stopped_short = false;  // at a block cut short: the file ends there for every reader
};
bool ranges_fit(const std::vector<CaptureRange>& ranges, const std::vector<RangeRead>& reads);

}  // namespace flapwatch
