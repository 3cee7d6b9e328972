// Detection tables: what the trackers find, columnar like the record tables (int64 ns
// times, string-table indices), so they reach numpy / Arrow unchanged.
#pragma once
#include <cstdint>

#include "flapwatch/records.hpp"

namespace flapwatch {

// Detection rows carry when (ts_ns) and where (port); no source frame.
struct TimePortColumns {
  Column<int64_t> ts_ns;
  Column<int32_t> port;
};

// A flap: the port went down and came back. `ts_ns` is when it was known (the up, or
// for a hidden flap the message whose counters revealed it). An outage still open at
// the end of the input is a row with up_ns = -1, written then.
struct FlapTable : TimePortColumns, TableBase<FlapTable> {
  Column<int64_t> down_ns;      // hidden flaps: the earliest it can have started
  Column<int64_t> up_ns;        // -1: still down when the capture ended
  Column<int64_t> duration_ns;  // -1: unknown (hidden, or still down); open_at_start: a lower bound
  Column<uint8_t> hidden;       // only the carrier counters showed it
  Column<int8_t> held;          // hold-time what-if: 1 a hold-down timer would have hidden it, 0 not, -1 unknown
  Column<uint8_t> over_budget;  // the outage outlasted the job-impact budget
  // The outage was already open when the capture began (the port's first message, a
  // notification, said up): down_ns is the capture's start, a bound; the real down is earlier.
  Column<uint8_t> open_at_start;
  // What showed it: 0 netlink (a down and an up), 1 carrier counters (hidden), 2 a PHY
  // link-down counter with no carrier change (track/counter_tracker.hpp, kFlapSourceNames)
  Column<uint8_t> source;
  // The true down and up lie in [earliest, latest], the true duration in [min, max]: a
  // message may report a change linkwatch held back up to a second (track/link_tracker.hpp).
  // -1: unknown (a down before the capture began; an up that has not come; no upper bound).
  Column<int64_t> down_earliest_ns;
  Column<int64_t> down_latest_ns;
  Column<int64_t> up_earliest_ns;
  Column<int64_t> up_latest_ns;
  Column<int64_t> duration_min_ns;
  Column<int64_t> duration_max_ns;
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("down_ns", down_ns);
    f("up_ns", up_ns);
    f("duration_ns", duration_ns);
    f("hidden", hidden);
    f("held", held);
    f("over_budget", over_budget);
    f("open_at_start", open_at_start);
    f("source", source);
    f("down_earliest_ns", down_earliest_ns);
    f("down_latest_ns", down_latest_ns);
    f("up_earliest_ns", up_earliest_ns);
    f("up_latest_ns", up_latest_ns);
    f("duration_min_ns", duration_min_ns);
    f("duration_max_ns", duration_max_ns);
  }
};

// An outage opening: written at the down notification, before the link is back, so an
// event log or a follower can alert while the port is down. Its flap row follows when
// it closes (or at the end of the input, with up_ns = -1). Rows are only appended.
struct LinkDownTable : TimePortColumns, TableBase<LinkDownTable> {
  Column<int64_t> down_ns;  // when the port went down (the message that said so)
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("down_ns", down_ns);
  }
};

// A policy tripping (event 1) or clearing (event 0); `value` is the flap count in the
// window or the dampening penalty at that instant.
struct PolicyEventTable : TimePortColumns, TableBase<PolicyEventTable> {
  Column<int32_t> policy;  // string index of the policy's name
  Column<uint8_t> event;
  Column<double> value;
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("policy", policy);
    f("event", event);
    f("value", value);
  }
};

inline void append_policy_event(PolicyEventTable& t, int64_t ts, int32_t port, int32_t policy, bool trip,
                                double value) {
  t.ts_ns.push_back(ts);
  t.port.push_back(port);
  t.policy.push_back(policy);
  t.event.push_back(trip ? 1 : 0);
  t.value.push_back(value);
}

// A PFC storm: a priority paused continuously (or > duty of the window) for at least
// the detection time. ts_ns = when it was detected (start + detection time).
struct StormTable : TimePortColumns, TableBase<StormTable> {
  Column<int8_t> priority;  // 0..7, -1 for 802.3x PAUSE (all traffic)
  Column<int64_t> start_ns, end_ns;  // end: the last pause's expiry (-1: open at the end)
  Column<int64_t> paused_ns;
  Column<int64_t> frames;
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("priority", priority);
    f("start_ns", start_ns);
    f("end_ns", end_ns);
    f("paused_ns", paused_ns);
    f("frames", frames);
  }
};

// Pause per port, priority and window: ts_ns = window start.
struct PauseStatsTable : TimePortColumns, TableBase<PauseStatsTable> {
  Column<int8_t> priority;
  Column<int64_t> window_ns;
  Column<int64_t> frames, xon_frames;
  Column<int64_t> paused_ns;
  Column<double> duty;  // paused_ns / window_ns
  Column<int64_t> speed_bps;  // the speed the quanta were converted at
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("priority", priority);
    f("window_ns", window_ns);
    f("frames", frames);
    f("xon_frames", xon_frames);
    f("paused_ns", paused_ns);
    f("duty", duty);
    f("speed_bps", speed_bps);
  }
};

enum class LldpEvent : uint8_t { added = 0, updated = 1, changed = 2, aged_out = 3, shutdown = 4 };
constexpr const char* kLldpEventNames[] = {"added", "updated", "changed", "aged_out", "shutdown"};

struct LldpEventTable : TimePortColumns, TableBase<LldpEventTable> {
  Column<uint8_t> event;
  Column<int32_t> chassis_id, port_id, system_name;
  Column<int32_t> ttl;
  Column<int32_t> prev_chassis_id, prev_port_id, prev_system_name;  // for changed
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("event", event);
    f("chassis_id", chassis_id);
    f("port_id", port_id);
    f("system_name", system_name);
    f("ttl", ttl);
    f("prev_chassis_id", prev_chassis_id);
    f("prev_port_id", prev_port_id);
    f("prev_system_name", prev_system_name);
  }
};

// LLDPDUs a port received from its neighbor (its own advertisements, seen leaving on
// the same port, are left out); ttl 0 is a shutdown LLDPDU. Not a detection by itself:
// the LLDP gap the risk model scores comes from it, offline and live alike. An LLDPDU
// less than kLldpRxMinGapNs after the port's previous row adds no row (a burst says
// nothing about the gap, and a flood of them must not become a flood of rows; the
// ports table's lldp_frames counts every one).
constexpr int64_t kLldpRxMinGapNs = 100'000'000;
struct LldpRxTable : TimePortColumns, TableBase<LldpRxTable> {
  Column<int32_t> ttl;
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("ttl", ttl);
  }
};

// One row per port, at the end.
struct PortTable : TimePortColumns, TableBase<PortTable> {
  Column<int64_t> flaps, hidden_flaps, micro_flaps;
  Column<int64_t> down_ns_total, longest_down_ns;
  Column<int64_t> outages_over_budget;
  Column<int8_t> oper_up;  // the last known state: 1 up, 0 down, -1 unknown
  Column<int64_t> down_since_ns;  // down now: since when (-1: up, unknown, or down since before the capture)
  Column<int64_t> storms;
  Column<int64_t> paused_ns;  // all priorities
  Column<int64_t> speed_bps;
  Column<int32_t> neighbor;  // system name of the last LLDP neighbor (-1 none)
  Column<int32_t> neighbor_chassis_id, neighbor_port_id;
  Column<int64_t> link_messages, pfc_frames, lldp_frames;
  template <class F>
  void for_each_column(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("flaps", flaps);
    f("hidden_flaps", hidden_flaps);
    f("micro_flaps", micro_flaps);
    f("down_ns_total", down_ns_total);
    f("longest_down_ns", longest_down_ns);
    f("outages_over_budget", outages_over_budget);
    f("oper_up", oper_up);
    f("down_since_ns", down_since_ns);
    f("storms", storms);
    f("paused_ns", paused_ns);
    f("speed_bps", speed_bps);
    f("neighbor", neighbor);
    f("neighbor_chassis_id", neighbor_chassis_id);
    f("neighbor_port_id", neighbor_port_id);
    f("link_messages", link_messages);
    f("pfc_frames", pfc_frames);
    f("lldp_frames", lldp_frames);
  }
};

struct Detections {
  FlapTable flaps;
  LinkDownTable link_down;
  PolicyEventTable policy_events;
  StormTable pfc_storms;
  PauseStatsTable pause_stats;
  LldpEventTable lldp_events;
  LldpRxTable lldp_rx;
  PortTable ports;
  template <class F>
  void for_each_table(F&& f) {
    f("flaps", flaps);
    f("link_down", link_down);
    f("policy_events", policy_events);
    f("pfc_storms", pfc_storms);
    f("pause_stats", pause_stats);
    f("lldp_events", lldp_events);
    f("lldp_rx", lldp_rx);
    f("ports", ports);
  }
};

}  // namespace flapwatch
