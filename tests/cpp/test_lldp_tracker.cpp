// LldpTracker fed LLDP records directly: the neighbor table per port keyed by MSAP,
// and its events (added, updated, changed, aged out at TTL expiry, shutdown).
#include <doctest/doctest.h>

#include <string>

#include "flapwatch/engine.hpp"
#include "flapwatch/string_table.hpp"
#include "flapwatch/track/lldp_tracker.hpp"

using namespace flapwatch;

namespace {

constexpr int32_t kPort = 1;

// A neighbor's LLDPDU; the ids stand for string-table indices.
LldpRecord lldpdu(int32_t chassis, int32_t port_id, int32_t system_name, int32_t ttl, int32_t system_desc = 50) {
  LldpRecord r{};
  r.src_mac = 0x02aa00000001;
  r.chassis_subtype = 4;  // MAC address
  r.chassis_id = chassis;
  r.port_subtype = 5;  // interface name
  r.port_id = port_id;
  r.system_name = system_name;
  r.system_desc = system_desc;
  r.ttl = ttl;
  return r;
}

struct Row {
  int64_t ts;
  LldpEvent event;
  int32_t chassis, port_id, system_name, ttl;
  int32_t prev_chassis, prev_port_id, prev_system_name;
};

void check_row(const LldpEventTable& t, size_t i, const Row& want) {
  CAPTURE(i);
  REQUIRE(i < t.size());
  CHECK(t.ts_ns[i] == want.ts);
  CHECK(t.port[i] == kPort);
  CHECK(int(t.event[i]) == int(want.event));
  CHECK(t.chassis_id[i] == want.chassis);
  CHECK(t.port_id[i] == want.port_id);
  CHECK(t.system_name[i] == want.system_name);
  CHECK(t.ttl[i] == want.ttl);
  CHECK(t.prev_chassis_id[i] == want.prev_chassis);
  CHECK(t.prev_port_id[i] == want.prev_port_id);
  CHECK(t.prev_system_name[i] == want.prev_system_name);
}

}  // namespace

TEST_CASE("a neighbor's life: added, updated, changed (recabled), aged out, shutdown, added again") {
  Detections out;
  LldpTracker t(out);
  const auto& e = out.lldp_events;
  // Neighbor A: chassis 10, port 11, name 12. Neighbor B: 20, 21, 22. TTL 120 s.
  t.on_lldp(1 * kSec, kPort, lldpdu(10, 11, 12, 120));
  check_row(e, 0, {1 * kSec, LldpEvent::added, 10, 11, 12, 120, -1, -1, -1});
  t.on_lldp(31 * kSec, kPort, lldpdu(10, 11, 12, 120));  // the same LLDPDU again: no event
  CHECK(e.size() == 1);
  t.on_lldp(61 * kSec, kPort, lldpdu(10, 11, 12, 120, 51));  // same MSAP, other system description
  check_row(e, 1, {61 * kSec, LldpEvent::updated, 10, 11, 12, 120, 10, 11, 12});
  t.on_lldp(91 * kSec, kPort, lldpdu(20, 21, 22, 120));  // another MSAP on the port
  check_row(e, 2, {91 * kSec, LldpEvent::changed, 20, 21, 22, 120, 10, 11, 12});
  CHECK(t.ports()[kPort].neighbors.size() == 2);  // A stays until its TTL says otherwise

  // A was last heard at 61 s: it expires at 61 s + 120 s, and is aged out just after.
  CHECK(t.next_deadline() == 181 * kSec);
  t.advance(181 * kSec);
  CHECK(e.size() == 3);
  t.advance(200 * kSec);
  check_row(e, 3, {181 * kSec, LldpEvent::aged_out, 10, 11, 12, 120, -1, -1, -1});
  CHECK(t.ports()[kPort].neighbors.size() == 1);

  t.on_lldp(205 * kSec, kPort, lldpdu(20, 21, 22, 0));  // B leaves: TTL 0
  check_row(e, 4, {205 * kSec, LldpEvent::shutdown, 20, 21, 22, 0, -1, -1, -1});
  CHECK(t.ports()[kPort].neighbors.empty());
  CHECK(t.next_deadline() == kNever);

  // A comes back: added, with the last neighbor the port had (B) as the previous one.
  t.on_lldp(300 * kSec, kPort, lldpdu(10, 11, 12, 120));
  check_row(e, 5, {300 * kSec, LldpEvent::added, 10, 11, 12, 120, 20, 21, 22});
  t.finish(400 * kSec);  // within A's TTL: nothing says it left
  CHECK(e.size() == 6);

  const auto& s = t.ports()[kPort];
  CHECK(s.frames == 6);
  CHECK(s.seen);
  CHECK(s.last.chassis_id == 10);
  CHECK(s.last.expires_ns == 420 * kSec);
}

TEST_CASE("a neighbor that stops sending is aged out at its TTL even when time passes only at the end") {
  Detections out;
  LldpTracker t(out);
  t.on_lldp(1 * kSec, kPort, lldpdu(10, 11, 12, 30));
  t.on_lldp(2 * kSec, kPort + 1, lldpdu(20, 21, 22, 120));
  t.finish(500 * kSec);
  const auto& e = out.lldp_events;
  REQUIRE(e.size() == 4);
  CHECK(e.event[2] == static_cast<uint8_t>(LldpEvent::aged_out));
  CHECK(e.port[2] == kPort);
  CHECK(e.ts_ns[2] == 31 * kSec);
  CHECK(e.event[3] == static_cast<uint8_t>(LldpEvent::aged_out));
  CHECK(e.port[3] == kPort + 1);
  CHECK(e.ts_ns[3] == 122 * kSec);
}

namespace {

Record lldp_record(int64_t ts, int32_t port, uint64_t src_mac, const LldpRecord& r) {
  Record rec{};
  rec.ts_ns = ts;
  rec.port = port;
  rec.kind = RecordKind::lldp;
  rec.lldp = r;
  rec.lldp.src_mac = src_mac;
  return rec;
}

constexpr uint64_t kOwn = 0x02fa00000001, kPeer = 0x02aa00000001;

}  // namespace

TEST_CASE("a port's own LLDPDUs are no neighbor when its address is known before its first link message") {
  StringTable strings;
  EngineConfig cfg;
  cfg.lldp.own_macs = {{"ens1", kOwn}};  // configured (a port with no link capture)
  Engine engine(cfg, strings);
  const int32_t ens1 = strings.intern("ens1"), ens2 = strings.intern("ens2");
  engine.add_own_mac(ens2, kOwn + 1);  // told before the replay (run_pipeline's pass over link captures)
  for (int32_t port : {ens1, ens2}) {
    uint64_t own = port == ens1 ? kOwn : kOwn + 1;
    engine.on_record(lldp_record(1 * kSec, port, own, lldpdu(90, 91, 92, 4)));  // own, seen leaving: first
    engine.on_record(lldp_record(2 * kSec, port, kPeer, lldpdu(10, 11, 12, 4)));
    engine.on_record(lldp_record(3 * kSec, port, own, lldpdu(90, 91, 92, 4)));
    engine.on_record(lldp_record(4 * kSec, port, kPeer, lldpdu(10, 11, 12, 4)));
  }
  engine.finish();
  const auto& e = engine.detections().lldp_events;
  REQUIRE(e.size() == 2);  // the real neighbor added once per port: no added/changed/aged_out of the own
  for (size_t i = 0; i < 2; ++i) {
    CHECK(int(e.event[i]) == int(LldpEvent::added));
    CHECK(e.system_name[i] == 12);
  }
  CHECK(engine.own_lldp_frames() == 4);
  CHECK(engine.warnings().empty());
}

TEST_CASE("no address known for a port that hears two senders: the own is a neighbor, and a warning says so") {
  StringTable strings;
  Engine engine(EngineConfig{}, strings);
  const int32_t ens1 = strings.intern("ens1");
  engine.on_record(lldp_record(1 * kSec, ens1, kOwn, lldpdu(90, 91, 92, 120)));
  engine.on_record(lldp_record(2 * kSec, ens1, kPeer, lldpdu(10, 11, 12, 120)));
  engine.finish();
  CHECK(engine.detections().lldp_events.size() == 2);  // added (the own), changed
  REQUIRE(engine.warnings().size() == 1);
  CHECK(engine.warnings()[0].find("port ens1: LLDPDUs from 2 source MACs") == 0);
}

TEST_CASE("own_macs: validate() wants a port name and a 48-bit MAC") {
  EngineConfig cfg;
  cfg.lldp.own_macs = {{"ens1", kOwn}};
  CHECK(cfg.validate().empty());
  cfg.lldp.own_macs = {{"ens1", 0}};
  CHECK(cfg.validate().find("lldp.own_macs[0] (\"ens1\").mac") == 0);
  cfg.lldp.own_macs = {{"ens1", uint64_t(1) << 48}};
  CHECK(!cfg.validate().empty());
  cfg.lldp.own_macs = {{"", kOwn}};
  CHECK(cfg.validate().find(".port must be a port name") != std::string::npos);
}
