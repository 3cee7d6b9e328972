#include "flapwatch/engine.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace flapwatch {

int64_t configured_speed(const PfcConfig& cfg, const std::string& port) {
  for (const auto& [pattern, bps] : cfg.port_speeds)
    if (fnmatch(pattern.c_str(), port.c_str(), 0) == 0) return bps;
  return 0;
}

bool is_loopback(const LinkRecord& r) {
  constexpr uint32_t kIffLoopback = 0x8;
  constexpr uint16_t kArphrdLoopback = 772;
  return (r.flags & kIffLoopback) || r.dev_type == kArphrdLoopback;
}

bool selected_port(const Selection& sel, const std::string& port) {
  if (sel.ports.empty()) return true;
  for (const auto& pattern : sel.ports)
    if (fnmatch(pattern.c_str(), port.c_str(), 0) == 0) return true;
  return false;
}

namespace {

std::array<int32_t, 9> storm_policy_names(StringTable& strings) {
  std::array<int32_t, 9> ids{};
  for (int i = 0; i < 8; ++i) ids[static_cast<size_t>(i)] = strings.intern("pfc-storm:p" + std::to_string(i));
  ids[8] = strings.intern("pfc-storm:pause");
  return ids;
}

const EngineConfig& checked(const EngineConfig& cfg) {
  cfg.check();
  return cfg;
}

}  // namespace

Engine::Engine(const EngineConfig& cfg, StringTable& strings)
    : cfg_(checked(cfg)), strings_(strings), link_(cfg.link, strings, out_),
      pfc_(cfg.pfc, out_, storm_policy_names(strings)), lldp_(out_),
      counters_(cfg.pfc, cfg.link, out_, storm_policy_names(strings), strings.intern("nic-storm-watchdog"), pfc_,
                link_) {
  for (const auto& [port, mac] : cfg.lldp.own_macs) add_own_mac(strings.intern(port), mac);
}

void Engine::add_own_mac(int32_t port, uint64_t mac) {
  if (port < 0 || mac == 0) return;
  const auto p = static_cast<size_t>(port);
  if (p >= own_mac_.size()) own_mac_.resize(p + 1);
  auto& macs = own_mac_[p];
  if (std::find(macs.begin(), macs.end(), mac) == macs.end()) macs.push_back(mac);
}

bool Engine::is_own_mac(int32_t port, uint64_t mac) const {
  const auto p = static_cast<size_t>(port);
  if (p >= own_mac_.size()) return false;
  const auto& macs = own_mac_[p];
  return std::find(macs.begin(), macs.end(), mac) != macs.end();
}

void Engine::note_received(int64_t ts, int32_t port) {
  // A neighbor's LLDPDU arrived, so the link was up then (it bounds a down linkwatch held
  // back). Only once the port's own address is known: a frame seen leaving (a capture
  // taps transmissions even on a link that is down) says nothing of the carrier. PFC and
  // PAUSE frames are not used: a generator may send them from any source address.
  const auto p = static_cast<size_t>(port);
  if (p < own_mac_.size() && !own_mac_[p].empty()) link_.on_rx(ts, port);
}

void Engine::note_lldp_sender(int32_t port, uint64_t mac) {
  const auto p = static_cast<size_t>(port);
  if (p >= lldp_senders_.size()) lldp_senders_.resize(p + 1);
  auto& macs = lldp_senders_[p];
  if (macs.size() < 4 && std::find(macs.begin(), macs.end(), mac) == macs.end()) macs.push_back(mac);
}

void Engine::on_counter_sample(const CounterSample& s) {
  int32_t port = strings_.intern(s.interface);
  if (static_cast<size_t>(port) >= pushed_samples_.size()) pushed_samples_.resize(static_cast<size_t>(port) + 1);
  sample_records(s, port, ++pushed_samples_[static_cast<size_t>(port)], [&](const Record& r) { on_record(r); });
}

void Engine::on_link_event(const LinkEvent& e) { on_record(link_event_record(e, strings_.intern(e.interface))); }

std::vector<std::string> Engine::counter_notices(size_t from) const {
  std::vector<std::string> out;
  const auto& n = counters_.notices();
  for (size_t i = from; i < n.size(); ++i) {
    std::string what = "port " + strings_[n[i].port] + ": counter ";
    if (n[i].meaning < kCounterMeanings) {
      what += kCounterMeaningNames[n[i].meaning];
      if (n[i].direction) what += n[i].direction == kDirRx ? " rx" : " tx";
      if (n[i].priority >= 0) what += " priority " + std::to_string(n[i].priority);
      what += " ";
    } else {
      what = "port " + strings_[n[i].port] + ": counters' ";
    }
    out.push_back(what + kCounterNoticeNames[static_cast<int>(n[i].what)] + " at " + std::to_string(n[i].ts_ns) +
                  " ns; no storm or flap made of it");
  }
  return out;
}

void Engine::tick(int64_t now) {
  now_ = std::max(now_, now);
  link_.advance(now_);
  lldp_.advance(now_);
  pfc_.advance(now_);
  counters_.advance(now_);
  if (callback_) notify_new_rows();
}

void Engine::note_lldp_rx(int64_t ts, int32_t port, int32_t ttl) {
  const size_t p = static_cast<size_t>(port);
  if (p >= last_rx_ns_.size()) last_rx_ns_.resize(p + 1, kNever);
  // A shutdown LLDPDU always counts: it ends the neighbor's run of receptions.
  if (ttl != 0 && last_rx_ns_[p] != kNever && ts - last_rx_ns_[p] < kLldpRxMinGapNs) return;
  last_rx_ns_[p] = ts;
  out_.lldp_rx.ts_ns.push_back(ts);
  out_.lldp_rx.port.push_back(port);
  out_.lldp_rx.ttl.push_back(ttl);
}

void Engine::clear_detections() {
  out_.for_each_table([](const char*, auto& t) { t.clear(); });
  for (auto& n : seen_rows_) n = 0;
}

PortTable Engine::port_snapshot() const {
  PortTable t;
  build_ports_table(t);
  return t;
}

// Every record's first step: counted, and the time it brings passed to the trackers.
inline void Engine::begin_record(int64_t ts) {
  ++records_;
  if (first_ns_ < 0) [[unlikely]] {
    first_ns_ = ts;
    link_.set_start(first_ns_);  // an outage open before the capture is bounded by its start
  }
  now_ = std::max(now_, ts);
  link_.advance(now_);
  lldp_.advance(now_);
}

void Engine::on_pfc(int64_t ts, int32_t port, uint8_t class_enable, const uint16_t* quanta) {
  begin_record(ts);
  pfc_.on_pfc(ts, port, class_enable, quanta);
  if (callback_) notify_new_rows();
}

void Engine::on_pause(int64_t ts, int32_t port, uint16_t quanta) {
  begin_record(ts);
  pfc_.on_pause(ts, port, quanta);
  if (callback_) notify_new_rows();
}

void Engine::on_record(const Record& r) {
  begin_record(r.ts_ns);
  switch (r.kind) {
    case RecordKind::link:
      if (is_loopback(r.link)) break;  // lo is no port: it never flaps, and has no neighbor
      add_own_mac(r.port, r.link.mac);
      {
        // Carrier downs (a down message, or hidden in the counters) for the PHY counter's match.
        auto downs = [&] {
          const auto& lp = link_.ports();
          auto p = static_cast<size_t>(r.port);
          return p < lp.size() ? lp[p].flaps + (lp[p].down_since >= 0 ? 1 : 0) : 0;
        };
        int64_t before = downs();
        link_.on_link(r.ts_ns, r.port, r.link, r.frame < 0);  // frame -1: a pushed event
        if (int64_t n = downs() - before; n > 0) counters_.on_link_downs(r.ts_ns, r.port, n);
      }
      break;
    case RecordKind::pfc: pfc_.on_pfc(r.ts_ns, r.port, r.pfc); break;
    case RecordKind::pause: pfc_.on_pause(r.ts_ns, r.port, r.pause.quanta); break;
    case RecordKind::lldp:
      if (is_own_mac(r.port, r.lldp.src_mac)) {
        ++own_lldp_frames_;  // our own advertisement, seen leaving
        break;
      }
      note_lldp_sender(r.port, r.lldp.src_mac);
      note_lldp_rx(r.ts_ns, r.port, r.lldp.ttl);
      note_received(r.ts_ns, r.port);
      lldp_.on_lldp(r.ts_ns, r.port, r.lldp);
      pfc_.set_speed(r.port, r.lldp.speed_bps);
      break;
    case RecordKind::port_info: pfc_.set_configured_speed(r.port, r.port_info.configured_speed_bps); break;
    case RecordKind::counter: counters_.on_counter(r.ts_ns, r.port, r.counter); break;
    case RecordKind::rx_gap:
      if (r.rx_gap.at_message) link_.on_rx_state(r.ts_ns, r.port, r.rx_gap.start_ns, r.rx_gap.frames);
      else link_.on_rx_gap(r.ts_ns, r.port, r.rx_gap.start_ns, r.rx_gap.frames);
      break;
    case RecordKind::malformed: break;
  }
  if (callback_) notify_new_rows();
}

void Engine::notify_new_rows() {
  const size_t sizes[kDetectionKinds] = {out_.flaps.size(),       out_.policy_events.size(), out_.pfc_storms.size(),
                                         out_.pause_stats.size(), out_.lldp_events.size(),   out_.lldp_rx.size(),
                                         out_.link_down.size()};
  for (int k = 0; k < kDetectionKinds; ++k) {
    for (size_t row = seen_rows_[k]; row < sizes[k]; ++row) callback_(static_cast<DetectionKind>(k), out_, row);
    seen_rows_[k] = sizes[k];
  }
}

void Engine::finish() {
  counters_.finish(now_);  // first: its last PHY flaps count for the flap policies the link tracker ends
  link_.finish(now_);
  lldp_.finish(now_);
  pfc_.finish(now_);
  if (callback_) notify_new_rows();
  for (int32_t p : pfc_.ports_at_default_speed())
    warnings_.push_back("port " + strings_[p] + ": no link speed from LLDP or the configuration; pause quanta " +
                        "converted at " + std::to_string(cfg_.pfc.default_speed_bps / 1'000'000'000) + "G");
  for (auto& w : counter_notices()) warnings_.push_back(std::move(w));
  // A port that never had a known address (no link message, nothing configured) and
  // heard LLDPDUs from two senders: one is likely its own, taken as a neighbor.
  for (size_t p = 0; p < lldp_senders_.size(); ++p)
    if (lldp_senders_[p].size() >= 2 && (p >= own_mac_.size() || own_mac_[p].empty()))
      warnings_.push_back("port " + strings_[static_cast<int32_t>(p)] + ": LLDPDUs from " +
                          std::to_string(lldp_senders_[p].size()) +
                          " source MACs and no address of the port known (no link message, no own_macs): "
                          "one may be the port's own LLDPDUs, taken as a neighbor; name it in own_macs");
  build_ports_table(out_.ports);
}

void Engine::build_ports_table(PortTable& t) const {
  const auto& lp = link_.ports();
  const auto& pp = pfc_.ports();
  const auto& np = lldp_.ports();
  size_t n = std::max({lp.size(), pp.size(), np.size(), counters_.port_count()});
  std::vector<int64_t> storms(n, 0);
  for (int32_t port : out_.pfc_storms.port) ++storms[static_cast<size_t>(port)];
  for (size_t p = 0; p < n; ++p) {
    bool has_link = p < lp.size() && lp[p].known;
    bool has_pfc = p < pp.size() && pp[p].frames > 0;
    bool has_lldp = p < np.size() && np[p].seen;
    bool has_counters = counters_.has_port(static_cast<int32_t>(p));
    if (!has_link && !has_pfc && !has_lldp && !has_counters) continue;
    const int64_t phy_flaps = counters_.phy_flaps(static_cast<int32_t>(p));  // flaps.source "PHY counter"
    t.ts_ns.push_back(now_);
    t.port.push_back(static_cast<int32_t>(p));
    const LinkTracker::PortState empty_link{};
    const auto& l = has_link ? lp[p] : empty_link;
    t.flaps.push_back(l.flaps + phy_flaps);
    t.hidden_flaps.push_back(l.hidden + phy_flaps);
    t.micro_flaps.push_back(l.micro);
    t.down_ns_total.push_back(l.down_total);
    t.longest_down_ns.push_back(l.longest);
    t.outages_over_budget.push_back(l.over_budget);
    t.oper_up.push_back(has_link ? static_cast<int8_t>(l.up) : int8_t(-1));
    t.down_since_ns.push_back(has_link && !l.up ? l.down_since : -1);
    t.storms.push_back(storms[p]);
    int64_t paused = 0;
    if (has_pfc)
      for (const auto& prio : pp[p].prio) paused += prio.paused_total;
    t.paused_ns.push_back(paused + counters_.paused_ns(static_cast<int32_t>(p)));
    int64_t speed = p < pp.size() ? (pp[p].speed_bps ? pp[p].speed_bps : pp[p].configured_bps) : 0;
    t.speed_bps.push_back(speed);
    t.neighbor.push_back(has_lldp ? np[p].last.system_name : -1);
    t.neighbor_chassis_id.push_back(has_lldp ? np[p].last.chassis_id : -1);
    t.neighbor_port_id.push_back(has_lldp ? np[p].last.port_id : -1);
    t.link_messages.push_back(has_link ? l.messages : 0);
    t.pfc_frames.push_back(has_pfc ? pp[p].frames : 0);
    t.lldp_frames.push_back(has_lldp ? np[p].frames : 0);
  }
}

}  // namespace flapwatch
