// libFuzzer target: LLDP decoding (decode_lldp) and the text forms (format_chassis_id,
// format_port_id, format_mgmt_addr, format_text). The input is the LLDPDU, the bytes
// after the ethertype 0x88cc.
#include <cctype>
#include <cstring>

#include "flapwatch/decode/lldp.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

namespace {

const uint8_t* g_begin;
const uint8_t* g_end;

void check_view(const ByteView& v) {
  if (!v.present()) {
    FUZZ_CHECK(v.n == 0);
    return;
  }
  FUZZ_CHECK(v.p >= g_begin && v.p <= g_end && v.n <= static_cast<size_t>(g_end - v.p));
}

void check_text(const std::string& s) {
  for (unsigned char c : s) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > UINT32_MAX) return 0;
  const auto n = static_cast<uint32_t>(size);
  g_begin = data;
  g_end = data + size;
  LldpPdu pdu;
  DecodeError err;
  static std::string out;
  if (!decode_lldp(data, n, pdu, err)) {
    FUZZ_CHECK(err.reason != nullptr && err.pos <= n);
    return 0;
  }
  // Mandatory TLVs present, views inside the frame, fields in range.
  FUZZ_CHECK(pdu.chassis_id.present() && pdu.chassis_id.n >= 1);
  FUZZ_CHECK(pdu.port_id.present() && pdu.port_id.n >= 1);
  FUZZ_CHECK(pdu.ttl >= 0 && pdu.ttl <= 0xffff);
  for (const ByteView* v : {&pdu.chassis_id, &pdu.port_id, &pdu.port_desc, &pdu.system_name, &pdu.system_desc,
                            &pdu.mgmt_addr})
    check_view(*v);
  FUZZ_CHECK(pdu.caps_supported >= -1 && pdu.caps_supported <= 0xffff);
  FUZZ_CHECK((pdu.caps_supported < 0) == (pdu.caps_enabled < 0));
  FUZZ_CHECK(pdu.port_vlan >= -1 && pdu.port_vlan <= 0xffff);
  FUZZ_CHECK(pdu.pfc_enable >= -1 && pdu.pfc_enable <= 0xff);
  FUZZ_CHECK((pdu.pfc_enable < 0) == (pdu.pfc_willing < 0) && (pdu.pfc_willing < 0) == (pdu.pfc_cap < 0));
  FUZZ_CHECK(pdu.pfc_cap <= 15 && pdu.pfc_willing <= 1 && pdu.pfc_mbc <= 1);
  FUZZ_CHECK(pdu.mau_type >= -1 && pdu.mau_type <= 0xffff);
  FUZZ_CHECK(pdu.max_frame_size >= -1 && pdu.max_frame_size <= 0xffff);
  int64_t speed = mau_speed_bps(pdu.mau_type);
  FUZZ_CHECK(speed >= 0 && speed <= 100'000'000'000);

  format_chassis_id(pdu, out);
  check_text(out);
  if (pdu.chassis_subtype == 4) FUZZ_CHECK(out.size() == pdu.chassis_id.n * 3 - 1);
  format_port_id(pdu, out);
  check_text(out);
  if (pdu.port_subtype == 3) FUZZ_CHECK(out.size() == pdu.port_id.n * 3 - 1);
  if (pdu.mgmt_addr.present()) {
    format_mgmt_addr(pdu, out);
    check_text(out);
  }
  for (const ByteView* v : {&pdu.port_desc, &pdu.system_name, &pdu.system_desc}) {
    if (!v->present()) continue;
    format_text(*v, out);
    check_text(out);
    FUZZ_CHECK(out.size() <= 4 * size_t(v->n));
  }
  // format_text is lossless: unescape and compare (trailing NULs are dropped first).
  ByteView whole{data, n};
  format_text(whole, out);
  static std::string back;
  back.clear();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\') {
      FUZZ_CHECK(i + 3 < out.size() && out[i + 1] == 'x');
      auto hex = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      FUZZ_CHECK(std::isxdigit(static_cast<unsigned char>(out[i + 2])) && std::isxdigit(static_cast<unsigned char>(out[i + 3])));
      back.push_back(static_cast<char>(hex(out[i + 2]) * 16 + hex(out[i + 3])));
      i += 3;
    } else {
      back.push_back(out[i]);
    }
  }
  size_t keep = n;
  while (keep > 0 && data[keep - 1] == 0) --keep;
  FUZZ_CHECK(back.size() == keep && std::memcmp(back.data(), data, keep) == 0);
  return 0;
}
