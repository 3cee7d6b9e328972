// Why a frame of a known protocol could not be decoded, and where in the frame.
#pragma once
#include <cstdint>

namespace flapwatch {

struct DecodeError {
  uint32_t pos = 0;             // byte position in the frame
  const char* reason = nullptr;  // static text
};

// Records the error and returns false, so decoders can `return fail(err, ...)`.
inline bool fail(DecodeError& err, uint32_t pos, const char* reason) {
  err.pos = pos;
  err.reason = reason;
  return false;
}

}  // namespace flapwatch
