// SpscRing: a bounded lock-free single-producer / single-consumer ring, after
// rigtorp/SPSCQueue.
//
// Invariants:
// - Exactly one thread calls the producer side (try_push), exactly one the consumer
//   side (front / pop). Nothing else is thread-safe.
// - Capacity is a power of two; indices run free (wrap at 2^64) and are masked, so
//   full is `head - tail == capacity` and no slot is wasted.
// - head_ is written only by the producer, tail_ only by the consumer. Each side
//   keeps a cached copy of the other's index and re-reads it (acquire) only when the
//   cache says full/empty: in steady state a push or pop touches no shared line.
// - The slot write happens-before the head_ store (release); the consumer's acquire
//   load of head_ makes it visible. Symmetrically for tail_ and slot reuse.
// - head_, tail_ and the two caches sit on separate 64-byte lines (a fixed 64, not
//   std::hardware_destructive_interference_size, which is ABI-unstable), so the
//   producer and the consumer never false-share.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace flapwatch {

template <class T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "slots are reused by plain copies");

 public:
  static constexpr size_t kCacheLine = 64;

  explicit SpscRing(size_t capacity) : capacity_(capacity), mask_(capacity - 1) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("SpscRing capacity must be a power of two >= 2");
    slots_.reset(new T[capacity]);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when the ring is full (the caller decides: wait or count a drop).
  bool try_push(const T& v) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ == capacity_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ == capacity_) return false;
    }
    slots_[head & mask_] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer. The oldest item, or nullptr when empty; valid until pop().
  T* front() noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return nullptr;
    }
    return &slots_[tail & mask_];
  }

  // Consumer. Only after front() returned an item.
  void pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer. Calls f(T&) for every item available now (at most `max`), then frees
  // their slots with one release store: one look at the producer's index and one
  // publication per batch instead of per item. Returns the number consumed.
  template <class F>
  size_t consume_all(F&& f, size_t max = SIZE_MAX) noexcept(noexcept(f(std::declval<T&>()))) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    head_cache_ = head_.load(std::memory_order_acquire);  // once per batch: everything pushed so far
    if (tail == head_cache_) return 0;
    uint64_t end = head_cache_;
    if (end - tail > max) end = tail + max;
    for (uint64_t i = tail; i != end; ++i) f(slots_[i & mask_]);
    tail_.store(end, std::memory_order_release);
    return static_cast<size_t>(end - tail);
  }

  // Either side; exact only when the other side is idle.
  size_t size() const noexcept {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire));
  }
  size_t capacity() const noexcept { return capacity_; }

 private:
  const size_t capacity_;
  const uint64_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // producer writes
  alignas(kCacheLine) uint64_t tail_cache_ = 0;        // producer's copy of tail_
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // consumer writes
  alignas(kCacheLine) uint64_t head_cache_ = 0;        // consumer's copy of head_
  char pad_[kCacheLine - sizeof(uint64_t)];            // keep the next object off head_cache_'s line
};

}  // namespace flapwatch
