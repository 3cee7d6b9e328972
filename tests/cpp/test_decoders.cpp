// Decoders on hand-written bytes: MAC control (PFC, PAUSE), LLDP, netlink link
// messages; malformed input returns false / malformed with a reason and a position.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/decode/ethernet.hpp"
#include "flapwatch/decode/lldp.hpp"
#include "flapwatch/decode/mac_control.hpp"
#include "flapwatch/decode/netlink.hpp"
#include "flapwatch/io/counter_block.hpp"
#include "test_util.hpp"

using namespace flapwatch;
using fwtest::Bytes;
using fwtest::NlLink;

namespace {

bool reason_has(const DecodeError& e, const char* text) {
  return e.reason != nullptr && std::strstr(e.reason, text) != nullptr;
}

}  // namespace

// ---------------------------------------------------------------- MAC control

namespace {

// One MAC control payload decoded, with everything decode_mac_control fills in.
struct MacControl {
  MacControlKind kind;
  PfcFrame pfc{};
  PauseFrame pause{};
  DecodeError err;
  explicit MacControl(const Bytes& p) { kind = decode_mac_control(p.data(), p.size(), pfc, pause, err); }
};

}  // namespace

TEST_CASE("mac_control: PFC with class-enable vector and 8 quanta") {
  MacControl m(fwtest::pfc_payload(0x88, {0, 0, 0, 0xffff, 0, 0, 0, 7}));
  REQUIRE(m.kind == MacControlKind::pfc);
  CHECK(m.pfc.class_enable == 0x88);
  CHECK(m.pfc.quanta[3] == 0xffff);
  CHECK(m.pfc.quanta[7] == 7);
  CHECK(m.pfc.quanta[0] == 0);
  CHECK(m.err.reason == nullptr);
}

TEST_CASE("mac_control: the class-enable vector keeps only its low 8 bits") {
  MacControl m(Bytes{}.be16(0x0101).be16(0xff01).zeros(16));
  REQUIRE(m.kind == MacControlKind::pfc);
  CHECK(m.pfc.class_enable == 0x01);
}

TEST_CASE("mac_control: 802.3x PAUSE") {
  MacControl m(Bytes{}.be16(0x0001).be16(0x1234).zeros(42));
  REQUIRE(m.kind == MacControlKind::pause);
  CHECK(m.pause.quanta == 0x1234);
}

TEST_CASE("mac_control: other opcodes are not errors") {
  MacControl m(Bytes{}.be16(0x0002).zeros(44));  // GATE (EPON)
  CHECK(m.kind == MacControlKind::other);
  CHECK(m.err.reason == nullptr);
}

TEST_CASE("mac_control: truncated frames are malformed, with a reason and a position") {
  struct Case {
    Bytes bytes;
    uint32_t pos;
    const char* reason;
  };
  std::vector<Case> cases = {
      {Bytes{}, 0, "without an opcode"},
      {Bytes{}.u8(0x01), 0, "without an opcode"},
      {Bytes{}.be16(0x0001), 2, "PAUSE frame too short"},
      {Bytes{}.be16(0x0001).u8(0xff), 2, "PAUSE frame too short"},
      {Bytes{}.be16(0x0101).be16(0xff), 2, "PFC frame too short"},
      {Bytes{}.be16(0x0101).be16(0xff).zeros(15), 2, "PFC frame too short"},  // 19 bytes: one short
  };
  for (const Case& c : cases) {
    CAPTURE(c.bytes.size());
    MacControl m(c.bytes);
    CHECK(m.kind == MacControlKind::malformed);
    CHECK(reason_has(m.err, c.reason));
    CHECK(m.err.pos == c.pos);
  }
}

// ---------------------------------------------------------------- Ethernet

TEST_CASE("ethernet: stacked VLAN tags are peeled, the outer VID kept") {
  Bytes f = fwtest::ether(fwtest::kPfcDst, 0x0a0b0c0d0e0f, 0x8808, {0x2064, 0x0005});  // PCP 1, VID 100; VID 5
  f.put(fwtest::pfc_payload(1, {5}));
  L2Header h;
  REQUIRE(parse_l2(kLinkEthernet, f.data(), f.size(), h));
  CHECK(h.src_mac == 0x0a0b0c0d0e0f);
  CHECK(h.vlan == 100);
  CHECK(h.ethertype == 0x8808);
  CHECK(h.payload_pos == 22);
  CHECK(h.len == 20);
  // A tag cut short is not an L2 frame we can read.
  CHECK_FALSE(parse_l2(kLinkEthernet, f.data(), 16, h));
  CHECK_FALSE(parse_l2(kLinkEthernet, f.data(), 13, h));
}

// ---------------------------------------------------------------- LLDP

TEST_CASE("lldp: mandatory and optional TLVs, 802.1 and 802.3 extensions") {
  Bytes p;
  fwtest::tlv(p, 1, Bytes{}.u8(4).mac(0x001122334455));  // chassis: MAC
  fwtest::tlv(p, 2, Bytes{}.u8(3).mac(0x66778899aabb));  // port: MAC
  fwtest::tlv(p, 3, Bytes{}.be16(120));
  fwtest::tlv(p, 4, Bytes{}.put("Ethernet1/1"));
  fwtest::tlv(p, 5, Bytes{}.put("leaf-01"));
  fwtest::tlv(p, 6, Bytes{}.put("NOS 1.2\x01"));
  fwtest::tlv(p, 7, Bytes{}.be16(0x0014).be16(0x0010));
  fwtest::tlv(p, 8, Bytes{}.u8(5).u8(1).put({10, 0, 0, 1}).u8(2).be32(5).u8(0));  // IPv4 10.0.0.1
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x80, 0xc2, 0x01}).be16(100));             // port VLAN
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x80, 0xc2, 0x0b}).u8(0x80 | 0x40 | 8).u8(0x18));  // PFC config
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x12, 0x0f, 0x01}).u8(3).be16(0).be16(77));       // MAU 77
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x12, 0x0f, 0x04}).be16(9216));                   // max frame
  fwtest::tlv(p, 0, Bytes{});
  fwtest::tlv(p, 5, Bytes{}.put("after-end"));  // ignored: End stops the walk

  LldpPdu pdu;
  DecodeError err;
  REQUIRE(decode_lldp(p.data(), p.size(), pdu, err));
  CHECK(pdu.chassis_subtype == 4);
  CHECK(pdu.port_subtype == 3);
  CHECK(pdu.ttl == 120);
  CHECK(pdu.caps_supported == 0x14);
  CHECK(pdu.caps_enabled == 0x10);
  CHECK(pdu.port_vlan == 100);
  CHECK(pdu.pfc_willing == 1);
  CHECK(pdu.pfc_mbc == 1);
  CHECK(pdu.pfc_cap == 8);
  CHECK(pdu.pfc_enable == 0x18);
  CHECK(pdu.mau_type == 77);
  CHECK(mau_speed_bps(pdu.mau_type) == 100'000'000'000);
  CHECK(pdu.max_frame_size == 9216);

  std::string s;
  format_chassis_id(pdu, s);
  CHECK(s == "00:11:22:33:44:55");
  format_port_id(pdu, s);
  CHECK(s == "66:77:88:99:aa:bb");
  format_mgmt_addr(pdu, s);
  CHECK(s == "10.0.0.1");
  format_text(pdu.port_desc, s);
  CHECK(s == "Ethernet1/1");
  format_text(pdu.system_name, s);
  CHECK(s == "leaf-01");
  format_text(pdu.system_desc, s);
  CHECK(s == "NOS 1.2\\x01");  // non-printable bytes escaped
}

TEST_CASE("lldp: text ids, the first optional TLV wins, wrong-length optionals are ignored") {
  Bytes p;
  fwtest::tlv(p, 1, Bytes{}.u8(7).put("chassis-a"));  // locally assigned
  fwtest::tlv(p, 2, Bytes{}.u8(5).put("swp1"));       // interface name
  fwtest::tlv(p, 3, Bytes{}.be16(0));                 // shutdown LLDPDU
  fwtest::tlv(p, 5, Bytes{}.put("first"));
  fwtest::tlv(p, 5, Bytes{}.put("second"));
  fwtest::tlv(p, 7, Bytes{}.be16(4));                                         // caps: too short, ignored
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x12, 0x0f, 0x01}).u8(3).be16(0));  // MAC/PHY too short, ignored
  fwtest::tlv(p, 127, Bytes{}.put({0x00, 0x12}));                            // org TLV without subtype
  // No End TLV: the frame simply ends.
  LldpPdu pdu;
  DecodeError err;
  REQUIRE(decode_lldp(p.data(), p.size(), pdu, err));
  CHECK(pdu.ttl == 0);
  CHECK(pdu.caps_supported == -1);
  CHECK(pdu.mau_type == -1);
  std::string s;
  format_chassis_id(pdu, s);
  CHECK(s == "chassis-a");
  format_port_id(pdu, s);
  CHECK(s == "swp1");
  format_text(pdu.system_name, s);
  CHECK(s == "first");
}

TEST_CASE("lldp: malformed LLDPDUs fail with a reason and the TLV's position") {
  Bytes chassis, port, ttl;
  fwtest::tlv(chassis, 1, Bytes{}.u8(7).put("c"));  // 4 bytes: at 0
  fwtest::tlv(port, 2, Bytes{}.u8(5).put("p"));     // 4 bytes: at 4
  fwtest::tlv(ttl, 3, Bytes{}.be16(120));           // 4 bytes: at 8
  struct Case {
    const char* name;
    Bytes bytes;
    uint32_t pos;
    const char* reason;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", Bytes{}, 0, "ends before its Chassis ID"});
  cases.push_back({"port first", Bytes{}.put(port).put(chassis).put(ttl), 0, "does not start with a Chassis ID"});
  cases.push_back({"ttl second", Bytes{}.put(chassis).put(ttl).put(port), 4, "second LLDP TLV is not a Port ID"});
  cases.push_back({"name third", Bytes{}.put(chassis).put(port).put({0x0a, 0x01, 'x'}), 8,
                   "third LLDP TLV is not a TTL"});
  cases.push_back({"no ttl", Bytes{}.put(chassis).put(port), 8, "ends before"});
  cases.push_back({"end early", Bytes{}.put(chassis).put(port).put({0, 0}), 8, "ends before"});
  cases.push_back({"tlv past end", Bytes{}.put(chassis).put(port).put({0x06, 0x02, 0x00}), 8, "runs past the end"});
  cases.push_back({"short chassis", Bytes{}.put({0x02, 0x01, 0x04}), 0, "Chassis ID TLV shorter"});
  cases.push_back({"short port", Bytes{}.put(chassis).put({0x04, 0x01, 0x05}), 4, "Port ID TLV shorter"});
  cases.push_back({"short ttl", Bytes{}.put(chassis).put(port).put({0x06, 0x01, 0x00}), 8, "TTL TLV shorter"});
  cases.push_back({"odd byte", Bytes{}.put(chassis).put(port).put(ttl).u8(0xfe), 12, "ends before"});
  for (const Case& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    LldpPdu pdu;
    DecodeError err;
    bool ok = decode_lldp(c.bytes.data(), c.bytes.size(), pdu, err);
    if (name == "odd byte") {
      // A stray trailing byte after complete mandatory TLVs is not a TLV: accepted.
      CHECK(ok);
      continue;
    }
    CHECK_FALSE(ok);
    CHECK(reason_has(err, c.reason));
    CHECK(err.pos == c.pos);
  }
}

TEST_CASE("lldp: MAU types map to speeds") {
  CHECK(mau_speed_bps(16) == 100'000'000);
  CHECK(mau_speed_bps(30) == 1'000'000'000);
  CHECK(mau_speed_bps(54) == 10'000'000'000);
  CHECK(mau_speed_bps(73) == 40'000'000'000);
  CHECK(mau_speed_bps(78) == 100'000'000'000);
  CHECK(mau_speed_bps(0) == 0);
  CHECK(mau_speed_bps(200) == 0);
}

// ---------------------------------------------------------------- netlink

namespace {

struct Decoded {
  bool ok;
  std::vector<LinkMessage> msgs;
  DecodeError err;
};

Decoded decode(const Bytes& frame) {
  Decoded d;
  d.ok = decode_netlink_links(frame.data(), frame.size(), [&](const LinkMessage& m) { d.msgs.push_back(m); }, d.err);
  return d;
}

}  // namespace

TEST_CASE("netlink: cooked header and family") {
  Bytes f = fwtest::nl_cooked(0);
  CHECK(netlink_family(f.data(), f.size()) == 0);
  CHECK(netlink_family(f.data(), 15) == -1);
  Bytes g = fwtest::nl_cooked(16);  // NETLINK_GENERIC
  CHECK(netlink_family(g.data(), g.size()) == 16);
}

TEST_CASE("netlink: RTM_NEWLINK with every attribute, both byte orders") {
  for (bool big : {false, true}) {
    CAPTURE(big);
    NlLink m;
    m.big = big;
    m.ifindex = 7;
    m.flags = fwtest::kIffUp | fwtest::kIffRunning | fwtest::kIffLowerUp;
    m.ifname("eth0").address(0x020000000007).operstate(6).carrier(1);
    m.carrier_changes(5).carrier_up(3).carrier_down(2);
    m.attr(10, Bytes{}.u32(1500, big));  // IFLA_MTU: not used, skipped
    Bytes frame = fwtest::nl_frame({m.bytes()});  // ifname views into it
    Decoded d = decode(frame);
    REQUIRE(d.ok);
    REQUIRE(d.msgs.size() == 1);
    const LinkMessage& l = d.msgs[0];
    CHECK(l.type == kRtmNewLink);
    CHECK(l.ifindex == 7);
    CHECK(l.flags == (fwtest::kIffUp | fwtest::kIffRunning | fwtest::kIffLowerUp));
    CHECK(l.ifname == "eth0");  // the trailing NUL is not part of the name
    CHECK(l.mac == 0x020000000007);
    CHECK(l.operstate == 6);
    CHECK(l.carrier == 1);
    CHECK(l.carrier_changes == 5);
    CHECK(l.carrier_up_count == 3);
    CHECK(l.carrier_down_count == 2);
  }
}

TEST_CASE("netlink: several messages in one frame; other types skipped; absent attributes -1") {
  NlLink a;
  a.ifindex = 2;
  a.ifname("veth0").carrier(0);
  NlLink del;
  del.type = kRtmDelLink;
  del.ifindex = 3;
  NlLink addr;  // RTM_NEWADDR (20): not a link message
  addr.type = 20;
  addr.ifindex = 2;
  // A nested-flagged attribute type (NLA_F_NESTED = 0x8000) is still recognised.
  NlLink nested;
  nested.ifindex = 4;
  nested.attr(0x8000 | 3, Bytes{}.put("bond0").u8(0));
  Bytes frame = fwtest::nl_frame({a.bytes(), addr.bytes(), del.bytes(), nested.bytes()});
  Decoded d = decode(frame);
  REQUIRE(d.ok);
  REQUIRE(d.msgs.size() == 3);
  CHECK(d.msgs[0].ifname == "veth0");
  CHECK(d.msgs[0].carrier == 0);
  CHECK(d.msgs[0].operstate == -1);
  CHECK(d.msgs[0].carrier_changes == -1);
  CHECK(d.msgs[0].carrier_up_count == -1);
  CHECK(d.msgs[0].carrier_down_count == -1);
  CHECK(d.msgs[0].mac == 0);
  CHECK(d.msgs[1].type == kRtmDelLink);
  CHECK(d.msgs[1].ifindex == 3);
  CHECK(d.msgs[1].ifname.empty());
  CHECK(d.msgs[2].ifname == "bond0");
}

TEST_CASE("netlink: a dump reply is told from a notification by its header; ifi_type and ifi_change are read") {
  for (bool big : {false, true}) {
    CAPTURE(big);
    NlLink note;  // an RTNLGRP_LINK notification: no NLM_F_MULTI, seq 0, pid 0
    note.big = big;
    note.ifname("eth0");
    NlLink echoed = note;  // a notification caused by a request (newer kernels echo its seq and pid)
    echoed.seq = 7;
    echoed.pid = 4242;
    NlLink reply = note;  // a reply to our RTM_GETLINK dump
    reply.nl_flags = 0x2;
    reply.seq = 7;
    reply.pid = 4242;
    NlLink lo;
    lo.big = big;
    lo.dev_type = 772;  // ARPHRD_LOOPBACK
    lo.flags = 0x8 | fwtest::kIffUp;
    lo.change = 0x100;
    lo.ifname("lo");
    Decoded d = decode(fwtest::nl_frame({note.bytes(), echoed.bytes(), reply.bytes(), lo.bytes()}));
    REQUIRE(d.ok);
    REQUIRE(d.msgs.size() == 4);
    CHECK_FALSE(d.msgs[0].dump);
    CHECK_FALSE(d.msgs[1].dump);
    CHECK(d.msgs[2].dump);
    CHECK(d.msgs[0].dev_type == 1);
    CHECK(d.msgs[3].dev_type == 772);
    CHECK(d.msgs[3].change == 0x100);
    CHECK(d.msgs[0].change == 0);
  }
}

TEST_CASE("netlink: a MAC address that is not 6 bytes is not a MAC") {
  NlLink m;
  m.attr(1, Bytes{}.put({1, 2, 3, 4}));
  Decoded d = decode(fwtest::nl_frame({m.bytes()}));
  REQUIRE(d.ok);
  REQUIRE(d.msgs.size() == 1);
  CHECK(d.msgs[0].mac == 0);
}

TEST_CASE("netlink: malformed frames fail with a reason and a position") {
  NlLink good;
  good.ifname("eth0").carrier(1);
  Bytes ok_msg = good.bytes();

  SUBCASE("shorter than one message header") {
    Bytes f = fwtest::nl_cooked();
    f.zeros(15);
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "shorter than one message header"));
    CHECK(d.err.pos == 16);
  }
  SUBCASE("first length fits neither byte order") {
    Bytes f = fwtest::nl_frame({ok_msg});
    f.set_u32(16, 0x00ffff00, false);
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "fits neither byte order"));
    CHECK(d.err.pos == 16);
  }
  SUBCASE("a later message's length out of bounds") {
    Bytes f = fwtest::nl_frame({ok_msg, ok_msg});
    f.set_u32(16 + ok_msg.size(), 4096, false);
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "message length out of bounds"));
    CHECK(d.err.pos == 16 + ok_msg.size());
    CHECK(d.msgs.size() == 1);  // the caller must discard what was passed before
  }
  SUBCASE("a message length below the header size") {
    Bytes f = fwtest::nl_frame({ok_msg, ok_msg});
    f.set_u32(16 + ok_msg.size(), 8, false);
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "message length out of bounds"));
  }
  SUBCASE("link message shorter than its ifinfomsg") {
    Bytes f = fwtest::nl_cooked();
    f.le32(24).le16(16).le16(0).le32(0).le32(0).zeros(8);
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "shorter than its ifinfomsg"));
    CHECK(d.err.pos == 16);
  }
  SUBCASE("attribute length out of bounds") {
    NlLink m;
    m.ifname("eth0");
    Bytes f = fwtest::nl_frame({m.bytes()});
    f.b[16 + 32] = 0x40;  // IFLA_IFNAME's rta_len: 64 bytes, past the message
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "attribute length out of bounds"));
    CHECK(d.err.pos == 16 + 32);
  }
  SUBCASE("attribute length below 4") {
    NlLink m;
    m.ifname("eth0");
    Bytes f = fwtest::nl_frame({m.bytes()});
    f.b[16 + 32] = 2;
    Decoded d = decode(f);
    CHECK_FALSE(d.ok);
    CHECK(reason_has(d.err, "attribute length out of bounds"));
  }
  SUBCASE("empty IFLA_OPERSTATE / IFLA_CARRIER") {
    for (uint16_t type : {16, 33}) {
      CAPTURE(type);
      NlLink m;
      m.attr(type, Bytes{});
      Decoded d = decode(fwtest::nl_frame({m.bytes()}));
      CHECK_FALSE(d.ok);
      CHECK(reason_has(d.err, "attribute too short"));
      CHECK(d.err.pos == 16 + 32);
    }
  }
  SUBCASE("a carrier counter shorter than 4 bytes") {
    for (uint16_t type : {35, 47, 48}) {
      CAPTURE(type);
      NlLink m;
      m.attr(type, Bytes{}.le16(1));
      Decoded d = decode(fwtest::nl_frame({m.bytes()}));
      CHECK_FALSE(d.ok);
      CHECK(reason_has(d.err, "counter attribute too short"));
    }
  }
}

// ---------------------------------------------------------------- dispatch

namespace {

struct Collect final : RecordSink {
  std::vector<Record> records;
  void on_record(const Record& r) override { records.push_back(r); }
};

Frame frame_of(const Bytes& b, uint16_t linktype, int32_t port = 0) {
  Frame f;
  f.ts_ns = 1'000'000'000;
  f.index = 5;
  f.offset = 1000;
  f.data = b.data();
  f.caplen = f.origlen = b.size();
  f.port = port;
  f.linktype = linktype;
  return f;
}

}  // namespace

TEST_CASE("dispatch: a malformed netlink frame yields one malformed record and no partial rows") {
  StringTable strings;
  Dispatcher d(strings);
  Collect sink;
  DecodeError err;
  NlLink m;
  m.ifname("eth0").carrier(1);
  NlLink bad;
  bad.attr(33, Bytes{});  // empty IFLA_CARRIER
  Bytes f = fwtest::nl_frame({m.bytes(), bad.bytes()});
  CHECK(d.dispatch(frame_of(f, kLinkNetlink), sink, err) == FrameKind::malformed);
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].kind == RecordKind::malformed);
  CHECK(sink.records[0].malformed.offset == 1000 + 16 + static_cast<int64_t>(m.bytes().size()) + 32);
  CHECK(strings[sink.records[0].malformed.reason].find("too short") != std::string::npos);
}

TEST_CASE("dispatch: netlink messages become link records on the interface's port") {
  StringTable strings;
  Dispatcher d(strings);
  Collect sink;
  DecodeError err;
  NlLink unnamed;  // no IFLA_IFNAME: the port is "if<index>"
  unnamed.ifindex = 9;
  Bytes f = fwtest::nl_frame({fwtest::link_msg("eth1", 3, true, 1, 0), unnamed.bytes()});
  CHECK(d.dispatch(frame_of(f, kLinkNetlink), sink, err) == FrameKind::link);
  REQUIRE(sink.records.size() == 2);
  CHECK(strings[sink.records[0].port] == "eth1");
  CHECK(sink.records[0].link.carrier == 1);
  CHECK(sink.records[0].link.carrier_up_count == 1);
  CHECK(strings[sink.records[1].port] == "if9");
  CHECK(sink.records[1].ts_ns == 1'000'000'000);
  CHECK(sink.records[1].frame == 5);
}

TEST_CASE("dispatch: a short PFC frame is malformed at its position in the frame") {
  StringTable strings;
  Dispatcher d(strings);
  Collect sink;
  DecodeError err;
  Bytes f = fwtest::ether(fwtest::kPfcDst, 1, 0x8808, {7});
  f.be16(0x0101).be16(0x01);  // no quanta
  CHECK(d.dispatch(frame_of(f, kLinkEthernet), sink, err) == FrameKind::malformed);
  CHECK(err.pos == 18 + 2);
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].malformed.offset == 1000 + 20);
}

TEST_CASE("dispatch: PFC through SLL2 (tcpdump -i any)") {
  StringTable strings;
  Dispatcher d(strings);
  Collect sink;
  DecodeError err;
  Bytes f;  // protocol, reserved, ifindex, hatype, pkttype, halen, addr[8]
  f.be16(0x8808).be16(0).be32(2).be16(1).u8(0).u8(6).mac(0x0200000000aa).zeros(2);
  f.put(fwtest::pfc_payload(0x08, {0, 0, 0, 500}));
  CHECK(d.dispatch(frame_of(f, kLinkSll2), sink, err) == FrameKind::pfc);
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].pfc.src_mac == 0x0200000000aa);
  CHECK(sink.records[0].pfc.quanta[3] == 500);
  CHECK(sink.records[0].pfc.vlan == -1);
}

TEST_CASE("dispatch: rx gaps - a port's silences of at least kRxGapNs, its own frames left out; off by default") {
  StringTable strings;
  Dispatcher d(strings);
  Collect sink;
  DecodeError err;
  constexpr uint64_t kNeighbor = 0x0200000000aa, kOwn = 0x0200000000bb;
  Bytes data = fwtest::ether(0xffffffffffff, kNeighbor, 0x88b5);
  data.zeros(46);
  Bytes own = fwtest::ether(0xffffffffffff, kOwn, 0x88b5);
  own.zeros(46);
  const int32_t eth0 = strings.intern("eth0");
  auto send = [&](const Bytes& b, int64_t ts) {
    Frame f = frame_of(b, kLinkEthernet, eth0);
    f.ts_ns = ts;
    d.dispatch(f, sink, err);
  };
  const int64_t ms = 1'000'000;
  send(data, 0);
  send(data, 50 * ms);
  CHECK(sink.records.empty());  // not asked for: no records for frames of no protocol we decode

  d.track_rx_gaps(true);
  d.add_own_mac(eth0, kOwn);
  for (int64_t t = 100 * ms; t <= 110 * ms; t += ms) send(data, t);  // steady: no gap under 4 ms
  send(own, 125 * ms);  // the port's own frame in the silence: sent, not received
  send(data, 140 * ms);  // a 30 ms silence ends
  send(data, 143 * ms);
  REQUIRE(sink.records.size() == 1);  // the frames before tracking began are not its history
  const Record& g = sink.records[0];
  CHECK(g.kind == RecordKind::rx_gap);
  CHECK(g.ts_ns == 140 * ms);
  CHECK(g.rx_gap.start_ns == 110 * ms);
  CHECK(g.rx_gap.frames == 11);  // the steady frames before it
  CHECK(!g.rx_gap.at_message);
  CHECK(g.port == eth0);

  // A link message of the port: its reception as of then first (the last frame, those since the gap).
  Bytes nl = fwtest::nl_frame({fwtest::link_msg("eth0", 3, true, 1, 0)});
  Frame m = frame_of(nl, kLinkNetlink);
  m.ts_ns = 150 * ms;
  CHECK(d.dispatch(m, sink, err) == FrameKind::link);
  REQUIRE(sink.records.size() == 3);
  CHECK(sink.records[1].kind == RecordKind::rx_gap);
  CHECK(sink.records[1].rx_gap.at_message);
  CHECK(sink.records[1].port == eth0);
  CHECK(sink.records[1].ts_ns == 150 * ms);
  CHECK(sink.records[1].rx_gap.start_ns == 143 * ms);
  CHECK(sink.records[1].rx_gap.frames == 2);
  CHECK(sink.records[2].kind == RecordKind::link);
}

TEST_CASE("counter and link-event blocks: written to their size, read back the same") {
  CounterSample s;
  s.ts_ns = 1'700'000'000'123'456'789;
  s.read_ns = 41'000;
  s.refresh_ns = 1'000'000'000;
  s.flags = kSampleNamesReread;
  s.interface = "swp12";  // 5 bytes: padded to 8
  s.values = {CounterValue{CounterMeaning::pfc_pause_us, kDirRx, 3, CounterUnit::frames, 32, 0xfffffff0},
              CounterValue{CounterMeaning::pfc_frames, kDirTx, -1, CounterUnit::frames, 64, 1ull << 40}};
  std::vector<uint8_t> out;
  encode_counter_block(s, 7, out);
  CHECK(out.size() == kCounterBlockHeader + 8 + 2 * kCounterValueSize);
  CounterSample back;
  uint32_t seq = 0;
  std::string why;
  REQUIRE(parse_counter_block(out.data(), out.size(), false, back, seq, why) == CounterBlockParse::ok);
  CHECK(seq == 7);
  CHECK(back.ts_ns == s.ts_ns);
  CHECK(back.read_ns == s.read_ns);
  CHECK(back.refresh_ns == s.refresh_ns);
  CHECK(back.flags == s.flags);
  CHECK(back.interface == "swp12");
  REQUIRE(back.values.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back.values[i].meaning == s.values[i].meaning);
    CHECK(back.values[i].direction == s.values[i].direction);
    CHECK(back.values[i].priority == s.values[i].priority);
    CHECK(back.values[i].width == s.values[i].width);
    CHECK(back.values[i].value == s.values[i].value);
  }

  LinkEvent e;
  e.ts_ns = 1'700'000'000'000'000'001;
  e.interface = "Ethernet48";  // 10 bytes: padded to 12
  e.up = true;
  e.carrier_changes = 9;
  e.carrier_down_count = 4;
  e.ifindex = 57;
  encode_link_event_block(e, out);  // the buffer reused: sized again, not appended to
  CHECK(out.size() == kLinkEventBlockHeader + 12);
  LinkEvent eb;
  REQUIRE(parse_link_event_block(out.data(), out.size(), false, eb, why));
  CHECK(eb.ts_ns == e.ts_ns);
  CHECK(eb.interface == "Ethernet48");
  CHECK(eb.up);
  CHECK(eb.carrier_changes == 9);
  CHECK(eb.carrier_up_count == -1);
  CHECK(eb.carrier_down_count == 4);
  CHECK(eb.ifindex == 57);
}

TEST_CASE("block encoder: a write past the block's size, or a block left short, is a logic_error") {
  std::vector<uint8_t> out;
  detail::BlockOut b(out, kCounterBlockMagic, 0, 16);  // PEN, magic, version, flags: 12 bytes
  CHECK(b.at == 12);
  CHECK_THROWS_AS(b.done(), std::logic_error);  // 4 bytes never written
  b.put(uint32_t{1});
  CHECK_NOTHROW(b.done());
  CHECK_THROWS_AS(b.put(uint8_t{0}), std::logic_error);  // one byte past: nothing written
  CHECK_THROWS_AS(b.skip(1), std::logic_error);
  CHECK(b.at == 16);
  CHECK(out.size() == 16);

  detail::BlockOut n(out, kLinkEventBlockMagic, 0, 12 + 4);
  CHECK_THROWS_AS(n.name("swp1x"), std::logic_error);  // 5 bytes do not fit in 4
  detail::BlockOut m(out, kLinkEventBlockMagic, 0, 12 + 8);
  m.name("swp1x");  // 5 bytes and 3 of padding
  CHECK(m.at == 20);
  CHECK_NOTHROW(m.done());
  CHECK(out[16] == 'x');
  CHECK(out[17] == 0);
  CHECK(out[19] == 0);
}
