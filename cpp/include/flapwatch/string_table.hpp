// StringTable: interns strings (port names, LLDP ids, reasons) so records hold an
// int32 index instead of a string. Lookups take a string_view and allocate only
// when a new string is added, which keeps the per-frame path allocation-free.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flapwatch {

class StringTable {
 public:
  int32_t intern(std::string_view s) {
    if (auto it = index_.find(s); it != index_.end()) return it->second;
    auto id = static_cast<int32_t>(strings_.size());
    strings_.emplace_back(s);
    index_.emplace(strings_.back(), id);
    return id;
  }
  const std::string& operator[](int32_t i) const { return strings_[static_cast<size_t>(i)]; }
  size_t size() const { return strings_.size(); }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> strings_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_;
};

}  // namespace flapwatch
