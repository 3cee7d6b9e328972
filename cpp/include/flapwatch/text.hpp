// Text from the wire (LLDP strings, interface names) is not guaranteed to be UTF-8,
// yet ends up as Python str and JSON: printable ASCII stays, every other byte (and
// the backslash itself) becomes \xNN, so the text is lossless and always valid.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace flapwatch {

inline void escape_text(const uint8_t* p, size_t n, std::string& out) {
  out.clear();
  while (n > 0 && p[n - 1] == 0) --n;  // C strings' trailing NULs are not text
  static constexpr char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = p[i];
    if (c >= 0x20 && c <= 0x7e && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
}

inline void escape_text(std::string_view s, std::string& out) {
  escape_text(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out);
}

}  // namespace flapwatch
