// LiveAgent: the embedding API for switch- and host-side agents. It opens the live
// sources (netlink RTNLGRP_LINK with an initial dump; one AF_PACKET TPACKET_V3 ring
// per interface), decodes on a reader thread, hands records to a tracker thread
// through a lock-free SPSC ring, and runs the same Engine as offline replay, so a
// recording (record_path: every consumed frame and netlink message, as pcapng)
// replays to the same detections. A full ring drops the record and counts it: live,
// the reader never waits. An interface that disappears is reported, not fatal.
//
//   flapwatch::LiveAgent agent(cfg, {.interfaces = {"eth0"}});
//   agent.set_callback([](flapwatch::DetectionKind k, const flapwatch::Detections& d, size_t row) { ... });
//   agent.start();  ...  agent.stop();
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flapwatch/engine.hpp"
#include "flapwatch/io/pcapng_writer.hpp"
#include "flapwatch/live/afpacket_source.hpp"
#include "flapwatch/live/netlink_source.hpp"
#include "flapwatch/record_ring.hpp"

namespace flapwatch {

struct LiveOptions {
  std::vector<std::string> interfaces;  // AF_PACKET capture of PFC/PAUSE/LLDP on these
  bool netlink = true;                  // link messages from RTNLGRP_LINK
  size_t ring_capacity = 1 << 16;
  std::string record_path;  // write every consumed frame here (pcapng); empty: no recording
  int64_t tick_ns = 100'000'000;  // how often time passes for the trackers without records
  // Ticks run this far behind the clock: a frame already on the wire but still in a
  // kernel block (retired after 10 ms) or in the ring must reach the trackers before
  // time passes over it, or live and replay would differ (a pause seen as over early).
  int64_t tick_lag_ns = 250'000'000;
};

struct LiveStats {
  uint64_t frames = 0;         // frames and netlink datagrams read
  uint64_t records = 0;        // records the trackers consumed
  uint64_t ring_dropped = 0;   // records dropped because the ring was full
  uint64_t kernel_drops = 0;   // frames the kernel dropped (AF_PACKET ring full)
  uint64_t netlink_overruns = 0;
  std::vector<std::string> notices;  // e.g. an interface that disappeared
};

class LiveAgent {
 public:
  LiveAgent(const EngineConfig& cfg, LiveOptions opts);
  ~LiveAgent();
  LiveAgent(const LiveAgent&) = delete;
  LiveAgent& operator=(const LiveAgent&) = delete;

  // Called on the tracker thread, for each new detection row (before start()).
  void set_callback(Engine::Callback cb) { engine_.set_callback(std::move(cb)); }
  void start();
  // Stops both threads, finishes the engine (ports table, pending clears) and closes
  // the recording. Idempotent.
  void stop();

  // Runs f(engine) under the lock the tracker thread holds while it works, so another
  // thread can read the detection tables consistently.
  template <class F>
  auto with_engine(F&& f) {
    std::lock_guard<std::mutex> g(engine_mu_);
    return f(engine_);
  }
  LiveStats stats();
  StringTable& strings() { return strings_; }
  bool running() const { return running_.load(); }

 private:
  void reader_loop();
  void tracker_loop();

  EngineConfig cfg_;
  LiveOptions opts_;
  StringTable strings_;
  Engine engine_;
  std::unique_ptr<NetlinkSource> netlink_;
  std::vector<std::unique_ptr<AfPacketSource>> packets_;
  std::unique_ptr<PcapngWriter> writer_;
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
};

}  // namespace flapwatch
