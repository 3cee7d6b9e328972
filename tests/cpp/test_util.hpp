// Helpers for the C++ tests: byte builders for the frames the decoders read (MAC
// control, LLDP, netlink as nlmon captures it), a tiny pcap writer, and scratch files.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace fwtest {

// A growable byte string with big- and little-endian appenders.
struct Bytes {
  std::vector<uint8_t> b;

  Bytes& u8(uint32_t v) {
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Bytes& be16(uint32_t v) { return u8(v >> 8).u8(v); }
  Bytes& be32(uint32_t v) { return be16(v >> 16).be16(v); }
  Bytes& le16(uint32_t v) { return u8(v).u8(v >> 8); }
  Bytes& le32(uint32_t v) { return le16(v).le16(v >> 16); }
  Bytes& u16(uint32_t v, bool big) { return big ? be16(v) : le16(v); }
  Bytes& u32(uint32_t v, bool big) { return big ? be32(v) : le32(v); }
  Bytes& put(const Bytes& o) {
    b.insert(b.end(), o.b.begin(), o.b.end());
    return *this;
  }
  Bytes& put(std::initializer_list<uint8_t> l) {
    b.insert(b.end(), l.begin(), l.end());
    return *this;
  }
  Bytes& put(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  Bytes& mac(uint64_t m) {
    for (int i = 5; i >= 0; --i) u8(static_cast<uint32_t>(m >> (8 * i)));
    return *this;
  }
  void set_u32(size_t at, uint32_t v, bool big) {
    for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * (big ? 3 - i : i)));
  }
  const uint8_t* data() const { return b.data(); }
  uint32_t size() const { return static_cast<uint32_t>(b.size()); }
};

constexpr uint64_t kPfcDst = 0x0180c2000001;
constexpr uint64_t kLldpDst = 0x0180c200000e;

// Ethernet header; `vlans` stacks 802.1Q tags (outermost first).
inline Bytes ether(uint64_t dst, uint64_t src, uint16_t ethertype, std::initializer_list<uint16_t> vlans = {}) {
  Bytes e;
  e.mac(dst).mac(src);
  for (uint16_t vid : vlans) e.be16(0x8100).be16(vid);
  e.be16(ethertype);
  return e;
}

// MAC control payload of a PFC frame (after the ethertype).
inline Bytes pfc_payload(uint8_t class_enable, std::initializer_list<uint16_t> quanta) {
  Bytes p;
  p.be16(0x0101).be16(class_enable);
  int n = 0;
  for (uint16_t q : quanta) {
    p.be16(q);
    ++n;
  }
  for (; n < 8; ++n) p.be16(0);
  return p;
}

inline Bytes pfc_frame(uint64_t src, uint8_t class_enable, std::initializer_list<uint16_t> quanta) {
  Bytes f = ether(kPfcDst, src, 0x8808);
  f.put(pfc_payload(class_enable, quanta));
  f.zeros(26);  // MAC control frames are padded to 64 bytes (less the FCS)
  return f;
}

// LLDP TLVs (type 7 bits, length 9 bits).
inline Bytes& tlv(Bytes& out, uint8_t type, const Bytes& value) {
  out.be16(static_cast<uint32_t>(type) << 9 | value.size());
  return out.put(value);
}

// A minimal LLDPDU payload: chassis (MAC subtype 4), port (ifname subtype 5), TTL,
// system name, 802.3 MAC/PHY with the MAU type, End.
inline Bytes lldp_payload(uint64_t chassis_mac, std::string_view port, uint16_t ttl, std::string_view sysname,
                          uint16_t mau_type) {
  Bytes p;
  tlv(p, 1, Bytes{}.u8(4).mac(chassis_mac));
  tlv(p, 2, Bytes{}.u8(5).put(port));
  tlv(p, 3, Bytes{}.be16(ttl));
  tlv(p, 5, Bytes{}.put(sysname));
  tlv(p, 127, Bytes{}.put({0x00, 0x12, 0x0f, 0x01}).u8(0x03).be16(0x6c01).be16(mau_type));
  tlv(p, 0, Bytes{});
  return p;
}

// netlink link message (nlmsghdr + ifinfomsg + rtattrs) in either byte order.
struct NlLink {
  bool big = false;
  uint16_t type = 16;  // RTM_NEWLINK
  int32_t ifindex = 1;
  uint32_t flags = 0;
  uint16_t dev_type = 1;  // ifi_type: ARPHRD_ETHER (772: loopback)
  uint32_t change = 0;    // ifi_change
  // nlmsghdr: a notification (0, 0, 0) unless set; a dump reply has NLM_F_MULTI (2) and
  // the requester's seq and port id.
  uint16_t nl_flags = 0;
  uint32_t seq = 0, pid = 0;
  Bytes attrs;

  NlLink& attr(uint16_t atype, const Bytes& v) {
    attrs.u16(4 + v.size(), big).u16(atype, big).put(v);
    while (attrs.size() % 4) attrs.u8(0);
    return *this;
  }
  NlLink& ifname(std::string_view s) { return attr(3, Bytes{}.put(s).u8(0)); }
  NlLink& operstate(uint8_t v) { return attr(16, Bytes{}.u8(v)); }
  NlLink& carrier(uint8_t v) { return attr(33, Bytes{}.u8(v)); }
  NlLink& u32attr(uint16_t atype, uint32_t v) { return attr(atype, Bytes{}.u32(v, big)); }
  NlLink& carrier_changes(uint32_t v) { return u32attr(35, v); }
  NlLink& carrier_up(uint32_t v) { return u32attr(47, v); }
  NlLink& carrier_down(uint32_t v) { return u32attr(48, v); }
  NlLink& address(uint64_t m) { return attr(1, Bytes{}.mac(m)); }

  Bytes bytes() const {
    Bytes m;
    m.u32(32 + attrs.size(), big).u16(type, big).u16(nl_flags, big).u32(seq, big).u32(pid, big);  // nlmsghdr
    m.u8(0).u8(0).u16(dev_type, big).u32(static_cast<uint32_t>(ifindex), big).u32(flags, big).u32(change, big);  // ifinfomsg
    m.put(attrs);
    return m;
  }
};

constexpr uint32_t kIffUp = 0x1, kIffRunning = 0x40, kIffLowerUp = 0x10000;

// The 16-byte LINKTYPE_NETLINK cooked header: pkttype 4 (outgoing), ARPHRD_NETLINK
// (824), halen 0, address 0, protocol NETLINK_ROUTE (0); all big-endian.
inline Bytes nl_cooked(uint16_t family = 0) {
  Bytes h;
  h.be16(4).be16(824).be16(0).zeros(8).be16(family);
  return h;
}

// A netlink frame holding `msgs` (each padded to 4 bytes, as the kernel aligns them).
inline Bytes nl_frame(std::initializer_list<Bytes> msgs) {
  Bytes f = nl_cooked();
  for (const Bytes& m : msgs) {
    f.put(m);
    while ((f.size() - 16) % 4) f.u8(0);
  }
  return f;
}

// A link message saying up (carrier 1, IFF_UP|RUNNING|LOWER_UP) or down (carrier 0,
// IFF_UP only), with carrier counters: a notification, or with `dump` a reply to an
// RTM_GETLINK dump (a port's first one is a baseline, not an edge).
inline Bytes link_msg(std::string_view ifname, int32_t ifindex, bool up, uint32_t up_count, uint32_t down_count,
                      bool dump = false) {
  NlLink m;
  if (dump) {
    m.nl_flags = 0x2;  // NLM_F_MULTI
    m.seq = 1;
    m.pid = 4242;
  }
  m.ifindex = ifindex;
  m.flags = up ? (kIffUp | kIffRunning | kIffLowerUp) : kIffUp;
  m.ifname(ifname).operstate(up ? 6 : 2).carrier(up ? 1 : 0);
  m.carrier_changes(up_count + down_count).carrier_up(up_count).carrier_down(down_count);
  return m.bytes();
}

// A classic pcap file (nanosecond magic, this machine's byte order).
class PcapWriter {
 public:
  PcapWriter(const std::string& path, uint32_t linktype) : out_(path, std::ios::binary) {
    if (!out_) throw std::runtime_error("cannot write " + path);
    Bytes h;
    h.le32(0xa1b23c4d).le16(2).le16(4).le32(0).le32(0).le32(262144).le32(linktype);
    write(h);
  }
  // A record; `caplen_override` writes a header claiming more bytes than follow.
  void frame(int64_t ts_ns, const Bytes& data, uint32_t caplen_override = 0) {
    Bytes r;
    uint32_t caplen = caplen_override ? caplen_override : data.size();
    r.le32(static_cast<uint32_t>(ts_ns / 1'000'000'000)).le32(static_cast<uint32_t>(ts_ns % 1'000'000'000));
    r.le32(caplen).le32(caplen);
    write(r);
    write(data);
  }
  void close() { out_.close(); }

 private:
  void write(const Bytes& b) { out_.write(reinterpret_cast<const char*>(b.data()), b.size()); }
  std::ofstream out_;
};

// A fresh directory for one test's files (under $FLAPWATCH_TEST_TMP, set by CTest),
// removed when it goes out of scope.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("FLAPWATCH_TEST_TMP");
    std::filesystem::path root = base && *base ? base : std::filesystem::temp_directory_path();
    path_ = root / ("fw-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// An integer from the environment (test sizes), or `dflt`.
inline int64_t env_int(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : dflt;
}

}  // namespace fwtest
