// Engine: the trackers behind one entry point. Records in (time order, small
// back-steps tolerated), detections out: the same code offline (Pipeline over
// captures) and live (an agent's sources), so a recorded live session replays to
// identical detections. Not thread-safe: one thread feeds it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flapwatch/counters.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"
#include "flapwatch/track/config.hpp"
#include "flapwatch/track/counter_tracker.hpp"
#include "flapwatch/track/detections.hpp"
#include "flapwatch/track/link_tracker.hpp"
#include "flapwatch/track/lldp_tracker.hpp"
#include "flapwatch/track/pfc_tracker.hpp"

namespace flapwatch {

// The tables an embedding agent's callback hears of (lldp_rx: each LLDPDU received;
// link_down: an outage opening, before its flap row).
enum class DetectionKind : uint8_t { flap, policy_event, pfc_storm, pause_stats, lldp_event, lldp_rx, link_down };
constexpr int kDetectionKinds = 7;

// The loopback interface (IFF_LOOPBACK, or ARPHRD_LOOPBACK): its link messages make no port.
bool is_loopback(const LinkRecord& r);

class Engine {
 public:
  // Called with the table and row of each new detection (embedding agents).
  using Callback = std::function<void(DetectionKind, const Detections&, size_t row)>;

  // `strings` is the table records' indices refer to; the engine interns its policy
  // names into it here, and reads it again only in finish(). Throws
  // std::invalid_argument when cfg.validate() finds a problem.
  Engine(const EngineConfig& cfg, StringTable& strings);

  void set_callback(Callback cb) { callback_ = std::move(cb); }
  void on_record(const Record& r);
  // A PFC or PAUSE frame by its fields: what on_record does with a pfc or pause record,
  // without one (range replay hands most frames over this way). `quanta`: one per enabled
  // class, in class order.
  void on_pfc(int64_t ts, int32_t port, uint8_t class_enable, const uint16_t* quanta);
  void on_pause(int64_t ts, int32_t port, uint16_t quanta);
  // Push API, same thread (an embedder driving the engine itself; LiveAgent::push_*
  // goes through the ring instead): the records of a counter sample or a link event,
  // the port named by the interface.
  void on_counter_sample(const CounterSample& s);
  void on_link_event(const LinkEvent& e);
  // End of input: flushes open intervals, pending clears and the per-port table.
  void finish();
  // Live: lets time pass without a record (policy clears, LLDP ageing, storm ends).
  void tick(int64_t now);
  // The per-port table as of now, without finishing (live metrics).
  PortTable port_snapshot() const;
  // Live: drops the detection rows already handed out, so a long-running agent's
  // memory stays flat (the trackers' state is kept).
  void clear_detections();

  Detections& detections() { return out_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  int64_t now() const { return now_; }
  int64_t first_ns() const { return first_ns_; }  // the first record's time (-1: none yet)
  int64_t last_ns() const { return records_ ? now_ : -1; }  // the latest record's time (-1: none yet)
  int64_t records() const { return records_; }
  int64_t own_lldp_frames() const { return own_lldp_frames_; }
  // Tells the engine a port's own MAC before its records come (offline: run_pipeline's
  // pass over the link captures; the configuration's lldp.own_macs): its LLDPDUs from
  // that address are the port's own, never a neighbor, even before its first link message.
  void add_own_mac(int32_t port, uint64_t mac);
  const CounterTracker& counters() const { return counters_; }
  // The counter notices (wraps, resets, vanished names, changed lists) as text.
  std::vector<std::string> counter_notices(size_t from = 0) const;

 private:
  void notify_new_rows();
  void begin_record(int64_t ts);
  void note_lldp_rx(int64_t ts, int32_t port, int32_t ttl);
  void build_ports_table(PortTable& t) const;

  EngineConfig cfg_;
  StringTable& strings_;
  Detections out_;
  LinkTracker link_;
  PfcTracker pfc_;
  LldpTracker lldp_;
  CounterTracker counters_;
  std::vector<uint32_t> pushed_samples_;  // per port: on_counter_sample's sample numbers
  Callback callback_;
  std::vector<std::string> warnings_;
  int64_t now_ = 0;
  int64_t first_ns_ = -1;
  int64_t records_ = 0;
  size_t seen_rows_[kDetectionKinds] = {};
  bool is_own_mac(int32_t port, uint64_t mac) const;
  void note_lldp_sender(int32_t port, uint64_t mac);
  void note_received(int64_t ts, int32_t port);  // a neighbor's LLDPDU: the link was up

  // Each port's own MACs (every address it had: IFLA_ADDRESS of its link messages,
  // add_own_mac, the configuration): LLDPDUs it sent itself (a capture on the port sees
  // both directions) are not neighbors.
  std::vector<std::vector<uint64_t>> own_mac_;
  // Per port: the source MACs of the LLDPDUs taken as a neighbor's (a few at most), for
  // the warning about a port whose own address was never known.
  std::vector<std::vector<uint64_t>> lldp_senders_;
  std::vector<int64_t> last_rx_ns_;  // per port: the last lldp_rx row's time
  int64_t own_lldp_frames_ = 0;
};

// The configured speed for a port name (shell-style patterns, first match), 0 none.
int64_t configured_speed(const PfcConfig& cfg, const std::string& port);
// Whether the selection's port patterns take this port (no patterns: every port).
bool selected_port(const Selection& sel, const std::string& port);

}  // namespace flapwatch
