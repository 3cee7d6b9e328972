// ColumnPool: where the big column buffers come from and go back to.
//
// Why: a read of a few million frames fills ~50 bytes of columns per frame. Fresh
// anonymous memory costs a page fault and a kernel page-zeroing per 4 KiB on first
// touch, and an munmap when numpy frees it: more than the decoding costs
// (bench/README.md). Buffers of >= kMinBytes freed by their owner (a numpy array's
// capsule, a dropped RecordBatch) are kept and handed to the next column that fits,
// already faulted in: a process that reads captures batch after batch (iter_capture,
// replay, the agent) touches fresh pages once.
//
// Invariants:
// - Small buffers (< kMinBytes) are plain operator new / delete.
// - Big buffers are private anonymous mappings (MAP_NORESERVE: a column reserved for
//   the most frames a file could hold costs address space, not memory).
// - At most kMaxKeptBytes of address space and kMaxKept buffers are kept; beyond that a
//   freed buffer is unmapped. A kept buffer holds at most its touched pages of memory.
// - Thread-safe (one mutex; taken only for big buffers, a few times per batch).
// - The pool is never destroyed: numpy may free arrays after C++ static destructors.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define FLAPWATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLAPWATCH_ASAN 1
#endif
#endif

namespace flapwatch {

class ColumnPool {
 public:
#ifdef FLAPWATCH_ASAN
  // Under AddressSanitizer every column stays on the heap, where ASan sees its bounds.
  static constexpr size_t kMinBytes = SIZE_MAX;
#else
  static constexpr size_t kMinBytes = size_t(1) << 20;
#endif
  // Enough for the columns of a read_capture of ~1 GB of capture; what a bigger read
  // frees goes back to the system, so the pool never sits on more than that.
  static constexpr size_t kMaxKeptBytes = size_t(1) << 30;
  static constexpr size_t kMaxKept = 64;

  static ColumnPool& instance();

  void* take(size_t bytes);               // bytes >= kMinBytes; throws std::bad_alloc
  void give(void* p, size_t bytes) noexcept;
  void trim() noexcept;                   // unmap every kept buffer

  struct Stats {
    uint64_t mapped = 0, reused = 0, kept = 0, kept_bytes = 0;
  };
  Stats stats() const noexcept;

 private:
  ColumnPool() = default;
  struct Kept {
    void* p;
    size_t bytes;  // the mapping's length (a reused buffer may be longer than asked)
  };
  mutable std::mutex mu_;
  std::vector<Kept> kept_;
  std::unordered_map<void*, size_t> lent_;  // buffer -> mapping length
  size_t kept_bytes_ = 0;
  uint64_t mapped_ = 0, reused_ = 0;
};

// The allocator of every Column: big buffers through the pool, small ones as usual.
template <class T>
struct ColumnAllocator {
  using value_type = T;
  ColumnAllocator() noexcept = default;
  template <class U>
  ColumnAllocator(const ColumnAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    size_t bytes = n * sizeof(T);
    if (bytes < ColumnPool::kMinBytes) return static_cast<T*>(::operator new(bytes, std::align_val_t(alignof(T))));
    return static_cast<T*>(ColumnPool::instance().take(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    size_t bytes = n * sizeof(T);
    if (bytes < ColumnPool::kMinBytes)
      ::operator delete(p, std::align_val_t(alignof(T)));
    else
      ColumnPool::instance().give(p, bytes);
  }
  template <class U>
  bool operator==(const ColumnAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace flapwatch
