// CounterFeed: the live agent's counter thread and its push path, as records into the
// tracker thread (docs/DESIGN.md, "Counters").
//
// - The counter thread (one per agent, not per interface) reads each watched
//   interface's counters every interval (EthtoolReader, EthtoolNetlink), classifies
//   them by the driver's profile and writes the sample's records into its own SPSC
//   RecordRing: the reader thread owns the frame ring's producer side, so a second
//   producer gets a second ring; the tracker thread drains both. A full ring drops the
//   sample's records and counts them, as the frame ring does.
// - The push path: an embedder's link events and counter samples (a vendor SDK, SAI
//   notifications; any thread) go through a third ring whose producer side a mutex
//   serialises. They are records like any other: same gate, same engine.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flapwatch/counters.hpp"
#include "flapwatch/live/counter_source.hpp"
#include "flapwatch/record_gate.hpp"
#include "flapwatch/record_ring.hpp"

namespace flapwatch {

struct CounterOptions {
  std::vector<std::string> interfaces;  // polled when enabled
  bool enabled = false;
  int64_t interval_ns = 100'000'000;
  std::vector<CounterProfile> profiles;  // by driver (python/flapwatch/counters/profiles.py)
  std::string driver;                    // force this profile ("": by ETHTOOL_GDRVINFO, else the best match)
  bool netlink_extras = true;            // PAUSE_GET stats, LINKSTATE EXT_DOWN_CNT
  size_t keep_raw = 0;                   // keep the last N raw samples (tests, the bench)
};

// A raw read, every name (what the test and the bench look at).
struct RawCounterSample {
  int64_t ts_ns, read_ns;
  std::string interface;
  bool names_reread;
  std::shared_ptr<const std::vector<std::string>> names;  // shared while the list stays the same
  std::vector<uint64_t> values;
};

struct CounterFeedStats {
  uint64_t samples = 0, reads_failed = 0, name_rereads = 0, dropped = 0, pushed = 0, push_dropped = 0;
  int64_t read_ns_total = 0;  // GSTATS time summed
};

class CounterFeed {
 public:
  CounterFeed(CounterOptions opts, StringTable& strings, const EngineConfig& cfg, size_t ring_capacity,
              std::function<void()> wake);
  ~CounterFeed();
  void start(std::atomic<bool>& running);
  void stop();

  // Any thread. False when the push ring is full (the event is dropped and counted).
  bool push_link(const LinkEvent& e);
  bool push_counters(const CounterSample& s);
  // Before start(): called with the Custom Block (io/counter_block.hpp) of every sample
  // and pushed link event that reached the ring (polled: the counter thread; pushed: the
  // pusher's thread, serialised), e.g. to record it.
  using Recorder = std::function<void(std::vector<uint8_t> block)>;
  void set_recorder(Recorder r) { recorder_ = std::move(r); }

  // Tracker thread: records from the counter thread and the pushes.
  template <class F>
  size_t consume(F&& f, size_t max = SIZE_MAX) {
    size_t n = polled_.consume_all(f, max);
    return n + pushed_.consume_all(f, max);
  }
  bool empty() { return polled_.empty() && pushed_.empty(); }

  CounterFeedStats stats() const;
  std::vector<std::string> take_notices();
  std::vector<RawCounterSample> take_raw();

 private:
  struct Iface {
    std::unique_ptr<EthtoolReader> reader;
    int32_t port = -1;
    uint32_t seq = 0;
    const CounterProfile* profile = nullptr;
    bool profiled = false, failed = false, no_pause = false, no_down_count = false;
    Classified classified;
    std::shared_ptr<const std::vector<std::string>> names;
  };
  void loop(std::atomic<bool>& running);
  void poll(Iface& f);
  void notice(std::string s);

  CounterOptions opts_;
  StringTable& strings_;
  const EngineConfig& cfg_;
  std::function<void()> wake_;
  Recorder recorder_;
  RecordRing polled_, pushed_;
  struct Sink final : RecordSink {
    explicit Sink(RecordRing& r) : ring(r) {}
    void on_record(const Record& rec) override { ok = ring.try_push(rec) && ok; }
    RecordRing& ring;
    bool ok = true;
  };
  Sink polled_sink_, pushed_sink_;
  RecordGate polled_gate_, pushed_gate_;
  std::mutex push_mu_;
  std::vector<uint32_t> push_seq_;
  std::vector<Iface> ifaces_;
  std::unique_ptr<EthtoolNetlink> nl_;
  std::thread thread_;
  mutable std::mutex mu_;  // stats, notices, raw
  CounterFeedStats stats_;
  std::vector<std::string> notices_;
  std::deque<RawCounterSample> raw_;
};

}  // namespace flapwatch
