#include "flapwatch/io/block_buffer.hpp"

#include <zlib.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

#include "flapwatch/error.hpp"

namespace flapwatch {
namespace {

// A mapped window: big enough that mapping costs little per byte, small enough to stay
// cheap in RSS (file pages mapped count there).
constexpr size_t kMapWindow = size_t(16) << 20;
// The first window, for the file's header: a reader of a byte range (io/capture_split.hpp)
// reads the header and then seeks; a whole window there would be mapped for nothing.
constexpr size_t kHeadWindow = size_t(64) << 10;
// A read window: small enough to stay in a core's L2 cache between the copy and the
// decoder's pass over it (bench/README.md, "Mapping or reading").
constexpr size_t kReadWindow = size_t(512) << 10;
// What mapping and reading windows cost lately in this process, ns per MiB (0: not
// measured), shared by every reader (the readers of a file's ranges each map or read a
// window or two). Relaxed: a stale or lost update only delays a switch.
struct WindowCosts {
  std::atomic<uint8_t> mode{static_cast<uint8_t>(WindowMode::automatic)};
  std::atomic<uint64_t> map_ns_per_mib{0}, read_ns_per_mib{0};
  std::atomic<uint64_t> read_ns{0}, read_bytes{0};  // read windows since reading was last priced
  std::atomic<uint64_t> read_since_map{0}, mapped_since_read{0};
  std::atomic<uint64_t> mapped_total{0}, read_total{0};

  // The next window's kind; `room`: the bytes it can hold (a range's or the file's end).
  WindowKind next(uint64_t room) {
    auto m = static_cast<WindowMode>(mode.load(std::memory_order_relaxed));
    if (m != WindowMode::automatic) return m == WindowMode::read ? WindowKind::read : WindowKind::map;
    const uint64_t map_cost = map_ns_per_mib.load(std::memory_order_relaxed);
    const uint64_t read_cost = read_ns_per_mib.load(std::memory_order_relaxed);
    const bool reading_cheaper = reading_costs_less(map_cost, read_cost);
    if (room < kMeasureMin)  // too small to measure anything by: what is known to cost less
      return reading_cheaper ? WindowKind::read : WindowKind::map;
    WindowKind k = next_window_kind(map_cost, read_cost, read_since_map.load(std::memory_order_relaxed),
                                    mapped_since_read.load(std::memory_order_relaxed));
    if (k == WindowKind::map_probe) read_since_map.store(0, std::memory_order_relaxed);
    if (k == WindowKind::read && read_cost && !reading_cheaper) {  // reading measured again, afresh
      read_ns_per_mib.store(0, std::memory_order_relaxed);
      read_ns.store(0, std::memory_order_relaxed);
      read_bytes.store(0, std::memory_order_relaxed);
      mapped_since_read.store(0, std::memory_order_relaxed);
    }
    return k;
  }
  static uint64_t per_mib(uint64_t ns, uint64_t bytes) { return std::max<uint64_t>(1, (ns << 20) / bytes); }
  void mapped(uint64_t ns, uint64_t bytes) {
    if (bytes >= kMeasureMin) map_ns_per_mib.store(per_mib(ns, bytes), std::memory_order_relaxed);
    mapped_since_read.fetch_add(bytes, std::memory_order_relaxed);
    mapped_total.fetch_add(bytes, std::memory_order_relaxed);
  }
  void read(uint64_t ns, uint64_t bytes) {
    read_total.fetch_add(bytes, std::memory_order_relaxed);
    read_since_map.fetch_add(bytes, std::memory_order_relaxed);
    const uint64_t b = read_bytes.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    const uint64_t n = read_ns.fetch_add(ns, std::memory_order_relaxed) + ns;
    if (b >= kMeasureMin) {
      read_ns_per_mib.store(per_mib(n, b), std::memory_order_relaxed);
      read_bytes.store(0, std::memory_order_relaxed);
      read_ns.store(0, std::memory_order_relaxed);
    }
  }
};
WindowCosts g_costs;

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
// Windows are mapped at addresses congruent to their file offset modulo this (2 MiB,
// x86-64's PMD): the page cache holds a large file in folios of up to 2 MiB, and an aligned
// mapping lets the kernel map each whole one with a single page-table entry instead of 512,
// less work to populate and fewer TLB misses to read (bench/README.md).
constexpr uint64_t kHugeAlign = uint64_t(2) << 20;

#ifdef MADV_POPULATE_READ
constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
constexpr int kPopulateRead = 22;  // Linux 5.14; an older kernel says EINVAL and pages fault in
#endif

// `len` bytes of `fd` from `start` (a multiple of kHugeAlign), read-only, at an address
// that is a multiple of kHugeAlign: a larger reservation, then the file over its aligned
// part, then the rest of the reservation given back. MAP_FAILED (errno set) on failure.
void* map_aligned(int fd, uint64_t start, size_t len) {
  const size_t room_len = len + kHugeAlign;
  void* room = ::mmap(nullptr, room_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (room == MAP_FAILED) return MAP_FAILED;
  const auto r = reinterpret_cast<uintptr_t>(room);
  const uintptr_t a = (r + kHugeAlign - 1) & ~uintptr_t(kHugeAlign - 1);
  void* m = ::mmap(reinterpret_cast<void*>(a), len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, static_cast<off_t>(start));
  if (m == MAP_FAILED) {
    const int e = errno;
    ::munmap(room, room_len);
    errno = e;
    return MAP_FAILED;
  }
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t end = (a + len + page - 1) & ~(page - 1);
  if (a > r) ::munmap(room, a - r);
  if (r + room_len > end) ::munmap(reinterpret_cast<void*>(end), r + room_len - end);
  return m;
}

}  // namespace

void set_window_mode(WindowMode mode) {
  g_costs.mode.store(static_cast<uint8_t>(mode), std::memory_order_relaxed);
  g_costs.map_ns_per_mib.store(0, std::memory_order_relaxed);
  g_costs.read_ns_per_mib.store(0, std::memory_order_relaxed);
}
WindowMode window_mode() { return static_cast<WindowMode>(g_costs.mode.load(std::memory_order_relaxed)); }
WindowStats window_stats() {
  return {g_costs.mapped_total.load(std::memory_order_relaxed), g_costs.read_total.load(std::memory_order_relaxed),
          g_costs.map_ns_per_mib.load(std::memory_order_relaxed), g_costs.read_ns_per_mib.load(std::memory_order_relaxed)};
}

BlockBuffer::BlockBuffer(const std::string& path, bool follow) : path_(path), follow_(follow) {
  if (!follow) {  // a regular uncompressed file: mapped (the class comment says why)
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    uint8_t magic[2] = {0, 0};
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        !(::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)) {
      mapped_ = true;
      fd_ = fd;
      file_size_ = static_cast<uint64_t>(st.st_size);
      return;
    }
    if (fd >= 0) ::close(fd);
  }
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
  ptr_ = buf_.get();
  prefetched_ = ptr_;
}

BlockBuffer::~BlockBuffer() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
  if (map_) ::munmap(map_, map_len_);
  if (fd_ >= 0) ::close(fd_);
}

void BlockBuffer::map_window(uint64_t at, size_t len) {
  const uint64_t t0 = map_ ? now_ns() : 0;  // unmapping is part of what mapping costs
  if (map_) ::munmap(map_, map_len_);
  const uint64_t unmap_ns = t0 ? now_ns() - t0 : 0;
  map_ = nullptr;
  ptr_ = nullptr;
  base_ = at;
  pos_ = end_ = 0;
  if (len == 0) return;
  if (fd_ < 0) {  // closed at the end of the file, and a seek came back
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw CaptureError(path_, at, std::string("cannot open: ") + std::strerror(errno));
  }
  if (len <= kHeadWindow || reading_) {  // read, not mapped (the class comment says why)
    const uint64_t t = len > kHeadWindow ? now_ns() : 0;
    read_window(at, len);
    if (t) g_costs.read(now_ns() - t, len);
  } else {
    const uint64_t t = now_ns();
    map_mapped(at, len);
    g_costs.mapped(now_ns() - t + unmap_ns, len);
  }
  if (at + len == file_size_) {  // the last window: the descriptor is not needed any more
    ::close(fd_);
    fd_ = -1;
  }
}

void BlockBuffer::read_window(uint64_t at, size_t len) {
  if (small_cap_ < len) {
    small_cap_ = std::max(len, reading_ ? kReadWindow : kHeadWindow);
    small_.reset(new uint8_t[small_cap_]);
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd_, small_.get() + got, len - got, static_cast<off_t>(at + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CaptureError(path_, at + got, std::string("read error: ") + std::strerror(errno));
    if (n == 0) break;  // shorter than its size said: what was read is all there is
    got += static_cast<size_t>(n);
  }
  ptr_ = small_.get();
  prefetched_ = ptr_;
  end_ = got;
}

void BlockBuffer::map_mapped(uint64_t at, size_t len) {
  uint64_t start = at & ~(kHugeAlign - 1);
  map_len_ = static_cast<size_t>(at - start) + len;
  void* m = map_aligned(fd_, start, map_len_);
  if (m == MAP_FAILED) throw CaptureError(path_, at, std::string("cannot map: ") + std::strerror(errno));
  map_ = m;
  ptr_ = static_cast<uint8_t*>(m) + (at - start);
  prefetched_ = ptr_;
  end_ = len;
  // Page tables for what is read from `at` on, in one call (a range's reader does not
  // read the bytes before it). Where the kernel cannot, the pages fault in as they are read.
  const size_t from = static_cast<size_t>(at - start) & ~size_t(sysconf(_SC_PAGESIZE) - 1);
  (void)::madvise(static_cast<uint8_t*>(m) + from, map_len_ - from, kPopulateRead);
}

bool BlockBuffer::refill_mapped(size_t n) {
  uint64_t at = base_ + pos_;
  uint64_t left = file_size_ > at ? file_size_ - at : 0;
  if (n > left) {  // what is left is all there is: map it, so available() says how much
    if (end_ - pos_ < left || left == 0) map_window(at, static_cast<size_t>(left));
    eof_ = true;
    return false;
  }
  uint64_t room = left;
  if (read_limit_) {  // a byte range: up to its end (64 KiB past it: its last record)
    uint64_t until = read_limit_ > UINT64_MAX - (64 << 10) ? UINT64_MAX : read_limit_ + (64 << 10);
    room = std::min<uint64_t>(room, until > at ? until - at : 0);
  }
  size_t len = kHeadWindow;
  reading_ = false;
  if (at != 0) {
    WindowKind k = g_costs.next(room);
    reading_ = k == WindowKind::read;
    len = reading_ ? kReadWindow : k == WindowKind::map ? kMapWindow : kMeasureMin;
  }
  len = static_cast<size_t>(std::min<uint64_t>(std::max<uint64_t>(std::min<uint64_t>(len, room), n), left));
  map_window(at, len);
  if (end_ < n) {  // a read window came short: the file shrank since its size was taken
    eof_ = true;
    return false;
  }
  return true;
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

void BlockBuffer::seek(uint64_t off) {
  if (mapped_) {
    eof_ = false;
    if (off >= base_ && off <= base_ + end_) {
      pos_ = static_cast<size_t>(off - base_);
    } else {
      if (map_) ::munmap(map_, map_len_);
      map_ = nullptr;
      ptr_ = nullptr;
      base_ = off;
      pos_ = end_ = 0;
    }
    return;
  }
  if (compressed_ || !gz_) throw CaptureError(path_, off, "seek in a compressed or closed stream");
  if (gzseek(static_cast<gzFile>(gz_), static_cast<z_off_t>(off), SEEK_SET) != static_cast<z_off_t>(off))
    throw CaptureError(path_, off, "cannot seek");
  base_ = off;
  pos_ = end_ = 0;
}

bool BlockBuffer::refill(size_t n) {
  if (mapped_) return refill_mapped(n);
  if (eof_) return false;
  size_t have = end_ - pos_;
  if (n > cap_) {  // one record larger than a block: grow (the caller bounds n)
    size_t cap = cap_;
    while (cap < n) cap *= 2;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
    std::memcpy(bigger.get(), buf_.get() + pos_, have);
    buf_ = std::move(bigger);
    ptr_ = buf_.get();
    prefetched_ = ptr_;
    cap_ = cap;
  } else if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, have);
  }
  base_ += pos_;
  pos_ = 0;
  end_ = have;
  prefetched_ = ptr_;
  while (end_ < n) {
    size_t want = cap_ - end_;
    if (read_limit_) {  // a byte range: up to its end (64 KiB past it: its last record), or what n needs
      uint64_t at = base_ + end_;
      uint64_t until = read_limit_ > UINT64_MAX - (64 << 10) ? UINT64_MAX : read_limit_ + (64 << 10);
      want = std::min<size_t>(want, std::max<size_t>(n - end_, until > at ? until - at : 0));
    }
    size_t got = read_some(buf_.get() + end_, want);
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
