// PcapngWriter: writes pcapng (little-endian, one section) with named interfaces,
// nanosecond timestamps (if_tsresol 9) and Enhanced Packet Blocks. The simulator and
// the live agent's --record both write through it, so what flapwatch writes is what
// flapwatch (and tshark) reads back. Buffered; flush() makes the file readable by a
// tail-follower up to the last whole block.
//
// RotatingPcapngWriter: the live agent's recording. It starts a new file at a packet
// boundary when the current one would pass a size or has run an interval, so every
// file is a whole pcapng (section header and interface blocks repeated, the same
// interface ids); the files kept are FILE (current) and FILE.1 (newest) .. FILE.keep,
// older ones deleted. A write error (ENOSPC, EIO, ...) stops the recording for good:
// the file is cut back to its last whole block, the error is
// kept for the caller to report, and write_packet() does nothing from then on.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace flapwatch {

class PcapngWriter {
 public:
  explicit PcapngWriter(const std::string& path, std::string_view application = "flapwatch");
  ~PcapngWriter();
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;

  // Adds an interface (IDB) and returns its id.
  uint32_t add_interface(std::string_view name, uint16_t linktype, uint32_t snaplen = 262144);
  void write_packet(uint32_t interface_id, int64_t ts_ns, const uint8_t* data, uint32_t caplen, uint32_t origlen);
  // A Custom Block (type 0x00000BAD copyable, else 0x40000BAD): `data` from the PEN on
  // (io/counter_block.hpp's counter samples), padded to 4 here.
  void write_custom(const std::vector<uint8_t>& data, bool copyable = true);
  uint64_t custom_blocks() const { return custom_; }
  void flush();
  void close();
  // After a failed write: closes without throwing and cuts the file back to the last
  // whole block on disk, so what is there is a valid pcapng; a file without one is
  // removed. Returns the bytes kept.
  uint64_t abandon();
  uint64_t packets() const { return packets_; }
  uint64_t bytes_written() const { return bytes_; }
  // The size of the block write_packet() adds for caplen bytes.
  static uint64_t packet_block_size(uint32_t caplen) { return 32 + ((uint64_t{caplen} + 3) & ~uint64_t{3}); }

 private:
  void block(uint32_t type, const std::vector<uint8_t>& body);
  void put(const void* p, size_t n);

  std::string path_;
  std::FILE* f_ = nullptr;
  uint32_t interfaces_ = 0;
  uint64_t packets_ = 0, bytes_ = 0, flushed_ = 0, custom_ = 0;
  std::vector<uint8_t> scratch_;
};

struct RotationOptions {
  uint64_t max_bytes = 0;       // a file never passes this size (0: no size limit)
  int64_t max_interval_ns = 0;  // a new file at the first packet this long after a file's first (0: none)
  unsigned keep = 0;            // rotated files kept besides FILE: FILE.1 (newest) .. FILE.keep
  bool rotates() const { return max_bytes > 0 || max_interval_ns > 0; }
};

class RotatingPcapngWriter {
 public:
  // Opens FILE (throws CaptureError when it cannot be created). With rotation on, a
  // FILE left by an earlier run is rotated out first rather than overwritten.
  RotatingPcapngWriter(std::string path, std::string application, RotationOptions opts = {});
  ~RotatingPcapngWriter();

  // Before the first packet; every file gets the same interfaces, in this order.
  uint32_t add_interface(std::string_view name, uint16_t linktype, uint32_t snaplen = 262144);
  // false when the recording has stopped (now or before) on an error.
  bool write_packet(uint32_t interface_id, int64_t ts_ns, const uint8_t* data, uint32_t caplen, uint32_t origlen);
  // A Custom Block into the current file (no rotation decision: a sample follows the
  // packets it came between); false when the recording has stopped.
  bool write_custom(const std::vector<uint8_t>& data);
  bool flush();
  void close();  // never throws; a close error stops the recording like a write error

  static std::string rotated_name(const std::string& path, unsigned i) { return path + "." + std::to_string(i); }
  const std::string& path() const { return path_; }
  // Read from any thread.
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  std::string error() const;
  uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }  // all files, as written
  uint64_t rotations() const { return rotations_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Interface {
    std::string name;
    uint16_t linktype;
    uint32_t snaplen;
  };
  void open_file();
  void rotate();
  void shift_rotated();
  void fail(const std::string& what);

  std::string path_, application_;
  RotationOptions opts_;
  std::vector<Interface> interfaces_;
  std::unique_ptr<PcapngWriter> file_;
  int64_t file_first_ts_ = -1;
  uint64_t file_base_bytes_ = 0;  // bytes_ when the current file was opened
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> packets_{0}, bytes_{0}, rotations_{0}, errors_{0};
  mutable std::mutex error_mu_;
  std::string error_;
};

}  // namespace flapwatch
