// BlockBuffer: streams a file in big blocks, so memory stays flat however large the
// capture. Readers ask for `ensure(n)` contiguous bytes.
//
// A regular uncompressed file (not followed) is mapped a window at a time, 2 MiB-aligned
// (whole large folios of the page cache map with one entry) and populated in one call
// (MADV_POPULATE_READ): the bytes are read where the page cache holds them, with no
// copy, which is most of what a read() loop costs on a warm cache (bench/README.md). A
// window is unmapped when the reader moves past it, so at most one window is resident.
// A small window (a header, a file's last bytes) is read into a buffer instead: unmapping
// makes every other core running the process flush its TLB (an interrupt each), which
// readers of byte ranges paid twice per range.
// Mapping is cheap only while the page cache holds the file in large folios: a file it
// holds in small ones (as buffered writes of a few KiB leave a capture tcpdump just
// wrote, or pages faulted back one by one after eviction) costs a page-table entry per
// 4 KiB to populate and to unmap, more than pread copying the same bytes into a 512 KiB
// buffer, which stays in the core's cache for the decoder. So each window is mapped or
// read by what each kind cost lately in this process (WindowMode::automatic, the rules
// at next_window_kind; bench/README.md, "Mapping or reading").
// Anything else (gzip, a pipe, a file being written) goes through zlib's gzread, which
// reads an uncompressed stream straight into our buffer; a record that straddles two
// blocks is moved to the front first. The buffer grows only up to the largest record
// the caller accepts (the caller bounds that).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace flapwatch {

// How big windows of regular uncompressed files come in: by what each kind costs
// (automatic), or always one kind (tests pin one). Process-wide.
enum class WindowMode : uint8_t { automatic, map, read };
void set_window_mode(WindowMode mode);
WindowMode window_mode();
// Bytes of big windows mapped and read by every reader of the process so far, and what
// each kind cost when last measured (ns per MiB, 0: not measured).
struct WindowStats {
  uint64_t mapped_bytes = 0, read_bytes = 0;
  uint64_t map_ns_per_mib = 0, read_ns_per_mib = 0;
};
WindowStats window_stats();

// automatic's rules. Costs are ns per MiB, over windows of at least kMeasureMin (a
// mapping's fixed cost, the calls and other cores' TLBs flushed, would weigh on a smaller
// one) or, for reading, over kMeasureMin of read windows. A MiB mapped and unmapped in
// less than kCheapMapNsPerMiB beats any copy of it (26 GB/s): large folios, and reading is
// not tried. Otherwise the kind that costs less is used (reading counted kReadExtraNsPerMiB
// more than its calls: the reader refills every 512 KiB), and the other measured again now
// and then (the cache's state differs along a file and between files): kMeasureMin mapped
// (map_probe) after kMapProbeEvery bytes read, kMeasureMin read after kReadProbeEvery
// bytes mapped.
constexpr uint64_t kMeasureMin = uint64_t(4) << 20;
constexpr uint64_t kCheapMapNsPerMiB = 40'000;
constexpr uint64_t kReadExtraNsPerMiB = 15'000;
constexpr uint64_t kMapProbeEvery = uint64_t(64) << 20, kReadProbeEvery = uint64_t(64) << 20;
enum class WindowKind : uint8_t { map, read, map_probe };
// Reading measured as costing less than mapping (both measured, mapping not cheap).
inline bool reading_costs_less(uint64_t map_ns_per_mib, uint64_t read_ns_per_mib) {
  return map_ns_per_mib >= kCheapMapNsPerMiB && read_ns_per_mib && read_ns_per_mib + kReadExtraNsPerMiB < map_ns_per_mib;
}
// The next window's kind from what mapping and reading cost lately (0: not measured yet,
// so measured next, mapping first) and the bytes read and mapped since each was measured.
inline WindowKind next_window_kind(uint64_t map_ns_per_mib, uint64_t read_ns_per_mib, uint64_t read_since_map,
                                   uint64_t mapped_since_read) {
  if (map_ns_per_mib < kCheapMapNsPerMiB) return WindowKind::map;  // 0 too
  if (read_ns_per_mib == 0) return WindowKind::read;
  if (reading_costs_less(map_ns_per_mib, read_ns_per_mib))
    return read_since_map >= kMapProbeEvery ? WindowKind::map_probe : WindowKind::read;
  return mapped_since_read >= kReadProbeEvery ? WindowKind::read : WindowKind::map;
}

class BlockBuffer {
 public:
  static constexpr size_t kBlock = size_t(4) << 20;
  static constexpr size_t kPrefetchAhead = 4096;

  // follow: the end of the file is "no data yet" (another process is still writing
  // it), not the end of input; the next ensure() reads again.
  explicit BlockBuffer(const std::string& path, bool follow = false);
  ~BlockBuffer();
  BlockBuffer(const BlockBuffer&) = delete;
  BlockBuffer& operator=(const BlockBuffer&) = delete;

  // At least n bytes available at `data()`? Reads more if needed; false at end of input.
  bool ensure(size_t n) { return end_ - pos_ >= n || refill(n); }
  const uint8_t* data() const { return ptr_ + pos_; }
  size_t available() const { return end_ - pos_; }
  void advance(size_t n) { pos_ += n; }
  // Asks for the next few KiB of a mapped window ahead of the reader: it walks record
  // headers one after another, each a load from memory nothing has touched yet, and
  // waiting for each one was most of its time.
  void prefetch() {
    const uint8_t* want = ptr_ + std::min(pos_ + kPrefetchAhead, end_);
    for (; prefetched_ < want; prefetched_ += 64) __builtin_prefetch(prefetched_);
  }
  uint64_t offset() const { return base_ + pos_; }  // in the decompressed stream
  bool compressed() const { return compressed_; }
  uint64_t file_size() const { return file_size_; }  // on disk (compressed); 0 unknown
  // Set when a gzip stream ended early (the data before it is good).
  const std::string& input_warning() const { return input_warning_; }
  // An uncompressed file only: continue at byte `off` (what is buffered is dropped).
  void seek(uint64_t off);
  // Reads stop near `until` (more only when a record asks for it), so a reader of one
  // byte range of the file copies little beyond it; 0: no limit.
  void limit_reads(uint64_t until) { read_limit_ = until; }

 private:
  bool refill(size_t n);
  bool refill_mapped(size_t n);
  void map_window(uint64_t at, size_t len);
  void map_mapped(uint64_t at, size_t len);
  void read_window(uint64_t at, size_t len);
  size_t read_some(uint8_t* dst, size_t n);

  std::string path_;
  void* gz_ = nullptr;  // gzFile; kept opaque so zlib.h stays out of the header
  std::unique_ptr<uint8_t[]> buf_;
  uint8_t* ptr_ = nullptr;  // the bytes at base_: buf_, or the mapped window
  const uint8_t* prefetched_ = nullptr;  // prefetch(): asked for up to here
  // mapped mode: the file, the window (page-aligned start, length)
  bool mapped_ = false;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> small_;  // a read window's bytes (not mapped)
  size_t small_cap_ = 0;
  bool reading_ = false;  // the window now is a read one
  void* map_ = nullptr;
  size_t map_len_ = 0;
  size_t cap_ = 0, pos_ = 0, end_ = 0;
  uint64_t base_ = 0, file_size_ = 0, read_limit_ = 0;
  bool eof_ = false, compressed_ = false, follow_ = false;
  std::string input_warning_;
};

}  // namespace flapwatch
