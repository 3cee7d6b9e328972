// CaptureSummary: what `flapwatch inspect` reports, summed record by record as the
// captures are decoded: no columns are kept, so memory stays flat at any size and the
// process never builds a row in Python. It is the C++ twin of present/summary.py's
// CaptureSummary (the reference that tests/sources/test_inspect_summary.py compares it
// with on every capture in captures/), with the same rules: PFC quanta count only in
// enabled classes; an LLDP neighbor is keyed by (port, chassis id, port id) and keeps
// the last non-zero TTL, non-empty system name and non-zero speed; a link port keeps
// the last known value of each field.
//
// summarize_captures() reads a big uncompressed file on several threads: each reads a
// byte range (io/capture_split.hpp) into a summary of its own, and the summaries are
// merged in file order, which gives exactly the one-thread result (sums commute; "the
// last value" is the later range's when it has one).
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "flapwatch/bytes.hpp"
#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/grown_at.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

class CaptureSummary final : public RecordSink {
 public:
  // 32-bit sums per class, eight at a time (GCC vector extensions: SSE2 or NEON).
  using U32x8 = uint32_t __attribute__((vector_size(32)));
  struct Pfc {
    std::array<int64_t, 8> frames{}, quanta{};  // the totals, as of settle()
    bool seen = false;
    // Being summed, added to the totals by settle(): per class, the frames that enable it
    // (16-bit lanes) and their quanta (32-bit lanes), vector adds per frame instead of a
    // test and two adds per class. The lanes hold kPending frames.
    bytes::U16x8 pending_frames{};
    U32x8 pending_quanta{};
    uint32_t pending = 0;
    static constexpr uint32_t kPending = 65535;
    void settle() {
      for (int i = 0; i < 8; ++i) {
        frames[static_cast<size_t>(i)] += pending_frames[i];
        quanta[static_cast<size_t>(i)] += pending_quanta[i];
      }
      pending_frames = bytes::U16x8{};
      pending_quanta = U32x8{};
      pending = 0;
    }
  };
  struct Pause {
    int64_t frames = 0, quanta = 0;
    bool seen = false;
  };
  struct Neighbor {
    int32_t port, chassis_id, port_id;
    int32_t first_ttl, last_ttl = -1;          // last_ttl: the last non-zero one, -1 none
    int32_t first_name, last_name = -2;        // string indices (-1 none); last: the last non-empty, -2 none
    int64_t first_speed, last_speed = 0;       // last: the last non-zero
    int64_t frames = 0, shutdowns = 0;
    std::vector<uint64_t> src_macs;            // distinct, in the order heard
  };
  struct Link {
    int32_t port, ifindex;
    int64_t messages = 0, first_ts_ns, last_ts_ns;
    int32_t operstate = -1, carrier = -1;
    int64_t carrier_changes = -1, carrier_up_count = -1, carrier_down_count = -1;
    int64_t down_messages = 0;
  };

  explicit CaptureSummary(StringTable& strings) : strings_(strings) {}

  // PFC and PAUSE frames, most of any capture, inline (Dispatcher::dispatch_to compiles
  // this into the reading loop); the other kinds in on_other_record.
  [[gnu::always_inline]] void on_record(const Record& r) override {
    if (r.kind == RecordKind::pfc) [[likely]] {
      Pfc& p = at_port(pfc, r.port);
      p.seen = true;
      bytes::U16x8 quanta, on;  // on: all ones in the enabled classes (a clear bit's quanta mean nothing)
      std::memcpy(&quanta, r.pfc.quanta, sizeof quanta);
      std::memcpy(&on, kClassMask[r.pfc.class_enable].data(), sizeof on);
      p.pending_frames -= on;  // on is -1 in an enabled class's lane
      p.pending_quanta += __builtin_convertvector(quanta & on, U32x8);
      if (++p.pending == Pfc::kPending) [[unlikely]] p.settle();
    } else if (r.kind == RecordKind::pause) {
      Pause& p = at_port(pause, r.port);
      p.seen = true;
      ++p.frames;
      p.quanta += r.pause.quanta;
    } else {
      on_other_record(r);
      return;
    }
    add_ts(r.ts_ns, r.ts_ns);
  }
  // The PFC sums being kept add up to the totals (`pfc[p].frames` and `.quanta`): after
  // the last record, before they are read.
  void settle() {
    for (Pfc& p : pfc) p.settle();
  }
  // `later`'s records as if they had come after this summary's (its strings are its own;
  // both settled).
  void merge(const CaptureSummary& later);

  FrameCounts counts;
  bool any_ts = false;
  int64_t first_ts_ns = 0, last_ts_ns = 0;
  std::vector<Pfc> pfc;      // by port string index
  std::vector<Pause> pause;  // by port string index
  std::vector<Neighbor> neighbors;  // every MSAP heard, in the order first heard
  std::vector<uint64_t> own_macs;   // the ports' own addresses (netlink IFLA_ADDRESS), distinct
  std::vector<Link> links;          // in the order first seen
  std::vector<std::pair<int32_t, int64_t>> malformed;  // (reason, frames), in the order first seen
  std::vector<std::string> warnings;

  const StringTable& strings() const { return strings_; }
  // Whether every source address of `n` is a port's own (its own LLDPDUs, not a neighbor).
  bool own(const Neighbor& n) const;

 private:
  Neighbor& neighbor(int32_t port, int32_t chassis_id, int32_t port_id, int32_t ttl, int32_t name, int64_t speed);
  Link& link(int32_t port, int32_t ifindex, int64_t ts);
  void add_malformed(int32_t reason, int64_t frames);
  void on_other_record(const Record& r);
  void add_ts(int64_t lo, int64_t hi) {
    if (!any_ts) [[unlikely]] {
      first_ts_ns = lo;
      last_ts_ns = hi;
      any_ts = true;
      return;
    }
    first_ts_ns = std::min(first_ts_ns, lo);
    last_ts_ns = std::max(last_ts_ns, hi);
  }
  template <class T>
  [[gnu::always_inline]] static T& at_port(std::vector<T>& v, int32_t port) {
    return grown_at(v, static_cast<size_t>(port));
  }
  bool named(int32_t s) const { return s >= 0 && !strings_[s].empty(); }
  // Per class-enable vector: 0xffff in each enabled class's 16-bit lane, 0 elsewhere.
  static constexpr auto kClassMask = [] {
    std::array<std::array<uint16_t, 8>, 256> m{};
    for (int v = 0; v < 256; ++v)
      for (int i = 0; i < 8; ++i) m[static_cast<size_t>(v)][static_cast<size_t>(i)] = (v >> i) & 1 ? 0xffff : 0;
    return m;
  }();

  StringTable& strings_;  // the readers' table; merge() interns the later summary's strings into it
  struct KeyHash {
    size_t operator()(const std::array<int32_t, 3>& k) const {
      return (size_t(uint32_t(k[0])) * 0x9e3779b97f4a7c15ull) ^ (size_t(uint32_t(k[1])) << 21) ^ size_t(uint32_t(k[2]));
    }
  };
  std::unordered_map<std::array<int32_t, 3>, size_t, KeyHash> neighbor_index_;
  std::vector<int32_t> link_index_;  // by port: index into links, -1 none
};

// A range of a file needs at least this much to be worth a thread of its own.
constexpr uint64_t kMinRangeBytes = uint64_t(32) << 20;

// Every capture in `paths` summarised in order, with up to `threads` readers on each
// uncompressed file, on ranges of at least min_range_bytes. strict: truncation and
// malformed frames are CaptureError.
void summarize_captures(const std::vector<std::string>& paths, CaptureSummary& out, StringTable& strings, bool strict,
                        unsigned threads, uint64_t min_range_bytes = kMinRangeBytes);

}  // namespace flapwatch
