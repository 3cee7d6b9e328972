// RotatingPcapngWriter: files rotate at packet boundaries by size and by time, each a
// whole pcapng (section header and interfaces repeated) that CaptureFile reads without
// a warning; FILE.1 is the newest rotated file, no more than `keep` are kept, and the
// kept files hold the latest packets, none lost or repeated between them. A write error
// (the file size limit: EFBIG, as a full disk gives ENOSPC) stops the recording and
// leaves a valid file cut at its last whole block.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "flapwatch/capture.hpp"
#include "flapwatch/io/pcapng_writer.hpp"
#include "flapwatch/records.hpp"
#include "test_util.hpp"

using namespace flapwatch;

namespace {

constexpr int64_t T0 = 1'700'000'000'000'000'000;
constexpr uint16_t kEthernet = 1;

// Packet i: a 60-byte PFC frame at T0 + i * step.
bool write(RotatingPcapngWriter& w, int i, int64_t step = 1'000'000) {
  auto f = fwtest::pfc_frame(0x020000000001, 0x08, {0, 0, 0, 0xffff});
  f.b.resize(60, 0);
  return w.write_packet(0, T0 + i * step, f.b.data(), static_cast<uint32_t>(f.b.size()),
                        static_cast<uint32_t>(f.b.size()));
}

struct Read {
  int64_t frames = 0, first_ts = -1, last_ts = -1;
  size_t warnings = 0;
  std::string warning;
};

Read read_back(const std::string& path) {
  CaptureFile file(path);
  RecordBatch batch;
  while (file.read(batch, 0) > 0) {
  }
  Read r;
  r.frames = file.counts().frames();
  r.warnings = file.warnings().size();
  if (r.warnings) r.warning = file.warnings().front();
  if (!batch.pfc.ts_ns.empty()) {
    r.first_ts = batch.pfc.ts_ns.front();
    r.last_ts = batch.pfc.ts_ns.back();
  }
  return r;
}

bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace

TEST_CASE("size rotation: whole files under the cap, FILE.1 newest, at most keep kept, the latest packets") {
  fwtest::ScratchDir dir;
  const std::string path = dir.file("rec.pcapng");
  RotationOptions opts;
  opts.max_bytes = 2000;
  opts.keep = 2;
  const int n = 200;
  {
    RotatingPcapngWriter w(path, "test", opts);
    CHECK(w.add_interface("eth0", kEthernet) == 0);
    for (int i = 0; i < n; ++i) CHECK(write(w, i));
    CHECK(w.rotations() > 3);
    CHECK_FALSE(w.failed());
    w.close();
  }
  CHECK(exists(path));
  CHECK(exists(RotatingPcapngWriter::rotated_name(path, 1)));
  CHECK(exists(RotatingPcapngWriter::rotated_name(path, 2)));
  CHECK_FALSE(exists(RotatingPcapngWriter::rotated_name(path, 3)));
  // Oldest to newest: FILE.2, FILE.1, FILE; consecutive packets, ending with the last.
  int64_t next_ts = -1, total = 0;
  for (const auto& p : {RotatingPcapngWriter::rotated_name(path, 2), RotatingPcapngWriter::rotated_name(path, 1), path}) {
    CHECK(std::filesystem::file_size(p) <= opts.max_bytes);
    Read r = read_back(p);
    CHECK(r.warnings == 0);
    CHECK(r.frames > 0);
    if (next_ts >= 0) CHECK(r.first_ts == next_ts);
    next_ts = r.last_ts + 1'000'000;
    total += r.frames;
  }
  CHECK(next_ts == T0 + n * 1'000'000);
  CHECK(total < n);  // older files were deleted
}

TEST_CASE("time rotation: a new file at the first packet an interval after a file's first") {
  fwtest::ScratchDir dir;
  const std::string path = dir.file("rec.pcapng");
  RotationOptions opts;
  opts.max_interval_ns = 1'000'000'000;
  opts.keep = 5;
  {
    RotatingPcapngWriter w(path, "test", opts);
    w.add_interface("eth0", kEthernet);
    for (int i : {0, 5, 10, 15, 22}) write(w, i, 100'000'000);  // 0, 0.5, 1.0, 1.5, 2.2 s
    CHECK(w.rotations() == 2);
  }
  CHECK(read_back(RotatingPcapngWriter::rotated_name(path, 2)).frames == 2);  // 0, 0.5
  CHECK(read_back(RotatingPcapngWriter::rotated_name(path, 1)).frames == 2);  // 1.0, 1.5
  CHECK(read_back(path).frames == 1);                                          // 2.2
  CHECK_FALSE(exists(RotatingPcapngWriter::rotated_name(path, 3)));
}

TEST_CASE("keep 0 keeps FILE only; an earlier run's FILE is rotated out, not overwritten") {
  fwtest::ScratchDir dir;
  const std::string path = dir.file("rec.pcapng");
  RotationOptions opts;
  opts.max_bytes = 1000;
  {
    RotatingPcapngWriter w(path, "test", opts);
    w.add_interface("eth0", kEthernet);
    for (int i = 0; i < 100; ++i) write(w, i);
  }
  CHECK_FALSE(exists(RotatingPcapngWriter::rotated_name(path, 1)));
  CHECK(read_back(path).frames > 0);
  opts.keep = 1;
  {
    RotatingPcapngWriter w(path, "test", opts);  // the last run's FILE becomes FILE.1
    w.add_interface("eth0", kEthernet);
    write(w, 1000);
  }
  CHECK(read_back(RotatingPcapngWriter::rotated_name(path, 1)).last_ts == T0 + 99 * 1'000'000);
  CHECK(read_back(path).frames == 1);
}

TEST_CASE("a write error stops the recording; the file is cut at its last whole block, still valid") {
  fwtest::ScratchDir dir;
  const std::string path = dir.file("rec.pcapng");
  struct rlimit old {};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  struct rlimit small = old;
  small.rlim_cur = 64 * 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  int written = 0;
  std::string error;
  uint64_t errors = 0;
  {
    RotatingPcapngWriter w(path, "test", {});
    w.add_interface("eth0", kEthernet);
    for (int i = 0; i < 10'000; ++i) {
      if (!write(w, i)) break;
      ++written;
      if (i % 100 == 99) w.flush();
    }
    CHECK(w.failed());
    CHECK_FALSE(write(w, 20'000));  // stays stopped
    error = w.error();
    errors = w.errors();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  CHECK(errors == 1);
  CHECK(error.find("File too large") != std::string::npos);
  Read r = read_back(path);
  INFO(r.warning);
  CHECK(r.warnings == 0);
  CHECK(r.frames > 0);
  CHECK(r.frames <= written);
  CHECK(r.frames >= written / 100 * 100);  // at least what the last flush wrote
  CHECK(std::filesystem::file_size(path) <= small.rlim_cur);
}
