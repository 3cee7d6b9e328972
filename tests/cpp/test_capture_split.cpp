// capture_split + CaptureSummary: a file read as byte ranges on threads gives the
// one-thread summary, also when the scan is fooled by a frame that holds fake records.
// And the rules by which a reader's big windows are mapped or read (block_buffer.hpp).
#include <doctest/doctest.h>

#include "flapwatch/capture_summary.hpp"
#include "flapwatch/io/block_buffer.hpp"
#include "flapwatch/io/capture_split.hpp"
#include "test_util.hpp"

using namespace flapwatch;
using fwtest::Bytes;

namespace {

constexpr int64_t T0 = 1'700'000'000'000'000'000;
constexpr uint64_t kSrc = 0x021122334455;

CaptureSummary summary_of(const std::string& path, unsigned threads, StringTable& strings) {
  CaptureSummary s(strings);
  summarize_captures({path}, s, strings, false, threads, 0);
  return s;
}

void check_same(const CaptureSummary& a, const CaptureSummary& b) {
  CHECK(a.counts.by_kind == b.counts.by_kind);
  CHECK(a.first_ts_ns == b.first_ts_ns);
  CHECK(a.last_ts_ns == b.last_ts_ns);
  REQUIRE(a.pfc.size() == b.pfc.size());
  for (size_t p = 0; p < a.pfc.size(); ++p) {
    CHECK(a.pfc[p].frames == b.pfc[p].frames);
    CHECK(a.pfc[p].quanta == b.pfc[p].quanta);
  }
  CHECK(a.warnings == b.warnings);
}

}  // namespace

TEST_CASE("ranges of a pcap: boundaries are records, the summary is one thread's") {
  fwtest::ScratchDir dir;
  std::string path = dir.file("mix.pcap");
  fwtest::PcapWriter w(path, 1);
  for (int i = 0; i < 3000; ++i)
    w.frame(T0 + i * 1000, fwtest::pfc_frame(kSrc, static_cast<uint8_t>(0x08 | (i & 0x81)),
                                             {static_cast<uint16_t>(i), 1, 2, 3, 4, 5, 6, 7}));
  w.close();
  uint64_t record = 16 + fwtest::pfc_frame(kSrc, 0x08, {0}).size();  // every record is this long
  auto ranges = split_capture(path, 4, 0);
  REQUIRE(ranges.size() == 4);
  for (size_t k = 1; k < ranges.size(); ++k) {
    CHECK(ranges[k - 1].end == ranges[k].begin);
    CHECK((ranges[k].begin - 24) % record == 0);
  }
  StringTable s1, s4;
  CaptureSummary one = summary_of(path, 1, s1), four = summary_of(path, 4, s4);
  CHECK(one.counts.by_kind[0] == 3000);
  check_same(one, four);
}

TEST_CASE("a frame made of fake records fools the scan, not the result") {
  fwtest::ScratchDir dir;
  std::string path = dir.file("fake.pcap");
  fwtest::PcapWriter w(path, 1);
  for (int i = 0; i < 100; ++i) w.frame(T0 + i * 1000, fwtest::pfc_frame(kSrc, 0x08, {0, 0, 0, 100}));
  Bytes big = fwtest::ether(0x010203040506, kSrc, 0x88b5);
  for (int i = 0; i < 600; ++i) {  // pcap records inside one frame
    Bytes pfc = fwtest::pfc_frame(kSrc, 0x08, {0, 0, 0, 1});
    big.le32(static_cast<uint32_t>(T0 / 1'000'000'000)).le32(i).le32(pfc.size()).le32(pfc.size()).put(pfc);
  }
  w.frame(T0 + 200'000, big);
  for (int i = 0; i < 100; ++i) w.frame(T0 + 300'000 + i * 1000, fwtest::pfc_frame(kSrc, 0x08, {0, 0, 0, 100}));
  w.close();
  auto ranges = split_capture(path, 2, 0);
  REQUIRE(ranges.size() == 2);
  uint64_t big_at = 24 + 100 * (16 + fwtest::pfc_frame(kSrc, 0x08, {0}).size());
  CHECK(ranges[1].begin > big_at);
  CHECK(ranges[1].begin < big_at + 16 + big.size());  // inside the big frame: a false boundary
  StringTable s1, s2;
  CaptureSummary one = summary_of(path, 1, s1), two = summary_of(path, 2, s2);
  CHECK(two.counts.by_kind[0] == 200);
  CHECK(two.pfc[0].quanta[3] == 200 * 100);
  check_same(one, two);
}

TEST_CASE("window kinds: mapped while that is cheap, else the kind that cost less, the other measured again") {
  using K = WindowKind;
  // Mapping not measured yet, or cheaper than any copy (large folios): mapped, reading never tried.
  CHECK(next_window_kind(0, 0, 0, 0) == K::map);
  CHECK(next_window_kind(1'000, 0, 0, 1 << 30) == K::map);
  CHECK(next_window_kind(kCheapMapNsPerMiB - 1, 500, 0, 1 << 30) == K::map);
  // Mapping dear (small folios) and reading not measured: read, to measure it.
  CHECK(next_window_kind(120'000, 0, 0, 0) == K::read);
  // Reading cheaper: read, with kMeasureMin mapped again after kMapProbeEvery read.
  CHECK(next_window_kind(120'000, 60'000, 0, 0) == K::read);
  CHECK(next_window_kind(120'000, 60'000, kMapProbeEvery - 1, 0) == K::read);
  CHECK(next_window_kind(120'000, 60'000, kMapProbeEvery, 0) == K::map_probe);
  // Mapping dear but reading dearer: mapped, reading measured again after kReadProbeEvery mapped.
  CHECK(next_window_kind(60'000, 120'000, 0, 0) == K::map);
  CHECK(next_window_kind(60'000, 120'000, 0, kReadProbeEvery - 1) == K::map);
  CHECK(next_window_kind(60'000, 120'000, 0, kReadProbeEvery) == K::read);
  CHECK(next_window_kind(60'000, 60'000, 0, 0) == K::map);  // a tie maps
  // Reading must cost kReadExtraNsPerMiB less than mapping, beyond its calls.
  CHECK(next_window_kind(60'000, 60'000 - kReadExtraNsPerMiB, 0, 0) == K::map);
  CHECK(next_window_kind(60'000, 60'000 - kReadExtraNsPerMiB - 1, 0, 0) == K::read);
}
