// libFuzzer target: the pcapng reader (sections, interfaces, EPB/SPB/OPB, options,
// if_tsresol / if_tsoffset) through CaptureFile on a file made from the input. The
// first block type is forced to a Section Header Block so every input takes the
// pcapng path.
#include <cstring>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile file("fuzz_pcapng");
  static std::vector<uint8_t> buf;
  buf.assign(data, data + size);
  static const uint8_t shb[4] = {0x0a, 0x0d, 0x0d, 0x0a};
  if (buf.size() >= 4) std::memcpy(buf.data(), shb, 4);
  fuzz::check_capture(file.write(buf.data(), buf.size()), data, size);
  return 0;
}
