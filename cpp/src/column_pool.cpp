#include "flapwatch/column_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace flapwatch {

ColumnPool& ColumnPool::instance() {
  static ColumnPool* pool = new ColumnPool;  // never destroyed: see the header
  return *pool;
}

void* ColumnPool::take(size_t bytes) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t length = (bytes + page - 1) / page * page;
  {
    std::lock_guard lock(mu_);
    // The smallest kept buffer that is long enough: its pages are already faulted in.
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it)
      if (it->bytes >= length && (best == kept_.end() || it->bytes < best->bytes)) best = it;
    if (best != kept_.end()) {
      Kept k = *best;
      kept_.erase(best);
      kept_bytes_ -= k.bytes;
      lent_.emplace(k.p, k.bytes);
      ++reused_;
      return k.p;
    }
  }
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  std::lock_guard lock(mu_);
  lent_.emplace(p, length);
  ++mapped_;
  return p;
}

void ColumnPool::give(void* p, size_t) noexcept {
  std::unique_lock lock(mu_);
  auto it = lent_.find(p);
  if (it == lent_.end()) return;  // not ours: cannot happen through ColumnAllocator
  size_t length = it->second;
  lent_.erase(it);
  if (kept_.size() < kMaxKept && kept_bytes_ + length <= kMaxKeptBytes) {
    kept_.push_back({p, length});
    kept_bytes_ += length;
    return;
  }
  lock.unlock();
  munmap(p, length);
}

void ColumnPool::trim() noexcept {
  std::vector<Kept> drop;
  {
    std::lock_guard lock(mu_);
    drop.swap(kept_);
    kept_bytes_ = 0;
  }
  for (const Kept& k : drop) munmap(k.p, k.bytes);
}

ColumnPool::Stats ColumnPool::stats() const noexcept {
  std::lock_guard lock(mu_);
  return {mapped_, reused_, kept_.size(), kept_bytes_};
}

}  // namespace flapwatch
