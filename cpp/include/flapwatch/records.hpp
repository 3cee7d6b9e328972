// The record tables: struct of arrays, one std::vector per column, so Python gets
// one numpy array per field without a copy (the vector's buffer is handed over)
// and the tables map 1:1 onto Arrow/Parquet. Column names and meanings are the
// ones in python/flapwatch/schema.py; string columns hold StringTable indices.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "flapwatch/column_pool.hpp"

namespace flapwatch {

// Big columns take their memory from the ColumnPool (already faulted in when reused).
template <class T>
using Column = std::vector<T, ColumnAllocator<T>>;

// One decoded record: what the dispatcher emits, what the SPSC ring carries and what
// the trackers consume. Plain data, fixed size, no pointers (strings are StringTable
// indices), so it can be copied between threads and compared across runs.
enum class RecordKind : uint8_t { pfc, pause, lldp, link, malformed, port_info, counter, rx_gap };

struct PfcRecord {
  uint64_t src_mac;
  int32_t vlan;
  uint8_t class_enable;
  uint16_t quanta[8];
};

struct PauseRecord {
  uint64_t src_mac;
  int32_t vlan;
  uint16_t quanta;
};

struct LldpRecord {
  uint64_t src_mac;
  int32_t chassis_id, port_id, port_desc, system_name, system_desc, mgmt_addr;
  uint8_t chassis_subtype, port_subtype;
  int32_t ttl, caps_supported, caps_enabled, port_vlan;
  int8_t pfc_willing, pfc_mbc, pfc_cap;
  int16_t pfc_enable;
  int32_t mau_type;
  int64_t speed_bps;
  int32_t max_frame_size;
};

struct LinkRecord {
  uint16_t msg_type;
  int32_t ifindex;
  uint32_t flags;
  int8_t operstate, carrier;
  int64_t carrier_changes, carrier_up_count, carrier_down_count;
  uint64_t mac;  // the interface's own MAC (IFLA_ADDRESS), 0 absent
  uint16_t dev_type;  // ifi_type: ARPHRD_* (772 loopback)
  uint32_t change;    // ifi_change
  uint8_t dump;       // 1: a reply to an RTM_GETLINK dump, 0: a notification
};

struct MalformedRecord {
  int64_t offset;
  int32_t reason;
};

// Sent once per port before its first record, by the side that can read the string
// table, so trackers on another thread never touch it.
struct PortInfoRecord {
  int64_t configured_speed_bps;  // 0: none configured
};

// One classified counter value of a counter sample (flapwatch/counters.hpp says why
// one value per record); ts_ns is the sample's read time, frame -1.
struct CounterRecord {
  uint64_t value;
  int64_t read_ns;      // the read's own duration
  uint32_t sample;      // the port's sample number
  uint16_t index, count;  // this value's place in the sample; count 0: a sample with no value
  uint8_t meaning;      // CounterMeaning (0xff: none)
  int8_t direction, priority;
  uint8_t unit, width, flags;
  uint16_t refresh_ms;  // the driver's copy period, 0: fresh on every read
};

// A silence in what a port received: no frame from anyone but the port itself for at least
// kRxGapNs (decode/dispatch.hpp), ended by the frame at ts_ns. A link that was down lies
// in such a gap; the link tracker places hidden flaps in them when they account for each.
// at_message: not a gap but the port's reception as one of its link messages is read (the
// record just before it): start_ns its last frame, frames those since its last gap.
inline constexpr int64_t kRxGapNs = 4'000'000;  // the shortest silence that is a gap

struct RxGapRecord {
  int64_t start_ns;  // the port's previous received frame
  int64_t frames;    // frames it received between the gap before this one and this gap
  uint8_t at_message;
};

struct Record {
  int64_t ts_ns;
  int64_t frame;
  int32_t port;
  RecordKind kind;
  union {
    PfcRecord pfc;
    PauseRecord pause;
    LldpRecord lldp;
    LinkRecord link;
    MalformedRecord malformed;
    PortInfoRecord port_info;
    CounterRecord counter;
    RxGapRecord rx_gap;
  };
};

// size(), truncate() and clear() for any table with for_each_column.
template <class Derived>
struct TableBase {
  size_t size() const { return static_cast<const Derived*>(this)->ts_ns.size(); }
  void truncate(size_t n) {
    static_cast<Derived*>(this)->for_each_column([n](const char*, auto& c) { c.resize(n); });
  }
  void clear() { truncate(0); }
  void reserve(size_t n) {
    static_cast<Derived*>(this)->for_each_column([n](const char*, auto& c) { c.reserve(n); });
  }
};

struct FrameColumns {
  Column<int64_t> ts_ns;
  Column<int32_t> port;
  Column<int64_t> frame;
  template <class F>
  void frame_columns(F&& f) {
    f("ts_ns", ts_ns);
    f("port", port);
    f("frame", frame);
  }
};

struct PfcTable : FrameColumns, TableBase<PfcTable> {
  Column<uint64_t> src_mac;
  Column<int32_t> vlan;
  Column<uint8_t> class_enable;
  std::array<Column<uint16_t>, 8> quanta;

  template <class F>
  void for_each_column(F&& f) {
    static constexpr const char* names[8] = {"quanta_0", "quanta_1", "quanta_2", "quanta_3",
                                             "quanta_4", "quanta_5", "quanta_6", "quanta_7"};
    frame_columns(f);
    f("src_mac", src_mac);
    f("vlan", vlan);
    f("class_enable", class_enable);
    for (int i = 0; i < 8; ++i) f(names[i], quanta[i]);
  }
};

struct PauseTable : FrameColumns, TableBase<PauseTable> {
  Column<uint64_t> src_mac;
  Column<int32_t> vlan;
  Column<uint16_t> quanta;

  template <class F>
  void for_each_column(F&& f) {
    frame_columns(f);
    f("src_mac", src_mac);
    f("vlan", vlan);
    f("quanta", quanta);
  }
};

struct LldpTable : FrameColumns, TableBase<LldpTable> {
  Column<uint64_t> src_mac;
  Column<uint8_t> chassis_subtype;
  Column<int32_t> chassis_id;
  Column<uint8_t> port_subtype;
  Column<int32_t> port_id;
  Column<int32_t> ttl;
  Column<int32_t> port_desc, system_name, system_desc;
  Column<int32_t> caps_supported, caps_enabled;
  Column<int32_t> mgmt_addr;
  Column<int32_t> port_vlan;
  Column<int8_t> pfc_willing, pfc_mbc, pfc_cap;
  Column<int16_t> pfc_enable;
  Column<int32_t> mau_type;
  Column<int64_t> speed_bps;
  Column<int32_t> max_frame_size;

  template <class F>
  void for_each_column(F&& f) {
    frame_columns(f);
    f("src_mac", src_mac);
    f("chassis_subtype", chassis_subtype);
    f("chassis_id", chassis_id);
    f("port_subtype", port_subtype);
    f("port_id", port_id);
    f("ttl", ttl);
    f("port_desc", port_desc);
    f("system_name", system_name);
    f("system_desc", system_desc);
    f("caps_supported", caps_supported);
    f("caps_enabled", caps_enabled);
    f("mgmt_addr", mgmt_addr);
    f("port_vlan", port_vlan);
    f("pfc_willing", pfc_willing);
    f("pfc_mbc", pfc_mbc);
    f("pfc_cap", pfc_cap);
    f("pfc_enable", pfc_enable);
    f("mau_type", mau_type);
    f("speed_bps", speed_bps);
    f("max_frame_size", max_frame_size);
  }
};

struct LinkTable : FrameColumns, TableBase<LinkTable> {
  Column<uint16_t> msg_type;
  Column<int32_t> ifindex;
  Column<uint32_t> flags;
  Column<int8_t> operstate, carrier;
  Column<int64_t> carrier_changes, carrier_up_count, carrier_down_count;
  Column<uint64_t> mac;
  Column<uint16_t> dev_type;
  Column<uint32_t> change;
  Column<uint8_t> dump;

  template <class F>
  void for_each_column(F&& f) {
    frame_columns(f);
    f("msg_type", msg_type);
    f("ifindex", ifindex);
    f("flags", flags);
    f("operstate", operstate);
    f("carrier", carrier);
    f("carrier_changes", carrier_changes);
    f("carrier_up_count", carrier_up_count);
    f("carrier_down_count", carrier_down_count);
    f("mac", mac);
    f("dev_type", dev_type);
    f("change", change);
    f("dump", dump);
  }
};

struct MalformedTable : FrameColumns, TableBase<MalformedTable> {
  Column<int64_t> offset;
  Column<int32_t> reason;

  template <class F>
  void for_each_column(F&& f) {
    frame_columns(f);
    f("offset", offset);
    f("reason", reason);
  }
};

// Every frame falls in exactly one kind.
enum class FrameKind : uint8_t { pfc, pause, lldp, link, other, malformed };
constexpr int kFrameKinds = 6;
constexpr const char* kFrameKindNames[kFrameKinds] = {"pfc", "pause", "lldp", "link", "other", "malformed"};

struct FrameCounts {
  std::array<int64_t, kFrameKinds> by_kind{};
  int64_t frames() const {
    int64_t n = 0;
    for (auto v : by_kind) n += v;
    return n;
  }
};

struct RecordBatch {
  PfcTable pfc;
  PauseTable pause;
  LldpTable lldp;
  LinkTable link;
  MalformedTable malformed;

  void append(const Record& r);
  template <class F>
  void for_each_table(F&& f) {
    f("pfc", pfc);
    f("pause", pause);
    f("lldp", lldp);
    f("link", link);
    f("malformed", malformed);
  }
};

}  // namespace flapwatch

namespace flapwatch {

template <class Table>
inline void push_frame_columns(Table& t, const Record& r) {
  t.ts_ns.push_back(r.ts_ns);
  t.port.push_back(r.port);
  t.frame.push_back(r.frame);
}

inline void RecordBatch::append(const Record& r) {
  switch (r.kind) {
    case RecordKind::pfc:
      push_frame_columns(pfc, r);
      pfc.src_mac.push_back(r.pfc.src_mac);
      pfc.vlan.push_back(r.pfc.vlan);
      pfc.class_enable.push_back(r.pfc.class_enable);
      for (int i = 0; i < 8; ++i) pfc.quanta[i].push_back(r.pfc.quanta[i]);
      break;
    case RecordKind::pause:
      push_frame_columns(pause, r);
      pause.src_mac.push_back(r.pause.src_mac);
      pause.vlan.push_back(r.pause.vlan);
      pause.quanta.push_back(r.pause.quanta);
      break;
    case RecordKind::lldp: {
      const LldpRecord& l = r.lldp;
      push_frame_columns(lldp, r);
      lldp.src_mac.push_back(l.src_mac);
      lldp.chassis_subtype.push_back(l.chassis_subtype);
      lldp.chassis_id.push_back(l.chassis_id);
      lldp.port_subtype.push_back(l.port_subtype);
      lldp.port_id.push_back(l.port_id);
      lldp.ttl.push_back(l.ttl);
      lldp.port_desc.push_back(l.port_desc);
      lldp.system_name.push_back(l.system_name);
      lldp.system_desc.push_back(l.system_desc);
      lldp.caps_supported.push_back(l.caps_supported);
      lldp.caps_enabled.push_back(l.caps_enabled);
      lldp.mgmt_addr.push_back(l.mgmt_addr);
      lldp.port_vlan.push_back(l.port_vlan);
      lldp.pfc_willing.push_back(l.pfc_willing);
      lldp.pfc_mbc.push_back(l.pfc_mbc);
      lldp.pfc_cap.push_back(l.pfc_cap);
      lldp.pfc_enable.push_back(l.pfc_enable);
      lldp.mau_type.push_back(l.mau_type);
      lldp.speed_bps.push_back(l.speed_bps);
      lldp.max_frame_size.push_back(l.max_frame_size);
      break;
    }
    case RecordKind::link:
      push_frame_columns(link, r);
      link.msg_type.push_back(r.link.msg_type);
      link.ifindex.push_back(r.link.ifindex);
      link.flags.push_back(r.link.flags);
      link.operstate.push_back(r.link.operstate);
      link.carrier.push_back(r.link.carrier);
      link.carrier_changes.push_back(r.link.carrier_changes);
      link.carrier_up_count.push_back(r.link.carrier_up_count);
      link.carrier_down_count.push_back(r.link.carrier_down_count);
      link.mac.push_back(r.link.mac);
      link.dev_type.push_back(r.link.dev_type);
      link.change.push_back(r.link.change);
      link.dump.push_back(r.link.dump);
      break;
    case RecordKind::malformed:
      push_frame_columns(malformed, r);
      malformed.offset.push_back(r.malformed.offset);
      malformed.reason.push_back(r.malformed.reason);
      break;
    case RecordKind::port_info:
    case RecordKind::counter:
    case RecordKind::rx_gap:
      break;
  }
}

}  // namespace flapwatch
