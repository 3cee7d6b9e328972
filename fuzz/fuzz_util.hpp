// Shared helpers for the libFuzzer targets (fuzz/build.sh builds them with
// -fsanitize=fuzzer,address,undefined). A violated invariant calls FUZZ_CHECK, which
// prints the condition and aborts, so libFuzzer saves the input as a crash.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include "flapwatch/capture.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/records.hpp"
#include "flapwatch/string_table.hpp"

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace fuzz {

// An in-memory file the reader opens by path (/proc/self/fd/N): the reader takes a
// path, and a memfd keeps the fuzz loop off the disk. Made once per process.
class MemFile {
 public:
  explicit MemFile(const char* name) {
    fd_ = memfd_create(name, 0);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  // Replaces the file's contents.
  const std::string& write(const uint8_t* p, size_t n) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < n) {
      ssize_t w = pwrite(fd_, p + done, n - done, static_cast<off_t>(done));
      if (w <= 0) std::abort();
      done += static_cast<size_t>(w);
    }
    return path_;
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// What one read of a capture produced.
struct ReadResult {
  bool error = false;  // CaptureError
  flapwatch::FrameCounts counts;
  size_t warnings = 0;
  size_t rows[5] = {};  // pfc, pause, lldp, link, malformed
  size_t link_frames = 0;
};

inline void check_batch(const flapwatch::RecordBatch& b, const flapwatch::StringTable& strings, ReadResult& r) {
  auto valid_string = [&](int32_t i) { return i >= -1 && i < static_cast<int32_t>(strings.size()); };
  auto check_frames = [&](const auto& t, bool shared_frames = false) {
    FUZZ_CHECK(t.ts_ns.size() == t.port.size() && t.port.size() == t.frame.size());
    for (size_t i = 0; i < t.port.size(); ++i) {
      FUZZ_CHECK(t.port[i] >= 0 && valid_string(t.port[i]));
      FUZZ_CHECK(t.frame[i] >= 0 && t.frame[i] < r.counts.frames());
      // file order; only link rows share a frame (several messages in one)
      if (i) FUZZ_CHECK(t.frame[i] > t.frame[i - 1] || (shared_frames && t.frame[i] == t.frame[i - 1]));
    }
  };
  check_frames(b.pfc);
  check_frames(b.pause);
  check_frames(b.lldp);
  check_frames(b.link, true);
  check_frames(b.malformed);
  for (size_t i = 0; i < b.lldp.size(); ++i) {
    FUZZ_CHECK(b.lldp.chassis_id[i] >= 0 && valid_string(b.lldp.chassis_id[i]));
    FUZZ_CHECK(b.lldp.port_id[i] >= 0 && valid_string(b.lldp.port_id[i]));
    for (int32_t s : {b.lldp.port_desc[i], b.lldp.system_name[i], b.lldp.system_desc[i], b.lldp.mgmt_addr[i]})
      FUZZ_CHECK(valid_string(s));
  }
  for (size_t i = 0; i < b.malformed.size(); ++i) FUZZ_CHECK(b.malformed.reason[i] >= 0 && valid_string(b.malformed.reason[i]));
  r.rows[0] = b.pfc.size();
  r.rows[1] = b.pause.size();
  r.rows[2] = b.lldp.size();
  r.rows[3] = b.link.size();
  r.rows[4] = b.malformed.size();
  std::set<int64_t> link_frames(b.link.frame.begin(), b.link.frame.end());
  r.link_frames = link_frames.size();
  // Every frame is in exactly one kind, and the tables agree with the counts.
  const auto& c = r.counts.by_kind;
  using K = flapwatch::FrameKind;
  FUZZ_CHECK(r.rows[0] == size_t(c[int(K::pfc)]));
  FUZZ_CHECK(r.rows[1] == size_t(c[int(K::pause)]));
  FUZZ_CHECK(r.rows[2] == size_t(c[int(K::lldp)]));
  FUZZ_CHECK(r.link_frames == size_t(c[int(K::link)]));
  FUZZ_CHECK(r.rows[4] == size_t(c[int(K::malformed)]));
  // Every string the tables use is printable ASCII (escape_text's promise).
  for (size_t i = 0; i < strings.size(); ++i)
    for (unsigned char ch : strings[static_cast<int32_t>(i)]) FUZZ_CHECK(ch >= 0x20 && ch <= 0x7e);
}

// Reads the capture at `path` like read_capture does, in batches of `batch` frames
// (0: all at once), checking the invariants. Any exception but CaptureError escapes
// (and libFuzzer reports it as a crash).
inline ReadResult read_all(const std::string& path, bool strict, int64_t batch = 0) {
  ReadResult r;
  flapwatch::RecordBatch all;
  try {
    flapwatch::CaptureFile file(path, flapwatch::ReadOptions{strict});
    int64_t frames = 0;
    for (;;) {
      int64_t n = file.read(all, batch);
      FUZZ_CHECK(n >= 0 && (batch <= 0 || n <= batch));
      frames += n;
      if (n == 0 || batch <= 0) break;
    }
    FUZZ_CHECK(file.done() || batch > 0);
    r.counts = file.counts();
    FUZZ_CHECK(r.counts.frames() == frames);
    r.warnings = file.warnings().size();
    // A warning ends the read: at most one reader warning per file.
    FUZZ_CHECK(r.warnings <= 1);
    check_batch(all, file.strings(), r);
  } catch (const flapwatch::CaptureError& e) {
    FUZZ_CHECK(!e.reason().empty());
    r.error = true;
  }
  return r;
}

// The invariants every reader target checks on one input file. The lenient read
// always; the strict and batched re-reads (which must agree with it) for a quarter of
// the inputs, picked by the last byte so a saved input replays the same way: each
// read opens the file and allocates the reader's 4 MB block, which is what an
// execution costs under ASan.
inline void check_capture(const std::string& path, const uint8_t* data, size_t size) {
  ReadResult lenient = read_all(path, false);
  if (size == 0 || (data[size - 1] & 3) != 0) return;
  ReadResult strict = read_all(path, true);
  if (lenient.error) {
    FUZZ_CHECK(strict.error);  // strict is never more forgiving
    return;
  }
  bool clean = lenient.warnings == 0 && lenient.counts.by_kind[int(flapwatch::FrameKind::malformed)] == 0;
  // strict raises exactly when the lenient read warned or saw a malformed frame
  FUZZ_CHECK(strict.error == !clean);
  if (clean) FUZZ_CHECK(strict.counts.by_kind == lenient.counts.by_kind);
  // Batches do not change what is read (iter_capture vs read_capture).
  ReadResult batched = read_all(path, false, 3);
  FUZZ_CHECK(!batched.error);
  FUZZ_CHECK(batched.counts.by_kind == lenient.counts.by_kind);
  FUZZ_CHECK(batched.warnings == lenient.warnings);
}

}  // namespace fuzz
