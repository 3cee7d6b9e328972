// libFuzzer target: the pcap reader (CaptureReader + Dispatcher via CaptureFile) on a
// file made from the input. The input is a whole pcap file; when its first 4 bytes are
// not one of the 4 pcap magics, they are replaced by the one input[0] & 3 picks, so
// every input exercises the pcap path (fuzz_pcapng does the same for pcapng).
#include <cstring>

#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile file("fuzz_pcap");
  static std::vector<uint8_t> buf;
  buf.assign(data, data + size);
  if (buf.size() >= 4) {
    static const uint8_t magics[4][4] = {
        {0xd4, 0xc3, 0xb2, 0xa1}, {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, {0xa1, 0xb2, 0x3c, 0x4d}};
    bool is_pcap = false;
    for (const auto& m : magics) is_pcap |= std::memcmp(buf.data(), m, 4) == 0;
    if (!is_pcap) std::memcpy(buf.data(), magics[buf[0] & 3], 4);
  }
  fuzz::check_capture(file.write(buf.data(), buf.size()), data, size);
  return 0;
}
