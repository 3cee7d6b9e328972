// CaptureReader: pcap and pcapng (plain or gzip) as a stream of Frames.
//
// pcap: magic a1b2c3d4 (µs) / a1b23c4d (ns), either byte order.
// pcapng: several sections, either byte order each; several interfaces, each with its
// own if_tsresol (power of 10 or 2) and if_tsoffset; EPB, SPB and the obsolete
// Packet Block carry frames; flapwatch's counter-sample Custom Blocks
// (io/counter_block.hpp) come out as a Frame of link type kLinkCounterBlock, not
// numbered as a frame; every other block is skipped by its length.
//
// Errors name the file offset. A record cut short by the end of the file is a
// warning that ends the read (strict: an error), so what came before is kept.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flapwatch/bytes.hpp"
#include "flapwatch/counters.hpp"
#include "flapwatch/io/block_buffer.hpp"
#include "flapwatch/io/source.hpp"
#include "flapwatch/string_table.hpp"

namespace flapwatch {

// What names a file's ports (docs/DECODE_RULES.md, Ports). `device`: the device the
// file was captured on ("" none): every port of the file becomes "device:port", except
// a name that already has a ':' (an IDB if_name or IFLA_IFNAME written as
// "device:port"), taken as is. `iface`: the name for frames the file does not name an
// interface for (a pcap file, an IDB without if_name); "" means the file stem.
struct PortNaming {
  std::string device;
  std::string iface;
};

class CaptureReader {
 public:
  // Bounds on what a hostile file can make us buffer.
  static constexpr uint32_t kMaxCaplen = 16u << 20;
  static constexpr uint32_t kMaxBlock = 64u << 20;
  // Interfaces a file may describe (over all its sections): each one costs a port
  // name, so a flood of tiny IDBs must not grow memory with the file.
  static constexpr uint32_t kMaxInterfaces = 65536;

  // follow: read a file another process is still writing: a record not complete yet
  // ends next() quietly (false), and the next call tries again from the same place.
  CaptureReader(const std::string& path, StringTable& strings, bool strict, bool follow = false,
                const PortNaming& naming = {});

  // The next frame, or false at the end. `f.data` is valid until the next call.
  [[gnu::always_inline]] bool next(Frame& f) {
    if (in_.offset() >= range_end_) return false;
    if (pcapng_) return next_pcapng(f);
    // A pcap record whose bytes are all at hand, inline: most of them are. The rest
    // (a window's end, the file's end, a bad caplen) goes to next_pcap.
    const size_t avail = in_.available();
    if (avail >= 16) [[likely]] {
      const uint8_t* h = in_.data();
      const uint32_t caplen = bytes::load<uint32_t>(h + 8, swap_);
      if (caplen <= kMaxCaplen && 16 + size_t(caplen) <= avail) [[likely]] {
        pcap_frame(f, h, caplen);
        return true;
      }
    }
    return next_pcap(f);
  }

  // Read only the records that start in [begin, end) of an uncompressed file (begin a
  // record boundary: io/capture_split.hpp finds them). pcapng: the section header and
  // interface blocks before the first other block are read first, so a range in the
  // middle knows the interfaces. May be called again for a later range.
  void restrict_to(uint64_t begin, uint64_t end);
  // Reads past every record that starts before `offset` (a record boundary), keeping what
  // they say of interfaces and sections and counting their frames; then next() goes on
  // from there. For a reader that takes over a file from a given place, numbering as one
  // reader of the whole file would.
  void skip_to(uint64_t offset);
  // Frames read so far (a range's reader: in the range).
  int64_t frames_read() const { return index_; }
  // The offset where the next record starts: after a range's last record, its end
  // exactly when `begin` of the next range really is a record boundary.
  uint64_t next_record_offset() const { return in_.offset(); }
  // Section header or interface blocks read inside a range: a later range started with
  // the wrong interfaces.
  bool changed_state_in_range() const { return state_blocks_in_range_; }
  // A Simple Packet Block before any timestamped block of a range: its time is that of
  // a block in the range before (only the first range may have one).
  bool clockless_in_range() const { return spb_without_clock_; }
  // The read stopped at a block or record cut short ("read stops here"): the file, as
  // every reader of it sees it, ends there.
  bool stopped_short() const { return stopped_short_; }

  const std::string& path() const { return path_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool is_pcapng() const { return pcapng_; }
  // Whether the file (pcap) or an interface described so far (pcapng) has this link type.
  bool has_linktype(uint16_t linktype) const {
    if (!pcapng_) return linktype_ == linktype;
    for (const auto& i : ifaces_)
      if (i.linktype == linktype) return true;
    return false;
  }
  bool compressed() const { return in_.compressed(); }
  uint64_t offset() const { return in_.offset(); }
  // The file's size on disk (compressed size for gzip), for sizing output up front.
  uint64_t file_size() const { return in_.file_size(); }

  // The port name of a file without interface names: its file name without
  // .gz and then .pcapng/.pcap/.cap.
  static std::string stem_of(const std::string& path);
  // `name` as the port of `device`: "device:name", or `name` when it already names its
  // device (has a ':') or there is no device.
  static std::string qualify(const std::string& device, std::string_view name);

 private:
  struct Interface {
    int32_t port;
    uint16_t linktype;
    uint32_t snaplen;
    bool tsres_pow2;
    uint8_t tsres_exp;
    int64_t tsoffset_s;
  };

  bool next_pcap(Frame& f);
  bool next_pcapng(Frame& f);
  void read_section_header(uint32_t len);
  void read_interface(const uint8_t* b, uint32_t len, uint64_t off);
  int64_t to_ns(const Interface& i, uint64_t units, uint64_t off) const;
  bool end_truncated(uint64_t off, const std::string& reason);
  [[noreturn]] void fail(uint64_t off, const std::string& reason) const;

  std::string path_;
  StringTable& strings_;
  bool strict_;
  // The record at `h` (its caplen checked, its bytes all at hand) into `f`; moves past it.
  [[gnu::always_inline]] void pcap_frame(Frame& f, const uint8_t* h, uint32_t caplen) {
    const uint32_t sec = bytes::load<uint32_t>(h, swap_);
    const uint32_t frac = bytes::load<uint32_t>(h + 4, swap_);
    f.data = h + 16;
    f.caplen = caplen;
    f.origlen = bytes::load<uint32_t>(h + 12, swap_);
    f.ts_ns = int64_t(sec) * 1000000000 + int64_t(frac) * frac_to_ns_;
    f.offset = in_.offset() + 16;
    f.port = file_port_;
    f.device = device_id_;
    f.linktype = linktype_;
    f.index = index_++;
    in_.advance(16 + size_t(caplen));
    in_.prefetch();
  }
  BlockBuffer in_;
  std::vector<std::string> warnings_;
  int64_t index_ = 0;
  int64_t last_ts_ = 0;
  uint64_t range_end_ = UINT64_MAX;
  bool in_range_ = false, clock_in_range_ = false, state_blocks_in_range_ = false, spb_without_clock_ = false;
  bool stopped_short_ = false;
  bool pcapng_ = false;
  bool follow_ = false;
  bool swap_ = false;  // the current file/section is in the other byte order
  // pcap
  uint16_t linktype_ = 0;
  int64_t frac_to_ns_ = 1000;
  int32_t file_port_ = -1;
  // pcapng
  std::vector<Interface> ifaces_;
  int sections_ = 0;
  uint32_t interfaces_seen_ = 0;
  std::string stem_;       // the name for unnamed interfaces: PortNaming::iface, else the file stem
  std::string device_;     // PortNaming::device
  int32_t device_id_ = -1;  // its string-table index, -1 without a device
  // the last flapwatch counter block (io/counter_block.hpp), re-encoded in native order
  CounterSample counter_;
  LinkEvent link_event_;
  std::vector<uint8_t> counter_buf_;
};

}  // namespace flapwatch
