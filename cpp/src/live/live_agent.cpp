#include "flapwatch/live/live_agent.hpp"

#include <poll.h>

#include <chrono>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/record_gate.hpp"

namespace flapwatch {
namespace {

// Live, the reader never waits for the trackers: a full ring drops and counts.
struct DroppingRingSink final : RecordSink {
  DroppingRingSink(RecordRing& r, std::atomic<uint64_t>& d) : ring(r), dropped(d) {}
  void on_record(const Record& rec) override {
    if (!ring.try_push(rec)) dropped.fetch_add(1, std::memory_order_relaxed);
    else pushed = true;
  }
  RecordRing& ring;
  std::atomic<uint64_t>& dropped;
  bool pushed = false;
};

}  // namespace

LiveAgent::LiveAgent(const EngineConfig& cfg, LiveOptions opts)
    : cfg_(cfg), opts_(std::move(opts)), engine_(cfg_, strings_), ring_(opts_.ring_capacity) {
  strings_.share_between_threads();
  if (opts_.netlink) netlink_ = std::make_unique<NetlinkSource>(strings_);
  for (const auto& ifname : opts_.interfaces) packets_.push_back(std::make_unique<AfPacketSource>(ifname, strings_));
  if (!opts_.record_path.empty()) {
    writer_ = std::make_unique<PcapngWriter>(opts_.record_path, "flapwatch agent");
    if (netlink_) netlink_iface_ = writer_->add_interface("netlink", kLinkNetlink);
    for (const auto& p : packets_) packet_iface_.push_back(writer_->add_interface(p->interface(), kLinkEthernet));
  }
}

LiveAgent::~LiveAgent() {
  try {
    stop();
  } catch (...) {
  }
}

void LiveAgent::start() {
  if (running_.exchange(true)) return;
  reader_done_ = false;
  tracker_ = std::thread([this] { tracker_loop(); });
  reader_ = std::thread([this] { reader_loop(); });
}

void LiveAgent::stop() {
  if (!running_.exchange(false)) return;
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard<std::mutex> g(wake_mu_);
  }
  wake_.notify_all();
  if (tracker_.joinable()) tracker_.join();
  {
    std::lock_guard<std::mutex> g(engine_mu_);
    engine_.finish();
  }
  if (writer_) writer_->close();
}

void LiveAgent::reader_loop() {
  Dispatcher dispatcher(strings_);
  DroppingRingSink ring_sink(ring_, dropped_);
  RecordGate gate(ring_sink, strings_, cfg_);
  DecodeError err;
  std::vector<pollfd> fds;
  std::vector<int> owner;  // -1 netlink, else index into packets_
  if (netlink_) {
    fds.push_back({netlink_->fd(), POLLIN, 0});
    owner.push_back(-1);
  }
  for (size_t i = 0; i < packets_.size(); ++i) {
    fds.push_back({packets_[i]->fd(), POLLIN, 0});
    owner.push_back(static_cast<int>(i));
  }
  auto last_check = std::chrono::steady_clock::now();
  while (running_.load(std::memory_order_relaxed)) {
    int ready = ::poll(fds.data(), fds.size(), 100);
    ring_sink.pushed = false;
    for (size_t k = 0; ready > 0 && k < fds.size(); ++k) {
      if (fds[k].fd < 0) continue;
      if (fds[k].revents & (POLLERR | POLLNVAL | POLLHUP)) {
        if (owner[k] >= 0 && !packets_[static_cast<size_t>(owner[k])]->alive()) {
          std::lock_guard<std::mutex> g(notices_mu_);
          notices_.push_back("interface " + packets_[static_cast<size_t>(owner[k])]->interface() +
                             " disappeared; no longer captured");
          fds[k].fd = -1;  // poll ignores negative descriptors
          continue;
        }
      }
      if (!(fds[k].revents & POLLIN)) continue;
      auto on_frame = [&](const Frame& f) {
        frames_.fetch_add(1, std::memory_order_relaxed);
        if (writer_)
          writer_->write_packet(owner[k] < 0 ? netlink_iface_ : packet_iface_[static_cast<size_t>(owner[k])], f.ts_ns,
                                f.data, f.caplen, f.origlen);
        dispatcher.dispatch(f, gate, err);
      };
      if (owner[k] < 0)
        netlink_->drain(on_frame);
      else
        packets_[static_cast<size_t>(owner[k])]->drain(on_frame);
    }
    if (ring_sink.pushed) wake_.notify_one();
    auto now = std::chrono::steady_clock::now();
    if (now - last_check > std::chrono::seconds(1)) {  // recording flushed; gone interfaces noticed
      last_check = now;
      if (writer_) writer_->flush();
      for (size_t k = 0; k < fds.size(); ++k) {
        if (fds[k].fd < 0 || owner[k] < 0) continue;
        auto& src = packets_[static_cast<size_t>(owner[k])];
        if (!src->alive()) {
          std::lock_guard<std::mutex> g(notices_mu_);
          notices_.push_back("interface " + src->interface() + " disappeared; no longer captured");
          fds[k].fd = -1;
        }
      }
    }
  }
  reader_done_ = true;
  wake_.notify_one();
}

void LiveAgent::tracker_loop() {
  int64_t last_tick = 0;
  for (;;) {
    size_t n = 0;
    {
      std::lock_guard<std::mutex> g(engine_mu_);
      n = ring_.consume_all([&](const Record& r) { engine_.on_record(r); }, 4096);
      int64_t now = realtime_ns();
      if (now - last_tick >= opts_.tick_ns) {
        engine_.tick(now - opts_.tick_lag_ns);
        last_tick = now;
      }
    }
    records_.fetch_add(n, std::memory_order_relaxed);
    if (n) continue;
    if (reader_done_.load() && ring_.empty()) break;
    std::unique_lock<std::mutex> lk(wake_mu_);
    wake_.wait_for(lk, std::chrono::nanoseconds(opts_.tick_ns), [this] { return !ring_.empty() || reader_done_.load(); });
  }
}

LiveStats LiveAgent::stats() {
  LiveStats s;
  s.frames = frames_.load();
  s.records = records_.load();
  s.ring_dropped = dropped_.load();
  for (auto& p : packets_) s.kernel_drops += p->kernel_drops();
  s.netlink_overruns = netlink_ ? netlink_->overruns() : 0;
  std::lock_guard<std::mutex> g(notices_mu_);
  s.notices = notices_;
  return s;
}

}  // namespace flapwatch
