// Dispatcher: one frame in, zero or more Records out (to a RecordSink), its kind
// returned. The per-frame path does not allocate: strings are formatted into reused
// scratch buffers and interned (allocating only for a string not seen before).
#pragma once
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "flapwatch/counters.hpp"
#include "flapwatch/decode/decode_error.hpp"
#include "flapwatch/decode/ethernet.hpp"
#include "flapwatch/decode/lldp.hpp"
#include "flapwatch/decode/mac_control.hpp"
#include "flapwatch/grown_at.hpp"
#include "flapwatch/io/source.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

// Where records go: a columnar RecordBatch, an SPSC ring, a tracker.
struct RecordSink {
  virtual void on_record(const Record& r) = 0;
  virtual ~RecordSink() = default;
};

// The RecordBatch as a sink.
struct BatchSink final : RecordSink {
  explicit BatchSink(RecordBatch& b) : batch(b) {}
  void on_record(const Record& r) override { batch.append(r); }
  RecordBatch& batch;
};

class Dispatcher {
 public:
  explicit Dispatcher(StringTable& strings) : strings_(strings) {}

  // Emits the frame's records; a malformed frame emits only one `malformed` record
  // and `err` says why (positions relative to the frame's first byte).
  FrameKind dispatch(const Frame& f, RecordSink& out, DecodeError& err);
  // The same into a sink of a known (final) type: the Ethernet path, which most frames
  // take, is compiled into the caller's loop with the sink's on_record, no call between.
  template <class Sink>
  FrameKind dispatch_to(const Frame& f, Sink& out, DecodeError& err);

  // Rx gaps (records.hpp, RxGapRecord): a port that received no frame for at least kRxGapNs,
  // its own frames left out (a capture on a port sees it send, and it sends while its
  // carrier is down until linkwatch runs). Off unless asked for: only the trackers use them.
  // Own addresses come from the port's link messages as they pass and from add_own_mac.
  // Before each link message of a port that received frames, a record of its reception
  // then (RxGapRecord::at_message): a silence still open, or traffic since its last gap.
  static constexpr int64_t kRxGapNs = flapwatch::kRxGapNs;
  void track_rx_gaps(bool on) { rx_gaps_ = on; }
  void add_own_mac(int32_t port, uint64_t mac);
  // A byte range of a capture read on its own (range_replay.hpp): what came before is
  // unknown here, so the rx records are relative, completed in file order by RxJoin: a
  // kRxRangeStart record at each port's first received frame, and a reception record
  // before every link message, even of a port that received nothing yet.
  void rx_relative(bool on) { rx_relative_ = on; }
  static constexpr uint8_t kRxRangeStart = 2;  // RxGapRecord::at_message of that first frame
  struct RxActivity {
    int64_t last = -1;  // the last frame received
    int64_t frames = 0;  // received since the last gap
    std::vector<uint64_t> own;  // the port's own addresses (one or two)
  };
  // Per port (its string index): the reception as of the last frame dispatched.
  const std::vector<RxActivity>& rx_activity() const { return rx_; }

 private:
  [[gnu::always_inline]] RxActivity& rx(int32_t port) { return grown_at(rx_, static_cast<size_t>(port)); }
  // A received frame: inline while the port's reception just goes on (no own address,
  // no gap), else note_rx_slow.
  [[gnu::always_inline]] void note_rx(const Frame& f, uint64_t src_mac, RecordSink& out) {
    RxActivity& a = rx(f.port);
    if (a.own.empty() && a.last >= 0 && f.ts_ns - a.last < kRxGapNs) [[likely]] {
      a.last = std::max(a.last, f.ts_ns);
      ++a.frames;
      return;
    }
    note_rx_slow(f, src_mac, out);
  }
  void note_rx_slow(const Frame& f, uint64_t src_mac, RecordSink& out);
  template <class Sink>
  FrameKind ethernet_like(const Frame& f, Sink& out, DecodeError& err);

  FrameKind lldp(const uint8_t* p, uint32_t n, uint64_t src, RecordSink& out, DecodeError& err);
  FrameKind netlink(const Frame& f, RecordSink& out, DecodeError& err);
  FrameKind counter_block(const Frame& f, RecordSink& out);  // kLinkCounterBlock: counter records
  int32_t intern_scratch(bool present) { return present ? strings_.intern(scratch_) : -1; }

  StringTable& strings_;
  std::string scratch_;
  std::string qualified_;  // "device:ifname" for link messages of a file that names its device
  Record rec_{};
  // netlink frames hold several link messages; they are emitted only once the whole
  // frame decoded, so a malformed frame yields no partial rows.
  std::vector<Record> links_;  // reused: grows to the largest frame, then no allocation
  CounterSample counter_;  // reused for counter blocks
  bool rx_gaps_ = false;
  bool rx_relative_ = false;
  std::vector<RxActivity> rx_;  // per port
};

template <class Sink>
FrameKind Dispatcher::dispatch_to(const Frame& f, Sink& out, DecodeError& err) {
  if (f.linktype == kLinkCounterBlock) [[unlikely]] return counter_block(f, out);
  rec_.ts_ns = f.ts_ns;
  rec_.frame = f.index;
  rec_.port = f.port;
  FrameKind kind = f.linktype == kLinkNetlink ? netlink(f, out, err) : ethernet_like(f, out, err);
  if (kind == FrameKind::malformed) [[unlikely]] {
    rec_.kind = RecordKind::malformed;
    rec_.port = f.port;
    rec_.malformed.offset = static_cast<int64_t>(f.offset + err.pos);
    rec_.malformed.reason = strings_.intern(err.reason);
    out.on_record(rec_);
  }
  return kind;
}

template <class Sink>
FrameKind Dispatcher::ethernet_like(const Frame& f, Sink& out, DecodeError& err) {
  L2Header h;
  if (!parse_l2(f.linktype, f.data, f.caplen, h)) return FrameKind::other;
  if (rx_gaps_ && f.port >= 0) note_rx(f, h.src_mac, out);
  if (h.ethertype == kEtherMacControl) {
    PfcFrame pfc;
    PauseFrame pause;
    switch (decode_mac_control(h.payload, h.len, pfc, pause, err)) {
      case MacControlKind::pfc:
        rec_.kind = RecordKind::pfc;
        rec_.pfc.src_mac = h.src_mac;
        rec_.pfc.vlan = h.vlan;
        rec_.pfc.class_enable = pfc.class_enable;
        std::memcpy(rec_.pfc.quanta, pfc.quanta, sizeof pfc.quanta);
        out.on_record(rec_);
        return FrameKind::pfc;
      case MacControlKind::pause:
        rec_.kind = RecordKind::pause;
        rec_.pause.src_mac = h.src_mac;
        rec_.pause.vlan = h.vlan;
        rec_.pause.quanta = pause.quanta;
        out.on_record(rec_);
        return FrameKind::pause;
      case MacControlKind::malformed:
        err.pos += h.payload_pos;
        return FrameKind::malformed;
      case MacControlKind::other:
        return FrameKind::other;
    }
  }
  if (h.ethertype == kEtherLldp) [[unlikely]] {
    FrameKind k = lldp(h.payload, h.len, h.src_mac, out, err);
    if (k == FrameKind::malformed) err.pos += h.payload_pos;
    return k;
  }
  return FrameKind::other;
}

}  // namespace flapwatch
