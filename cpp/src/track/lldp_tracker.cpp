#include "flapwatch/track/lldp_tracker.hpp"

#include <algorithm>

namespace flapwatch {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {  // FNV-style; only compared for equality
  return (h ^ v) * 0x100000001b3ull;
}

uint64_t content_hash(const LldpRecord& r) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int64_t v : {int64_t(r.port_desc), int64_t(r.system_name), int64_t(r.system_desc), int64_t(r.mgmt_addr),
                    int64_t(r.ttl), int64_t(r.caps_supported), int64_t(r.caps_enabled), int64_t(r.port_vlan),
                    int64_t(r.pfc_willing), int64_t(r.pfc_mbc), int64_t(r.pfc_cap), int64_t(r.pfc_enable),
                    int64_t(r.mau_type), int64_t(r.max_frame_size)})
    h = mix(h, static_cast<uint64_t>(v));
  return h;
}

bool same_msap(const LldpTracker::Neighbor& n, const LldpRecord& r) {
  return n.chassis_subtype == r.chassis_subtype && n.chassis_id == r.chassis_id &&
         n.port_subtype == r.port_subtype && n.port_id == r.port_id;
}

}  // namespace

void LldpTracker::emit(int64_t ts, int32_t port, LldpEvent e, const Neighbor& n, const Neighbor* prev) {
  auto& t = out_.lldp_events;
  t.ts_ns.push_back(ts);
  t.port.push_back(port);
  t.event.push_back(static_cast<uint8_t>(e));
  t.chassis_id.push_back(n.chassis_id);
  t.port_id.push_back(n.port_id);
  t.system_name.push_back(n.system_name);
  t.ttl.push_back(n.ttl);
  t.prev_chassis_id.push_back(prev ? prev->chassis_id : -1);
  t.prev_port_id.push_back(prev ? prev->port_id : -1);
  t.prev_system_name.push_back(prev ? prev->system_name : -1);
}

void LldpTracker::on_lldp(int64_t ts, int32_t port, const LldpRecord& r) {
  advance(ts);
  if (static_cast<size_t>(port) >= ports_.size()) ports_.resize(static_cast<size_t>(port) + 1);
  PortState& s = ports_[static_cast<size_t>(port)];
  ++s.frames;
  Neighbor n{r.chassis_subtype, r.port_subtype, r.chassis_id, r.port_id, r.system_name,
             r.ttl, ts + int64_t(r.ttl) * 1'000'000'000, content_hash(r)};
  auto it = std::find_if(s.neighbors.begin(), s.neighbors.end(), [&](const Neighbor& k) { return same_msap(k, r); });
  if (r.ttl == 0) {  // shutdown LLDPDU: the neighbor says it is leaving
    emit(ts, port, LldpEvent::shutdown, n, nullptr);
    if (it != s.neighbors.end()) s.neighbors.erase(it);
  } else if (it != s.neighbors.end()) {
    if (it->content != n.content) emit(ts, port, LldpEvent::updated, n, &*it);
    *it = n;
  } else if (!s.neighbors.empty()) {
    emit(ts, port, LldpEvent::changed, n, &s.neighbors.back());
    s.neighbors.push_back(n);
  } else {
    emit(ts, port, LldpEvent::added, n, s.seen ? &s.last : nullptr);
    s.neighbors.push_back(n);
  }
  if (r.ttl != 0) s.last = n;  // a shutdown LLDPDU carries no content worth keeping
  s.seen = true;
  refresh_deadline();
}

void LldpTracker::age_out(int64_t t) {
  for (size_t p = 0; p < ports_.size(); ++p) {
    auto& nb = ports_[p].neighbors;
    for (auto it = nb.begin(); it != nb.end();) {
      if (it->expires_ns < t) {
        emit(it->expires_ns, static_cast<int32_t>(p), LldpEvent::aged_out, *it, nullptr);
        it = nb.erase(it);
      } else {
        ++it;
      }
    }
  }
  refresh_deadline();
}

void LldpTracker::refresh_deadline() {
  next_deadline_ = kNever;
  for (const auto& s : ports_)
    for (const auto& n : s.neighbors) next_deadline_ = std::min(next_deadline_, n.expires_ns);
}

}  // namespace flapwatch
