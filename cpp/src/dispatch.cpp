#include "flapwatch/decode/dispatch.hpp"

#include "flapwatch/decode/ethernet.hpp"
#include "flapwatch/decode/lldp.hpp"
#include "flapwatch/decode/mac_control.hpp"
#include "flapwatch/decode/netlink.hpp"
#include "flapwatch/text.hpp"

namespace flapwatch {
namespace {

template <class Table>
void push_frame(Table& t, const Frame& f, int32_t port) {
  t.ts_ns.push_back(f.ts_ns);
  t.port.push_back(port);
  t.frame.push_back(f.index);
}

}  // namespace

FrameKind Dispatcher::dispatch(const Frame& f, RecordBatch& out, DecodeError& err) {
  FrameKind kind = f.linktype == kLinkNetlink ? netlink(f, out, err) : ethernet_like(f, out, err);
  if (kind == FrameKind::malformed) {
    push_frame(out.malformed, f, f.port);
    out.malformed.offset.push_back(static_cast<int64_t>(f.offset + err.pos));
    out.malformed.reason.push_back(strings_.intern(err.reason));
  }
  return kind;
}

FrameKind Dispatcher::ethernet_like(const Frame& f, RecordBatch& out, DecodeError& err) {
  L2Header h;
  if (!parse_l2(f.linktype, f.data, f.caplen, h)) return FrameKind::other;
  if (h.ethertype == kEtherMacControl) {
    PfcFrame pfc;
    PauseFrame pause;
    switch (decode_mac_control(h.payload, h.len, pfc, pause, err)) {
      case MacControlKind::pfc: {
        auto& t = out.pfc;
        push_frame(t, f, f.port);
        t.src_mac.push_back(h.src_mac);
        t.vlan.push_back(h.vlan);
        t.class_enable.push_back(pfc.class_enable);
        for (int i = 0; i < 8; ++i) t.quanta[i].push_back(pfc.quanta[i]);
        return FrameKind::pfc;
      }
      case MacControlKind::pause:
        push_frame(out.pause, f, f.port);
        out.pause.src_mac.push_back(h.src_mac);
        out.pause.vlan.push_back(h.vlan);
        out.pause.quanta.push_back(pause.quanta);
        return FrameKind::pause;
      case MacControlKind::malformed:
        err.pos += h.payload_pos;
        return FrameKind::malformed;
      case MacControlKind::other:
        return FrameKind::other;
    }
  }
  if (h.ethertype == kEtherLldp) {
    FrameKind k = lldp(f, h.payload, h.len, h.src_mac, out, err);
    if (k == FrameKind::malformed) err.pos += h.payload_pos;
    return k;
  }
  return FrameKind::other;
}

int32_t Dispatcher::intern_or_absent(bool present) { return present ? strings_.intern(scratch_) : -1; }

FrameKind Dispatcher::lldp(const Frame& f, const uint8_t* p, uint32_t n, uint64_t src, RecordBatch& out,
                           DecodeError& err) {
  LldpPdu pdu;
  if (!decode_lldp(p, n, pdu, err)) return FrameKind::malformed;
  auto& t = out.lldp;
  push_frame(t, f, f.port);
  t.src_mac.push_back(src);
  t.chassis_subtype.push_back(pdu.chassis_subtype);
  format_chassis_id(pdu, scratch_);
  t.chassis_id.push_back(strings_.intern(scratch_));
  t.port_subtype.push_back(pdu.port_subtype);
  format_port_id(pdu, scratch_);
  t.port_id.push_back(strings_.intern(scratch_));
  t.ttl.push_back(pdu.ttl);
  for (auto [view, col] : {std::pair{pdu.port_desc, &t.port_desc}, std::pair{pdu.system_name, &t.system_name},
                           std::pair{pdu.system_desc, &t.system_desc}}) {
    if (view.present()) format_text(view, scratch_);
    col->push_back(intern_or_absent(view.present()));
  }
  t.caps_supported.push_back(pdu.caps_supported);
  t.caps_enabled.push_back(pdu.caps_enabled);
  if (pdu.mgmt_addr.present()) format_mgmt_addr(pdu, scratch_);
  t.mgmt_addr.push_back(intern_or_absent(pdu.mgmt_addr.present()));
  t.port_vlan.push_back(pdu.port_vlan);
  t.pfc_willing.push_back(pdu.pfc_willing);
  t.pfc_mbc.push_back(pdu.pfc_mbc);
  t.pfc_cap.push_back(pdu.pfc_cap);
  t.pfc_enable.push_back(pdu.pfc_enable);
  t.mau_type.push_back(pdu.mau_type);
  t.speed_bps.push_back(pdu.mau_type >= 0 ? mau_speed_bps(pdu.mau_type) : 0);
  t.max_frame_size.push_back(pdu.max_frame_size);
  return FrameKind::lldp;
}

FrameKind Dispatcher::netlink(const Frame& f, RecordBatch& out, DecodeError& err) {
  if (netlink_family(f.data, f.caplen) != kNetlinkRoute) return FrameKind::other;
  auto& t = out.link;
  size_t before = t.size();
  bool ok = decode_netlink_links(
      f.data, f.caplen,
      [&](const LinkMessage& m) {
        int32_t port;
        if (!m.ifname.empty()) {
          escape_text(m.ifname, ifname_scratch_);
          port = strings_.intern(ifname_scratch_);
        } else {
          ifname_scratch_ = "if" + std::to_string(m.ifindex);
          port = strings_.intern(ifname_scratch_);
        }
        push_frame(t, f, port);
        t.msg_type.push_back(m.type);
        t.ifindex.push_back(m.ifindex);
        t.flags.push_back(m.flags);
        t.operstate.push_back(m.operstate);
        t.carrier.push_back(m.carrier);
        t.carrier_changes.push_back(m.carrier_changes);
        t.carrier_up_count.push_back(m.carrier_up_count);
        t.carrier_down_count.push_back(m.carrier_down_count);
      },
      err);
  if (!ok) {
    t.truncate(before);  // a malformed frame yields no partial rows
    return FrameKind::malformed;
  }
  return t.size() > before ? FrameKind::link : FrameKind::other;
}

}  // namespace flapwatch
