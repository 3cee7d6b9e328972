// flapwatch::SpscRing against boost::lockfree::spsc_queue: one producer thread, one
// consumer thread (pinned to cores 0 and 1 when the machine lets us), the same item
// type and capacity, N items, best of R runs. Prints ops/s per queue and the ratios.
//
//   g++ -O2 -std=c++20 -pthread -I cpp/include bench/ring_bench.cpp -o ring_bench
//   ./ring_bench [--items-u64 N] [--items-record N] [--runs R] [--pairs K]
//
// Items: uint64_t, and flapwatch::RingRecord (64 bytes, one cache line: what the
// pipeline's RecordRing carries). Queues (all capacity 1 << 14, the pipeline's default):
//   flapwatch              SpscRing<T>(C): try_push / poll + pop, one item at a time
//                          (poll: the consumer API for a caller that spins)
//   flapwatch-front        SpscRing<T>(C): try_push / front + pop, one item at a time
//                          (front: exact, never backs off)
//   boost                  spsc_queue<T>(C), runtime capacity: push / pop(T&)
//   boost-fixed            spsc_queue<T, capacity<C>>, compile-time capacity: push / pop(T&)
//   boost-consume_all      spsc_queue<T>(C): push / consume_all
//   flapwatch-consume_all  SpscRing<T>(C): try_push / consume_all
//   flapwatch-bulk         SpscRing<T>(C): 32 items staged, try_push_n / consume_all
//                          (the pipeline's pattern: RecordRing::try_stage)
//   boost-bulk             spsc_queue<T>(C): 32 items staged, push(T*, n) / consume_all
// Both sides busy-spin on full/empty (no yield, no pause), the same for every queue.
// The queues run round-robin, so load from other processes hits them alike; each
// result line shows the share of the run both threads actually had a CPU, and the
// ring's mean fill (the regime: ~0 the consumer reads right behind the producer,
// ~capacity the producer waits for room). "RUN" lines give every run. --pairs K then
// runs K pairs of N/10 items, flapwatch/boost per item and flapwatch-bulk/boost-bulk,
// and reports the median per-pair ratio of each.
// The consumer checks every item's sequence number, so nothing is optimised away and
// loss or reordering aborts the run. Machine-readable lines start with "RESULT".
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "flapwatch/record_ring.hpp"
#include "flapwatch/spsc_ring.hpp"

namespace {

#ifndef RING_CAPACITY
#define RING_CAPACITY (1 << 14)  // the pipeline's default ring capacity
#endif
constexpr size_t kCapacity = RING_CAPACITY;

std::atomic<bool> g_pinned{true};

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) g_pinned = false;
}

// Item types: a sequence number in, the same number out.
template <class T>
struct Item;
template <>
struct Item<uint64_t> {
  static const char* name() { return "uint64"; }
  static uint64_t make(uint64_t i) { return i; }
  static uint64_t seq(const uint64_t& v) { return v; }
};
// The pipeline's item: a PFC record as the reader packs it into the ring.
template <>
struct Item<flapwatch::RingRecord> {
  static const char* name() { return "RingRecord"; }
  static flapwatch::RingRecord make(uint64_t i) {
    flapwatch::RingRecord r{};
    r.ts_ns = static_cast<int64_t>(i);
    r.frame = static_cast<int64_t>(i);
    r.port = 1;
    r.kind = flapwatch::RecordKind::pfc;
    r.pfc.class_enable = 0x08;
    r.pfc.quanta[3] = 0xffff;
    return r;
  }
  static uint64_t seq(const flapwatch::RingRecord& r) { return static_cast<uint64_t>(r.frame); }
};

[[noreturn]] void die_order(uint64_t want, uint64_t got) {
  std::fprintf(stderr, "out of order: expected %llu, got %llu\n", (unsigned long long)want, (unsigned long long)got);
  std::exit(2);
}

// How full the ring is, sampled by the consumer every 64 Ki items: near 0 the consumer
// keeps up and reads right behind the producer, near capacity the producer waits.
struct FillSampler {
  double sum = 0;
  uint64_t samples = 0;
  // `fill` is only called on sampled items: reading the other side's index on every
  // item would add the cross-core traffic the rings are built to avoid.
  template <class Fill>
  void sample(uint64_t i, Fill&& fill) {
    if ((i & 0xffff) == 0) {
      sum += static_cast<double>(fill());
      ++samples;
    }
  }
  double mean() const { return samples ? sum / static_cast<double>(samples) : 0; }
};

// Queue adapters: push(v) -> bool; consume(n) drains n items checking the sequence.
// Peek is &SpscRing<T>::poll (spinning consumer) or &SpscRing<T>::front (exact).
template <class T, T* (flapwatch::SpscRing<T>::*Peek)()>
struct FlapwatchPerItem {
  flapwatch::SpscRing<T> q{kCapacity};
  FillSampler fill;
  bool push(const T& v) { return q.try_push(v); }
  void consume(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      T* p;
      while ((p = (q.*Peek)()) == nullptr) {
      }
      if (Item<T>::seq(*p) != i) die_order(i, Item<T>::seq(*p));
      q.pop();
      fill.sample(i, [&] { return q.size(); });
    }
  }
};
template <class T>
struct FlapwatchRing : FlapwatchPerItem<T, &flapwatch::SpscRing<T>::poll> {
  static constexpr const char* name = "flapwatch";
};
template <class T>
struct FlapwatchFront : FlapwatchPerItem<T, &flapwatch::SpscRing<T>::front> {
  static constexpr const char* name = "flapwatch-front";
};

// Consumers that take what is there with consume_all (either queue has one).
template <class T, class Q, class Size>
void drain_batches(Q& q, uint64_t n, FillSampler& fill, Size&& size) {
  uint64_t i = 0;
  while (i < n)
    q.consume_all([&](const T& v) {
      if (Item<T>::seq(v) != i) die_order(i, Item<T>::seq(v));
      fill.sample(i, size);
      ++i;
    });
}

// Producers that stage kBatch items locally and copy them in with one bulk push (the
// pipeline's pattern, RecordRing::try_stage); push_n(items, n) returns how many fit.
constexpr size_t kBatch = 32;

template <class T>
struct Staged {
  T items[kBatch];
  size_t count = 0;
  template <class PushN>
  void flush_some(PushN&& push_n) {
    size_t pushed = push_n(items, count);
    if (pushed < count) std::memmove(static_cast<void*>(items), items + pushed, (count - pushed) * sizeof(T));
    count -= pushed;
  }
  template <class PushN>
  bool push(const T& v, PushN&& push_n) {
    if (count == kBatch) {
      flush_some(push_n);
      if (count == kBatch) return false;
    }
    items[count++] = v;
    if (count == kBatch) flush_some(push_n);
    return true;
  }
  template <class PushN>
  void finish(PushN&& push_n) {
    while (count) flush_some(push_n);
  }
};

// try_push / consume_all: the per-item producer with the batch consumer.
template <class T>
struct FlapwatchBatch {
  static constexpr const char* name = "flapwatch-consume_all";
  flapwatch::SpscRing<T> q{kCapacity};
  FillSampler fill;
  bool push(const T& v) { return q.try_push(v); }
  void consume(uint64_t n) { drain_batches<T>(q, n, fill, [&] { return q.size(); }); }
};

// Staged try_push_n / consume_all: both sides batched, as in the pipeline.
template <class T>
struct FlapwatchBulk {
  static constexpr const char* name = "flapwatch-bulk";
  flapwatch::SpscRing<T> q{kCapacity};
  FillSampler fill;
  Staged<T> staged;
  static constexpr auto push_n = [](flapwatch::SpscRing<T>& q) {
    return [&q](const T* items, size_t n) { return q.try_push_n(items, n); };
  };
  bool push(const T& v) { return staged.push(v, push_n(q)); }
  void finish() { staged.finish(push_n(q)); }
  void consume(uint64_t n) { drain_batches<T>(q, n, fill, [&] { return q.size(); }); }
};

// The same with boost's batch API: push(const T*, n) / consume_all.
template <class T>
struct BoostBulk {
  static constexpr const char* name = "boost-bulk";
  boost::lockfree::spsc_queue<T> q{kCapacity};
  FillSampler fill;
  Staged<T> staged;
  static constexpr auto push_n = [](boost::lockfree::spsc_queue<T>& q) {
    return [&q](const T* items, size_t n) { return q.push(items, n); };
  };
  bool push(const T& v) { return staged.push(v, push_n(q)); }
  void finish() { staged.finish(push_n(q)); }
  void consume(uint64_t n) { drain_batches<T>(q, n, fill, [&] { return q.read_available(); }); }
};

// Per item, boost: push / pop(T&), runtime or compile-time capacity.
template <class T, class Queue>
void pop_each(Queue& q, uint64_t n, FillSampler& fill) {
  T v;
  for (uint64_t i = 0; i < n; ++i) {
    while (!q.pop(v)) {
    }
    if (Item<T>::seq(v) != i) die_order(i, Item<T>::seq(v));
    fill.sample(i, [&] { return q.read_available(); });
  }
}

template <class T>
struct BoostRuntime {
  static constexpr const char* name = "boost";
  boost::lockfree::spsc_queue<T> q{kCapacity};
  FillSampler fill;
  bool push(const T& v) { return q.push(v); }
  void consume(uint64_t n) { pop_each<T>(q, n, fill); }
};

template <class T>
struct BoostFixed {
  static constexpr const char* name = "boost-fixed";
  boost::lockfree::spsc_queue<T, boost::lockfree::capacity<kCapacity>> q;
  FillSampler fill;
  bool push(const T& v) { return q.push(v); }
  void consume(uint64_t n) { pop_each<T>(q, n, fill); }
};

template <class T>
struct BoostConsumeAll {
  static constexpr const char* name = "boost-consume_all";
  boost::lockfree::spsc_queue<T> q{kCapacity};
  FillSampler fill;
  bool push(const T& v) { return q.push(v); }
  void consume(uint64_t n) { drain_batches<T>(q, n, fill, [&] { return q.read_available(); }); }
};

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One run: ops/s from the start signal to the consumer's last item, and the share of
// that wall time both threads were on a CPU (below ~0.95 other work took our cores:
// the figure is then an underestimate).
struct RunResult {
  double ops_per_s;
  double cpu_share;
  double fill;  // mean ring fill seen by the consumer
};

template <template <class> class Q, class T>
RunResult run_once(uint64_t n) {
  auto q = std::make_unique<Q<T>>();  // boost-fixed holds its slots inline: heap, not stack
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  double producer_cpu = 0, consumer_cpu = 0, secs = 0;
  std::thread producer([&] {
    pin(0);
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) {
    }
    double c0 = thread_cpu_s();
    for (uint64_t i = 0; i < n; ++i) {
      const T v = Item<T>::make(i);
      while (!q->push(v)) {
      }
    }
    if constexpr (requires { q->finish(); }) q->finish();
    producer_cpu = thread_cpu_s() - c0;
  });
  std::thread consumer([&] {
    pin(1);
    ready.fetch_add(1);
    while (ready.load() != 2) {
    }
    double c0 = thread_cpu_s();
    auto t0 = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    q->consume(n);
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    consumer_cpu = thread_cpu_s() - c0;
  });
  producer.join();
  consumer.join();
  return {static_cast<double>(n) / secs, std::min(1.0, (producer_cpu + consumer_cpu) / (2 * secs)), q->fill.mean()};
}

// The queues of one item type, run round-robin (run 1 of each, then run 2 of each,
// ...) so that other work on the machine hits them alike; the best run of each counts.
struct Series {
  const char* queue;
  RunResult (*run)(uint64_t);
  std::vector<RunResult> runs;
};

template <class T>
void bench_type(uint64_t n, int runs) {
  std::vector<Series> all = {{FlapwatchRing<T>::name, run_once<FlapwatchRing, T>, {}},
                             {BoostRuntime<T>::name, run_once<BoostRuntime, T>, {}},
                             {BoostFixed<T>::name, run_once<BoostFixed, T>, {}},
                             {BoostConsumeAll<T>::name, run_once<BoostConsumeAll, T>, {}},
                             {FlapwatchBatch<T>::name, run_once<FlapwatchBatch, T>, {}},
                             {FlapwatchBulk<T>::name, run_once<FlapwatchBulk, T>, {}},
                             {BoostBulk<T>::name, run_once<BoostBulk, T>, {}},
                             {FlapwatchFront<T>::name, run_once<FlapwatchFront, T>, {}}};
  for (int r = 0; r < runs; ++r)
    for (auto& s : all) {
      s.runs.push_back(s.run(n));
      const RunResult& x = s.runs.back();
      std::printf("RUN type=%s queue=%s run=%d ops_per_s=%.0f cpu_share=%.3f mean_fill=%.0f\n", Item<T>::name(),
                  s.queue, r + 1, x.ops_per_s, x.cpu_share, x.fill);
      std::fflush(stdout);
    }
  std::vector<double> best;
  for (auto& s : all) {
    auto b = *std::max_element(s.runs.begin(), s.runs.end(),
                               [](const RunResult& x, const RunResult& y) { return x.ops_per_s < y.ops_per_s; });
    std::vector<double> v;
    for (auto& x : s.runs) v.push_back(x.ops_per_s);
    std::sort(v.begin(), v.end());
    double median = v[v.size() / 2];
    best.push_back(b.ops_per_s);
    std::printf("  %-8s %-18s %8.1f M ops/s best (cpu share %.2f, mean fill %5.0f), median %6.1f M  (%d runs, %llu items)\n",
                Item<T>::name(), s.queue, b.ops_per_s / 1e6, b.cpu_share, b.fill, median / 1e6, runs,
                (unsigned long long)n);
    std::printf("RESULT type=%s queue=%s ops_per_s=%.0f median_ops_per_s=%.0f cpu_share=%.3f items=%llu runs=%d\n",
                Item<T>::name(), s.queue, b.ops_per_s, median, b.cpu_share, (unsigned long long)n, runs);
  }
  std::printf("  %-8s flapwatch / boost %.2fx, / boost-fixed %.2fx, / boost-consume_all %.2fx\n", Item<T>::name(),
              best[0] / best[1], best[0] / best[2], best[0] / best[3]);
  std::printf("  %-8s flapwatch-consume_all / boost %.2fx, / boost-consume_all %.2fx\n", Item<T>::name(),
              best[4] / best[1], best[4] / best[3]);
  std::printf("  %-8s flapwatch-bulk / boost-bulk %.2fx, / boost %.2fx\n", Item<T>::name(), best[5] / best[6],
              best[5] / best[1]);
  std::printf("  %-8s flapwatch-front / boost %.2fx\n", Item<T>::name(), best[7] / best[1]);
  for (size_t i = 1; i < all.size(); ++i)
    std::printf("RATIO type=%s vs=%s ratio=%.3f\n", Item<T>::name(), all[i].queue, best[0] / best[i]);
  std::fflush(stdout);
}

// Paired runs: a flapwatch queue and its boost counterpart back to back (alternating
// which goes first), the ratio taken per pair. Load from other work drifts slowly
// compared with one pair, so the median of the per-pair ratios is steadier than a
// ratio of two best-ofs. `pattern` names the pair: per-item (try_push / poll+pop
// against push / pop), per-item-front (front+pop instead of poll+pop) or bulk (staged try_push_n / consume_all against staged
// push(T*, n) / consume_all).
template <template <class> class Ours, template <class> class Theirs, class T>
void paired(const char* pattern, uint64_t n, int pairs) {
  std::vector<double> ratios;
  for (int k = 0; k < pairs; ++k) {
    double fw, b;
    if (k % 2 == 0) {
      fw = run_once<Ours, T>(n).ops_per_s;
      b = run_once<Theirs, T>(n).ops_per_s;
    } else {
      b = run_once<Theirs, T>(n).ops_per_s;
      fw = run_once<Ours, T>(n).ops_per_s;
    }
    ratios.push_back(fw / b);
  }
  std::sort(ratios.begin(), ratios.end());
  auto q = [&](double f) { return ratios[static_cast<size_t>(f * static_cast<double>(ratios.size() - 1) + 0.5)]; };
  std::printf("  %-8s paired %s / %s: median %.2fx (quartiles %.2f-%.2f, min %.2f, max %.2f; %d pairs of %llu "
              "items)\n",
              Item<T>::name(), Ours<T>::name, Theirs<T>::name, q(0.5), q(0.25), q(0.75), ratios.front(),
              ratios.back(), pairs, (unsigned long long)n);
  std::printf("PAIRED type=%s pattern=%s median=%.3f q1=%.3f q3=%.3f min=%.3f max=%.3f pairs=%d items=%llu\n",
              Item<T>::name(), pattern, q(0.5), q(0.25), q(0.75), ratios.front(), ratios.back(), pairs,
              (unsigned long long)n);
  std::fflush(stdout);
}

uint64_t arg_u64(int& i, int argc, char** argv) {
  if (i + 1 >= argc) {
    std::fprintf(stderr, "%s needs a value\n", argv[i]);
    std::exit(2);
  }
  return std::strtoull(argv[++i], nullptr, 10);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n64 = 50'000'000, nrec = 20'000'000;
  int runs = 3, pairs = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--items-u64"))
      n64 = arg_u64(i, argc, argv);
    else if (!std::strcmp(argv[i], "--items-record"))
      nrec = arg_u64(i, argc, argv);
    else if (!std::strcmp(argv[i], "--runs"))
      runs = static_cast<int>(arg_u64(i, argc, argv));
    else if (!std::strcmp(argv[i], "--pairs"))
      pairs = static_cast<int>(arg_u64(i, argc, argv));
    else {
      std::fprintf(stderr, "usage: %s [--items-u64 N] [--items-record N] [--runs R] [--pairs K]\n", argv[0]);
      return 2;
    }
  }
  std::printf("capacity %zu, sizeof(RingRecord) %zu, %u hardware threads\n", kCapacity, sizeof(flapwatch::RingRecord),
              std::thread::hardware_concurrency());
  if (n64) bench_type<uint64_t>(n64, runs);
  if (nrec) bench_type<flapwatch::RingRecord>(nrec, runs);
  // per-item: try_push / poll+pop against push / pop; per-item-front: the same with the
  // exact front(); bulk: staged try_push_n / consume_all against push(T*, n) / consume_all.
  if (pairs > 0) {
    using R = flapwatch::RingRecord;
    const uint64_t p64 = std::max<uint64_t>(n64 / 10, 1), prec = std::max<uint64_t>(nrec / 10, 1);
    if (n64) paired<FlapwatchRing, BoostRuntime, uint64_t>("per-item", p64, pairs);
    if (nrec) paired<FlapwatchRing, BoostRuntime, R>("per-item", prec, pairs);
    if (n64) paired<FlapwatchFront, BoostRuntime, uint64_t>("per-item-front", p64, pairs);
    if (nrec) paired<FlapwatchFront, BoostRuntime, R>("per-item-front", prec, pairs);
    if (n64) paired<FlapwatchBulk, BoostBulk, uint64_t>("bulk", p64, pairs);
    if (nrec) paired<FlapwatchBulk, BoostBulk, R>("bulk", prec, pairs);
  }
  std::printf("%s\nRESULT pinned=%d\n", g_pinned ? "threads pinned to cores 0 and 1" : "threads NOT pinned",
              g_pinned ? 1 : 0);
  return 0;
}
