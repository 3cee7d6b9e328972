#include "flapwatch/io/block_buffer.hpp"

#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "flapwatch/error.hpp"

namespace flapwatch {

BlockBuffer::BlockBuffer(const std::string& path) : path_(path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw CaptureError(path, 0, std::string("cannot open: ") + std::strerror(errno ? errno : ENOMEM));
  gz_ = gz;
  gzbuffer(gz, 1 << 20);  // zlib's input buffer, for the compressed case
  cap_ = kBlock;
  buf_.reset(new uint8_t[cap_]);
}

BlockBuffer::~BlockBuffer() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

size_t BlockBuffer::read_some(uint8_t* dst, size_t n) {
  auto gz = static_cast<gzFile>(gz_);
  int got = gzread(gz, dst, static_cast<unsigned>(n > INT_MAX / 2 ? INT_MAX / 2 : n));
  if (got == 0 && base_ == 0 && end_ == 0) compressed_ = !gzdirect(gz);
  if (got > 0) {
    if (!compressed_ && base_ == 0 && end_ == 0) compressed_ = !gzdirect(gz);
    return static_cast<size_t>(got);
  }
  int err = Z_OK;
  const char* msg = gzerror(gz, &err);
  if (got < 0 || err != Z_OK) {
    if (err == Z_BUF_ERROR) {  // gzip stream cut short: keep what we have
      input_warning_ = "gzip stream truncated";
      return 0;
    }
    if (err == Z_ERRNO) throw CaptureError(path_, offset(), std::string("read error: ") + std::strerror(errno));
    throw CaptureError(path_, base_ + end_, std::string("corrupt gzip stream: ") + (msg ? msg : "?"));
  }
  return 0;
}

bool BlockBuffer::refill(size_t n) {
  if (eof_) return false;
  size_t have = end_ - pos_;
  if (n > cap_) {  // one record larger than a block: grow (the caller bounds n)
    size_t cap = cap_;
    while (cap < n) cap *= 2;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
    std::memcpy(bigger.get(), buf_.get() + pos_, have);
    buf_ = std::move(bigger);
    cap_ = cap;
  } else if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, have);
  }
  base_ += pos_;
  pos_ = 0;
  end_ = have;
  while (end_ < n) {
    size_t got = read_some(buf_.get() + end_, cap_ - end_);
    if (got == 0) {
      if (follow_) {
        gzclearerr(static_cast<gzFile>(gz_));  // zlib remembers EOF; forget it to read what comes next
      } else {
        eof_ = true;
      }
      break;
    }
    end_ += got;
  }
  return end_ >= n;
}

}  // namespace flapwatch
