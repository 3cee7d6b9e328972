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
  size_t read_some(uint8_t* dst, size_t n);

  std::string path_;
  void* gz_ = nullptr;  // gzFile; kept opaque so zlib.h stays out of the header
  std::unique_ptr<uint8_t[]> buf_;
  uint8_t* ptr_ = nullptr;  // the bytes at base_: buf_, or the mapped window
  const uint8_t* prefetched_ = nullptr;  // prefetch(): asked for up to here
  // mapped mode: the file, the window (page-aligned start, length)
  bool mapped_ = false;
  int fd_ = -1;
  std::unique_ptr<uint8_t[]> small_;  // a small window's bytes (read, not mapped)
  void* map_ = nullptr;
  size_t map_len_ = 0;
  size_t cap_ = 0, pos_ = 0, end_ = 0;
  uint64_t base_ = 0, file_size_ = 0, read_limit_ = 0;
  bool eof_ = false, compressed_ = false, follow_ = false;
  std::string input_warning_;
};

}  // namespace flapwatch
