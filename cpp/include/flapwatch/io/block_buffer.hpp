// BlockBuffer: streams a file (plain or gzip, through zlib's gzread, which reads an
// uncompressed file straight into our buffer) in big blocks, so memory stays flat
// however large the capture. Readers ask for `ensure(n)` contiguous bytes; a record
// that straddles two blocks is moved to the front first. The buffer grows only up to
// the largest record the caller accepts (the caller bounds that).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace flapwatch {

class BlockBuffer {
 public:
  static constexpr size_t kBlock = size_t(4) << 20;

  // follow: the end of the file is "no data yet" (another process is still writing
  // it), not the end of input; the next ensure() reads again.
  explicit BlockBuffer(const std::string& path, bool follow = false);
  ~BlockBuffer();
  BlockBuffer(const BlockBuffer&) = delete;
  BlockBuffer& operator=(const BlockBuffer&) = delete;

  // At least n bytes available at `data()`? Reads more if needed; false at end of input.
  bool ensure(size_t n) { return end_ - pos_ >= n || refill(n); }
  const uint8_t* data() const { return buf_.get() + pos_; }
  size_t available() const { return end_ - pos_; }
  void advance(size_t n) { pos_ += n; }
  uint64_t offset() const { return base_ + pos_; }  // in the decompressed stream
  bool compressed() const { return compressed_; }
  uint64_t file_size() const { return file_size_; }  // on disk (compressed); 0 unknown
  // Set when a gzip stream ended early (the data before it is good).
  const std::string& input_warning() const { return input_warning_; }

 private:
  bool refill(size_t n);
  size_t read_some(uint8_t* dst, size_t n);

  std::string path_;
  void* gz_ = nullptr;  // gzFile; kept opaque so zlib.h stays out of the header
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0, pos_ = 0, end_ = 0;
  uint64_t base_ = 0, file_size_ = 0;
  bool eof_ = false, compressed_ = false, follow_ = false;
  std::string input_warning_;
};

}  // namespace flapwatch
