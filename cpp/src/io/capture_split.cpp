#include "flapwatch/io/capture_split.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "flapwatch/bytes.hpp"
#include "flapwatch/io/capture_reader.hpp"

namespace flapwatch {
namespace {

constexpr uint32_t kPcapMicro = 0xa1b2c3d4, kPcapNano = 0xa1b23c4d, kShb = 0x0a0d0d0a;
constexpr size_t kWindow = size_t(1) << 20;  // bytes scanned for a boundary
constexpr size_t kSmallWindow = size_t(64) << 10;  // ... first this many
constexpr int kChain = 24;                    // records in a row that must look right
constexpr int kChainAtWindowEnd = 8;          // ... or this many up to the window's end
constexpr int kChainAtFileEnd = 2;            // ... or this many ending exactly at the file's end

using Format = RecordScanner::Format;

// Whether a chain of records starts at w[p]: `step(p, count)` is the length of the
// record at p (0: none could be there; it may look at `head` bytes, and at more only
// when the window has them). n: the bytes in the window; eof: it ends at the file's end.
// A chain cut short by the window's end is taken only when `short_ok` (the whole window).
template <class Step>
bool chain_at(size_t n, bool eof, bool short_ok, size_t p, size_t head, Step step) {
  for (int count = 0; count < kChain; ++count) {
    if (eof && p == n) return count >= kChainAtFileEnd;
    if (p + head > n) return short_ok && count >= kChainAtWindowEnd;
    size_t len = step(p, count);
    if (len == 0) return false;
    p += len;
  }
  return true;
}

bool pcap_chain(const uint8_t* w, size_t n, bool eof, bool short_ok, size_t p, const Format& fmt) {
  uint32_t prev_sec = 0;
  return chain_at(n, eof, short_ok, p, 16, [&](size_t q, int count) -> size_t {
    uint32_t sec = bytes::load<uint32_t>(w + q, fmt.swap);
    uint32_t frac = bytes::load<uint32_t>(w + q + 4, fmt.swap);
    uint32_t caplen = bytes::load<uint32_t>(w + q + 8, fmt.swap);
    uint32_t origlen = bytes::load<uint32_t>(w + q + 12, fmt.swap);
    if (frac >= fmt.frac_limit || caplen == 0 || caplen > fmt.max_caplen || caplen > origlen ||
        origlen > CaptureReader::kMaxCaplen)
      return 0;
    if (count > 0 && (sec + 86400u - prev_sec) > 2u * 86400u) return 0;  // within a day of the one before
    prev_sec = sec;
    return 16 + size_t(caplen);
  });
}

bool pcapng_chain(const uint8_t* w, size_t n, bool eof, bool short_ok, size_t p, const Format& fmt) {
  return chain_at(n, eof, short_ok, p, 12, [&](size_t q, int) -> size_t {
    uint32_t type = bytes::load<uint32_t>(w + q, fmt.swap);
    uint32_t len = bytes::load<uint32_t>(w + q + 4, fmt.swap);
    bool known = type == kShb || (type >= 1 && type <= 10) || type == 0x0bad || type == 0x40000bad;
    if (!known || len < 12 || len % 4 || len > CaptureReader::kMaxBlock) return 0;
    if (q + len <= n && bytes::load<uint32_t>(w + q + len - 4, fmt.swap) != len) return 0;  // both lengths agree
    return len;
  });
}

}  // namespace

struct RecordScanner::File {
  explicit File(const std::string& path) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  size_t read_at(uint8_t* dst, size_t n, uint64_t off) const {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, dst + got, n - got, static_cast<off_t>(off + got));
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
  int fd;
};

RecordScanner::RecordScanner(const std::string& path) : file_(std::make_shared<File>(path)) {
  fmt_.max_caplen = CaptureReader::kMaxCaplen;
  struct stat st {};
  if (file_->fd < 0 || fstat(file_->fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  size_ = static_cast<uint64_t>(st.st_size);
  uint8_t head[24];
  if (file_->read_at(head, sizeof head, 0) < sizeof head) return;
  uint32_t magic = bytes::load<uint32_t>(head);
  if (magic == kShb) {
    fmt_.pcapng = true;
    fmt_.swap = bytes::load<uint32_t>(head + 8) != 0x1a2b3c4d;
  } else if (magic == kPcapMicro || magic == kPcapNano || bytes::bswap(magic) == kPcapMicro ||
             bytes::bswap(magic) == kPcapNano) {
    fmt_.swap = magic != kPcapMicro && magic != kPcapNano;
    fmt_.frac_limit = (fmt_.swap ? bytes::bswap(magic) : magic) == kPcapNano ? 1000000000u : 1000000u;
    uint32_t snaplen = bytes::load<uint32_t>(head + 16, fmt_.swap);
    if (snaplen) fmt_.max_caplen = std::min(fmt_.max_caplen, snaplen);
  } else {
    return;  // gzip or not a capture: one reader says what it is
  }
  ok_ = true;
}

uint64_t RecordScanner::record_at_or_after(uint64_t nominal, std::vector<uint8_t>& window) const {
  if (!ok_) return UINT64_MAX;
  nominal &= ~uint64_t(3);  // pcapng blocks start 4-byte aligned
  if (nominal < 24) return UINT64_MAX;  // inside the file header: the first range's
  // A small window first (a chain of records nearly always shows within a few KiB), the
  // whole kWindow only if it did not.
  for (size_t want : {kSmallWindow, kWindow}) {
    window.resize(want);
    size_t n = file_->read_at(window.data(), want, nominal);
    bool eof = nominal + n == size_;
    bool whole = want == kWindow || eof;  // a chain cut by this window's end counts only then
    for (size_t p = 0; p + 16 <= n; p += fmt_.pcapng ? 4 : 1) {
      bool found = fmt_.pcapng ? pcapng_chain(window.data(), n, eof, whole, p, fmt_)
                               : pcap_chain(window.data(), n, eof, whole, p, fmt_);
      if (found) return nominal + p;
    }
    if (whole) break;
  }
  return UINT64_MAX;
}

std::vector<CaptureRange> split_capture(const std::string& path, unsigned parts, uint64_t min_bytes) {
  RecordScanner scanner(path);
  if (parts < 2 || !scanner.ok()) return {};
  uint64_t size = scanner.size();
  if (min_bytes && size / min_bytes < parts) parts = static_cast<unsigned>(size / (min_bytes ? min_bytes : 1));
  if (parts < 2) return {};
  std::vector<uint8_t> window;
  std::vector<CaptureRange> out{{0, UINT64_MAX}};
  for (unsigned k = 1; k < parts; ++k) {
    uint64_t at = scanner.record_at_or_after(size / parts * k, window);
    if (at == UINT64_MAX || at <= out.back().begin + 24) continue;
    out.back().end = at;
    out.push_back({at, UINT64_MAX});
  }
  if (out.size() < 2) return {};
  return out;
}

bool ranges_fit(const std::vector<CaptureRange>& ranges, const std::vector<RangeRead>& reads) {
  for (size_t k = 0; k < ranges.size(); ++k) {
    bool last = k + 1 == ranges.size();
    if (!last && (reads[k].stopped_at != ranges[k].end || reads[k].changed_state || reads[k].stopped_short))
      return false;
    if (k > 0 && reads[k].clockless) return false;
  }
  return true;
}

}  // namespace flapwatch
