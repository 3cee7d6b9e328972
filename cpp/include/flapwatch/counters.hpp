// Counter samples (docs/DESIGN.md, "Counters"): what one read of a port's counters
// gives, already classified by a driver profile (python/flapwatch/counters/profiles.py
// states the names; an embedder classifies its own), and how a sample becomes records
// for the ring and the engine.
//
// Why one record per classified value, not a side ring: a sample carries a handful of
// classified counters (mlx5 with PFC on 8 priorities: ~50; Intel: ~40; veth: none),
// polled at 10-100 Hz per port, i.e. thousands of records a second against the
// millions of frames a second the ring is sized for. One value fits in the 64-byte
// RingRecord next to the sample's time, its own read duration and its position in the
// sample (index / count), so a sample needs no variable-length payload and no second
// ring whose capacity must track the first (the LLDP side ring exists because an LLDP
// record cannot fit; a value can). The tracker sees the sample complete at index ==
// count - 1; a sample with no classified value is one record with count 0 (time
// passes, and counters that vanished are noticed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flapwatch/records.hpp"

namespace flapwatch {

// Same names and order as MEANINGS in python/flapwatch/counters/profiles.py.
enum class CounterMeaning : uint8_t {
  pfc_frames,
  pfc_frames_all,
  pfc_pause_us,
  pfc_xon,
  pfc_xoff,
  pfc_transitions,
  pause_frames,
  pause_us,
  pause_xon,
  pause_xoff,
  mac_pause_frames,
  link_down_events,
  storm_watchdog_events,
  vendor_pause_events,
  mac_faults,
};
constexpr int kCounterMeanings = 15;
constexpr const char* kCounterMeaningNames[kCounterMeanings] = {
    "pfc_frames", "pfc_frames_all", "pfc_pause_us",     "pfc_xon",          "pfc_xoff",
    "pfc_transitions", "pause_frames", "pause_us",      "pause_xon",        "pause_xoff",
    "mac_pause_frames", "link_down_events", "storm_watchdog_events", "vendor_pause_events", "mac_faults"};
enum class CounterUnit : uint8_t { frames, us, events };
constexpr const char* kCounterUnitNames[] = {"frames", "us", "events"};
enum CounterDirection : int8_t { kDirNone = 0, kDirRx = 1, kDirTx = 2 };

// One classified counter of a sample.
struct CounterValue {
  CounterMeaning meaning;
  int8_t direction = kDirNone;  // CounterDirection
  int8_t priority = -1;         // 0..7, -1: none (link level, all priorities, PHY)
  CounterUnit unit = CounterUnit::frames;
  uint8_t width = 64;  // 32: wraps at 2^32
  uint64_t value = 0;
};

// Sample flags.
constexpr uint8_t kSampleNamesReread = 1;  // the name list was re-read (changed) before this read

// One read of one interface's counters.
struct CounterSample {
  int64_t ts_ns = 0;    // CLOCK_REALTIME at the read
  int64_t read_ns = 0;  // how long the read itself took (the value's time is within it)
  std::string interface;
  int64_t refresh_ns = 0;  // the driver's own copy period (bnxt 1 s): unchanged values within it are repeats
  uint8_t flags = 0;
  std::vector<CounterValue> values;
};

constexpr uint8_t kNoMeaning = 0xff;  // the record of a sample with no classified value

// The records of one sample on `port` (its sample number `seq`), in value order.
template <class Emit>
void sample_records(const CounterSample& s, int32_t port, uint32_t seq, Emit&& emit) {
  Record r{};
  r.kind = RecordKind::counter;
  r.ts_ns = s.ts_ns;
  r.frame = -1;
  r.port = port;
  CounterRecord& c = r.counter;
  c.read_ns = s.read_ns;
  c.sample = seq;
  c.flags = s.flags;
  int64_t refresh_ms = s.refresh_ns / 1'000'000;
  c.refresh_ms = static_cast<uint16_t>(refresh_ms > 65535 ? 65535 : refresh_ms);
  auto n = static_cast<uint16_t>(s.values.size() > 65535 ? 65535 : s.values.size());
  c.count = n;
  if (n == 0) {
    c.meaning = kNoMeaning;
    c.priority = -1;
    emit(static_cast<const Record&>(r));
    return;
  }
  for (uint16_t i = 0; i < n; ++i) {
    const CounterValue& v = s.values[i];
    c.index = i;
    c.value = v.value;
    c.meaning = static_cast<uint8_t>(v.meaning);
    c.direction = v.direction;
    c.priority = v.priority;
    c.unit = static_cast<uint8_t>(v.unit);
    c.width = v.width;
    emit(static_cast<const Record&>(r));
  }
}

// A link event from an embedder's own source (a vendor SDK, SAI port-state
// notifications): the same record a netlink message gives. Counters -1: not known.
struct LinkEvent {
  int64_t ts_ns = 0;
  std::string interface;
  bool up = false;
  int64_t carrier_changes = -1, carrier_up_count = -1, carrier_down_count = -1;
  int32_t ifindex = 0;
  // A state read, not a change seen (the first poll of a table, as a netlink dump reply):
  // a port's first one is its baseline (up or down is a state, no outage or flap).
  bool baseline = false;
};

// The link record of an event, as an RTM_NEWLINK notification for an interface that
// is administratively up and whose carrier is `up`.
inline Record link_event_record(const LinkEvent& e, int32_t port) {
  Record r{};
  r.kind = RecordKind::link;
  r.ts_ns = e.ts_ns;
  r.frame = -1;
  r.port = port;
  LinkRecord& l = r.link;
  l.msg_type = 16;  // RTM_NEWLINK
  l.ifindex = e.ifindex;
  l.flags = 0x1 | (e.up ? 0x10000u | 0x40u : 0u);  // IFF_UP, IFF_LOWER_UP, IFF_RUNNING
  l.operstate = e.up ? 6 : 2;                       // IF_OPER_UP / IF_OPER_DOWN
  l.carrier = e.up ? 1 : 0;
  l.carrier_changes = e.carrier_changes;
  l.carrier_up_count = e.carrier_up_count;
  l.carrier_down_count = e.carrier_down_count;
  l.dump = e.baseline ? 1 : 0;
  return r;
}

}  // namespace flapwatch
