#include "flapwatch/decode/dispatch.hpp"

#include <algorithm>

#include "flapwatch/decode/ethernet.hpp"
#include "flapwatch/decode/lldp.hpp"
#include "flapwatch/decode/mac_control.hpp"
#include "flapwatch/decode/netlink.hpp"
#include "flapwatch/io/counter_block.hpp"
#include "flapwatch/text.hpp"

namespace flapwatch {

FrameKind Dispatcher::dispatch(const Frame& f, RecordSink& out, DecodeError& err) { return dispatch_to(f, out, err); }

// A counter sample the capture reader read from a flapwatch Custom Block: its records,
// as the live agent made them (the interface named as link messages name it).
FrameKind Dispatcher::counter_block(const Frame& f, RecordSink& out) {
  uint32_t seq = 0;
  std::string why;
  auto port_of = [&](const std::string& iface) {  // the name as a link message's (a file's bytes: escaped)
    escape_text(iface, scratch_);
    if (f.device < 0 || scratch_.find(':') != std::string::npos) return strings_.intern(scratch_);
    qualified_ = strings_[f.device];
    qualified_ += ':';
    qualified_ += scratch_;
    return strings_.intern(qualified_);
  };
  if (parse_counter_block(f.data, f.caplen, false, counter_, seq, why) == CounterBlockParse::ok) {
    sample_records(counter_, port_of(counter_.interface), seq, [&](const Record& r) { out.on_record(r); });
  } else if (LinkEvent e; parse_link_event_block(f.data, f.caplen, false, e, why)) {
    out.on_record(link_event_record(e, port_of(e.interface)));
  }
  return FrameKind::other;
}

void Dispatcher::add_own_mac(int32_t port, uint64_t mac) {
  if (port < 0 || mac == 0) return;
  auto& own = rx(port).own;
  if (std::find(own.begin(), own.end(), mac) == own.end()) own.push_back(mac);
}

void Dispatcher::note_rx_slow(const Frame& f, uint64_t src_mac, RecordSink& out) {
  RxActivity& a = rx(f.port);
  for (uint64_t m : a.own)
    if (m == src_mac) return;  // sent, not received
  if (a.last < 0 && rx_relative_) {  // this range's first: whether a gap came before is known in file order
    Record g{};
    g.ts_ns = f.ts_ns;
    g.frame = f.index;
    g.port = f.port;
    g.kind = RecordKind::rx_gap;
    g.rx_gap = RxGapRecord{f.ts_ns, 0, kRxRangeStart};
    out.on_record(g);
  }
  if (a.last >= 0 && f.ts_ns - a.last >= kRxGapNs) {
    Record g{};
    g.ts_ns = f.ts_ns;
    g.frame = f.index;
    g.port = f.port;
    g.kind = RecordKind::rx_gap;
    g.rx_gap = RxGapRecord{a.last, a.frames, 0};
    out.on_record(g);
    a.frames = 0;
  }
  a.last = std::max(a.last, f.ts_ns);
  ++a.frames;
}

FrameKind Dispatcher::lldp(const uint8_t* p, uint32_t n, uint64_t src, RecordSink& out, DecodeError& err) {
  LldpPdu pdu;
  if (!decode_lldp(p, n, pdu, err)) return FrameKind::malformed;
  rec_.kind = RecordKind::lldp;
  LldpRecord& l = rec_.lldp;
  l.src_mac = src;
  l.chassis_subtype = pdu.chassis_subtype;
  format_chassis_id(pdu, scratch_);
  l.chassis_id = strings_.intern(scratch_);
  l.port_subtype = pdu.port_subtype;
  format_port_id(pdu, scratch_);
  l.port_id = strings_.intern(scratch_);
  l.ttl = pdu.ttl;
  auto text = [&](ByteView v) {
    if (v.present()) format_text(v, scratch_);
    return intern_scratch(v.present());
  };
  l.port_desc = text(pdu.port_desc);
  l.system_name = text(pdu.system_name);
  l.system_desc = text(pdu.system_desc);
  l.caps_supported = pdu.caps_supported;
  l.caps_enabled = pdu.caps_enabled;
  if (pdu.mgmt_addr.present()) format_mgmt_addr(pdu, scratch_);
  l.mgmt_addr = intern_scratch(pdu.mgmt_addr.present());
  l.port_vlan = pdu.port_vlan;
  l.pfc_willing = pdu.pfc_willing;
  l.pfc_mbc = pdu.pfc_mbc;
  l.pfc_cap = pdu.pfc_cap;
  l.pfc_enable = pdu.pfc_enable;
  l.mau_type = pdu.mau_type;
  l.speed_bps = pdu.mau_type >= 0 ? mau_speed_bps(pdu.mau_type) : 0;
  l.max_frame_size = pdu.max_frame_size;
  out.on_record(rec_);
  return FrameKind::lldp;
}

FrameKind Dispatcher::netlink(const Frame& f, RecordSink& out, DecodeError& err) {
  if (netlink_family(f.data, f.caplen) != kNetlinkRoute) return FrameKind::other;
  links_.clear();
  bool ok = decode_netlink_links(
      f.data, f.caplen,
      [&](const LinkMessage& m) {
        Record& r = links_.emplace_back();
        r.ts_ns = f.ts_ns;
        r.frame = f.index;
        r.kind = RecordKind::link;
        if (!m.ifname.empty()) {
          escape_text(m.ifname, scratch_);
        } else {
          scratch_ = "if";
          scratch_ += std::to_string(m.ifindex);
        }
        if (f.device >= 0 && scratch_.find(':') == std::string::npos) {  // "device:ifname" (DECODE_RULES.md, Ports)
          qualified_ = strings_[f.device];
          qualified_ += ':';
          qualified_ += scratch_;
          r.port = strings_.intern(qualified_);
        } else {
          r.port = strings_.intern(scratch_);
        }
        r.link = LinkRecord{m.type, m.ifindex, m.flags, m.operstate, m.carrier, m.carrier_changes,
                            m.carrier_up_count, m.carrier_down_count, m.mac, m.dev_type, m.change,
                            static_cast<uint8_t>(m.dump)};
      },
      err);
  if (!ok) return FrameKind::malformed;
  for (const Record& r : links_) {
    if (rx_gaps_) {
      add_own_mac(r.port, r.link.mac);
      if (const RxActivity& a = rx(r.port); a.last >= 0 || rx_relative_) {  // what the port received, as of this message
        Record g = r;
        g.kind = RecordKind::rx_gap;
        g.rx_gap = RxGapRecord{a.last, a.frames, 1};
        out.on_record(g);
      }
    }
    out.on_record(r);
  }
  return links_.empty() ? FrameKind::other : FrameKind::link;
}

}  // namespace flapwatch
