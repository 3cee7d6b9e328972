#include "flapwatch/io/capture_reader.hpp"

#include <algorithm>
#include <cstring>

#include "flapwatch/bytes.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/io/counter_block.hpp"
#include "flapwatch/text.hpp"

namespace flapwatch {
namespace {

constexpr uint32_t kPcapMicro = 0xa1b2c3d4, kPcapNano = 0xa1b23c4d;
constexpr uint32_t kShb = 0x0a0d0d0a, kIdb = 1, kOpb = 2, kSpb = 3, kEpb = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint16_t kOptEnd = 0, kOptIfName = 2, kOptTsresol = 9, kOptTsoffset = 14;

std::string hex32(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08x", v);
  return s;
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

std::string CaptureReader::stem_of(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  for (const char* ext : {".pcapng", ".pcap", ".cap"})
    if (ends_with(name, ext)) {
      name.resize(name.size() - std::strlen(ext));
      break;
    }
  return name;
}

std::string CaptureReader::qualify(const std::string& device, std::string_view name) {
  if (device.empty() || name.find(':') != name.npos) return std::string(name);
  std::string out;
  out.reserve(device.size() + 1 + name.size());
  out += device;
  out += ':';
  out += name;
  return out;
}

CaptureReader::CaptureReader(const std::string& path, StringTable& strings, bool strict, bool follow,
                             const PortNaming& naming)
    : path_(path), strings_(strings), strict_(strict), in_(path, follow), follow_(follow),
      stem_(naming.iface.empty() ? stem_of(path) : naming.iface), device_(naming.device),
      device_id_(naming.device.empty() ? -1 : strings.intern(naming.device)) {
  if (!in_.ensure(4)) fail(0, in_.available() ? "truncated file header" : "empty file");
  uint32_t magic = bytes::load<uint32_t>(in_.data());
  if (magic == kShb) {
    pcapng_ = true;  // the section header is read as the first block
    return;
  }
  bool nano = false;
  if (magic == kPcapMicro || magic == kPcapNano) {
    swap_ = false;
    nano = magic == kPcapNano;
  } else if (bytes::bswap(magic) == kPcapMicro || bytes::bswap(magic) == kPcapNano) {
    swap_ = true;
    nano = bytes::bswap(magic) == kPcapNano;
  } else {
    fail(0, "not a pcap or pcapng file (magic " + hex32(bytes::be32(in_.data())) + ")");
  }
  if (!in_.ensure(24)) fail(0, "truncated pcap file header (" + std::to_string(in_.available()) + " of 24 bytes)");
  frac_to_ns_ = nano ? 1 : 1000;
  // The low 16 bits are the link type; the upper bits carry FCS information.
  linktype_ = file_link_type(static_cast<uint16_t>(bytes::load<uint32_t>(in_.data() + 20, swap_) & 0xffff));
  file_port_ = strings_.intern(qualify(device_, stem_));
  in_.advance(24);
}

void CaptureReader::fail(uint64_t off, const std::string& reason) const { throw CaptureError(path_, off, reason); }

bool CaptureReader::end_truncated(uint64_t off, const std::string& reason) {
  if (follow_) return false;  // not truncated: not written yet
  if (strict_) fail(off, reason);
  stopped_short_ = true;
  warnings_.push_back(path_ + ": offset " + std::to_string(off) + ": " + reason + "; read stops here");
  return false;
}

void CaptureReader::restrict_to(uint64_t begin, uint64_t end) {
  if (pcapng_ && sections_ == 0) {  // the leading section header and interfaces
    for (;;) {
      if (!in_.ensure(12)) break;
      uint32_t type = bytes::load<uint32_t>(in_.data(), swap_);
      if (type != kShb && type != kIdb) break;
      Frame f;
      const uint64_t at = in_.offset();
      range_end_ = at + 1;  // next_pcapng stops after this one block (it holds no frame)
      next_pcapng(f);
      if (in_.offset() == at) {  // the block is cut short (its warning said so): the read stops there
        begin = end = at;
        break;
      }
    }
  }
  if (begin > in_.offset()) in_.seek(begin);
  range_end_ = end;
  in_.limit_reads(end == UINT64_MAX ? 0 : end);
  in_range_ = true;
  clock_in_range_ = false;
}

void CaptureReader::skip_to(uint64_t offset) {
  const uint64_t end = range_end_;
  range_end_ = std::min(offset, end);
  Frame f;
  while (next(f)) {
  }
  range_end_ = end;
}

bool CaptureReader::next_pcap(Frame& f) {
  if (!in_.ensure(16)) {
    if (!in_.input_warning().empty()) return end_truncated(in_.offset() + in_.available(), in_.input_warning());
    if (in_.available() == 0) return false;
    return end_truncated(in_.offset(), "truncated record header (" + std::to_string(in_.available()) + " of 16 bytes)");
  }
  uint32_t caplen = bytes::load<uint32_t>(in_.data() + 8, swap_);
  uint64_t off = in_.offset();
  if (caplen > kMaxCaplen)
    fail(off + 8, "absurd caplen " + std::to_string(caplen) + " (limit " + std::to_string(kMaxCaplen) + ")");
  if (!in_.ensure(16 + size_t(caplen)))
    return end_truncated(off, "record of " + std::to_string(caplen) + " bytes runs past the end of the file (" +
                                  std::to_string(in_.available() - 16) + " left)");
  pcap_frame(f, in_.data(), caplen);
  return true;
}

// Timestamps outside ±2^62 ns (years 1824..2116) are not real captures; bounding them
// here keeps every later sum and difference of times (pause ends, gaps, durations)
// inside int64.
constexpr __int128 kMaxAbsTs = __int128(1) << 62;

int64_t CaptureReader::to_ns(const Interface& i, uint64_t units, uint64_t off) const {
  static constexpr int64_t pow10[] = {1,         10,         100,         1000,         10000,        100000,
                                      1000000,   10000000,   100000000,   1000000000,   10000000000,  100000000000,
                                      1000000000000, 10000000000000, 100000000000000, 1000000000000000,
                                      10000000000000000, 100000000000000000, 1000000000000000000};
  __int128 ns;  // wide enough for any units x resolution + offset: checked, never wrapped
  if (i.tsres_pow2) {
    ns = static_cast<__int128>((static_cast<unsigned __int128>(units) * 1000000000u) >> i.tsres_exp);
  } else if (i.tsres_exp <= 9) {
    ns = static_cast<__int128>(units) * pow10[9 - i.tsres_exp];
  } else {
    ns = static_cast<__int128>(units / static_cast<uint64_t>(pow10[i.tsres_exp - 9]));
  }
  ns += static_cast<__int128>(i.tsoffset_s) * 1000000000;
  if (ns > kMaxAbsTs || ns < -kMaxAbsTs) fail(off, "timestamp out of range (if_tsresol/if_tsoffset)");
  return static_cast<int64_t>(ns);
}

void CaptureReader::read_section_header(uint32_t len) {
  const uint8_t* b = in_.data();
  if (len < 28) fail(in_.offset() + 4, "section header block too short (" + std::to_string(len) + " bytes)");
  ifaces_.clear();
  ++sections_;
  (void)b;
}

void CaptureReader::read_interface(const uint8_t* b, uint32_t len, uint64_t off) {
  if (len < 20) fail(off + 4, "interface description block too short (" + std::to_string(len) + " bytes)");
  if (++interfaces_seen_ > kMaxInterfaces)
    fail(off, "more than " + std::to_string(kMaxInterfaces) + " interface description blocks");
  Interface i{};
  i.linktype = file_link_type(bytes::load<uint16_t>(b + 8, swap_));
  i.snaplen = bytes::load<uint32_t>(b + 12, swap_);
  i.tsres_pow2 = false;
  i.tsres_exp = 6;
  std::string_view name;
  uint32_t pos = 16, end = len - 4;
  while (pos + 4 <= end) {
    uint16_t code = bytes::load<uint16_t>(b + pos, swap_);
    uint16_t olen = bytes::load<uint16_t>(b + pos + 2, swap_);
    if (code == kOptEnd) break;
    if (pos + 4 + olen > end) fail(off + pos, "interface option " + std::to_string(code) + " runs past its block");
    const uint8_t* v = b + pos + 4;
    if (code == kOptIfName) {
      name = std::string_view(reinterpret_cast<const char*>(v), olen);
      if (auto nul = name.find('\0'); nul != name.npos) name = name.substr(0, nul);
    } else if (code == kOptTsresol && olen >= 1) {
      i.tsres_pow2 = v[0] & 0x80;
      i.tsres_exp = v[0] & 0x7f;
      if ((i.tsres_pow2 && i.tsres_exp > 63) || (!i.tsres_pow2 && i.tsres_exp > 18))
        fail(off + pos + 4, "unsupported if_tsresol " + std::to_string(v[0]));
    } else if (code == kOptTsoffset && olen >= 8) {
      i.tsoffset_s = static_cast<int64_t>(bytes::load<uint64_t>(v, swap_));
    }
    pos += 4 + ((olen + 3u) & ~3u);
  }
  size_t id = ifaces_.size();
  if (!name.empty()) {
    std::string text;
    escape_text(name, text);
    i.port = strings_.intern(qualify(device_, text));
  } else if (id == 0 && sections_ == 1) {
    i.port = strings_.intern(qualify(device_, stem_));
  } else {
    i.port = strings_.intern(qualify(device_, stem_ + "#" + std::to_string(id)));
  }
  ifaces_.push_back(i);
}

bool CaptureReader::next_pcapng(Frame& f) {
  for (;;) {
    if (in_.offset() >= range_end_) return false;
    if (!in_.ensure(12)) {
      if (!in_.input_warning().empty()) return end_truncated(in_.offset() + in_.available(), in_.input_warning());
      if (in_.available() == 0) return false;
      return end_truncated(in_.offset(), "truncated block header (" + std::to_string(in_.available()) + " bytes)");
    }
    const uint8_t* b = in_.data();
    uint64_t off = in_.offset();
    uint32_t type = bytes::load<uint32_t>(b, swap_);
    if (type == kShb) {  // a new section may switch byte order
      uint32_t bom = bytes::load<uint32_t>(b + 8);
      if (bom == kByteOrderMagic)
        swap_ = false;
      else if (bytes::bswap(bom) == kByteOrderMagic)
        swap_ = true;
      else
        fail(off + 8, "bad byte-order magic " + hex32(bom) + " in section header");
    } else if (sections_ == 0) {
      fail(off, "pcapng file does not start with a section header");
    }
    uint32_t len = bytes::load<uint32_t>(b + 4, swap_);
    if (len < 12 || len % 4 != 0) fail(off + 4, "invalid block length " + std::to_string(len));
    if (len > kMaxBlock)
      fail(off + 4, "absurd block length " + std::to_string(len) + " (limit " + std::to_string(kMaxBlock) + ")");
    if (!in_.ensure(len))
      return end_truncated(off, "block of " + std::to_string(len) + " bytes runs past the end of the file (" +
                                    std::to_string(in_.available()) + " left)");
    b = in_.data();
    uint32_t trailer = bytes::load<uint32_t>(b + len - 4, swap_);
    if (trailer != len)
      fail(off + len - 4, "block lengths disagree (" + std::to_string(len) + " at start, " + std::to_string(trailer) +
                              " at end)");
    uint32_t caplen, origlen, iface;
    uint64_t units;
    const uint8_t* data;
    if (type == kEpb || type == kOpb) {
      if (len < 32) fail(off + 4, "packet block too short (" + std::to_string(len) + " bytes)");
      if (type == kEpb) {
        iface = bytes::load<uint32_t>(b + 8, swap_);
      } else {
        iface = bytes::load<uint16_t>(b + 8, swap_);
      }
      units = (uint64_t(bytes::load<uint32_t>(b + 12, swap_)) << 32) | bytes::load<uint32_t>(b + 16, swap_);
      caplen = bytes::load<uint32_t>(b + 20, swap_);
      origlen = bytes::load<uint32_t>(b + 24, swap_);
      if (caplen > len - 32)
        fail(off + 20, "captured length " + std::to_string(caplen) + " exceeds its block (" + std::to_string(len) +
                           " bytes)");
      data = b + 28;
      if (iface >= ifaces_.size())
        fail(off + 8, "packet block names interface " + std::to_string(iface) + ", but the section has " +
                          std::to_string(ifaces_.size()));
      f.ts_ns = last_ts_ = to_ns(ifaces_[iface], units, off + 12);
      clock_in_range_ = true;
    } else if (type == kSpb) {
      if (len < 16) fail(off + 4, "simple packet block too short");
      if (ifaces_.empty()) fail(off, "simple packet block before any interface description");
      iface = 0;
      origlen = bytes::load<uint32_t>(b + 8, swap_);
      caplen = std::min(origlen, len - 16);
      if (ifaces_[0].snaplen) caplen = std::min(caplen, ifaces_[0].snaplen);
      data = b + 12;
      f.ts_ns = last_ts_;  // SPBs carry no time: keep the stream's clock
      if (in_range_ && !clock_in_range_) spb_without_clock_ = true;
    } else if ((type == kPcapngCustomCopyable || type == kPcapngCustomNoCopy) && sections_ > 0) {
      // flapwatch's counter samples (io/counter_block.hpp); other custom blocks skipped.
      uint32_t seq = 0;
      std::string why;
      auto parsed = parse_counter_block(b + 8, len - 12, swap_, counter_, seq, why);
      bool link = false;
      if (parsed == CounterBlockParse::not_ours && len - 12 >= 8 && bytes::load<uint32_t>(b + 8, swap_) == kCounterBlockPen &&
          std::memcmp(b + 12, kLinkEventBlockMagic, 4) == 0) {  // a pushed link event (another PEN's block: not ours)
        link = parse_link_event_block(b + 8, len - 12, swap_, link_event_, why);
        parsed = link ? CounterBlockParse::ok : CounterBlockParse::malformed;
        if (link) counter_.ts_ns = link_event_.ts_ns;
      }
      if (parsed == CounterBlockParse::ok && (counter_.ts_ns > kMaxAbsTs || counter_.ts_ns < -kMaxAbsTs)) {
        parsed = CounterBlockParse::malformed;
        why = "flapwatch counter block: timestamp out of range";
      }
      if (parsed == CounterBlockParse::malformed) {
        if (strict_) fail(off + 8, why);
        warnings_.push_back(path_ + ": offset " + std::to_string(off) + ": " + why + "; block skipped");
      }
      in_.advance(len);
      if (parsed != CounterBlockParse::ok) continue;
      if (link) encode_link_event_block(link_event_, counter_buf_);  // native order: the dispatcher's
      else encode_counter_block(counter_, seq, counter_buf_);
      f.data = counter_buf_.data();
      f.caplen = f.origlen = static_cast<uint32_t>(counter_buf_.size());
      f.offset = off + 8;
      f.ts_ns = counter_.ts_ns;
      f.port = -1;  // the block names its interface
      f.device = device_id_;
      f.linktype = kLinkCounterBlock;
      f.index = index_;  // not a frame: frame numbers stay tshark's
      return true;
    } else {
      if (type == kShb) read_section_header(len);
      else if (type == kIdb) read_interface(b, len, off);
      if (in_range_ && (type == kShb || type == kIdb)) state_blocks_in_range_ = true;
      in_.advance(len);
      continue;
    }
    f.data = data;
    f.caplen = caplen;
    f.origlen = origlen;
    f.offset = off + static_cast<uint64_t>(data - b);
    f.port = ifaces_[iface].port;
    f.device = device_id_;
    f.linktype = ifaces_[iface].linktype;
    f.index = index_++;
    in_.advance(len);
    in_.prefetch();
    return true;
  }
}

}  // namespace flapwatch
