// LldpTracker: the LLDP neighbor table per port, keyed by MSAP (chassis id subtype
// + value, port id subtype + value) as lldpd keys it. Events: added, updated (same
// MSAP, other content), changed (a new MSAP on a port that had one: recabling or
// miswiring), aged out (no LLDPDU within its TTL), shutdown (TTL 0).
#pragma once
#include <cstdint>
#include <vector>

#include "flapwatch/records.hpp"
#include "flapwatch/track/detections.hpp"
#include "flapwatch/track/policies.hpp"

namespace flapwatch {

class LldpTracker {
 public:
  explicit LldpTracker(Detections& out) : out_(out) {}

  void on_lldp(int64_t ts, int32_t port, const LldpRecord& r);
  // Ages out neighbors whose TTL expired by t (call before each record, in time order).
  void advance(int64_t t) {
    if (t >= next_deadline_) [[unlikely]] age_out(t);  // inline: called for every record
  }
  // End of input: neighbors still within their TTL stay (nothing says they left).
  void finish(int64_t t) { advance(t); }

  struct Neighbor {
    uint8_t chassis_subtype, port_subtype;
    int32_t chassis_id, port_id, system_name;
    int32_t ttl;
    int64_t expires_ns;
    uint64_t content;  // hash of everything but the MSAP
  };
  struct PortState {
    std::vector<Neighbor> neighbors;  // usually one
    Neighbor last{};                  // the most recent neighbor seen, even if gone
    bool seen = false;
    int64_t frames = 0;
  };
  const std::vector<PortState>& ports() const { return ports_; }
  int64_t next_deadline() const { return next_deadline_; }

 private:
  void age_out(int64_t t);
  void emit(int64_t ts, int32_t port, LldpEvent e, const Neighbor& n, const Neighbor* prev);
  void refresh_deadline();

  Detections& out_;
  std::vector<PortState> ports_;
  int64_t next_deadline_ = kNever;
};

}  // namespace flapwatch
