// LiveAgent: the embedding API for switch- and host-side agents. It opens the live
// sources (netlink RTNLGRP_LINK with an initial dump; one AF_PACKET TPACKET_V3 ring
// per interface), decodes on a reader thread, hands records to a tracker thread
// through a lock-free SPSC ring, and runs the same Engine as offline replay, so a
// recording (record_path: every frame and netlink message the trackers got, as pcapng)
// replays to the same detections. A full ring drops the record and counts it (and its
// frame is not recorded): live, the reader never waits. An interface that disappears
// is reported, not fatal.
// The recording rotates by size or time (RotationOptions); a write error (a full disk)
// stops the recording with a notice and LiveStats::record_errors, never the detection.
// reconfigure() (the agent's SIGHUP) swaps the configuration between two records.
//
//   flapwatch::LiveAgent agent(cfg, {.interfaces = {"eth0"}});
//   agent.set_callback([](flapwatch::DetectionKind k, const flapwatch::Detections& d, size_t row) { ... });
//   agent.start();  ...  agent.stop();
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flapwatch/engine.hpp"
#include "flapwatch/io/pcapng_writer.hpp"
#include "flapwatch/live/afpacket_source.hpp"
#include "flapwatch/live/counter_feed.hpp"
#include "flapwatch/live/netlink_source.hpp"
#include "flapwatch/record_ring.hpp"

namespace flapwatch {

struct LiveOptions {
  std::vector<std::string> interfaces;  // AF_PACKET capture of PFC/PAUSE/LLDP on these
  bool netlink = true;                  // link messages from RTNLGRP_LINK
  size_t ring_capacity = 1 << 16;
  std::string record_path;  // every frame the trackers get, here (pcapng); empty: no recording
  RotationOptions rotation;  // of the recording: by size, by time, files kept
  int64_t tick_ns = 100'000'000;  // how often time passes for the trackers without records
  // Ticks run this far behind the clock: a frame already on the wire but still in a
  // kernel block (retired after 10 ms) or in the ring must reach the trackers before
  // time passes over it, or live and replay would differ (a pause seen as over early).
  int64_t tick_lag_ns = 250'000'000;
  // Counters (live/counter_feed.hpp): counters.enabled polls counters.interfaces (empty:
  // the capture interfaces) every counters.interval_ns from one thread.
  CounterOptions counters;
};

struct LiveStats {
  uint64_t frames = 0;         // frames and netlink datagrams read
  uint64_t records = 0;        // records the trackers consumed
  uint64_t ring_dropped = 0;   // records dropped because the ring was full
  uint64_t kernel_drops = 0;   // frames the kernel dropped (AF_PACKET ring full)
  uint64_t netlink_overruns = 0;
  std::vector<std::string> notices;  // e.g. an interface that disappeared
  // The recording: on (false without one, or after a write error stopped it), what it
  // wrote (all files), the files started since the first, write errors (0 or 1).
  bool recording = false;
  uint64_t record_packets = 0, record_bytes = 0, record_rotations = 0, record_errors = 0;
  uint64_t reloads = 0;  // configurations applied by reconfigure()
  CounterFeedStats counters;  // counter samples read, failed, dropped; events pushed
};

class LiveAgent {
 public:
  LiveAgent(const EngineConfig& cfg, LiveOptions opts);
  ~LiveAgent();
  LiveAgent(const LiveAgent&) = delete;
  LiveAgent& operator=(const LiveAgent&) = delete;

  // Called on the tracker thread, for each new detection row (before start()).
  void set_callback(Engine::Callback cb) { callback_ = std::move(cb); }
  void start();
  // Stops both threads, finishes the engine (ports table, pending clears) and closes
  // the recording. Idempotent.
  void stop();

  // Runs f(engine) under the lock the tracker thread holds while it works, so another
  // thread can read the detection tables consistently.
  template <class F>
  auto with_engine(F&& f) {
    std::lock_guard<std::mutex> g(engine_mu_);
    return f(*engine_);
  }
  // The per-port table as of now; its counts run on across reconfigure().
  PortTable port_snapshot();
  // Validates cfg (std::invalid_argument naming the problem; the running configuration
  // stays) and has the tracker thread apply it between two records: a new Engine on
  // the new configuration, primed with what each port's state rests on (its last link
  // message, its configured speed, its neighbors' last LLDPDUs), so open outages, carrier
  // counters (hidden flaps), neighbors and their TTLs and the per-port counts run on.
  // Policy windows and dampening penalties start afresh (a policy tripped at the swap
  // gets its clear then; an outage open at the swap counts in the new ones), and so do
  // PFC pauses in progress (a storm still running trips again after the detection
  // time). Sockets, rings, recording and the string table are kept; detection rows not
  // yet handed out are handed out. The port selection stays the one the agent started with.
  void reconfigure(const EngineConfig& cfg);
  // Push API (any thread, before or after start()): an embedder's own link events and
  // counter samples, into the trackers through a ring like every record. False when
  // that ring is full (dropped, counted in stats().counters.push_dropped).
  // Before start(): poll counters on these terms (replaces opts.counters; events
  // pushed before are dropped).
  void configure_counters(CounterOptions c);
  bool push_link(const LinkEvent& e) { return feed_->push_link(e); }
  bool push_counters(const CounterSample& s) { return feed_->push_counters(s); }
  // The last raw counter reads (every name), with opts.counters.keep_raw.
  std::vector<RawCounterSample> take_raw_counter_samples() { return feed_->take_raw(); }
  LiveStats stats();
  StringTable& strings() { return strings_; }
  bool running() const { return running_.load(); }

 private:
  void reader_loop();
  void write_pending_counters();
  void tracker_loop();
  void on_row(DetectionKind kind, const Detections& d, size_t row);
  void remember(const Record& r);  // what a reconfigured engine is primed with
  void apply(const EngineConfig& cfg);  // tracker thread, engine_mu_ held
  void notice_record_failure();          // reader thread: once, when the recording stopped

  EngineConfig cfg_;  // the reader thread's (RecordGate): as started
  LiveOptions opts_;
  StringTable strings_;
  std::unique_ptr<Engine> engine_;
  Engine::Callback callback_;
  bool muted_ = false;  // priming a new engine: its rows go nowhere
  std::map<std::pair<int32_t, int32_t>, bool> tripped_;  // (port, policy) tripped now
  // Tracker thread: the records a new engine is primed with, per port.
  std::vector<Record> last_link_, last_info_;
  std::vector<std::vector<Record>> last_lldp_;  // per port, one per neighbor MAC (a few)
  PortTable base_;  // counts of the engines before the current one, per port
  std::mutex pending_mu_;
  std::unique_ptr<EngineConfig> pending_, active_;  // active_: the last one applied (none: cfg_)
  std::atomic<bool> has_pending_{false};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<int64_t> reader_seen_ns_{0};  // the reader has read every frame from before this
  bool record_failure_noticed_ = false;
  std::unique_ptr<NetlinkSource> netlink_;
  std::vector<std::unique_ptr<AfPacketSource>> packets_;
  std::unique_ptr<RotatingPcapngWriter> writer_;
  std::mutex record_mu_;  // counter samples for the recording, from the counter and pushing threads
  std::vector<std::vector<uint8_t>> record_pending_;
  uint64_t record_pending_dropped_ = 0;
  uint32_t netlink_iface_ = 0;
  std::vector<uint32_t> packet_iface_;
  RecordRing ring_;
  std::atomic<bool> running_{false}, reader_done_{false};
  std::atomic<uint64_t> frames_{0}, records_{0}, dropped_{0};
  std::mutex engine_mu_;
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::mutex notices_mu_;
  std::vector<std::string> notices_;
  std::thread reader_, tracker_;
  std::unique_ptr<CounterFeed> feed_;  // last: its thread goes first
};

}  // namespace flapwatch
