// Unaligned loads in a given byte order. memcpy compiles to a single load; the
// swap is one instruction. Wire formats are big-endian; capture containers and
// netlink are in the writer's byte order, chosen at run time (`swap`).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace flapwatch::bytes {

inline uint16_t bswap(uint16_t v) { return __builtin_bswap16(v); }
inline uint32_t bswap(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t bswap(uint64_t v) { return __builtin_bswap64(v); }

template <class T>
inline T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Native load, byte-swapped when `swap`.
template <class T>
inline T load(const uint8_t* p, bool swap) {
  T v = load<T>(p);
  return swap ? bswap(v) : v;
}

inline uint16_t be16(const uint8_t* p) { return load<uint16_t>(p, std::endian::native == std::endian::little); }
inline uint32_t be32(const uint8_t* p) { return load<uint32_t>(p, std::endian::native == std::endian::little); }
inline uint16_t le16(const uint8_t* p) { return load<uint16_t>(p, std::endian::native == std::endian::big); }
inline uint32_t le32(const uint8_t* p) { return load<uint32_t>(p, std::endian::native == std::endian::big); }

// Eight big-endian 16-bit words at `p` into `out`, as one 16-byte load and store (GCC
// vector extensions: SSE2 or NEON, whichever the target has), so a reader that loads the
// eight again at once gets them forwarded from the store.
using U16x8 = uint16_t __attribute__((vector_size(16)));
inline void be16x8(const uint8_t* p, uint16_t* out) {
  U16x8 v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = (v << 8) | (v >> 8);
  std::memcpy(out, &v, sizeof v);
}

// 48-bit MAC address as an integer, aa:bb:cc:dd:ee:ff -> 0xaabbccddeeff.
inline uint64_t mac48(const uint8_t* p) {
  return (uint64_t(be16(p)) << 32) | be32(p + 2);
}

}  // namespace flapwatch::bytes
