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
constexpr int kChain = 24;                    // records in a row that must look right
constexpr int kChainAtWindowEnd = 8;          // ... or this many up to the window's end
constexpr int kChainAtFileEnd = 2;            // ... or this many ending exactly at the file's end

struct File {
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

struct Format {
  bool pcapng = false, swap = false;
  uint32_t frac_limit = 1000000;  // pcap: µs or ns fraction bound
  uint32_t max_caplen = CaptureReader::kMaxCaplen;
};

// Whether a chain of records starts at w[p]: `step(p, count)` is the length of the
// record at p (0: none could be there; it may look at `head` bytes, and at more only
// when the window has them). n: the bytes in the window; eof: it ends at the file's end.
template <class Step>
bool chain_at(size_t n, bool eof, size_t p, size_t head, Step step) {
  for (int count = 0; count < kChain; ++count) {
    if (eof && p == n) return count >= kChainAtFileEnd;
    if (p + head > n) return count >= kChainAtWindowEnd;
    size_t len = step(p, count);
    if (len == 0) return false;
    p += len;
  }
  return true;
}

bool pcap_chain(const uint8_t* w, size_t n, bool eof, size_t p, const Format& fmt) {
  uint32_t prev_sec = 0;
  return chain_at(n, eof, p, 16, [&](size_t q, int count) -> size_t {
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

bool pcapng_chain(const uint8_t* w, size_t n, bool eof, size_t p, const Format& fmt) {
  return chain_at(n, eof, p, 12, [&](size_t q, int) -> size_t {
    uint32_t type = bytes::load<uint32_t>(w + q, fmt.swap);
    uint32_t len = bytes::load<uint32_t>(w + q + 4, fmt.swap);
    bool known = type == kShb || (type >= 1 && type <= 10) || type == 0x0bad || type == 0x40000bad;
    if (!known || len < 12 || len % 4 || len > CaptureReader::kMaxBlock) return 0;
    if (q + len <= n && bytes::load<uint32_t>(w + q + len - 4, fmt.swap) != len) return 0;  // both lengths agree
    return len;
  });
}

}  // namespace

std::vector<CaptureRange> split_capture(const std::string& path, unsigned parts, uint64_t min_bytes) {
  File file(path);
  struct stat st {};
  if (parts < 2 || file.fd < 0 || fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  auto size = static_cast<uint64_t>(st.st_size);
  if (min_bytes && size / min_bytes < parts) parts = static_cast<unsigned>(size / (min_bytes ? min_bytes : 1));
  if (parts < 2) return {};
  uint8_t head[24];
  if (file.read_at(head, sizeof head, 0) < sizeof head) return {};
  Format fmt;
  uint32_t magic = bytes::load<uint32_t>(head);
  if (magic == kShb) {
    fmt.pcapng = true;
    fmt.swap = bytes::load<uint32_t>(head + 8) != 0x1a2b3c4d;
  } else if (magic == kPcapMicro || magic == kPcapNano || bytes::bswap(magic) == kPcapMicro ||
             bytes::bswap(magic) == kPcapNano) {
    fmt.swap = magic != kPcapMicro && magic != kPcapNano;
    fmt.frac_limit = (fmt.swap ? bytes::bswap(magic) : magic) == kPcapNano ? 1000000000u : 1000000u;
    uint32_t snaplen = bytes::load<uint32_t>(head + 16, fmt.swap);
    if (snaplen) fmt.max_caplen = std::min(fmt.max_caplen, snaplen);
  } else {
    return {};  // gzip or not a capture: one reader says what it is
  }
  std::unique_ptr<uint8_t[]> window(new uint8_t[kWindow]);
  std::vector<CaptureRange> out{{0, UINT64_MAX}};
  for (unsigned k = 1; k < parts; ++k) {
    uint64_t nominal = size / parts * k & ~uint64_t(3);  // pcapng blocks start 4-byte aligned
    size_t n = file.read_at(window.get(), kWindow, nominal);
    bool eof = nominal + n == size;
    for (size_t p = 0; p + 16 <= n; p += fmt.pcapng ? 4 : 1) {
      bool found = fmt.pcapng ? pcapng_chain(window.get(), n, eof, p, fmt) : pcap_chain(window.get(), n, eof, p, fmt);
      if (!found) continue;
      if (nominal + p > out.back().begin + 24) {
        out.back().end = nominal + p;
        out.push_back({nominal + p, UINT64_MAX});
      }
      break;
    }
  }
  if (out.size() < 2) return {};
  return out;
}

bool ranges_fit(const std::vector<CaptureRange>& ranges, const std::vector<RangeRead>& reads) {
  for (size_t k = 0; k < ranges.size(); ++k) {
    bool last = k + 1 == ranges.size();
    if (!last && (reads[k].stopped_at != ranges[k].end || reads[k].changed_state)) return false;
    if (k > 0 && reads[k].clockless) return false;
  }
  return true;
}

}  // namespace flapwatch
