// Counter samples in pcapng (docs/DECODE_RULES.md, "Counter samples in a recording"):
// the live agent's --record writes each counter sample (polled or pushed) as a pcapng
// Custom Block, block type 0x00000BAD (copyable), and the capture reader turns the
// block back into the same counter records, so `replay` of a recording gives the
// detections the agent gave. tshark, dpkt and every reader that does not know the
// block skip it by its length.
//
// Block body (after type and length), in the section's byte order:
//   u32 PEN 32473            (RFC 5612's documentation number; the magic says it is ours)
//   u8[4] "FWcs"             magic, then u16 version (1) and u16 sample flags
//   i64 ts_ns                the sample's read time, CLOCK_REALTIME ns
//   i64 read_ns              the read's own duration
//   i64 refresh_ns           the driver's copy period (bnxt 1 s), 0: fresh every read
//   u32 seq                  the port's sample number
//   u16 n, u16 name_len      classified values, interface name bytes
//   u8[name_len]             the interface (UTF-8, no NUL), padded to 4
//   n x 16 bytes             u8 meaning, i8 direction, i8 priority, u8 unit, u8 width,
//                            u8[3] zero, u64 value (flapwatch/counters.hpp)
// No options follow. A block with our PEN but another magic is someone else's and is
// skipped; with our magic but a length that disagrees with n and name_len, a warning.
//
// A link event an embedder pushed (LinkEvent: a vendor SDK, SAI notifications) is the
// same kind of block with magic "FWle": u16 version (1), u16 flags (1: carrier up),
// i64 ts_ns, i64 carrier_changes, i64 carrier_up_count, i64 carrier_down_count (-1:
// unknown), i32 ifindex, u16 name_len, u16 zero, the interface padded to 4.
// Replay turns it into the link record the push made.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "flapwatch/bytes.hpp"
#include "flapwatch/counters.hpp"

namespace flapwatch {

constexpr uint32_t kPcapngCustomCopyable = 0x00000BAD, kPcapngCustomNoCopy = 0x40000BAD;
constexpr uint32_t kCounterBlockPen = 32473;
constexpr char kCounterBlockMagic[4] = {'F', 'W', 'c', 's'};
constexpr char kLinkEventBlockMagic[4] = {'F', 'W', 'l', 'e'};
constexpr size_t kLinkEventBlockHeader = 4 + 4 + 2 + 2 + 8 + 8 + 8 + 8 + 4 + 2 + 2;  // through the zero
constexpr uint16_t kCounterBlockVersion = 1;
constexpr size_t kCounterBlockHeader = 4 + 4 + 2 + 2 + 8 + 8 + 8 + 4 + 2 + 2;  // through name_len
constexpr size_t kCounterValueSize = 16;

namespace detail {
// A block's custom data, `size` bytes written in order from the PEN, magic, version and
// flags on: the buffer is sized once and zeroed (the padding), then copied into (vector
// inserts of a few bytes also made g++ 12 warn of overflows it imagined). `size` comes
// from the header constants the parser checks; a write past it, or a block left short of
// it (done()), is an encoder out of step with them: a logic_error, never bytes written
// past the buffer or a block the parser would call malformed.
struct BlockOut {
  std::vector<uint8_t>& out;
  size_t at = 0;
  BlockOut(std::vector<uint8_t>& o, const char (&magic)[4], uint16_t flags, size_t size) : out(o) {
    out.assign(size, 0);
    put(kCounterBlockPen);
    raw(magic, 4);
    put(kCounterBlockVersion);
    put(flags);
  }
  void raw(const void* p, size_t n) {
    room(n);
    if (n) std::memcpy(out.data() + at, p, n);
    at += n;
  }
  template <class T>
  void put(T x) {
    static_assert(std::is_arithmetic_v<T>);
    raw(&x, sizeof x);
  }
  void skip(size_t n) {
    room(n);
    at += n;
  }
  void name(std::string_view n) {  // then zeros to a multiple of 4
    raw(n.data(), n.size());
    skip(padded4(at) - at);
  }
  // Every byte of the block written.
  void done() const {
    if (at != out.size())
      throw std::logic_error("flapwatch block encoder wrote " + std::to_string(at) + " of its " +
                             std::to_string(out.size()) + " bytes");
  }
  static size_t padded4(size_t n) { return (n + 3) & ~size_t(3); }

 private:
  void room(size_t n) const {
    if (n > out.size() - at)
      throw std::logic_error("flapwatch block encoder writes " + std::to_string(n) + " bytes at " +
                             std::to_string(at) + " of a " + std::to_string(out.size()) + "-byte block");
  }
};
inline std::string_view name16(const std::string& s) {
  std::string_view n(s);
  return n.size() > 0xffff ? n.substr(0, 0xffff) : n;
}
}  // namespace detail

// The custom data of one sample (from the PEN on), little-endian.
inline void encode_counter_block(const CounterSample& s, uint32_t seq, std::vector<uint8_t>& out) {
  std::string_view name = detail::name16(s.interface);
  size_t n = s.values.size() > 0xffff ? 0xffff : s.values.size();
  detail::BlockOut b(out, kCounterBlockMagic, s.flags,
                     kCounterBlockHeader + detail::BlockOut::padded4(name.size()) + n * kCounterValueSize);
  auto put = [&](auto x) { b.put(x); };
  put(s.ts_ns);
  put(s.read_ns);
  put(s.refresh_ns);
  put(seq);
  put(static_cast<uint16_t>(n));
  put(static_cast<uint16_t>(name.size()));
  b.name(name);
  for (size_t i = 0; i < n; ++i) {
    const CounterValue& v = s.values[i];
    put(static_cast<uint8_t>(v.meaning));
    put(v.direction);
    put(v.priority);
    put(static_cast<uint8_t>(v.unit));
    put(v.width);
    b.skip(3);
    put(v.value);
  }
  b.done();
}

inline void encode_link_event_block(const LinkEvent& e, std::vector<uint8_t>& out) {
  std::string_view name = detail::name16(e.interface);
  detail::BlockOut b(out, kLinkEventBlockMagic, e.up ? 1 : 0,
                     kLinkEventBlockHeader + detail::BlockOut::padded4(name.size()));
  for (int64_t v : {e.ts_ns, e.carrier_changes, e.carrier_up_count, e.carrier_down_count}) b.put(v);
  b.put(e.ifindex);
  b.put(static_cast<uint16_t>(name.size()));
  b.put(uint16_t{0});
  b.name(name);
  b.done();
}

// A flapwatch block with the link-event magic: the event, or false (not one, or too short:
// `why`).
inline bool parse_link_event_block(const uint8_t* p, size_t n, bool swap, LinkEvent& e, std::string& why) {
  if (n < 8 || bytes::load<uint32_t>(p, swap) != kCounterBlockPen || std::memcmp(p + 4, kLinkEventBlockMagic, 4) != 0)
    return false;
  uint16_t name_len = n >= kLinkEventBlockHeader ? bytes::load<uint16_t>(p + 48, swap) : 0;
  if (n < kLinkEventBlockHeader || kLinkEventBlockHeader + name_len > n || bytes::load<uint16_t>(p + 8, swap) != 1) {
    why = "flapwatch link-event block too short or of an unknown version (" + std::to_string(n) + " bytes)";
    return false;
  }
  e.up = bytes::load<uint16_t>(p + 10, swap) & 1;
  e.ts_ns = static_cast<int64_t>(bytes::load<uint64_t>(p + 12, swap));
  e.carrier_changes = static_cast<int64_t>(bytes::load<uint64_t>(p + 20, swap));
  e.carrier_up_count = static_cast<int64_t>(bytes::load<uint64_t>(p + 28, swap));
  e.carrier_down_count = static_cast<int64_t>(bytes::load<uint64_t>(p + 36, swap));
  e.ifindex = static_cast<int32_t>(bytes::load<uint32_t>(p + 44, swap));
  e.interface.assign(reinterpret_cast<const char*>(p + kLinkEventBlockHeader), name_len);
  return true;
}

enum class CounterBlockParse { ok, not_ours, malformed };

// Parses the custom data (from the PEN on, `n` bytes: the block less its type, length
// and trailer) in the byte order `swap` says. `why` names a malformed block's fault.
inline CounterBlockParse parse_counter_block(const uint8_t* p, size_t n, bool swap, CounterSample& s, uint32_t& seq,
                                             std::string& why) {
  if (n < 8 || bytes::load<uint32_t>(p, swap) != kCounterBlockPen || std::memcmp(p + 4, kCounterBlockMagic, 4) != 0)
    return CounterBlockParse::not_ours;
  if (n < kCounterBlockHeader) {
    why = "flapwatch counter block too short (" + std::to_string(n) + " bytes)";
    return CounterBlockParse::malformed;
  }
  uint16_t version = bytes::load<uint16_t>(p + 8, swap);
  if (version != kCounterBlockVersion) {
    why = "flapwatch counter block version " + std::to_string(version) + " (this reader knows 1)";
    return CounterBlockParse::malformed;
  }
  s.flags = static_cast<uint8_t>(bytes::load<uint16_t>(p + 10, swap));
  s.ts_ns = static_cast<int64_t>(bytes::load<uint64_t>(p + 12, swap));
  s.read_ns = static_cast<int64_t>(bytes::load<uint64_t>(p + 20, swap));
  s.refresh_ns = static_cast<int64_t>(bytes::load<uint64_t>(p + 28, swap));
  seq = bytes::load<uint32_t>(p + 36, swap);
  uint16_t count = bytes::load<uint16_t>(p + 40, swap);
  uint16_t name_len = bytes::load<uint16_t>(p + 42, swap);
  size_t values_at = (kCounterBlockHeader + name_len + 3) & ~size_t{3};
  if (values_at + size_t{count} * kCounterValueSize > n) {
    why = "flapwatch counter block: " + std::to_string(count) + " values and a " + std::to_string(name_len) +
          "-byte name do not fit its " + std::to_string(n) + " bytes";
    return CounterBlockParse::malformed;
  }
  s.interface.assign(reinterpret_cast<const char*>(p + kCounterBlockHeader), name_len);
  s.values.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* v = p + values_at + i * kCounterValueSize;
    CounterValue& c = s.values[i];
    if (v[0] >= kCounterMeanings || v[3] > 2 || (v[4] != 32 && v[4] != 64)) {
      why = "flapwatch counter block: value " + std::to_string(i) + " has meaning " + std::to_string(v[0]) +
            ", unit " + std::to_string(v[3]) + ", width " + std::to_string(v[4]);
      return CounterBlockParse::malformed;
    }
    c.meaning = static_cast<CounterMeaning>(v[0]);
    c.direction = static_cast<int8_t>(v[1]);
    c.priority = static_cast<int8_t>(v[2]);
    c.unit = static_cast<CounterUnit>(v[3]);
    c.width = v[4];
    c.value = bytes::load<uint64_t>(v + 8, swap);
  }
  return CounterBlockParse::ok;
}

}  // namespace flapwatch
