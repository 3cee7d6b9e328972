// ColumnPrefaulter: see the class comment. Used by CaptureFile::read only, so the
// thread headers stay out of records.hpp.
#pragma once
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace flapwatch {

// ColumnPrefaulter: faults fresh column pages in on another thread, ahead of the rows
// the decoder writes. The kernel zeroes a fresh page on first touch, a large share of
// a first read_capture (bench/README.md); done on the other core it is off the
// decoder's path. MADV_POPULATE_WRITE faults pages in without changing their contents,
// so it is safe while the decoder writes the same memory, and a no-op on pages already
// there (pool buffers). Without it (Linux < 5.14) the prefaulter does nothing.
class ColumnPrefaulter {
 public:
  struct Range {
    char* base;
    size_t elem_size;
    size_t capacity;  // elements
    int group;        // which advance() counter drives it (one per table)
  };
  static constexpr int kGroups = 2;
  static bool supported() noexcept;

  explicit ColumnPrefaulter(std::vector<Range> ranges);
  ~ColumnPrefaulter();  // stops and joins
  ColumnPrefaulter(const ColumnPrefaulter&) = delete;
  ColumnPrefaulter& operator=(const ColumnPrefaulter&) = delete;

  // Group g's columns should be faulted in up to `rows` rows.
  void advance(int g, size_t rows) noexcept;

 private:
  void run() noexcept;
  std::vector<Range> ranges_;
  std::vector<size_t> done_;  // bytes faulted in per range (prefaulter thread only)
  std::array<std::atomic<size_t>, kGroups> target_{};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace flapwatch
