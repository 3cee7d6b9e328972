// PcapngWriter: writes pcapng (little-endian, one section) with named interfaces,
// nanosecond timestamps (if_tsresol 9) and Enhanced Packet Blocks. The simulator and
// the live agent's --record both write through it, so what flapwatch writes is what
// flapwatch (and tshark) reads back. Buffered; flush() makes the file readable by a
// tail-follower up to the last whole block.
#pragma once
#include <cstdint>
#include <cstdio>
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
  void flush();
  void close();
  uint64_t packets() const { return packets_; }
  uint64_t bytes_written() const { return bytes_; }

 private:
  void block(uint32_t type, const std::vector<uint8_t>& body);
  void put(const void* p, size_t n);

  std::string path_;
  std::FILE* f_ = nullptr;
  uint32_t interfaces_ = 0;
  uint64_t packets_ = 0, bytes_ = 0;
  std::vector<uint8_t> scratch_;
};

}  // namespace flapwatch
