#include "flapwatch/capture_summary.hpp"

#include <algorithm>
#include <exception>
#include <thread>

#include "flapwatch/error.hpp"
#include "flapwatch/io/capture_reader.hpp"
#include "flapwatch/io/capture_split.hpp"

namespace flapwatch {
namespace {

void add_mac(std::vector<uint64_t>& macs, uint64_t mac) {
  if (std::find(macs.begin(), macs.end(), mac) == macs.end()) macs.push_back(mac);
}

}  // namespace

CaptureSummary::Neighbor& CaptureSummary::neighbor(int32_t port, int32_t chassis_id, int32_t port_id, int32_t ttl,
                                                   int32_t name, int64_t speed) {
  auto [it, added] = neighbor_index_.try_emplace({port, chassis_id, port_id}, neighbors.size());
  if (added) neighbors.push_back(Neighbor{port, chassis_id, port_id, ttl, -1, name, -2, speed, 0, 0, 0, {}});
  return neighbors[it->second];
}

CaptureSummary::Link& CaptureSummary::link(int32_t port, int32_t ifindex, int64_t ts) {
  if (static_cast<size_t>(port) >= link_index_.size()) link_index_.resize(static_cast<size_t>(port) + 1, -1);
  int32_t& i = link_index_[static_cast<size_t>(port)];
  if (i < 0) {
    i = static_cast<int32_t>(links.size());
    links.push_back(Link{port, ifindex, 0, ts, ts});
  }
  return links[static_cast<size_t>(i)];
}

void CaptureSummary::add_malformed(int32_t reason, int64_t frames) {
  for (auto& [r, n] : malformed)
    if (r == reason) {
      n += frames;
      return;
    }
  malformed.emplace_back(reason, frames);
}

void CaptureSummary::on_other_record(const Record& r) {
  switch (r.kind) {
    case RecordKind::pfc:
    case RecordKind::pause:
      return;  // on_record's own
    case RecordKind::lldp: {
      const LldpRecord& l = r.lldp;
      Neighbor& n = neighbor(r.port, l.chassis_id, l.port_id, l.ttl, l.system_name, l.speed_bps);
      ++n.frames;
      add_mac(n.src_macs, l.src_mac);
      if (l.ttl == 0) ++n.shutdowns;
      else n.last_ttl = l.ttl;
      if (named(l.system_name)) n.last_name = l.system_name;
      if (l.speed_bps) n.last_speed = l.speed_bps;
      break;
    }
    case RecordKind::link: {
      const LinkRecord& m = r.link;
      if (m.mac) add_mac(own_macs, m.mac);
      Link& p = link(r.port, m.ifindex, r.ts_ns);
      ++p.messages;
      p.last_ts_ns = r.ts_ns;
      p.ifindex = m.ifindex;
      if (m.operstate >= 0) p.operstate = m.operstate;
      if (m.carrier >= 0) p.carrier = m.carrier;
      p.down_messages += m.carrier == 0;
      if (m.carrier_changes >= 0) p.carrier_changes = m.carrier_changes;
      if (m.carrier_up_count >= 0) p.carrier_up_count = m.carrier_up_count;
      if (m.carrier_down_count >= 0) p.carrier_down_count = m.carrier_down_count;
      break;
    }
    case RecordKind::malformed:
      add_malformed(r.malformed.reason, 1);
      break;
    case RecordKind::port_info:
    case RecordKind::counter:
    case RecordKind::rx_gap:
      return;  // no row in a capture's tables
  }
  add_ts(r.ts_ns, r.ts_ns);
}

bool CaptureSummary::own(const Neighbor& n) const {
  for (uint64_t mac : n.src_macs)
    if (std::find(own_macs.begin(), own_macs.end(), mac) == own_macs.end()) return false;
  return true;
}

void CaptureSummary::merge(const CaptureSummary& later) {
  const StringTable& theirs = later.strings_;
  auto map = [&](int32_t s) { return s < 0 ? s : strings_.intern(theirs[s]); };
  for (int k = 0; k < kFrameKinds; ++k) counts.by_kind[k] += later.counts.by_kind[k];
  if (later.any_ts) add_ts(later.first_ts_ns, later.last_ts_ns);
  for (size_t p = 0; p < later.pfc.size(); ++p) {
    if (!later.pfc[p].seen) continue;
    Pfc& to = at_port(pfc, map(static_cast<int32_t>(p)));
    to.seen = true;
    for (int i = 0; i < 8; ++i) {
      to.frames[i] += later.pfc[p].frames[i];
      to.quanta[i] += later.pfc[p].quanta[i];
    }
  }
  for (size_t p = 0; p < later.pause.size(); ++p) {
    if (!later.pause[p].seen) continue;
    Pause& to = at_port(pause, map(static_cast<int32_t>(p)));
    to.seen = true;
    to.frames += later.pause[p].frames;
    to.quanta += later.pause[p].quanta;
  }
  for (const Neighbor& n : later.neighbors) {
    Neighbor& to = neighbor(map(n.port), map(n.chassis_id), map(n.port_id), n.first_ttl, map(n.first_name), n.first_speed);
    to.frames += n.frames;
    to.shutdowns += n.shutdowns;
    for (uint64_t mac : n.src_macs) add_mac(to.src_macs, mac);
    if (n.last_ttl >= 0) to.last_ttl = n.last_ttl;
    if (n.last_name != -2) to.last_name = map(n.last_name);
    if (n.last_speed) to.last_speed = n.last_speed;
  }
  for (uint64_t mac : later.own_macs) add_mac(own_macs, mac);
  for (const Link& l : later.links) {
    Link& to = link(map(l.port), l.ifindex, l.first_ts_ns);
    to.messages += l.messages;
    to.last_ts_ns = l.last_ts_ns;
    to.ifindex = l.ifindex;
    if (l.operstate >= 0) to.operstate = l.operstate;
    if (l.carrier >= 0) to.carrier = l.carrier;
    to.down_messages += l.down_messages;
    if (l.carrier_changes >= 0) to.carrier_changes = l.carrier_changes;
    if (l.carrier_up_count >= 0) to.carrier_up_count = l.carrier_up_count;
    if (l.carrier_down_count >= 0) to.carrier_down_count = l.carrier_down_count;
  }
  for (const auto& [reason, n] : later.malformed) add_malformed(map(reason), n);
  warnings.insert(warnings.end(), later.warnings.begin(), later.warnings.end());
}

namespace {

// One reader over `range` of `path` into `out` (whose strings are `strings`).
RangeRead read_range(const std::string& path, const CaptureRange& range, bool whole, CaptureSummary& out,
                     StringTable& strings, bool strict) {
  CaptureReader reader(path, strings, strict);
  if (!whole) reader.restrict_to(range.begin, range.end);
  Dispatcher dispatcher(strings);
  Frame f;
  DecodeError err;
  while (reader.next(f)) {
    FrameKind k = dispatcher.dispatch_to(f, out, err);
    if (k == FrameKind::malformed && strict)
      throw CaptureError(reader.path(), f.offset + err.pos, "frame " + std::to_string(f.index) + ": " + err.reason);
    if (f.linktype != kLinkCounterBlock) ++out.counts.by_kind[static_cast<int>(k)];  // a sample: no frame
  }
  out.settle();
  out.warnings.insert(out.warnings.end(), reader.warnings().begin(), reader.warnings().end());
  return RangeRead{reader.next_record_offset(), reader.changed_state_in_range(), reader.clockless_in_range(),
                   reader.stopped_short()};
}

// The file on one reader per range; false (and `out` untouched) when the ranges did not
// fit together or a reader failed: then the caller reads it on one thread.
bool summarize_ranges(const std::string& path, const std::vector<CaptureRange>& ranges, CaptureSummary& out,
                      bool strict) {
  size_t n = ranges.size();
  std::vector<StringTable> strings(n);
  std::vector<CaptureSummary> parts;
  parts.reserve(n);
  for (size_t k = 0; k < n; ++k) parts.emplace_back(strings[k]);
  std::vector<RangeRead> reads(n);
  std::vector<std::exception_ptr> errors(n);
  auto work = [&](size_t k) {
    try {
      reads[k] = read_range(path, ranges[k], false, parts[k], strings[k], strict);
    } catch (...) {
      errors[k] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t k = 1; k < n; ++k) threads.emplace_back(work, k);
  work(0);
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) return false;  // one thread finds the first error and says it as it would
  if (!ranges_fit(ranges, reads)) return false;
  for (const auto& part : parts) out.merge(part);
  return true;
}

}  // namespace

void summarize_captures(const std::vector<std::string>& paths, CaptureSummary& out, StringTable& strings, bool strict,
                        unsigned threads, uint64_t min_range_bytes) {
  for (const auto& path : paths) {
    if (threads > 1) {
      auto ranges = split_capture(path, threads, min_range_bytes);
      if (ranges.size() > 1 && summarize_ranges(path, ranges, out, strict)) continue;
    }
    read_range(path, CaptureRange{}, true, out, strings, strict);
  }
}

}  // namespace flapwatch
