// run_pipeline over small pcaps the test writes itself: an Ethernet capture (LLDP,
// a PFC storm, PAUSE, other and malformed frames) and a LINKTYPE_NETLINK capture
// (RTM_NEWLINK messages: flaps, hidden flaps, an open outage). Checks the counts,
// the detections, that ring size changes nothing but the wait counter, and that a
// CaptureError in the reader thread reaches the caller.
#include <doctest/doctest.h>

#include <iomanip>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "flapwatch/column_pool.hpp"
#include "flapwatch/column_prefaulter.hpp"
#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/engine.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/io/merged_captures.hpp"
#include "flapwatch/pipeline.hpp"
#include "flapwatch/record_gate.hpp"
#include "test_util.hpp"

using namespace flapwatch;
using fwtest::Bytes;

namespace {

constexpr int64_t T0 = 1'700'000'000 * kSec;
constexpr uint64_t kNeighborMac = 0x02aa00000001, kPeerMac = 0x02bb00000002;

// What the generated captures hold, for the checks.
struct Expected {
  int64_t pfc = 0, pause = 0, lldp = 0, link_frames = 0, link_msgs = 0, other = 0, malformed = 0;
  // One port_info per port that has records: sw1 (the Ethernet file's stem), eth0,
  // eth1 (netlink IFLA_IFNAME); not "nl", the netlink file's stem, which has none.
  int64_t ports_announced = 3;
  int64_t rx_gaps = 0;  // silences of >= Dispatcher::kRxGapNs between the switch capture's frames
  int64_t records() const { return pfc + pause + lldp + link_msgs + malformed + ports_announced + rx_gaps; }
};

// sw1.pcap: Ethernet. LLDP (100G via MAU 77), then a PFC storm on priority 3
// (65535 quanta every 50 µs for 400 ms: continuously paused), its XON, other
// traffic, one malformed PFC frame and a few 802.3x PAUSE frames.
void write_switch_capture(const std::string& path, Expected& e) {
  struct Writer {  // the file, and each silence between its frames (all from the peer: received)
    fwtest::PcapWriter w;
    Expected& e;
    int64_t last = -1;
    void frame(int64_t t, const Bytes& b) {
      w.frame(t, b);
      if (last >= 0 && t - last >= Dispatcher::kRxGapNs) ++e.rx_gaps;
      last = t;
    }
  } w{fwtest::PcapWriter(path, 1), e};
  Bytes lldp = fwtest::ether(fwtest::kLldpDst, kNeighborMac, 0x88cc);
  lldp.put(fwtest::lldp_payload(kNeighborMac, "Ethernet7", 120, "spine-1", 77));
  w.frame(T0 + 500 * kMs, lldp);
  ++e.lldp;
  int64_t t = T0 + 1 * kSec;
  for (int i = 0; i < 8000; ++i, t += 50'000) {
    w.frame(t, fwtest::pfc_frame(kPeerMac, 0x08, {0, 0, 0, 0xffff}));
    ++e.pfc;
    if (i % 2000 == 0) {  // other traffic in between (IPv4)
      Bytes ip = fwtest::ether(0x020000000099, kPeerMac, 0x0800);
      ip.zeros(46);
      w.frame(t + 1000, ip);
      ++e.other;
    }
  }
  w.frame(T0 + 1600 * kMs, fwtest::pfc_frame(kPeerMac, 0x08, {0, 0, 0, 0}));  // XON
  ++e.pfc;
  Bytes bad = fwtest::ether(fwtest::kPfcDst, kPeerMac, 0x8808);
  bad.be16(0x0101).be16(0x08).be16(100);  // PFC cut short after one quantum
  w.frame(T0 + 2 * kSec, bad);
  ++e.malformed;
  for (int i = 0; i < 3; ++i) {
    Bytes pause = fwtest::ether(fwtest::kPfcDst, kPeerMac, 0x8808);
    pause.be16(0x0001).be16(0x100).zeros(42);
    w.frame(T0 + 3 * kSec + i * kMs, pause);
    ++e.pause;
  }
}

// nl.pcap: LINKTYPE_NETLINK. eth0 (ifindex 2) starts up (a dump reply), flaps 6 times
// (100 ms down, one a second), then one frame carries two messages: eth0 still up but
// with its down counter 2 higher (2 hidden flaps) and eth1's first message (a dump
// reply); eth1 goes down at the end and stays down.
void write_netlink_capture(const std::string& path, Expected& e) {
  fwtest::PcapWriter w(path, 253);
  auto frame = [&](int64_t t, std::initializer_list<Bytes> msgs) {
    w.frame(t, fwtest::nl_frame(msgs));
    ++e.link_frames;
    e.link_msgs += static_cast<int64_t>(msgs.size());
  };
  frame(T0 + 100 * kMs, {fwtest::link_msg("eth0", 2, true, 1, 0, true)});
  uint32_t up = 1, down = 0;
  for (int k = 0; k < 6; ++k) {
    int64_t t = T0 + (1 + k) * kSec + 5 * kMs;
    frame(t, {fwtest::link_msg("eth0", 2, false, up, ++down)});
    frame(t + 100 * kMs, {fwtest::link_msg("eth0", 2, true, ++up, down)});
  }
  down += 2;
  up += 2;
  frame(T0 + 8 * kSec, {fwtest::link_msg("eth0", 2, true, up, down), fwtest::link_msg("eth1", 3, true, 1, 0, true)});
  frame(T0 + 9 * kSec, {fwtest::link_msg("eth1", 3, false, 1, 1)});
}

// Every detection column as text, so two runs compare in one CHECK.
std::string dump(Detections& d, const StringTable& strings) {
  std::ostringstream os;
  os << std::setprecision(17);
  d.for_each_table([&](const char* table, auto& t) {
    os << table << " (" << t.size() << " rows)\n";
    t.for_each_column([&](const char* column, auto& col) {
      os << "  " << column << ":";
      for (auto v : col) os << ' ' << +v;
      os << '\n';
    });
  });
  os << "strings:";
  for (size_t i = 0; i < strings.size(); ++i) os << ' ' << strings[static_cast<int32_t>(i)];
  return os.str();
}

struct Run {
  PipelineResult result;
  std::string detections;
  StringTable strings;
  Detections raw;
};

Run run(const std::vector<std::string>& paths, size_t ring, bool strict = false, unsigned threads = 1,
        uint64_t range_bytes = 4 << 20) {
  Run r;
  EngineConfig cfg;
  Engine engine(cfg, r.strings);
  PipelineOptions opts;
  opts.ring_capacity = ring;
  opts.strict = strict;
  opts.threads = threads;
  opts.range_bytes = range_bytes;
  r.result = run_pipeline(paths, r.strings, engine, cfg, opts);
  r.detections = dump(engine.detections(), r.strings);
  r.raw = engine.detections();
  return r;
}

int32_t find(const StringTable& s, const std::string& name) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[static_cast<int32_t>(i)] == name) return static_cast<int32_t>(i);
  return -1;
}

struct Captures {
  fwtest::ScratchDir dir;
  std::vector<std::string> paths;
  Expected e;
  Captures() {
    paths = {dir.file("sw1.pcap"), dir.file("nl.pcap")};
    write_switch_capture(paths[0], e);
    write_netlink_capture(paths[1], e);
  }
};

}  // namespace

TEST_CASE("pipeline: counts and detections of the generated captures") {
  Captures c;
  Run r = run(c.paths, 1 << 16);
  const Expected& e = c.e;
  const auto& k = r.result.counts.by_kind;
  CHECK(k[static_cast<int>(FrameKind::pfc)] == e.pfc);
  CHECK(k[static_cast<int>(FrameKind::pause)] == e.pause);
  CHECK(k[static_cast<int>(FrameKind::lldp)] == e.lldp);
  CHECK(k[static_cast<int>(FrameKind::link)] == e.link_frames);
  CHECK(k[static_cast<int>(FrameKind::other)] == e.other);
  CHECK(k[static_cast<int>(FrameKind::malformed)] == e.malformed);
  CHECK(r.result.records == e.records());
  CHECK(r.result.ring_full_waits == 0);  // the ring holds every record: never full
  CHECK(r.result.warnings.empty());      // the speed came from LLDP

  const Detections& d = r.raw;
  int32_t eth0 = find(r.strings, "eth0"), eth1 = find(r.strings, "eth1"), sw1 = find(r.strings, "sw1");
  REQUIRE(eth0 >= 0);
  REQUIRE(eth1 >= 0);
  REQUIRE(sw1 >= 0);

  // Flaps: 6 seen (100 ms each), 2 hidden, eth1 still down at the end.
  int seen = 0, hidden = 0, open = 0;
  for (size_t i = 0; i < d.flaps.size(); ++i) {
    if (d.flaps.port[i] == eth0 && !d.flaps.hidden[i]) {
      ++seen;
      CHECK(d.flaps.duration_ns[i] == 100 * kMs);
    } else if (d.flaps.port[i] == eth0) {
      ++hidden;
      CHECK(d.flaps.ts_ns[i] == T0 + 8 * kSec);
    } else if (d.flaps.port[i] == eth1) {
      ++open;
      CHECK(d.flaps.up_ns[i] == -1);
      CHECK(d.flaps.down_ns[i] == T0 + 9 * kSec);
    }
  }
  CHECK(seen == 6);
  CHECK(hidden == 2);
  CHECK(open == 1);
  CHECK(d.flaps.size() == 9);
  // Every seen down opened an outage at once (a link_down row): eth0's 6 and eth1's.
  REQUIRE(d.link_down.size() == 7);
  CHECK(d.link_down.port[6] == eth1);
  CHECK(d.link_down.down_ns[6] == T0 + 9 * kSec);

  // The default window policy, "5-in-10s" (errdisable: 5 flaps in 10 s), trips on eth0 at the 5th down.
  bool tripped = false;
  for (size_t i = 0; i < d.policy_events.size(); ++i)
    if (d.policy_events.port[i] == eth0 && r.strings[d.policy_events.policy[i]] == "5-in-10s" &&
        d.policy_events.event[i] == 1) {
      tripped = true;
      CHECK(d.policy_events.ts_ns[i] == T0 + 5 * kSec + 5 * kMs);
    }
  CHECK(tripped);

  // One PFC storm on sw1, priority 3, from the first pause.
  REQUIRE(d.pfc_storms.size() == 1);
  CHECK(d.pfc_storms.port[0] == sw1);
  CHECK(d.pfc_storms.priority[0] == 3);
  CHECK(d.pfc_storms.start_ns[0] == T0 + 1 * kSec);
  CHECK(d.pfc_storms.ts_ns[0] == T0 + 1 * kSec + 200 * kMs);

  // The LLDP neighbor was added on sw1.
  REQUIRE(d.lldp_events.size() >= 1);
  CHECK(d.lldp_events.port[0] == sw1);
  CHECK(d.lldp_events.event[0] == static_cast<uint8_t>(LldpEvent::added));
  CHECK(r.strings[d.lldp_events.system_name[0]] == "spine-1");

  // The per-port table: eth0 8 flaps (2 hidden), sw1 at 100G from LLDP.
  for (size_t i = 0; i < d.ports.size(); ++i) {
    if (d.ports.port[i] == eth0) {
      CHECK(d.ports.flaps[i] == 8);
      CHECK(d.ports.hidden_flaps[i] == 2);
      CHECK(d.ports.down_ns_total[i] == 600 * kMs);
      CHECK(d.ports.oper_up[i] == 1);
    } else if (d.ports.port[i] == sw1) {
      CHECK(d.ports.speed_bps[i] == 100'000'000'000);
      CHECK(d.ports.pfc_frames[i] == e.pfc + e.pause);  // MAC control frames: PFC and PAUSE
      CHECK(d.ports.storms[i] == 1);
    } else if (d.ports.port[i] == eth1) {
      CHECK(d.ports.oper_up[i] == 0);
    }
  }
}

TEST_CASE("pipeline: a capacity-2 ring gives the detections of a big one, and counts its waits") {
  Captures c;
  Run big = run(c.paths, 1 << 16);
  CHECK(big.result.ring_full_waits == 0);
  // With 2 slots the reader outruns the tracker within a few records; on a busy
  // machine a run might still never find it full, so allow a few attempts.
  int64_t waits = 0;
  for (int attempt = 0; attempt < 5 && waits == 0; ++attempt) {
    Run tiny = run(c.paths, 2);
    CHECK(tiny.result.records == big.result.records);
    CHECK(tiny.result.counts.by_kind == big.result.counts.by_kind);
    CHECK(tiny.result.warnings == big.result.warnings);
    CHECK(tiny.detections == big.detections);
    waits = tiny.result.ring_full_waits;
  }
  MESSAGE("capacity 2: ring_full_waits = " << waits << " over " << big.result.records << " records");
  CHECK(waits > 0);
}

TEST_CASE("pipeline: the same detections as a single-thread replay of the records") {
  Captures c;
  Run piped = run(c.paths, 16);

  // The reader's loop without the ring: dispatcher -> RecordGate (port_info before a
  // port's first record) -> straight into the engine.
  StringTable strings;
  EngineConfig cfg;
  Engine engine(cfg, strings);
  EngineSink sink(engine);
  RecordGate gate(sink, strings, cfg);
  MergedCaptures source(c.paths, strings, false);
  // run_pipeline's pass over the link messages first: every port's own address.
  for (const auto& [port, mac] : link_addresses(c.paths, strings, {})) engine.add_own_mac(port, mac);
  Dispatcher dispatcher(strings);
  dispatcher.track_rx_gaps(true);
  for (const auto& [port, mac] : link_addresses(c.paths, strings, {})) dispatcher.add_own_mac(port, mac);
  Frame f;
  DecodeError err;
  while (source.next(f)) dispatcher.dispatch(f, gate, err);
  engine.finish();
  CHECK(engine.records() == piped.result.records);
  CHECK(dump(engine.detections(), strings) == piped.detections);
}

TEST_CASE("pipeline: one capture in byte ranges on several threads gives the one-reader result") {
  Captures c;
  for (const std::string& path : c.paths) {  // the Ethernet capture (rx gaps, a storm, LLDP), the netlink one
    Run one = run({path}, 1 << 16, false, 0);  // one reader feeding the ring
    CHECK(one.result.ranges == 0);
    for (uint64_t range_bytes : {uint64_t(64), uint64_t(256), uint64_t(700)}) {
      for (unsigned threads : {1u, 2u, 3u}) {
        CAPTURE(path);
        CAPTURE(range_bytes);
        CAPTURE(threads);
        Run many = run({path}, 1 << 16, false, threads, range_bytes);
        CHECK(many.result.ranges > 2);
        CHECK_FALSE(many.result.ranges_fell_back);
        CHECK(many.result.records == one.result.records);
        CHECK(many.result.counts.by_kind == one.result.counts.by_kind);
        CHECK(many.result.warnings == one.result.warnings);
        CHECK(many.detections == one.detections);
      }
    }
  }
}

TEST_CASE("pipeline: a CaptureError in the reader thread is rethrown to the caller") {
  fwtest::ScratchDir dir;

  SUBCASE("strict: a malformed frame in the middle of the file") {
    std::string path = dir.file("bad.pcap");
    {
      fwtest::PcapWriter w(path, 1);
      for (int i = 0; i < 200; ++i) {
        if (i == 150) {
          Bytes bad = fwtest::ether(fwtest::kPfcDst, kPeerMac, 0x8808);
          bad.be16(0x0101);  // opcode only
          w.frame(T0 + i * kMs, bad);
        } else {
          w.frame(T0 + i * kMs, fwtest::pfc_frame(kPeerMac, 0x01, {1000}));
        }
      }
    }
    for (size_t ring : {size_t(2), size_t(1) << 14}) {
      CAPTURE(ring);
      bool caught = false;
      try {
        run({path}, ring, /*strict=*/true);
      } catch (const CaptureError& ex) {
        caught = true;
        CHECK(ex.path() == path);
        CHECK(ex.reason().find("frame 150") != std::string::npos);
        CHECK(ex.reason().find("PFC frame too short") != std::string::npos);
        CHECK(ex.offset() == 24 + 150 * (16 + 60) + 16 + 14 + 2);  // 60-byte frames; the error is past the opcode
      }
      CHECK(caught);
    }
    // Not strict: a malformed row, and the read goes on.
    Run r = run({path}, 2, false);
    CHECK(r.result.counts.by_kind[static_cast<int>(FrameKind::malformed)] == 1);
    CHECK(r.result.counts.by_kind[static_cast<int>(FrameKind::pfc)] == 199);
  }

  SUBCASE("strict: the last record runs past the end of the file") {
    std::string path = dir.file("cut.pcap");
    {
      fwtest::PcapWriter w(path, 1);
      for (int i = 0; i < 100; ++i) w.frame(T0 + i * kMs, fwtest::pfc_frame(kPeerMac, 0x01, {1000}));
      w.frame(T0 + 100 * kMs, fwtest::pfc_frame(kPeerMac, 0x01, {1000}), 200);  // claims 200, has 64
    }
    for (size_t ring : {size_t(2), size_t(1) << 14}) {
      CAPTURE(ring);
      std::string what;
      try {
        run({path}, ring, true);
      } catch (const CaptureError& ex) {
        what = ex.what();
      }
      CHECK(what.find("runs past the end of the file") != std::string::npos);
    }
    // Not strict: a warning, and everything before the cut is kept.
    Run r = run({path}, 2, false);
    CHECK(r.result.counts.by_kind[static_cast<int>(FrameKind::pfc)] == 100);
    REQUIRE(r.result.warnings.size() >= 1);
    CHECK(r.result.warnings[0].find("read stops here") != std::string::npos);
  }

  SUBCASE("a file that cannot be opened fails before any thread starts") {
    CHECK_THROWS_AS(run({dir.file("missing.pcap")}, 2), CaptureError);
  }
}

TEST_CASE("ColumnPool: a freed buffer comes back whole, a held one never twice; trim unmaps") {
  ColumnPool& pool = ColumnPool::instance();
  pool.trim();
  const size_t mb = size_t(1) << 20;
  auto* a = static_cast<uint8_t*>(pool.take(8 * mb));
  for (size_t i = 0; i < 8 * mb; i += 4096) a[i] = 7;  // touched: the pages a reuse saves
  auto s0 = pool.stats();
  pool.give(a, 8 * mb);
  CHECK(pool.stats().kept == s0.kept + 1);
  auto* b = static_cast<uint8_t*>(pool.take(3 * mb));  // fits in a's mapping: reused, not mapped
  CHECK(b == a);
  CHECK(pool.stats().mapped == s0.mapped);
  CHECK(b[4096] == 7);  // the same pages, still there (callers overwrite what they use)
  auto* c = static_cast<uint8_t*>(pool.take(3 * mb));  // b is held: a new mapping
  CHECK(c != b);
  CHECK(pool.stats().mapped == s0.mapped + 1);
  pool.give(b, 3 * mb);  // the asked size; the pool remembers the mapping's 8 MB
  auto* d = static_cast<uint8_t*>(pool.take(8 * mb));
  CHECK(d == a);
  d[8 * mb - 1] = 1;  // the whole first mapping is still mapped
  pool.give(d, 8 * mb);
  pool.give(c, 3 * mb);
  CHECK(pool.stats().kept == 2);
  pool.trim();
  CHECK(pool.stats().kept == 0);
  CHECK(pool.stats().kept_bytes == 0);
}

TEST_CASE("ColumnPool from several threads") {
  ColumnPool& pool = ColumnPool::instance();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 200; ++i) {
        size_t bytes = (size_t(1) << 20) * size_t(1 + (i + t) % 3);
        auto* p = static_cast<uint8_t*>(pool.take(bytes));
        p[0] = static_cast<uint8_t>(t);
        p[bytes - 1] = static_cast<uint8_t>(i);
        pool.give(p, bytes);
      }
    });
  for (auto& th : threads) th.join();
  auto s = pool.stats();
  CHECK(s.kept <= ColumnPool::kMaxKept);
  CHECK(s.kept_bytes <= ColumnPool::kMaxKeptBytes);
  pool.trim();
}

TEST_CASE("ColumnPrefaulter: pages faulted in on another thread while this one writes; contents intact") {
  Column<uint64_t> a;
  Column<uint16_t> b;
  const size_t rows = size_t(3) << 20;
  a.reserve(rows + 5);
  b.reserve(rows / 2);
  std::vector<ColumnPrefaulter::Range> ranges = {
      {reinterpret_cast<char*>(a.data()), sizeof(uint64_t), a.capacity(), 0},
      {reinterpret_cast<char*>(b.data()), sizeof(uint16_t), b.capacity(), 1}};
  {
    ColumnPrefaulter prefault(std::move(ranges));
    for (size_t i = 0; i < rows; ++i) {
      if ((i & 0xffff) == 0) {
        prefault.advance(0, a.size() + (size_t(1) << 18));
        prefault.advance(1, b.size() + (size_t(1) << 18));
      }
      a.push_back(i * 0x9e3779b97f4a7c15ull);
      if (i % 2) b.push_back(static_cast<uint16_t>(i));
    }
  }  // joined here
  bool ok = true;
  for (size_t i = 0; i < rows; ++i) ok &= a[i] == i * 0x9e3779b97f4a7c15ull;
  for (size_t k = 0; k < b.size(); ++k) ok &= b[k] == static_cast<uint16_t>(2 * k + 1);
  CHECK(ok);
  CHECK(b.size() == rows / 2);
}

TEST_CASE("ColumnPrefaulter: stopping at once, and targets past the end, are harmless") {
  Column<int64_t> c;
  c.reserve(size_t(1) << 20);
  {
    ColumnPrefaulter idle({{reinterpret_cast<char*>(c.data()), sizeof(int64_t), c.capacity(), 0}});
  }
  {
    ColumnPrefaulter far({{reinterpret_cast<char*>(c.data()), sizeof(int64_t), c.capacity(), 0}});
    far.advance(0, SIZE_MAX / 16);  // clamped to the capacity
    far.advance(1, 5);              // a group with no range
  }
  c.push_back(7);
  CHECK(c[0] == 7);
}
