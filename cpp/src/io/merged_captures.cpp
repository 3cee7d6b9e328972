#include "flapwatch/io/merged_captures.hpp"

#include <stdexcept>

namespace flapwatch {

MergedCaptures::MergedCaptures(const std::vector<std::string>& paths, StringTable& strings, bool strict,
                               const std::vector<PortNaming>& naming) {
  if (!naming.empty() && naming.size() != paths.size())
    throw std::invalid_argument("port naming: " + std::to_string(naming.size()) + " entries for " +
                                std::to_string(paths.size()) + " captures");
  for (size_t i = 0; i < paths.size(); ++i)
    readers_.push_back(
        std::make_unique<CaptureReader>(paths[i], strings, strict, false, naming.empty() ? PortNaming{} : naming[i]));
  pending_.resize(readers_.size());
  has_.resize(readers_.size());
  for (size_t i = 0; i < readers_.size(); ++i) has_[i] = readers_[i]->next(pending_[i]);
}

bool MergedCaptures::next(Frame& f) {
  if (readers_.size() == 1) {  // one input: its frames as they come (no merge, no copy a frame)
    if (last_ >= 0) return readers_[0]->next(f);
    last_ = 0;
    if (has_[0]) f = pending_[0];
    return has_[0];
  }
  if (last_ >= 0) has_[last_] = readers_[last_]->next(pending_[last_]);
  // A linear scan: a handful of files; a heap would pay off only past dozens.
  int best = -1;
  for (size_t i = 0; i < readers_.size(); ++i)
    if (has_[i] && (best < 0 || pending_[i].ts_ns < pending_[best].ts_ns)) best = static_cast<int>(i);
  last_ = best;
  if (best < 0) return false;
  f = pending_[best];
  return true;
}

std::vector<std::string> MergedCaptures::warnings() const {
  std::vector<std::string> out;
  for (const auto& r : readers_) out.insert(out.end(), r->warnings().begin(), r->warnings().end());
  return out;
}

}  // namespace flapwatch
