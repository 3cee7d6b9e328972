// grown_at: v[i] of a table indexed by port (or string) number, the vector grown to hold it
// first. Called once per frame; the growing, nearly never needed, stays out of line so the
// lookup compiles to a compare and an index in the reading loop.
#pragma once
#include <cstddef>
#include <vector>

namespace flapwatch {

template <class T>
[[gnu::noinline]] void grow_to(std::vector<T>& v, size_t n) {
  v.resize(n);
}

template <class T>
[[gnu::always_inline]] inline T& grown_at(std::vector<T>& v, size_t i) {
  if (i >= v.size()) [[unlikely]] grow_to(v, i + 1);
  return v[i];
}

}  // namespace flapwatch
