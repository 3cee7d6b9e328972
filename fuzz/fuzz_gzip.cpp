// libFuzzer target: gzip-compressed captures (BlockBuffer over zlib's gzread).
// input[0] picks the mode:
//   even: the rest of the input is the file as it is: a gzip stream to mutate (the seeds
//         are .pcap.gz / .pcapng.gz files), so corrupt headers, CRCs, lengths, cut
//         streams and concatenated members are all reached;
//   odd:  the rest is a capture that is gzip-compressed here first (a valid stream,
//         so the fuzzer works on the capture behind the decompression), and the plain
//         file must read exactly like its compressed form (unless the rest is itself a
//         gzip stream: zlib would unpack the "plain" file too, one layer less).
#include <zlib.h>

#include "fuzz_util.hpp"

namespace {

std::vector<uint8_t> gzip(const uint8_t* p, size_t n, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::vector<uint8_t> out(deflateBound(&z, n) + 32);
  z.next_in = const_cast<Bytef*>(p);
  z.avail_in = static_cast<uInt>(n);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::MemFile plain("fuzz_gzip_plain"), packed("fuzz_gzip");
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const uint8_t* p = data + 1;
  size_t n = size - 1;
  if ((mode & 1) == 0) {
    fuzz::check_capture(packed.write(p, n), p, n);
    return 0;
  }
  std::vector<uint8_t> z = gzip(p, n, (mode >> 1) % 10);
  fuzz::ReadResult from_gz = fuzz::read_all(packed.write(z.data(), z.size()), false);
  fuzz::ReadResult from_plain = fuzz::read_all(plain.write(p, n), false);
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return 0;
  // Compression is invisible: same error-or-not, counts, rows and warnings.
  FUZZ_CHECK(from_gz.error == from_plain.error);
  if (!from_gz.error) {
    FUZZ_CHECK(from_gz.counts.by_kind == from_plain.counts.by_kind);
    FUZZ_CHECK(from_gz.warnings == from_plain.warnings);
    for (int i = 0; i < 5; ++i) FUZZ_CHECK(from_gz.rows[i] == from_plain.rows[i]);
  }
  return 0;
}
