// libFuzzer target: netlink link messages (decode_netlink_links) as nlmon captures
// them: the input is the whole LINKTYPE_NETLINK frame, cooked header included.
#include "flapwatch/decode/netlink.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > UINT32_MAX) return 0;
  const auto n = static_cast<uint32_t>(size);
  const char* begin = reinterpret_cast<const char*>(data);
  size_t links = 0;
  DecodeError err;
  int family = netlink_family(data, n);
  FUZZ_CHECK((family < 0) == (n < kNetlinkCookedLen));
  if (family < 0) return 0;  // the dispatcher's contract: only frames with a cooked header get here
  bool ok = decode_netlink_links(
      data, n,
      [&](const LinkMessage& m) {
        ++links;
        FUZZ_CHECK(m.type == kRtmNewLink || m.type == kRtmDelLink);
        if (!m.ifname.empty()) {
          FUZZ_CHECK(m.ifname.data() >= begin && m.ifname.data() + m.ifname.size() <= begin + n);
          FUZZ_CHECK(m.ifname.find('\0') == std::string_view::npos);
        }
        FUZZ_CHECK(m.carrier_changes >= -1 && m.carrier_changes <= int64_t(UINT32_MAX));
        FUZZ_CHECK(m.carrier_up_count >= -1 && m.carrier_up_count <= int64_t(UINT32_MAX));
        FUZZ_CHECK(m.carrier_down_count >= -1 && m.carrier_down_count <= int64_t(UINT32_MAX));
        FUZZ_CHECK(m.mac < (uint64_t(1) << 48));
      },
      err);
  if (!ok) {
    FUZZ_CHECK(err.reason != nullptr && err.pos <= n);
    FUZZ_CHECK(err.pos >= kNetlinkCookedLen);
  } else {
    // A message needs 16 bytes and a link message 32: the count is bounded by the frame.
    FUZZ_CHECK(n >= kNetlinkCookedLen + 16);
    FUZZ_CHECK(links <= (n - kNetlinkCookedLen) / 32);
  }
  return 0;
}
