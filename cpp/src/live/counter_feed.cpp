#include "flapwatch/live/counter_feed.hpp"

#include <chrono>

#include "flapwatch/io/counter_block.hpp"

namespace flapwatch {

CounterFeed::CounterFeed(CounterOptions opts, StringTable& strings, const EngineConfig& cfg, size_t ring_capacity,
                         std::function<void()> wake)
    : opts_(std::move(opts)), strings_(strings), cfg_(cfg), wake_(std::move(wake)),
      polled_(std::max<size_t>(opts_.enabled ? ring_capacity : 2, 2)), pushed_(ring_capacity),
      polled_sink_(polled_), pushed_sink_(pushed_), polled_gate_(polled_sink_, strings, cfg),
      pushed_gate_(pushed_sink_, strings, cfg) {
  if (!opts_.enabled) return;
  for (const auto& name : opts_.interfaces) {
    Iface f;
    f.reader = std::make_unique<EthtoolReader>(name);
    f.port = strings_.intern(name);
    ifaces_.push_back(std::move(f));
  }
  if (opts_.netlink_extras) {
    nl_ = std::make_unique<EthtoolNetlink>();
    if (!nl_->available()) {
      notice("counters: no ethtool generic netlink family; PAUSE statistics and the PHY link-down count are not read");
      nl_.reset();
    }
  }
}

CounterFeed::~CounterFeed() { stop(); }

void CounterFeed::start(std::atomic<bool>& running) {
  if (!opts_.enabled || thread_.joinable()) return;
  thread_ = std::thread([this, &running] { loop(running); });
}

void CounterFeed::stop() {
  if (thread_.joinable()) thread_.join();  // the loop watches the agent's running flag
}

void CounterFeed::notice(std::string s) {
  std::lock_guard<std::mutex> g(mu_);
  notices_.push_back(std::move(s));
}

std::vector<std::string> CounterFeed::take_notices() {
  std::lock_guard<std::mutex> g(mu_);
  return std::move(notices_);
}

std::vector<RawCounterSample> CounterFeed::take_raw() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<RawCounterSample> out(std::make_move_iterator(raw_.begin()), std::make_move_iterator(raw_.end()));
  raw_.clear();
  return out;
}

CounterFeedStats CounterFeed::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

bool CounterFeed::push_link(const LinkEvent& e) {
  std::lock_guard<std::mutex> g(push_mu_);
  pushed_sink_.ok = true;
  pushed_gate_.on_record(link_event_record(e, strings_.intern(e.interface)));
  bool ok = pushed_sink_.ok;
  if (ok && recorder_) {
    std::vector<uint8_t> block;
    encode_link_event_block(e, block);
    recorder_(std::move(block));
  }
  {
    std::lock_guard<std::mutex> s(mu_);
    ++(ok ? stats_.pushed : stats_.push_dropped);
  }
  if (wake_) wake_();
  return ok;
}

bool CounterFeed::push_counters(const CounterSample& smp) {
  std::lock_guard<std::mutex> g(push_mu_);
  int32_t port = strings_.intern(smp.interface);
  if (static_cast<size_t>(port) >= push_seq_.size()) push_seq_.resize(static_cast<size_t>(port) + 1);
  pushed_sink_.ok = true;
  uint32_t seq = ++push_seq_[static_cast<size_t>(port)];
  sample_records(smp, port, seq, [&](const Record& r) { pushed_gate_.on_record(r); });
  bool ok = pushed_sink_.ok;
  if (ok && recorder_) {  // what the engine gets is what the recording keeps
    std::vector<uint8_t> block;
    encode_counter_block(smp, seq, block);
    recorder_(std::move(block));
  }
  {
    std::lock_guard<std::mutex> s(mu_);
    ++(ok ? stats_.pushed : stats_.push_dropped);
  }
  if (wake_) wake_();
  return ok;
}

void CounterFeed::loop(std::atomic<bool>& running) {
  const auto interval = std::chrono::nanoseconds(opts_.interval_ns);
  auto next = std::chrono::steady_clock::now();
  while (running.load(std::memory_order_relaxed)) {
    for (auto& f : ifaces_) poll(f);
    if (wake_) wake_();
    next += interval;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // overran: no burst of catch-up reads
    // Sleep in short steps so stop() is prompt even with a slow interval.
    while (running.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(next - std::chrono::steady_clock::now(),
                                                                     std::chrono::milliseconds(50)));
  }
}

void CounterFeed::poll(Iface& f) {
  EthtoolReader& rd = *f.reader;
  if (!rd.read()) {
    if (!f.failed) notice("counters: " + rd.interface() + ": " + rd.error() + "; retrying every interval");
    f.failed = true;
    std::lock_guard<std::mutex> g(mu_);
    ++stats_.reads_failed;
    return;
  }
  if (f.failed) notice("counters: " + rd.interface() + ": reading again");
  f.failed = false;
  bool reread = rd.names_changed() || !f.names;
  if (reread) {
    f.names = std::make_shared<const std::vector<std::string>>(rd.names());
    if (!f.profiled || f.profile == nullptr) {
      std::string drv = opts_.driver.empty() ? rd.driver() : opts_.driver;
      f.profile = choose_profile(opts_.profiles, drv, rd.names());
      f.profiled = true;
      if (!f.profile)
        notice("counters: " + rd.interface() + ": driver " + (drv.empty() ? "?" : drv) +
               " has no profile and no counter name any profile knows; samples carry no PFC, PAUSE or link-down "
               "counters");
    }
    f.classified = f.profile ? classify(*f.profile, rd.names()) : Classified{};
    if (f.seq > 0) notice("counters: " + rd.interface() + ": the counter list changed (" +
                          std::to_string(rd.names().size()) + " names); names re-read");
  }
  CounterSample s;
  s.ts_ns = rd.ts_ns();
  s.read_ns = rd.read_ns();
  s.interface = rd.interface();
  s.refresh_ns = f.profile ? f.profile->refresh_ns : 0;
  s.flags = reread && f.seq > 0 ? kSampleNamesReread : 0;
  bool has_pause = false, has_down = false;
  for (const auto& [index, v] : f.classified.counters) {
    CounterValue c = v;
    c.value = rd.values()[index];
    s.values.push_back(c);
    has_pause |= c.meaning == CounterMeaning::pause_frames;
    has_down |= c.meaning == CounterMeaning::link_down_events;
  }
  if (nl_) {  // what ethtool -S already has is not read twice (one key per counter)
    bool np = f.no_pause || has_pause, nd = f.no_down_count || has_down;
    bool was_np = np, was_nd = nd;
    nl_->read(rd.interface(), s.values, np, nd);
    if (np && !was_np) {
      f.no_pause = true;
      notice("counters: " + rd.interface() + ": no 802.3x PAUSE statistics over ethtool netlink (PAUSE_GET); skipped");
    }
    if (nd && !was_nd) {
      f.no_down_count = true;
      notice("counters: " + rd.interface() +
             ": no PHY link-down count over ethtool netlink (LINKSTATE EXT_DOWN_CNT); skipped");
    }
  }
  polled_sink_.ok = true;
  sample_records(s, f.port, ++f.seq, [&](const Record& r) { polled_gate_.on_record(r); });
  if (polled_sink_.ok && recorder_) {
    std::vector<uint8_t> block;
    encode_counter_block(s, f.seq, block);
    recorder_(std::move(block));
  }
  std::lock_guard<std::mutex> g(mu_);
  ++stats_.samples;
  stats_.read_ns_total += rd.read_ns();
  stats_.name_rereads = 0;
  for (const auto& i : ifaces_) stats_.name_rereads += i.reader->name_rereads();
  if (!polled_sink_.ok) ++stats_.dropped;
  if (opts_.keep_raw) {
    raw_.push_back(RawCounterSample{rd.ts_ns(), rd.read_ns(), rd.interface(), reread, f.names, rd.values()});
    while (raw_.size() > opts_.keep_raw) raw_.pop_front();
  }
}

}  // namespace flapwatch
