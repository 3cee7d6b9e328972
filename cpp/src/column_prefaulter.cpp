#include "flapwatch/column_prefaulter.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace flapwatch {

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool ColumnPrefaulter::supported() noexcept {
  static const bool ok = [] {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    bool works = madvise(p, 4096, MADV_POPULATE_WRITE) == 0;
    munmap(p, 4096);
    return works;
  }();
  return ok;
}

ColumnPrefaulter::ColumnPrefaulter(std::vector<Range> ranges) : ranges_(std::move(ranges)), done_(ranges_.size(), 0) {
  thread_ = std::thread([this] { run(); });
}

ColumnPrefaulter::~ColumnPrefaulter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ColumnPrefaulter::advance(int g, size_t rows) noexcept {
  target_[g].store(rows, std::memory_order_relaxed);
  wake_.notify_one();
}

void ColumnPrefaulter::run() noexcept {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  constexpr size_t kChunk = size_t(2) << 20;  // per call: the stop flag is seen soon
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    bool more = false;
    for (size_t i = 0; i < ranges_.size(); ++i) {
      const Range& r = ranges_[i];
      size_t want = std::min(target_[r.group].load(std::memory_order_relaxed), r.capacity) * r.elem_size;
      auto base = reinterpret_cast<uintptr_t>(r.base);
      // Whole pages only, from the first page boundary: a partial page at either end
      // is left to the decoder.
      uintptr_t from = (base + done_[i] + page - 1) / page * page, to = (base + want) / page * page;
      if (to > from) {
        size_t len = std::min<size_t>(to - from, kChunk);
        madvise(reinterpret_cast<void*>(from), len, MADV_POPULATE_WRITE);
        done_[i] = from + len - base;
        more |= from + len < to;
      }
    }
    lock.lock();
    if (!more && !stop_) wake_.wait_for(lock, std::chrono::milliseconds(1));  // advance() does not lock
  }
}

}  // namespace flapwatch
