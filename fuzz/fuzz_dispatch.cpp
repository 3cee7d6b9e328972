// libFuzzer target: the Dispatcher (frame -> records) over any link type, with the
// layer-2 parser in front. input[0..1] (big-endian) picks the link type: values 0-3
// map to the four decoded ones (1, 113, 276, 253), so most inputs hit a decoder;
// anything else is used as it is. The rest of the input is the frame. A counter block
// (kLinkCounterBlock: a pcapng custom block the agent records, no frame) is FrameKind::other
// and gives the records of its sample or link event: counter records, or one link record,
// at the block's own time and with no frame number.
#include "flapwatch/decode/dispatch.hpp"
#include "flapwatch/counters.hpp"
#include "flapwatch/decode/ethernet.hpp"
#include "fuzz_util.hpp"

using namespace flapwatch;

namespace {

struct CheckingSink final : RecordSink {
  std::vector<Record> records;
  void on_record(const Record& r) override { records.push_back(r); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > UINT32_MAX) return 0;
  static const uint16_t known[4] = {kLinkEthernet, kLinkSll, kLinkSll2, kLinkNetlink};
  uint16_t lt = static_cast<uint16_t>(data[0] << 8 | data[1]);
  if (lt < 4) lt = known[lt];
  // The frame in its own exact-size allocation, so ASan catches a read past it.
  std::vector<uint8_t> frame(data + 2, data + size);
  const auto n = static_cast<uint32_t>(frame.size());

  Frame f;
  f.ts_ns = 1'700'000'000'000'000'000;
  f.index = 7;
  f.offset = 1000;
  f.data = frame.data();
  f.caplen = n;
  f.origlen = n;
  f.linktype = lt;

  static StringTable strings;  // across inputs, like a long capture: interning stays consistent
  if (strings.size() > 100000) strings = StringTable();
  f.port = strings.intern("fuzz0");
  const size_t strings_before = strings.size();
  Dispatcher d(strings);
  CheckingSink sink;
  DecodeError err;
  FrameKind k = d.dispatch(f, sink, err);

  L2Header h;
  bool l2 = parse_l2(lt, frame.data(), n, h);
  if (l2) {
    FUZZ_CHECK(h.payload_pos <= n && h.payload == frame.data() + h.payload_pos && h.len == n - h.payload_pos);
    FUZZ_CHECK(h.vlan >= -1 && h.vlan <= 0xfff);
    FUZZ_CHECK(h.src_mac < (uint64_t(1) << 48));
  }

  auto valid = [&](int32_t s) { return s >= -1 && s < static_cast<int32_t>(strings.size()); };
  size_t want = 0;
  RecordKind want_kind{};
  switch (k) {
    case FrameKind::pfc: want = 1, want_kind = RecordKind::pfc; break;
    case FrameKind::pause: want = 1, want_kind = RecordKind::pause; break;
    case FrameKind::lldp: want = 1, want_kind = RecordKind::lldp; break;
    case FrameKind::malformed: want = 1, want_kind = RecordKind::malformed; break;
    case FrameKind::other:
      want = lt == kLinkCounterBlock ? sink.records.size() : 0;
      if (want) want_kind = sink.records[0].kind;
      break;
    case FrameKind::link:
      FUZZ_CHECK(!sink.records.empty());
      want = sink.records.size(), want_kind = RecordKind::link;
      break;
    default: FUZZ_CHECK(!"unknown FrameKind");
  }
  FUZZ_CHECK(sink.records.size() == want);
  if (k != FrameKind::other && k != FrameKind::link && k != FrameKind::malformed) FUZZ_CHECK(l2 && lt != kLinkNetlink);
  if (k == FrameKind::link) FUZZ_CHECK(lt == kLinkNetlink);
  if (lt == kLinkCounterBlock) FUZZ_CHECK(k == FrameKind::other);
  if (lt == kLinkCounterBlock && want)  // a sample's values, or one pushed link event
    FUZZ_CHECK(want_kind == RecordKind::counter || (want_kind == RecordKind::link && want == 1));
  for (const Record& r : sink.records) {
    FUZZ_CHECK(r.kind == want_kind);
    if (lt == kLinkCounterBlock) FUZZ_CHECK(r.frame == -1 && r.ts_ns == sink.records[0].ts_ns);
    else FUZZ_CHECK(r.ts_ns == f.ts_ns && r.frame == f.index);
    FUZZ_CHECK(r.port >= 0 && valid(r.port));
    switch (r.kind) {
      case RecordKind::malformed:
        FUZZ_CHECK(err.reason != nullptr && err.pos <= n);
        FUZZ_CHECK(r.malformed.offset == int64_t(f.offset + err.pos));
        FUZZ_CHECK(r.malformed.reason >= 0 && valid(r.malformed.reason));
        FUZZ_CHECK(r.port == f.port);
        break;
      case RecordKind::pfc:
        FUZZ_CHECK(r.pfc.vlan == h.vlan && r.pfc.src_mac == h.src_mac && r.port == f.port);
        break;
      case RecordKind::pause:
        FUZZ_CHECK(r.pause.vlan == h.vlan && r.pause.src_mac == h.src_mac && r.port == f.port);
        break;
      case RecordKind::lldp:
        FUZZ_CHECK(valid(r.lldp.chassis_id) && r.lldp.chassis_id >= 0 && valid(r.lldp.port_id) && r.lldp.port_id >= 0);
        for (int32_t s : {r.lldp.port_desc, r.lldp.system_name, r.lldp.system_desc, r.lldp.mgmt_addr})
          FUZZ_CHECK(valid(s));
        FUZZ_CHECK(r.lldp.src_mac == h.src_mac && r.port == f.port);
        break;
      case RecordKind::link:
        FUZZ_CHECK(r.link.msg_type == 16 || r.link.msg_type == 17);
        break;
      case RecordKind::counter:
        FUZZ_CHECK(r.counter.count == 0 ? r.counter.meaning == kNoMeaning : r.counter.index < r.counter.count);
        FUZZ_CHECK(r.counter.count == sink.records.size() || (r.counter.count == 0 && sink.records.size() == 1));
        break;
      default: FUZZ_CHECK(!"unexpected record kind");
    }
  }
  // New strings (ids, names, reasons) are printable ASCII: escape_text's promise.
  for (size_t i = strings_before; i < strings.size(); ++i)
    for (unsigned char ch : strings[static_cast<int32_t>(i)]) FUZZ_CHECK(ch >= 0x20 && ch <= 0x7e);
  return 0;
}
