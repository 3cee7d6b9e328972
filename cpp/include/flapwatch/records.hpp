// The record tables: struct of arrays, one std::vector per column, so Python gets
// one numpy array per field without a copy (the vector's buffer is handed over)
// and the tables map 1:1 onto Arrow/Parquet. Column names and meanings are the
// ones in python/flapwatch/schema.py; string columns hold StringTable indices.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace flapwatch {

template <class T>
using Column = std::vector<T>;

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
  using TableBase::size;
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
  using TableBase::size;
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
  using TableBase::size;
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
  using TableBase::size;
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
  }
};

struct MalformedTable : FrameColumns, TableBase<MalformedTable> {
  Column<int64_t> offset;
  Column<int32_t> reason;
  using TableBase::size;
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
