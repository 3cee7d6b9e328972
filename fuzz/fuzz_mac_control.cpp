// libFuzzer target: MAC control (PAUSE / PFC) decoding. The input is the payload after
// the ethertype 0x8808, exactly as the dispatcher hands it over (libFuzzer's buffer is
// exactly `size` bytes, so ASan reports any read past it).
#include "flapwatch/bytes.hpp"
#include "flapwatch/decode/mac_control.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > UINT32_MAX) return 0;
  const auto n = static_cast<uint32_t>(size);
  PfcFrame pfc{};
  PauseFrame pause{};
  DecodeError err;
  MacControlKind k = decode_mac_control(data, n, pfc, pause, err);
  switch (k) {
    case MacControlKind::malformed:
      FUZZ_CHECK(err.reason != nullptr && err.pos <= n);
      FUZZ_CHECK(n < 2 || (bytes::be16(data) == kOpcodePause && n < 4) || (bytes::be16(data) == kOpcodePfc && n < 20));
      break;
    case MacControlKind::pause:
      FUZZ_CHECK(n >= 4 && bytes::be16(data) == kOpcodePause && pause.quanta == bytes::be16(data + 2));
      break;
    case MacControlKind::pfc:
      FUZZ_CHECK(n >= 20 && bytes::be16(data) == kOpcodePfc);
      FUZZ_CHECK(pfc.class_enable == data[3]);
      for (int i = 0; i < 8; ++i) FUZZ_CHECK(pfc.quanta[i] == bytes::be16(data + 4 + 2 * i));
      break;
    case MacControlKind::other:
      FUZZ_CHECK(n >= 2 && bytes::be16(data) != kOpcodePause && bytes::be16(data) != kOpcodePfc);
      break;
    default:
      FUZZ_CHECK(!"unknown MacControlKind");
  }
  return 0;
}
