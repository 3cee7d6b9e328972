#include "flapwatch/live/live_agent.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/io/counter_block.hpp"
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

// Appends src's rows to dst (the same table type: the same columns in the same order).
template <class Table>
void append_rows(Table& dst, Table& src) {
  std::vector<void*> columns;
  src.for_each_column([&](const char*, auto& c) { columns.push_back(&c); });
  size_t k = 0;
  dst.for_each_column([&](const char*, auto& c) {
    auto* from = static_cast<std::remove_reference_t<decltype(c)>*>(columns[k++]);
    c.insert(c.end(), from->begin(), from->end());
  });
}

void append_detections(Detections& dst, Detections& src) {
  std::vector<void*> tables;
  src.for_each_table([&](const char*, auto& t) { tables.push_back(&t); });
  size_t k = 0;
  dst.for_each_table([&](const char*, auto& t) {
    append_rows(t, *static_cast<std::remove_reference_t<decltype(t)>*>(tables[k++]));
  });
}

// Row `row` of src appended to dst (every column).
void append_port_row(PortTable& dst, PortTable& src, size_t row) {
  std::vector<void*> columns;
  src.for_each_column([&](const char*, auto& c) { columns.push_back(&c); });
  size_t k = 0;
  dst.for_each_column([&](const char*, auto& c) {
    c.push_back((*static_cast<std::remove_reference_t<decltype(c)>*>(columns[k++]))[row]);
  });
}

// The per-port counts that run on across engines: added (sign +1) or taken off (-1);
// the longest outage is the larger. A port only in `base` gets base's row.
void merge_counts(PortTable& t, PortTable& base, int sign) {
  for (size_t b = 0; b < base.port.size(); ++b) {
    auto it = std::find(t.port.begin(), t.port.end(), base.port[b]);
    if (it == t.port.end()) {
      if (sign > 0) append_port_row(t, base, b);
      continue;
    }
    auto i = static_cast<size_t>(it - t.port.begin());
    for (Column<int64_t> PortTable::*c : {&PortTable::flaps, &PortTable::hidden_flaps, &PortTable::micro_flaps, &PortTable::down_ns_total,
                    &PortTable::outages_over_budget, &PortTable::storms, &PortTable::paused_ns,
                    &PortTable::link_messages, &PortTable::pfc_frames, &PortTable::lldp_frames})
      (t.*c)[i] += sign * (base.*c)[b];
    if (sign > 0) t.longest_down_ns[i] = std::max(t.longest_down_ns[i], base.longest_down_ns[b]);
  }
}

constexpr size_t kNeighborsPrimed = 8;  // per port: LLDPDUs from this many MACs (the latest)

}  // namespace

LiveAgent::LiveAgent(const EngineConfig& cfg, LiveOptions opts)
    : cfg_(cfg), opts_(std::move(opts)), engine_(std::make_unique<Engine>(cfg_, strings_)),
      ring_(opts_.ring_capacity) {
  strings_.share_between_threads();
  engine_->set_callback([this](DetectionKind k, const Detections& d, size_t row) { on_row(k, d, row); });
  if (opts_.netlink) netlink_ = std::make_unique<NetlinkSource>(strings_);
  for (const auto& ifname : opts_.interfaces) packets_.push_back(std::make_unique<AfPacketSource>(ifname, strings_));
  if (!opts_.record_path.empty()) {
    writer_ = std::make_unique<RotatingPcapngWriter>(opts_.record_path, "flapwatch agent", opts_.rotation);
    if (netlink_) netlink_iface_ = writer_->add_interface("netlink", kLinkNetlink);
    for (const auto& p : packets_) packet_iface_.push_back(writer_->add_interface(p->interface(), kLinkEthernet));
  }
  configure_counters(opts_.counters);
}

void LiveAgent::configure_counters(CounterOptions c) {
  if (running_.load()) throw std::logic_error("configure_counters: the agent is running");
  if (c.interfaces.empty()) c.interfaces = opts_.interfaces;
  opts_.counters = c;
  feed_.reset();
  feed_ = std::make_unique<CounterFeed>(std::move(c), strings_, cfg_, opts_.ring_capacity, [this] {
    { std::lock_guard<std::mutex> g(wake_mu_); }
    wake_.notify_one();
  });
  if (writer_)  // counter samples go into the recording as Custom Blocks (io/counter_block.hpp)
    feed_->set_recorder([this](std::vector<uint8_t> block) {
      std::lock_guard<std::mutex> g(record_mu_);
      if (record_pending_.size() < (size_t(1) << 16)) record_pending_.push_back(std::move(block));
      else ++record_pending_dropped_;
    });
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
  feed_->start(running_);
}

void LiveAgent::stop() {
  if (!running_.exchange(false)) return;
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard<std::mutex> g(wake_mu_);
  }
  wake_.notify_all();
  if (tracker_.joinable()) tracker_.join();
  feed_->stop();
  write_pending_counters();  // the reader is done: this thread owns the writer now
  {
    std::lock_guard<std::mutex> g(engine_mu_);
    feed_->consume([&](const Record& r) {  // what was pushed or polled last
      remember(r);
      engine_->on_record(r);
    });
    engine_->finish();
    merge_counts(engine_->detections().ports, base_, +1);
  }
  if (writer_) writer_->close();
}

void LiveAgent::on_row(DetectionKind kind, const Detections& d, size_t row) {
  if (muted_) return;
  if (kind == DetectionKind::policy_event) {
    auto key = std::make_pair(d.policy_events.port[row], d.policy_events.policy[row]);
    if (d.policy_events.event[row]) tripped_[key] = true;
    else tripped_.erase(key);
  }
  if (callback_) callback_(kind, d, row);
}

void LiveAgent::remember(const Record& r) {
  if (r.port < 0) return;
  auto p = static_cast<size_t>(r.port);
  switch (r.kind) {
    case RecordKind::link:
      if (p >= last_link_.size()) last_link_.resize(p + 1, Record{});
      last_link_[p] = r;
      break;
    case RecordKind::port_info:
      if (p >= last_info_.size()) last_info_.resize(p + 1, Record{});
      last_info_[p] = r;
      break;
    case RecordKind::lldp: {
      if (p >= last_lldp_.size()) last_lldp_.resize(p + 1);
      auto& v = last_lldp_[p];
      auto same = std::find_if(v.begin(), v.end(), [&](const Record& x) { return x.lldp.src_mac == r.lldp.src_mac; });
      if (same != v.end()) *same = r;
      else if (v.size() < kNeighborsPrimed) v.push_back(r);
      else *std::min_element(v.begin(), v.end(), [](const Record& a, const Record& b) { return a.ts_ns < b.ts_ns; }) = r;
      break;
    }
    default: break;
  }
}

void LiveAgent::reconfigure(const EngineConfig& cfg) {
  cfg.check();  // std::invalid_argument: the running configuration stays
  std::lock_guard<std::mutex> g(pending_mu_);
  pending_ = std::make_unique<EngineConfig>(cfg);
  has_pending_ = true;
  wake_.notify_all();
}

void LiveAgent::apply(const EngineConfig& cfg) {
  Engine& old = *engine_;
  const int64_t t = old.now();
  // Every policy tripped now clears here: the new engine's policies start afresh.
  for (const auto& [key, on] : tripped_) append_policy_event(old.detections().policy_events, t, key.first, key.second, false, 0.0);
  old.tick(t);  // hands the clears to the callback (and forgets them as tripped)
  PortTable carried = old.port_snapshot();
  merge_counts(carried, base_, +1);

  auto fresh = std::make_unique<Engine>(cfg, strings_);
  muted_ = true;  // priming rows (a neighbor "added" again, ...) go nowhere
  fresh->set_callback([this](DetectionKind k, const Detections& d, size_t row) { on_row(k, d, row); });
  std::vector<Record> prime;
  for (size_t p = 0; p < last_info_.size(); ++p) {
    if (last_info_[p].kind != RecordKind::port_info) continue;
    Record r = last_info_[p];
    r.port_info.configured_speed_bps = configured_speed(cfg.pfc, strings_[r.port]);
    prime.push_back(r);
  }
  for (const auto& r : last_link_)
    if (r.kind == RecordKind::link) prime.push_back(r);
  for (size_t p = 0; p < last_lldp_.size(); ++p) {
    uint64_t own = p < last_link_.size() && last_link_[p].kind == RecordKind::link ? last_link_[p].link.mac : 0;
    for (const auto& r : last_lldp_[p])
      if (!own || r.lldp.src_mac != own) prime.push_back(r);
  }
  std::stable_sort(prime.begin(), prime.end(), [](const Record& a, const Record& b) {
    if (a.ts_ns != b.ts_ns) return a.ts_ns < b.ts_ns;
    return (a.kind == RecordKind::port_info) > (b.kind == RecordKind::port_info);  // a port's info first
  });
  for (const auto& r : prime) fresh->on_record(r);
  fresh->tick(t);
  PortTable primed = fresh->port_snapshot();
  fresh->clear_detections();
  append_detections(fresh->detections(), old.detections());  // rows not yet handed out
  fresh->tick(t);  // marks them as handed to the callback already
  muted_ = false;
  merge_counts(carried, primed, -1);  // what priming counted again (link messages, LLDPDUs)
  base_ = std::move(carried);
  engine_ = std::move(fresh);
  tripped_.clear();
  active_ = std::make_unique<EngineConfig>(cfg);
  reloads_.fetch_add(1, std::memory_order_relaxed);
}

PortTable LiveAgent::port_snapshot() {
  std::lock_guard<std::mutex> g(engine_mu_);
  PortTable t = engine_->port_snapshot();
  merge_counts(t, base_, +1);
  return t;
}

void LiveAgent::reader_loop() {
  Dispatcher dispatcher(strings_);  // no rx gaps: a live capture is mostly filtered to control frames
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
    const int64_t polled_at = realtime_ns();
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
        const uint64_t dropped_before = dropped_.load(std::memory_order_relaxed);
        dispatcher.dispatch(f, gate, err);
        // Recorded when the trackers get it: a frame whose record the ring dropped is not,
        // so the recording replays to the live detections even under overload.
        if (writer_ && dropped_.load(std::memory_order_relaxed) == dropped_before &&
            !writer_->write_packet(owner[k] < 0 ? netlink_iface_ : packet_iface_[static_cast<size_t>(owner[k])], f.ts_ns,
                                   f.data, f.caplen, f.origlen))
          notice_record_failure();
      };
      if (owner[k] < 0)
        netlink_->drain(on_frame);
      else
        packets_[static_cast<size_t>(owner[k])]->drain(on_frame);
    }
    // Every frame a kernel block held when poll() began has been read (drain() reads
    // to EAGAIN): the tracker may let time pass up to here, not further.
    reader_seen_ns_.store(polled_at, std::memory_order_release);
    if (ring_sink.pushed) wake_.notify_one();
    write_pending_counters();
    auto now = std::chrono::steady_clock::now();
    if (now - last_check > std::chrono::seconds(1)) {  // recording flushed; gone interfaces noticed
      last_check = now;
      if (writer_ && !writer_->flush()) notice_record_failure();
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

// The counter samples queued since the last call, into the recording (the reader
// thread's writer; after the reader stopped, stop()'s).
void LiveAgent::write_pending_counters() {
  if (!writer_) return;
  std::vector<std::vector<uint8_t>> blocks;
  {
    std::lock_guard<std::mutex> g(record_mu_);
    blocks.swap(record_pending_);
  }
  for (const auto& b : blocks)
    if (!writer_->write_custom(b)) {
      notice_record_failure();
      break;
    }
}

void LiveAgent::notice_record_failure() {
  if (record_failure_noticed_ || !writer_->failed()) return;
  record_failure_noticed_ = true;
  std::lock_guard<std::mutex> g(notices_mu_);
  notices_.push_back("recording stopped: " + writer_->error() + "; detection goes on");
}

void LiveAgent::tracker_loop() {
  int64_t last_tick = 0;
  for (;;) {
    size_t n = 0;
    {
      std::lock_guard<std::mutex> g(engine_mu_);
      if (has_pending_.load(std::memory_order_relaxed)) {  // between two records
        std::unique_ptr<EngineConfig> cfg;
        {
          std::lock_guard<std::mutex> p(pending_mu_);
          cfg = std::move(pending_);
          has_pending_ = false;
        }
        if (cfg) apply(*cfg);
      }
      n = ring_.consume_all(
          [&](const Record& r) {
            remember(r);
            if (r.kind == RecordKind::port_info && active_) {  // the reader's gate speaks for the first configuration
              Record info = r;
              info.port_info.configured_speed_bps = configured_speed(active_->pfc, strings_[r.port]);
              engine_->on_record(info);
            } else {
              engine_->on_record(r);
            }
          },
          4096);
      n += feed_->consume(  // counter samples and pushed events
          [&](const Record& r) {
            remember(r);
            engine_->on_record(r);
          },
          4096);
      // Time passes behind the clock and behind the reader, and only with the ring drained:
      // a reader or tracker running late under a flood must not see a pause as over
      // early (live and replay would differ).
      int64_t now = realtime_ns();
      if (now - last_tick >= opts_.tick_ns && ring_.empty()) {
        engine_->tick(std::min(now, reader_seen_ns_.load(std::memory_order_acquire)) - opts_.tick_lag_ns);
        last_tick = now;
      }
    }
    records_.fetch_add(n, std::memory_order_relaxed);
    if (n) continue;
    if (reader_done_.load() && ring_.empty() && feed_->empty()) break;
    std::unique_lock<std::mutex> lk(wake_mu_);
    wake_.wait_for(lk, std::chrono::nanoseconds(opts_.tick_ns),
                   [this] { return !ring_.empty() || !feed_->empty() || reader_done_.load() || has_pending_.load(); });
  }
}

LiveStats LiveAgent::stats() {
  LiveStats s;
  s.frames = frames_.load();
  s.records = records_.load();
  s.ring_dropped = dropped_.load();
  for (auto& p : packets_) s.kernel_drops += p->kernel_drops();
  s.netlink_overruns = netlink_ ? netlink_->overruns() : 0;
  if (writer_) {
    s.recording = !writer_->failed();
    s.record_packets = writer_->packets();
    s.record_bytes = writer_->bytes();
    s.record_rotations = writer_->rotations();
    s.record_errors = writer_->errors();
  }
  s.reloads = reloads_.load();
  s.counters = feed_->stats();
  std::lock_guard<std::mutex> g(notices_mu_);
  for (auto& n : feed_->take_notices()) notices_.push_back(std::move(n));
  s.notices = notices_;
  return s;
}

}  // namespace flapwatch
