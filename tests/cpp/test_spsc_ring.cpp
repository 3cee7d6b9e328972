// SpscRing: single-thread semantics (capacity, full/empty, wraparound) and two-thread
// stress (order, no loss, no duplicates), also under TSan (FLAPWATCH_SANITIZE=thread).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "flapwatch/record_ring.hpp"
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

namespace {

// Pops first..last one at a time with front() / pop(), checking each, then expects empty.
void expect_drain(SpscRing<uint64_t>& r, uint64_t first, uint64_t last) {
  for (uint64_t want = first; want <= last; ++want) {
    REQUIRE(r.front() != nullptr);
    CHECK(*r.front() == want);
    r.pop();
  }
  CHECK(r.front() == nullptr);
}

}  // namespace

TEST_CASE("try_push on a full ring, then consume one: room for exactly one") {
  SpscRing<uint64_t> r(4);
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(r.try_push(i));
  CHECK_FALSE(r.try_push(100));
  REQUIRE(r.front() != nullptr);
  CHECK(*r.front() == 0);
  r.pop();
  CHECK(r.try_push(4));        // the freed slot
  CHECK_FALSE(r.try_push(5));  // and no more
  expect_drain(r, 1, 4);
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
// The consumer peeks with front() or, when `poll`, with poll() (which may back off).
template <class T, class Make, class Seq>
int64_t stress(size_t capacity, uint64_t n, Make make, Seq seq, bool poll = false) {
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
    T* p = poll ? ring.poll() : ring.front();
    if (!p) {
      if (!poll) std::this_thread::yield();  // poll() backs off by itself
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

TEST_CASE("two threads: 10 million uint64 through poll(), in order, none lost") {
  uint64_t n = static_cast<uint64_t>(fwtest::env_int("FLAPWATCH_STRESS_ITEMS", 10'000'000));
  // A small ring backs off after nearly every look (it never holds kPollBatch items):
  // fewer items there, the same checks.
  for (size_t cap : {size_t{4}, size_t{1024}}) {
    CAPTURE(cap);
    stress<uint64_t>(cap, cap == 4 ? n / 1000 : n, [](uint64_t i) { return i; }, [](uint64_t v) { return v; }, true);
  }
}

TEST_CASE("poll(): after a look that found fewer than kPollBatch items it skips kPollBackoff empty polls") {
  using Ring = SpscRing<uint64_t>;
  Ring r(64);
  uint64_t next_in = 0, next_out = 0;
  auto push = [&](uint64_t k) {
    for (uint64_t i = 0; i < k; ++i) REQUIRE(r.try_push(next_in++));
  };
  auto take_cached = [&](uint64_t k) {  // items poll() already knows of: no miss
    for (uint64_t i = 0; i < k; ++i) {
      uint64_t* p = r.poll();
      REQUIRE(p != nullptr);
      CHECK(*p == next_out++);
      r.pop();
    }
  };
  auto misses_then_take = [&] {  // empty polls before the next item shows, then take it
    uint32_t misses = 0;
    uint64_t* p;
    while ((p = r.poll()) == nullptr) REQUIRE(++misses <= Ring::kPollBackoff);
    CHECK(*p == next_out++);
    r.pop();
    return misses;
  };
  push(1);
  CHECK(misses_then_take() == 0);  // the first look finds 1 item: taken at once, back-off armed
  push(3);
  CHECK(misses_then_take() == Ring::kPollBackoff);  // the 3 wait out the back-off...
  take_cached(2);  // ...then come in order; that look found 3: armed again
  push(Ring::kPollBatch);
  CHECK(misses_then_take() == Ring::kPollBackoff);
  take_cached(Ring::kPollBatch - 1);  // that look found a full batch: nothing armed
  push(1);
  CHECK(misses_then_take() == 0);
  // front() is exact: it sees an item at once, back-off or not (the last look armed one).
  push(1);
  REQUIRE(r.front() != nullptr);
  CHECK(*r.front() == next_out);
  CHECK(misses_then_take() == 0);  // front() refreshed the cache poll() reads
  CHECK(r.front() == nullptr);
  CHECK(next_in == next_out);
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
  expect_drain(ring, 1, 4);
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

namespace {

// Consumer side of the two-thread tests: takes n items with consume_all; true when
// they came as 0, 1, ..., n-1.
bool consume_in_order(SpscRing<uint64_t>& r, uint64_t n) {
  uint64_t next = 0;
  bool ordered = true;
  while (next < n)
    r.consume_all([&](uint64_t v) {
      ordered &= v == next;
      ++next;
    });
  return ordered && next == n;
}

}  // namespace

TEST_CASE("consume_all across two threads: order, no loss") {
  constexpr uint64_t kItems = 2'000'000;
  SpscRing<uint64_t> r(1024);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems; ++i)
      while (!r.try_push(i)) std::this_thread::yield();
  });
  const bool ordered = consume_in_order(r, kItems);
  producer.join();
  CHECK(ordered);
}

TEST_CASE("try_write is invisible until publish; a full ring publishes by itself") {
  SpscRing<uint64_t> r(4);
  REQUIRE(r.try_write(10));
  REQUIRE(r.try_write(11));
  CHECK(r.unpublished() == 2);
  CHECK(r.front() == nullptr);  // written, not published
  CHECK(r.size() == 0);
  r.publish();
  CHECK(r.unpublished() == 0);
  REQUIRE(r.front() != nullptr);
  CHECK(*r.front() == 10);
  REQUIRE(r.try_write(12));
  REQUIRE(r.try_write(13));
  CHECK(r.consume_all([](uint64_t) {}) == 2);  // 10 and 11 only: 12, 13 unpublished
  REQUIRE(r.try_write(14));
  REQUIRE(r.try_write(15));
  CHECK_FALSE(r.try_write(16));  // full: fails, and publishes the four it holds
  CHECK(r.unpublished() == 0);
  std::vector<uint64_t> got;
  CHECK(r.consume_all([&](uint64_t v) { got.push_back(v); }) == 4);
  CHECK(got == std::vector<uint64_t>{12, 13, 14, 15});
  REQUIRE(r.try_push(16));  // try_push = try_write + publish
  CHECK(r.unpublished() == 0);
  CHECK(*r.front() == 16);
}

TEST_CASE("batched publication across two threads: order, no loss, no deadlock on a full ring") {
  constexpr uint64_t kItems = 2'000'000;
  SpscRing<uint64_t> r(256);
  std::thread producer([&] {
    uint64_t batch = 1;
    for (uint64_t i = 0; i < kItems; ++i) {
      while (!r.try_write(i)) std::this_thread::yield();  // a failed write published: the consumer frees room
      if (r.unpublished() >= batch) {
        r.publish();
        batch = batch % 300 + 1;  // batches of 1..300, some larger than the ring
      }
    }
    r.publish();
  });
  const bool ordered = consume_in_order(r, kItems);
  producer.join();
  CHECK(ordered);
  CHECK(r.front() == nullptr);
}

// ---------------------------------------------------------------- RecordRing

namespace {

using flapwatch::RecordKind;
using flapwatch::RecordRing;

// One record of each kind the reader emits, numbered by `i` (LLDP every 7th).
Record sample_record(int64_t i) {
  Record r{};
  r.ts_ns = 1'700'000'000'000'000'000 + i;
  r.frame = i;
  r.port = static_cast<int32_t>(i % 5);
  switch (i % 7) {
    case 0:
      r.kind = RecordKind::lldp;
      r.lldp.src_mac = 0x02000000000 + i;
      r.lldp.chassis_id = static_cast<int32_t>(i);
      r.lldp.port_id = static_cast<int32_t>(i + 1);
      r.lldp.ttl = 120;
      r.lldp.system_name = 9;
      r.lldp.mau_type = 40;
      r.lldp.speed_bps = 100'000'000'000;
      r.lldp.max_frame_size = 9216;
      r.lldp.pfc_enable = 0x18;
      break;
    case 1:
    case 2:
      r.kind = RecordKind::pfc;
      r.pfc.src_mac = 0x020000000001;
      r.pfc.vlan = static_cast<int32_t>(i % 4095);
      r.pfc.class_enable = static_cast<uint8_t>(i);
      for (int k = 0; k < 8; ++k) r.pfc.quanta[k] = static_cast<uint16_t>(i * 8 + k);
      break;
    case 3:
      r.kind = RecordKind::pause;
      r.pause.src_mac = 0x020000000002;
      r.pause.vlan = -1;
      r.pause.quanta = static_cast<uint16_t>(i);
      break;
    case 4:
      r.kind = RecordKind::link;
      r.link = flapwatch::LinkRecord{16, static_cast<int32_t>(i), 0x11043, 6, 1,
                                     i % 2 ? -1 : int64_t(0xffffffffu), static_cast<int64_t>(i), -1,
                                     0x0200000000ff, static_cast<uint16_t>(i % 2 ? 1 : 772),
                                     static_cast<uint32_t>(i % 3 ? 0 : 0x100), static_cast<uint8_t>(i % 5 == 0)};
      break;
    case 5:
      r.kind = RecordKind::malformed;
      r.malformed.offset = i * 100;
      r.malformed.reason = 3;
      break;
    default:
      r.kind = RecordKind::port_info;
      r.port_info.configured_speed_bps = 400'000'000'000;
  }
  return r;
}

bool same(const Record& a, const Record& b) {
  if (a.ts_ns != b.ts_ns || a.frame != b.frame || a.port != b.port || a.kind != b.kind) return false;
  switch (a.kind) {
    case RecordKind::pfc:
      for (int k = 0; k < 8; ++k)
        if (a.pfc.quanta[k] != b.pfc.quanta[k]) return false;
      return a.pfc.src_mac == b.pfc.src_mac && a.pfc.vlan == b.pfc.vlan && a.pfc.class_enable == b.pfc.class_enable;
    case RecordKind::pause:
      return a.pause.src_mac == b.pause.src_mac && a.pause.vlan == b.pause.vlan && a.pause.quanta == b.pause.quanta;
    case RecordKind::link: {
      const auto &x = a.link, &y = b.link;
      return x.msg_type == y.msg_type && x.ifindex == y.ifindex && x.flags == y.flags && x.operstate == y.operstate &&
             x.carrier == y.carrier && x.carrier_changes == y.carrier_changes &&
             x.carrier_up_count == y.carrier_up_count && x.carrier_down_count == y.carrier_down_count && x.mac == y.mac &&
             x.dev_type == y.dev_type && x.change == y.change && x.dump == y.dump;
    }
    case RecordKind::lldp: {
      const auto &x = a.lldp, &y = b.lldp;
      return x.src_mac == y.src_mac && x.chassis_id == y.chassis_id && x.port_id == y.port_id && x.ttl == y.ttl &&
             x.system_name == y.system_name && x.mau_type == y.mau_type && x.speed_bps == y.speed_bps &&
             x.max_frame_size == y.max_frame_size && x.pfc_enable == y.pfc_enable;
    }
    case RecordKind::malformed:
      return a.malformed.offset == b.malformed.offset && a.malformed.reason == b.malformed.reason;
    case RecordKind::port_info:
      return a.port_info.configured_speed_bps == b.port_info.configured_speed_bps;
  }
  return false;
}

}  // namespace

TEST_CASE("RecordRing: every kind comes out as it went in; a RingRecord is one cache line") {
  CHECK(sizeof(flapwatch::RingRecord) == 64);
  CHECK(alignof(flapwatch::RingRecord) == 64);
  RecordRing ring(16);
  for (int64_t i = 0; i < 14; ++i) REQUIRE(ring.try_push(sample_record(i)));
  int64_t next = 0;
  bool ok = true;
  CHECK(ring.consume_all([&](const Record& r) { ok &= same(r, sample_record(next++)); }) == 14);
  CHECK(ok);
  CHECK(ring.empty());
}

TEST_CASE("RecordRing: a full ring refuses an LLDP record whole (no orphan payload)") {
  RecordRing ring(4);
  for (int64_t i = 1; i <= 4; ++i) REQUIRE(ring.try_push(sample_record(i)));  // no LLDP among 1..4
  CHECK_FALSE(ring.try_push(sample_record(0)));  // LLDP, refused
  CHECK_FALSE(ring.try_push(sample_record(7)));  // LLDP again
  std::vector<int64_t> frames;
  ring.consume_all([&](const Record& r) { frames.push_back(r.frame); });
  CHECK(frames == std::vector<int64_t>{1, 2, 3, 4});
  REQUIRE(ring.try_push(sample_record(14)));  // LLDP: its own payload, not a refused one
  bool ok = false;
  ring.consume_all([&](const Record& r) { ok = same(r, sample_record(14)); });
  CHECK(ok);
}

TEST_CASE("RecordRing across two threads, staged: order and every payload intact, no deadlock") {
  // Capacity 4 with 32-record stages, and a run of LLDP records longer than the side
  // ring: progress then depends on flush() handing the consumer what it can take.
  for (int64_t lldp_every : {7, 1}) {
    CAPTURE(lldp_every);
    constexpr int64_t kItems = 200'000;
    auto record = [&](int64_t i) {
      Record r = sample_record(lldp_every == 1 ? i * 7 : i);  // i * 7: all LLDP
      r.frame = i;
      return r;
    };
    for (size_t capacity : {size_t(4), size_t(64)}) {
      RecordRing ring(capacity);
      std::thread producer([&] {
        for (int64_t i = 0; i < kItems; ++i)
          while (!ring.try_stage(record(i))) std::this_thread::yield();
        while (!ring.flush()) std::this_thread::yield();
      });
      int64_t next = 0;
      bool ok = true;
      while (next < kItems)
        ring.consume_all([&](const Record& r) {
          ok &= same(r, record(next));
          ++next;
        });
      producer.join();
      CHECK(ok);
      CHECK(next == kItems);
      CHECK(ring.empty());
    }
  }
}

TEST_CASE("SpscRing::try_push_n: bulk copy across the wrap, partial when short of room") {
  SpscRing<uint64_t> r(8);
  uint64_t items[12];
  for (uint64_t i = 0; i < 12; ++i) items[i] = 100 + i;
  CHECK(r.try_push_n(items, 5) == 5);
  CHECK(r.consume_all([](uint64_t) {}) == 5);
  CHECK(r.try_push_n(items + 5, 7) == 7);  // slots 5..7 then 0..3: wraps
  CHECK(r.try_push_n(items, 4) == 1);      // one slot left
  CHECK(r.try_push_n(items, 4) == 0);
  std::vector<uint64_t> got;
  r.consume_all([&](uint64_t v) { got.push_back(v); });
  CHECK(got == std::vector<uint64_t>{105, 106, 107, 108, 109, 110, 111, 100});
}
