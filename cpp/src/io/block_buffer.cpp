#include "flapwatch/io/block_buffer.hpp"

#include <zlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "flapwatch/error.hpp"

namespace flapwatch {

BlockBuffer::BlockBuffer(const std::string& path, bool follow) : path_(path), follow_(follow) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw CaptureError(path, 0, std::string("cannot open: ") + std::strerror(errno ? errno : ENOMEM));
  gz_ = gz;
  // Size the buffers to the file: a directory of thousands of small captures must not
  // cost thousands of 4 MB blocks (refill grows the block for larger records).
  struct stat st {};
  bool known = stat(path.c_str(), &st) == 0;
  if (known) file_size_ = static_cast<uint64_t>(st.st_size);
  size_t size = known && S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : kBlock;
  gzbuffer(gz, static_cast<unsigned>(std::clamp<size_t>(size, 8192, 1 << 20)));  // zlib's input buffer
  cap_ = std::clamp<size_t>(size + 4096, 64 << 10, kBlock);
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
    end_ += got;
    bool at_end = got == 0;
    if (!at_end && !follow_ && end_ < cap_ && gzeof(static_cast<gzFile>(gz_))) {
      // A short read reached the end of the file: one more read confirms it (and
      // reports a cut gzip stream) so the file can be closed right away.
      size_t more = read_some(buf_.get() + end_, cap_ - end_);
      end_ += more;
      at_end = more == 0;
    }
    if (at_end) {
      if (follow_) {
        gzclearerr(static_cast<gzFile>(gz_));  // zlib remembers EOF; forget it to read what comes next
      } else {
        eof_ = true;
        // Done with the file: give back the descriptor and zlib's buffers now (the
        // data stays in buf_), so readers parked at their end (MergedCaptures) hold none.
        gzclose(static_cast<gzFile>(gz_));
        gz_ = nullptr;
      }
      break;
    }
  }
  return end_ >= n;
}

}  // namespace flapwatch
