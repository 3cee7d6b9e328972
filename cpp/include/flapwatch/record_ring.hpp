// RecordRing: how Records cross from the reader thread to the tracker thread.
//
// Why not SpscRing<Record>: a Record is 104 bytes because of its LLDP arm, and moving
// an item between cores costs a cache-line transfer per line it spans. The records
// that come by the million (PFC, PAUSE, link) fit in one line, so the ring carries a
// 64-byte, line-aligned RingRecord and the rare LLDP payload travels on a side ring
// (bench/README.md, "The ring", compares the two).
//
// Invariants:
// - One producer thread (try_push, or try_stage + flush), one consumer thread
//   (consume_all / empty), as for SpscRing.
// - An LLDP record's payload is pushed (and published) on the side ring before its
//   RingRecord is written, so the consumer always finds it there. A record whose
//   payload finds the side ring full is refused whole, like one that finds the main
//   ring full.
// - pack / unpack are lossless for every Record the dispatcher and the gate emit
//   (link counters are the kernel's u32 attributes, or -1 when absent).
#pragma once
#include <algorithm>
#include <cstdint>

#include "flapwatch/records.hpp"
#include "flapwatch/spsc_ring.hpp"

namespace flapwatch {

// The link arm, packed: the kernel's counters are u32 attributes, or absent.
struct PackedLink {
  uint64_t mac;
  uint32_t carrier_changes, carrier_up_count, carrier_down_count;
  int32_t ifindex;
  uint32_t flags;
  uint16_t msg_type;
  int8_t operstate, carrier;
  uint32_t change;
  uint16_t dev_type;
  uint8_t dump;
};

struct alignas(64) RingRecord {
  int64_t ts_ns;
  int64_t frame;
  int32_t port;
  RecordKind kind;
  uint8_t present;  // link: bit 0 carrier_changes, 1 carrier_up_count, 2 carrier_down_count
  union {
    PfcRecord pfc;
    PauseRecord pause;
    PackedLink link;
    MalformedRecord malformed;
    PortInfoRecord port_info;
    CounterRecord counter;
    RxGapRecord rx_gap;
  };
};
static_assert(sizeof(RingRecord) == 64, "one cache line per record");

inline void pack(const Record& r, RingRecord& out) noexcept {
  out.ts_ns = r.ts_ns;
  out.frame = r.frame;
  out.port = r.port;
  out.kind = r.kind;
  out.present = 0;
  switch (r.kind) {
    case RecordKind::pfc: out.pfc = r.pfc; break;
    case RecordKind::pause: out.pause = r.pause; break;
    case RecordKind::malformed: out.malformed = r.malformed; break;
    case RecordKind::port_info: out.port_info = r.port_info; break;
    case RecordKind::counter: out.counter = r.counter; break;
    case RecordKind::rx_gap: out.rx_gap = r.rx_gap; break;
    case RecordKind::lldp: break;  // the payload goes on the side ring
    case RecordKind::link: {
      const LinkRecord& l = r.link;
      PackedLink& p = out.link;
      p.mac = l.mac;
      p.ifindex = l.ifindex;
      p.flags = l.flags;
      p.msg_type = l.msg_type;
      p.operstate = l.operstate;
      p.carrier = l.carrier;
      p.change = l.change;
      p.dev_type = l.dev_type;
      p.dump = l.dump;
      auto counter = [&](int64_t v, uint32_t& slot, int bit) {
        slot = static_cast<uint32_t>(v);
        if (v >= 0) out.present |= static_cast<uint8_t>(1u << bit);
      };
      counter(l.carrier_changes, p.carrier_changes, 0);
      counter(l.carrier_up_count, p.carrier_up_count, 1);
      counter(l.carrier_down_count, p.carrier_down_count, 2);
      break;
    }
  }
}

// Everything but the LLDP payload (the caller takes it from the side ring).
inline void unpack(const RingRecord& r, Record& out) noexcept {
  out.ts_ns = r.ts_ns;
  out.frame = r.frame;
  out.port = r.port;
  out.kind = r.kind;
  switch (r.kind) {
    case RecordKind::pfc: out.pfc = r.pfc; break;
    case RecordKind::pause: out.pause = r.pause; break;
    case RecordKind::malformed: out.malformed = r.malformed; break;
    case RecordKind::port_info: out.port_info = r.port_info; break;
    case RecordKind::counter: out.counter = r.counter; break;
    case RecordKind::rx_gap: out.rx_gap = r.rx_gap; break;
    case RecordKind::lldp: break;
    case RecordKind::link: {
      const PackedLink& p = r.link;
      auto counter = [&](uint32_t v, int bit) -> int64_t { return (r.present >> bit) & 1 ? int64_t(v) : -1; };
      out.link = LinkRecord{p.msg_type, p.ifindex, p.flags, p.operstate, p.carrier, counter(p.carrier_changes, 0),
                            counter(p.carrier_up_count, 1), counter(p.carrier_down_count, 2), p.mac,
                            p.dev_type, p.change, p.dump};
      break;
    }
  }
}

class RecordRing {
 public:
  static constexpr size_t kStage = 32;     // records packed locally, then copied in at once
  static constexpr size_t kMaxLldp = 1024;  // LLDP payloads in flight (they come one per 30 s a port)

  explicit RecordRing(size_t capacity) : main_(capacity), lldp_(std::clamp<size_t>(capacity, 2, kMaxLldp)) {}

  // Producer, one record at a time (live): false when full, and nothing written then.
  bool try_push(const Record& r) noexcept {
    RingRecord* slot = main_.claim();
    if (!slot) return false;
    if (r.kind == RecordKind::lldp && !lldp_.try_push(r.lldp)) return false;  // nothing committed yet
    pack(r, *slot);
    main_.commit();
    main_.publish();
    return true;
  }

  // Producer, staged (offline): packs r into a local batch that goes into the ring
  // kStage records at a time, one bulk copy and one publication per batch: written
  // one by one into their slots, the consumer's hardware prefetcher pulls lines the
  // producer is still filling, and each such line then crosses between the cores
  // twice. False when the batch and the ring are full (or the LLDP side ring is): let
  // the consumer work, then retry. Do not mix with try_push.
  bool try_stage(const Record& r) noexcept {
    if (staged_ == kStage) {
      flush();
      if (staged_ == kStage) return false;
    }
    if (r.kind == RecordKind::lldp && !lldp_.try_push(r.lldp)) {
      flush();  // the payloads' records may be staged: let the consumer reach them
      return false;
    }
    pack(r, stage_[staged_++]);
    if (staged_ == kStage) flush();
    return true;
  }
  // Producer: moves the staged records into the ring (as many as fit) and publishes
  // them; true when nothing is left staged.
  bool flush() noexcept {
    size_t n = main_.try_push_n(stage_, staged_);
    if (n < staged_) std::copy(stage_ + n, stage_ + staged_, stage_);
    staged_ -= n;
    return staged_ == 0;
  }

  // Consumer. Calls f(const Record&) for every record available now (at most max).
  template <class F>
  size_t consume_all(F&& f, size_t max = SIZE_MAX) {
    return main_.consume_all(
        [&](const RingRecord& rr) {
          unpack(rr, out_);
          if (rr.kind == RecordKind::lldp) {
            out_.lldp = *lldp_.front();  // pushed before its record: always there
            lldp_.pop();
          }
          f(static_cast<const Record&>(out_));
        },
        max);
  }
  bool empty() noexcept { return main_.front() == nullptr; }
  size_t capacity() const noexcept { return main_.capacity(); }

 private:
  SpscRing<RingRecord> main_;
  SpscRing<LldpRecord> lldp_;
  RingRecord stage_[kStage];  // the producer's
  size_t staged_ = 0;
  alignas(64) Record out_{};  // the consumer's unpacked record
};

}  // namespace flapwatch
