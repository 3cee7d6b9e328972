// CaptureError: the one exception the core throws for bad input. It names the file,
// the byte offset (in the decompressed stream) and the reason, so an SRE can open the
// file at that offset; the Python binding maps it to flapwatch.CaptureError.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace flapwatch {

class CaptureError : public std::runtime_error {
 public:
  CaptureError(std::string path, uint64_t offset, std::string reason)
      : std::runtime_error(path + ": offset " + std::to_string(offset) + ": " + reason),
        path_(std::move(path)), offset_(offset), reason_(std::move(reason)) {}
  const std::string& path() const noexcept { return path_; }
  uint64_t offset() const noexcept { return offset_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string path_;
  uint64_t offset_;
  std::string reason_;
};

}  // namespace flapwatch
