// StringTable: interns strings (port names, LLDP ids, reasons) so records hold an
// int32 index instead of a string. Lookups take a string_view and allocate only
// when a new string is added, which keeps the per-frame path allocation-free.
//
// Storage is a deque, so a string's address never moves once interned. By default
// the table is single-threaded; share_between_threads() adds a mutex around every
// access, for the live agent where the reader thread interns while other threads
// read names (rare operations: new ports and LLDP strings, never per PFC frame).
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace flapwatch {

class StringTable {
 public:
  void share_between_threads() { mu_ = std::make_unique<std::mutex>(); }

  int32_t intern(std::string_view s) {
    Guard g(mu_.get());
    if (auto it = index_.find(s); it != index_.end()) return it->second;
    auto id = static_cast<int32_t>(strings_.size());
    strings_.emplace_back(s);
    index_.emplace(strings_.back(), id);
    return id;
  }
  const std::string& operator[](int32_t i) const {
    Guard g(mu_.get());
    return strings_[static_cast<size_t>(i)];
  }
  size_t size() const {
    Guard g(mu_.get());
    return strings_.size();
  }
  // Copies of the strings from index `start` on.
  std::vector<std::string> snapshot_from(size_t start) const {
    Guard g(mu_.get());
    if (start >= strings_.size()) return {};
    return {strings_.begin() + static_cast<std::ptrdiff_t>(start), strings_.end()};
  }

 private:
  struct Guard {  // locks only when the table is shared
    explicit Guard(std::mutex* m) : m_(m) {
      if (m_) m_->lock();
    }
    ~Guard() {
      if (m_) m_->unlock();
    }
    std::mutex* m_;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::deque<std::string> strings_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_;
  std::unique_ptr<std::mutex> mu_;
};

}  // namespace flapwatch
