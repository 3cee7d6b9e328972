// SpscRing: a bounded lock-free single-producer / single-consumer ring, after
// rigtorp/SPSCQueue.
//
// Invariants:
// - Exactly one thread calls the producer side (try_push, try_push_n, try_write,
//   claim, commit, publish), exactly one the consumer side (front / poll / pop / consume_all). Nothing
//   else is thread-safe.
// - Capacity is a power of two; indices run free (wrap at 2^64) and are masked, so
//   full is `head - tail == capacity` and no slot is wasted.
// - head_ is written only by the producer, tail_ only by the consumer. Each side
//   keeps a cached copy of the other's index and re-reads it (acquire) only when the
//   cache says full/empty: in steady state a push or pop touches no shared line. Each
//   side also keeps its own index in a plain variable (write_, read_) and only stores
//   the atomic: no push or pop loads its own atomic back.
// - The producer may write ahead of what it published (write_ >= head_): try_write
//   (or claim + commit, filling the slot in place) adds items, publish() makes them
//   all visible with one release store, so a burst costs the consumer one miss on
//   head_'s line instead of one per item. A claim that finds the ring full publishes
//   first: a producer waiting for room never hides items from the consumer.
// - The slot write happens-before the head_ store (release); the consumer's acquire
//   load of head_ makes it visible. Symmetrically for tail_ and slot reuse.
// - A push asks for ownership of the slot kPrefetchAhead items on (prefetch for write),
//   when that slot is known free: its line was last read by the consumer's core, and
//   fetching it ahead overlaps that transfer with the pushes before it instead of
//   stalling the store that needs it. try_push goes through try_write + publish: a
//   written-out version was slower with the prefetch, for reasons of code shape
//   (bench/README.md has the figures).
// - front() is exact: nullptr means the ring was empty at the acquire load of head_.
//   poll() is front() for consumers that spin: after a look at head_ that found fewer
//   than kPollBatch items (or half the capacity, if smaller), its next kPollBackoff calls
//   that find nothing cached return nullptr without looking. A consumer reading right behind the producer otherwise pulls
//   head_'s line (and the slot line being filled) away after every item; backing off lets
//   the producer run ahead on lines it owns and the next look take a batch (FastForward's
//   "temporal slipping"). The price: an item may wait up to kPollBackoff empty polls
//   (microseconds); the pipeline and the live agent drain with consume_all and never pay
//   it. kPollBackoff is the best of the values benchmarked (bench/README.md).
// - head_, the producer's own variables, tail_ and the consumer's own variables sit on
//   four separate 64-byte lines (a fixed 64, not
//   std::hardware_destructive_interference_size, which is ABI-unstable), so the
//   producer and the consumer never false-share.
#pragma once
#include <algorithm>
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
  static constexpr uint64_t kPrefetchAhead = 8;  // slots; not sensitive (bench/README.md)
  static constexpr uint64_t kPollBatch = 8;      // fewer new items than this: back off
  static constexpr uint32_t kPollBackoff = 16384;  // empty polls before the next look

  explicit SpscRing(size_t capacity)
      : capacity_(capacity), mask_(capacity - 1), poll_batch_(std::min<uint64_t>(kPollBatch, capacity / 2)) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
      throw std::invalid_argument("SpscRing capacity must be a power of two >= 2");
    slots_.reset(new T[capacity]);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when the ring is full (the caller decides: wait or count a drop).
  bool try_push(const T& v) noexcept {
    if (!try_write(v)) return false;
    publish();
    return true;
  }

  // Producer. Writes v without making it visible yet (see publish); false when full.
  bool try_write(const T& v) noexcept {
    T* slot = claim();
    if (!slot) return false;
    *slot = v;
    commit();
    return true;
  }

  // Producer. The next free slot to fill in place, or nullptr when the ring is full.
  T* claim() noexcept {
    const uint64_t w = write_;
    if (w - tail_cache_ == capacity_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (w - tail_cache_ == capacity_) {
        publish();  // the consumer must see what fills the ring, or it never frees a slot
        return nullptr;
      }
    }
    prefetch_for_write(w);
    return &slots_[w & mask_];
  }
  // Producer. The slot claim() gave now holds an item (visible after publish()).
  void commit() noexcept { ++write_; }

  // Producer. Copies up to n items in (one bulk copy, wrapping at most once) and
  // publishes them with everything written before; returns how many fit.
  size_t try_push_n(const T* items, size_t n) noexcept {
    const uint64_t w = write_;
    if (capacity_ - (w - tail_cache_) < n) tail_cache_ = tail_.load(std::memory_order_acquire);
    n = std::min<size_t>(n, capacity_ - (w - tail_cache_));
    const size_t at = w & mask_, first = std::min<size_t>(n, capacity_ - at);
    std::copy_n(items, first, &slots_[at]);
    std::copy_n(items + first, n - first, &slots_[0]);
    write_ = w + n;
    publish();
    return n;
  }

  // Producer. Makes every item written so far visible to the consumer.
  void publish() noexcept { head_.store(write_, std::memory_order_release); }

  // Producer. Items written but not yet published.
  size_t unpublished() const noexcept {
    return static_cast<size_t>(write_ - head_.load(std::memory_order_relaxed));  // our own store: no transfer
  }

  // Consumer. The oldest item, or nullptr when empty; valid until pop().
  T* front() noexcept {
    const uint64_t tail = read_;
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return nullptr;
    }
    return &slots_[tail & mask_];
  }

  // Consumer. front() for a caller that spins until an item comes: may return nullptr
  // for up to kPollBackoff calls while items wait (see the invariants). Never use it to
  // decide that the ring is empty.
  T* poll() noexcept {
    if (read_ != head_cache_) return &slots_[read_ & mask_];
    if (poll_skip_ != 0) {
      --poll_skip_;
      return nullptr;
    }
    T* item = front();  // looks at head_
    if (head_cache_ - read_ < poll_batch_) poll_skip_ = kPollBackoff;
    return item;
  }

  // Consumer. Only after front() or poll() returned an item.
  void pop() noexcept { tail_.store(++read_, std::memory_order_release); }

  // Consumer. Calls f(T&) for every item available now (at most `max`), then frees
  // their slots with one release store: one look at the producer's index and one
  // publication per batch instead of per item. Returns the number consumed.
  template <class F>
  size_t consume_all(F&& f, size_t max = SIZE_MAX) noexcept(noexcept(f(std::declval<T&>()))) {
    const uint64_t tail = read_;
    head_cache_ = head_.load(std::memory_order_acquire);  // once per batch: everything pushed so far
    if (tail == head_cache_) return 0;
    uint64_t end = head_cache_;
    if (end - tail > max) end = tail + max;
    for (uint64_t i = tail; i != end; ++i) f(slots_[i & mask_]);
    read_ = end;
    tail_.store(end, std::memory_order_release);
    return static_cast<size_t>(end - tail);
  }

  // Either side; exact only when the other side is idle.
  size_t size() const noexcept {
    return static_cast<size_t>(head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire));
  }
  size_t capacity() const noexcept { return capacity_; }

 private:
  // Producer. Slot w + kPrefetchAhead is free if it was free by our (older) copy of tail_.
  void prefetch_for_write(uint64_t w) const noexcept {
    if (w + kPrefetchAhead - tail_cache_ >= capacity_) return;
    const T& slot = slots_[(w + kPrefetchAhead) & mask_];
#if defined(__x86_64__) || defined(__i386__)
    // GCC 12 deletes a __builtin_prefetch that sits under a condition; PREFETCHW is a
    // NOP on x86 CPUs without it.
    asm volatile("prefetchw %0" : : "m"(slot));
#else
    __builtin_prefetch(&slot, 1, 3);
#endif
  }

  const size_t capacity_;
  const uint64_t mask_;
  const uint64_t poll_batch_;  // kPollBatch, or half the ring when that is smaller
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<uint64_t> head_{0};  // producer writes: published items
  alignas(kCacheLine) uint64_t write_ = 0;             // producer's: items written (>= head_)
  uint64_t tail_cache_ = 0;                            // producer's copy of tail_
  alignas(kCacheLine) std::atomic<uint64_t> tail_{0};  // consumer writes
  alignas(kCacheLine) uint64_t head_cache_ = 0;        // consumer's copy of head_
  uint64_t read_ = 0;                                  // consumer's: items taken (== tail_)
  uint64_t poll_skip_ = 0;                             // consumer's: polls left before poll() looks
  char pad_[kCacheLine - 3 * sizeof(uint64_t)];        // keep the next object off this line
};

}  // namespace flapwatch
