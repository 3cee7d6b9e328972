// SpscRing: single-thread semantics (capacity, full/empty, wraparound) and two-thread
// stress (order, no loss, no duplicates), also under TSan (FLAPWATCH_SANITIZE=thread).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "flapwatch/records.hpp"
#include "flapwatch/spsc_ring.hpp"
#include "test_util.hpp"

using flapwatch::Record;
using flapwatch::SpscRing;

TEST_CASE("capacity must be a power of two >= 2") {
  for (size_t bad : {0, 1, 3, 5, 6, 7, 12, 100, 1000, 65535}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(SpscRing<uint64_t>{bad}, std::invalid_argument);
  }
  for (size_t good : {2, 4, 8, 64, 1024, 1 << 16}) {
    CAPTURE(good);
    SpscRing<uint64_t> r(good);
    CHECK(r.capacity() == good);
    CHECK(r.size() == 0);
  }
}

TEST_CASE("the ring's indices and caches sit on separate cache lines") {
  // The producer's and the consumer's lines must not be shared: the object is
  // over-aligned, and big enough for four lines.
  CHECK(alignof(SpscRing<uint64_t>) >= 64);
  CHECK(sizeof(SpscRing<uint64_t>) >= 4 * 64);
  auto* r = new SpscRing<Record>(8);  // over-aligned new
  CHECK(reinterpret_cast<uintptr_t>(r) % 64 == 0);
  delete r;
}

TEST_CASE("empty and full: no slot wasted") {
  SpscRing<uint64_t> r(8);
  CHECK(r.front() == nullptr);
  for (uint64_t i = 0; i < 8; ++i) {
    CHECK(r.try_push(i));
    CHECK(r.size() == i + 1);
  }
  CHECK_FALSE(r.try_push(99));  // full: exactly capacity items
  CHECK_FALSE(r.try_push(99));
  CHECK(r.size() == 8);
  for (uint64_t i = 0; i < 8; ++i) {
    uint64_t* p = r.front();
    REQUIRE(p != nullptr);
    CHECK(*p == i);
    CHECK(r.front() == p);  // front() is idempotent until pop()
    r.pop();
  }
  CHECK(r.front() == nullptr);
  CHECK(r.size() == 0);
}

TEST_CASE("try_push on a full ring, then consume one: room for exactly one") {
  SpscRing<uint64_t> r(4);
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(r.try_push(i));
  CHECK_FALSE(r.try_push(100));
  REQUIRE(r.front() != nullptr);
  CHECK(*r.front() == 0);
  r.pop();
  CHECK(r.try_push(4));        // the freed slot
  CHECK_FALSE(r.try_push(5));  // and no more
  for (uint64_t want = 1; want <= 4; ++want) {
    REQUIRE(r.front() != nullptr);
    CHECK(*r.front() == want);
    r.pop();
  }
  CHECK(r.front() == nullptr);
}

TEST_CASE("wraparound: many laps with every fill level, order kept") {
  for (size_t cap : {2, 4, 16}) {
    CAPTURE(cap);
    SpscRing<uint64_t> r(cap);
    uint64_t next_in = 0, next_out = 0;
    for (int lap = 0; lap < 1000; ++lap) {
      size_t fill = static_cast<size_t>(lap) % (cap + 1);  // 0 .. cap items this round
      for (size_t k = 0; k < fill; ++k) REQUIRE(r.try_push(next_in++));
      if (fill == cap) CHECK_FALSE(r.try_push(~0ull));
      CHECK(r.size() == fill);
      for (size_t k = 0; k < fill; ++k) {
        uint64_t* p = r.front();
        REQUIRE(p != nullptr);
        REQUIRE(*p == next_out++);
        r.pop();
      }
      CHECK(r.front() == nullptr);
    }
    CHECK(next_in == next_out);
    CHECK(next_in > 10 * cap);  // the indices went round many times
  }
}

TEST_CASE("Records go through whole (the ring carries them by plain copy)") {
  SpscRing<Record> r(2);
  Record a{};
  a.ts_ns = 123;
  a.frame = 7;
  a.port = 3;
  a.kind = flapwatch::RecordKind::pfc;
  a.pfc.src_mac = 0x020000000001;
  a.pfc.vlan = 100;
  a.pfc.class_enable = 0x08;
  for (int i = 0; i < 8; ++i) a.pfc.quanta[i] = static_cast<uint16_t>(1000 * i + 1);
  REQUIRE(r.try_push(a));
  Record* p = r.front();
  REQUIRE(p != nullptr);
  CHECK(p->ts_ns == 123);
  CHECK(p->frame == 7);
  CHECK(p->port == 3);
  CHECK(p->kind == flapwatch::RecordKind::pfc);
  CHECK(p->pfc.src_mac == 0x020000000001);
  CHECK(p->pfc.vlan == 100);
  CHECK(p->pfc.class_enable == 0x08);
  for (int i = 0; i < 8; ++i) CHECK(p->pfc.quanta[i] == 1000 * i + 1);
  r.pop();
}

namespace {

// Producer and consumer on two threads, `n` sequenced items; the consumer checks each
// value (order, no loss, no duplicate). Returns the producer's full count.
template <class T, class Make, class Seq>
int64_t stress(size_t capacity, uint64_t n, Make make, Seq seq) {
  SpscRing<T> ring(capacity);
  std::atomic<bool> go{false};
  int64_t full = 0;
  std::thread producer([&] {
    while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
    for (uint64_t i = 0; i < n; ++i) {
      T v = make(i);
      while (!ring.try_push(v)) {
        ++full;
        std::this_thread::yield();  // 2 shared cores: let the consumer run
      }
    }
  });
  uint64_t got = 0, bad = 0, first_bad = 0;
  go.store(true, std::memory_order_release);
  while (got < n) {
    T* p = ring.front();
    if (!p) {
      std::this_thread::yield();
      continue;
    }
    if (seq(*p) != got && bad++ == 0) first_bad = got;
    ring.pop();
    ++got;
  }
  producer.join();
  CHECK(bad == 0);
  if (bad) MESSAGE("first out-of-sequence item at " << first_bad);
  CHECK(got == n);
  CHECK(ring.front() == nullptr);  // nothing extra
  CHECK(ring.size() == 0);
  return full;
}

}  // namespace

TEST_CASE("two threads: 10 million uint64 in order, none lost") {
  // FLAPWATCH_STRESS_ITEMS shrinks it (the TSan run uses fewer: every access is traced).
  uint64_t n = static_cast<uint64_t>(fwtest::env_int("FLAPWATCH_STRESS_ITEMS", 10'000'000));
  int64_t full = stress<uint64_t>(
      1024, n, [](uint64_t i) { return i * 0x9e3779b97f4a7c15ull; },
      [](uint64_t v) { return v * 0xf1de83e19937733dull; });  // the multiplicative inverse
  MESSAGE("capacity 1024, " << n << " items, producer found the ring full " << full << " times");
}

TEST_CASE("two threads: a capacity-2 ring under constant contention") {
  uint64_t n = static_cast<uint64_t>(fwtest::env_int("FLAPWATCH_STRESS_ITEMS", 10'000'000)) / 10;
  int64_t full = stress<uint64_t>(2, n, [](uint64_t i) { return i; }, [](uint64_t v) { return v; });
  MESSAGE("capacity 2, " << n << " items, producer found the ring full " << full << " times");
}

TEST_CASE("two threads: Records (every field of the slot must arrive)") {
  uint64_t n = static_cast<uint64_t>(fwtest::env_int("FLAPWATCH_STRESS_ITEMS", 10'000'000)) / 5;
  auto make = [](uint64_t i) {
    Record r{};
    r.ts_ns = static_cast<int64_t>(i) * 3;
    r.frame = static_cast<int64_t>(i);
    r.port = static_cast<int32_t>(i & 0xffff);
    r.kind = flapwatch::RecordKind::link;
    r.link.carrier_down_count = static_cast<int64_t>(~i);
    return r;
  };
  auto seq = [](const Record& r) -> uint64_t {
    uint64_t i = static_cast<uint64_t>(r.frame);
    bool whole = r.ts_ns == static_cast<int64_t>(i) * 3 && r.port == static_cast<int32_t>(i & 0xffff) &&
                 r.kind == flapwatch::RecordKind::link && r.link.carrier_down_count == static_cast<int64_t>(~i);
    return whole ? i : ~0ull;  // a torn slot reads as out of sequence
  };
  stress<Record>(256, n, make, seq);
}

TEST_CASE("two threads: the producer blocks on a full ring until the consumer frees a slot") {
  SpscRing<uint64_t> ring(4);
  std::atomic<int> stage{0};
  std::atomic<bool> rejected{false};
  std::thread producer([&] {
    for (uint64_t i = 0; i < 4; ++i)
      if (!ring.try_push(i)) return;
    rejected = !ring.try_push(4);  // full: must fail
    stage.store(1, std::memory_order_release);
    while (stage.load(std::memory_order_acquire) != 2) std::this_thread::yield();
    // The consumer popped one: exactly one more fits.
    bool one = ring.try_push(4);
    bool two = ring.try_push(5);
    rejected = rejected && one && !two;
    stage.store(3, std::memory_order_release);
  });
  while (stage.load(std::memory_order_acquire) != 1) std::this_thread::yield();
  CHECK(rejected.load());
  CHECK(ring.size() == 4);
  REQUIRE(ring.front() != nullptr);
  CHECK(*ring.front() == 0);
  ring.pop();
  stage.store(2, std::memory_order_release);
  while (stage.load(std::memory_order_acquire) != 3) std::this_thread::yield();
  producer.join();
  CHECK(rejected.load());
  for (uint64_t want = 1; want <= 4; ++want) {
    REQUIRE(ring.front() != nullptr);
    CHECK(*ring.front() == want);
    ring.pop();
  }
  CHECK(ring.front() == nullptr);
}

TEST_CASE("consume_all takes every item available, in order, at most max, and frees their slots") {
  SpscRing<uint64_t> r(8);
  std::vector<uint64_t> got;
  CHECK(r.consume_all([&](uint64_t v) { got.push_back(v); }) == 0);
  for (uint64_t i = 0; i < 8; ++i) REQUIRE(r.try_push(i));
  CHECK_FALSE(r.try_push(99));
  CHECK(r.consume_all([&](uint64_t v) { got.push_back(v); }, 3) == 3);
  CHECK(got == std::vector<uint64_t>{0, 1, 2});
  for (uint64_t i = 8; i < 11; ++i) REQUIRE(r.try_push(i));  // the three freed slots, wrapping around
  CHECK(r.consume_all([&](uint64_t v) { got.push_back(v); }) == 8);
  REQUIRE(got.size() == 11);
  for (uint64_t i = 0; i < 11; ++i) CHECK(got[i] == i);
  CHECK(r.size() == 0);
}

TEST_CASE("consume_all across two threads: order, no loss") {
  constexpr uint64_t kItems = 2'000'000;
  SpscRing<uint64_t> r(1024);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems; ++i)
      while (!r.try_push(i)) std::this_thread::yield();
  });
  uint64_t next = 0;
  bool ordered = true;
  while (next < kItems)
    r.consume_all([&](uint64_t v) {
      ordered &= v == next;
      ++next;
    });
  producer.join();
  CHECK(ordered);
  CHECK(next == kItems);
}
