// Frame: what every source yields. A view, not a copy: `data` points into the
// reader's buffer (or a live ring) and is valid until the source's next call.
#pragma once
#include <cstdint>

namespace flapwatch {

// Link types we decode (the pcap LINKTYPE_ values).
enum LinkType : uint16_t {
  kLinkEthernet = 1,
  kLinkNetlink = 253,
  kLinkSll = 113,
  kLinkSll2 = 276,
  // Not a pcap link type: a counter sample read from a flapwatch Custom Block
  // (io/counter_block.hpp), `data` its custom data in native byte order. Never written.
  kLinkCounterBlock = 0xfc5a,
  // What a file's header or interface block saying kLinkCounterBlock reads as: packets of a
  // link type nothing decodes (counted as other frames), never custom blocks.
  kLinkUndecoded = 0xffff,
};

// A link type as a capture file states it, for its frames.
constexpr uint16_t file_link_type(uint16_t stated) {
  return stated == kLinkCounterBlock ? uint16_t{kLinkUndecoded} : stated;
}

struct Frame {
  int64_t ts_ns = 0;       // ns since the epoch
  int64_t index = 0;       // 0-based frame number in its source
  uint64_t offset = 0;     // byte offset of data[0] in the (decompressed) file
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;
  uint32_t origlen = 0;
  int32_t port = -1;       // string-table index of the port name
  int32_t device = -1;     // string-table index of the device the source names, -1 none:
                           // the port of a link message in the frame is "device:ifname"
  uint16_t linktype = 0;
};

}  // namespace flapwatch
