// MAC control frames (ethertype 0x8808): 802.3x PAUSE (opcode 0x0001, one 16-bit
// pause time) and 802.1Qbb PFC (opcode 0x0101, class-enable vector, 8 quanta).
// A quantum is 512 bit times; quanta 0 on an enabled class is XON (resume).
#pragma once
#include <cstdint>

#include "flapwatch/bytes.hpp"
#include "flapwatch/decode/decode_error.hpp"

namespace flapwatch {

constexpr uint16_t kEtherMacControl = 0x8808;
constexpr uint16_t kOpcodePause = 0x0001;
constexpr uint16_t kOpcodePfc = 0x0101;

enum class MacControlKind : uint8_t { pause, pfc, other, malformed };

struct PfcFrame {
  uint8_t class_enable;
  uint16_t quanta[8];
};

struct PauseFrame {
  uint16_t quanta;
};

// Decodes the MAC control payload (after the ethertype).
[[gnu::always_inline]] inline MacControlKind decode_mac_control(const uint8_t* p, uint32_t n, PfcFrame& pfc,
                                                                PauseFrame& pause, DecodeError& err) {
  if (n < 2) {
    fail(err, 0, "MAC control frame without an opcode");
    return MacControlKind::malformed;
  }
  switch (bytes::be16(p)) {
    case kOpcodePause:
      if (n < 4) {
        fail(err, 2, "PAUSE frame too short for its pause time");
        return MacControlKind::malformed;
      }
      pause.quanta = bytes::be16(p + 2);
      return MacControlKind::pause;
    case kOpcodePfc:
      if (n < 20) {
        fail(err, 2, "PFC frame too short for class-enable vector and 8 quanta");
        return MacControlKind::malformed;
      }
      pfc.class_enable = static_cast<uint8_t>(bytes::be16(p + 2) & 0xff);
      bytes::be16x8(p + 4, pfc.quanta);
      return MacControlKind::pfc;
    default:
      return MacControlKind::other;
  }
}

}  // namespace flapwatch
