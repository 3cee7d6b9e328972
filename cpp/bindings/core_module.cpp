// The Python binding, and nothing else: it moves C++ columns into numpy arrays
// without copying (each array owns its std::vector through a capsule), releases
// the GIL while C++ reads, maps CaptureError to flapwatch.errors.CaptureError, and
// converts the configuration between a dict and EngineConfig (which the core checks).
// Plain functions and dicts of 1-D arrays only, so nanobind could bind it the same way.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>

#include "flapwatch/capture.hpp"
#include "flapwatch/capture_summary.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/follow_session.hpp"
#include "flapwatch/io/block_buffer.hpp"
#include "flapwatch/io/capture_split.hpp"
#include "flapwatch/io/pcapng_writer.hpp"
#include "flapwatch/live/counter_source.hpp"
#include "flapwatch/live/live_agent.hpp"
#include "flapwatch/pipeline.hpp"

namespace py = pybind11;
using namespace flapwatch;

namespace {

template <class T>
py::array to_numpy(Column<T>& column) {
  auto* owned = new Column<T>(std::move(column));
  py::capsule owner(owned, [](void* p) { delete static_cast<Column<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), owner);
}

// {column: ndarray}, the table's columns moved into numpy.
template <class Table>
py::dict columns_to_python(Table& table) {
  py::dict columns;
  table.for_each_column([&](const char* column, auto& values) { columns[column] = to_numpy(values); });
  return columns;
}

// {table: {column: ndarray}}, every table moved.
template <class Tables>
py::dict to_python(Tables& tables) {
  py::dict out;
  tables.for_each_table([&](const char* name, auto& table) { out[name] = columns_to_python(table); });
  return out;
}

// {column: ndarray} of rows [start, size), copied (the table keeps growing).
template <class Table>
py::dict rows_from(Table& table, size_t start) {
  py::dict columns;
  table.for_each_column([&](const char* column, auto& values) {
    using T = typename std::decay_t<decltype(values)>::value_type;
    size_t n = values.size() > start ? values.size() - start : 0;
    py::array_t<T> a(static_cast<py::ssize_t>(n));
    if (n) std::memcpy(a.mutable_data(), values.data() + start, n * sizeof(T));
    columns[column] = a;
  });
  return columns;
}

py::dict counts_to_python(const FrameCounts& counts) {
  py::dict d;
  for (int k = 0; k < kFrameKinds; ++k) d[kFrameKindNames[k]] = counts.by_kind[k];
  return d;
}

// One capture being read; Python's Capture / iter_capture drive it.
class PyCaptureFile {
 public:
  PyCaptureFile(const std::string& path, bool strict, std::string device, std::string iface)
      : file_(path, ReadOptions{strict, PortNaming{std::move(device), std::move(iface)}}) {}

  // Tables of up to max_frames frames (all when <= 0).
  py::dict read(int64_t max_frames) {
    RecordBatch batch;
    {
      py::gil_scoped_release release;
      file_.read(batch, max_frames);
    }
    return to_python(batch);
  }

  // Strings interned from index `start` on (callers keep what they already have).
  std::vector<std::string> strings_from(size_t start) const { return file_.strings().snapshot_from(start); }

  CaptureFile file_;
};

template <class T>
T get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

// The engine configuration from a flat nanosecond dict (Config.to_core() in Python;
// dampening rows are (name, penalty, reuse, suppress, half_life_ns, max_suppress_ns)),
// checked by the core: an invalid one raises ValueError.
EngineConfig engine_config(const py::dict& d) {
  EngineConfig c;
  LinkConfig& l = c.link;
  l.job_budget_ns = get(d, "job_budget_ns", l.job_budget_ns);
  l.micro_flap_ns = get(d, "micro_flap_ns", l.micro_flap_ns);
  l.hold_down_ns = get(d, "hold_down_ns", l.hold_down_ns);
  if (d.contains("windows")) {
    l.windows.clear();
    for (auto [name, count, window] : d["windows"].cast<std::vector<std::tuple<std::string, int, int64_t>>>())
      l.windows.push_back({name, count, window});
  }
  if (d.contains("dampening")) {
    l.dampening.clear();
    using Row = std::tuple<std::string, double, double, double, int64_t, int64_t>;
    for (auto [name, penalty, reuse, suppress, half_life, max_suppress] : d["dampening"].cast<std::vector<Row>>())
      l.dampening.push_back({name, penalty, half_life, reuse, suppress, max_suppress});
  }
  PfcConfig& p = c.pfc;
  p.detection_ns = get(d, "detection_ns", p.detection_ns);
  p.restoration_ns = get(d, "restoration_ns", p.restoration_ns);
  p.storm_duty = get(d, "storm_duty", p.storm_duty);
  p.window_ns = get(d, "pause_window_ns", p.window_ns);
  p.default_speed_bps = get(d, "default_speed_bps", p.default_speed_bps);
  if (d.contains("port_speeds")) p.port_speeds = d["port_speeds"].cast<std::vector<std::pair<std::string, int64_t>>>();
  if (d.contains("own_macs")) c.lldp.own_macs = d["own_macs"].cast<std::vector<std::pair<std::string, uint64_t>>>();
  Selection& sel = c.selection;
  if (d.contains("ports")) sel.ports = d["ports"].cast<std::vector<std::string>>();
  if (d.contains("since_ns") && !d["since_ns"].is_none()) sel.since_ns = d["since_ns"].cast<int64_t>();
  if (d.contains("until_ns") && !d["until_ns"].is_none()) sel.until_ns = d["until_ns"].cast<int64_t>();
  c.check();  // std::invalid_argument: ValueError
  return c;
}

// The core's policies and defaults the way Python's Config spells them (field names,
// field order, seconds and milliseconds), for the test that holds the two together.
py::dict window_to_python(const WindowPolicy& w) {
  py::dict d;
  d["name"] = w.name;
  d["count"] = w.count;
  d["window_s"] = static_cast<double>(w.window_ns) / kSec;
  return d;
}

py::dict dampening_to_python(const DampeningPolicy& p) {
  py::dict d;
  d["name"] = p.name;
  d["penalty"] = p.penalty;
  d["half_life_s"] = static_cast<double>(p.half_life_ns) / kSec;
  d["reuse"] = p.reuse;
  d["suppress"] = p.suppress;
  d["max_suppress_s"] = static_cast<double>(p.max_suppress_ns) / kSec;
  return d;
}

template <class Policy, class F>
py::list policies_to_python(const std::vector<Policy>& policies, F&& to_dict) {
  py::list out;
  for (const auto& p : policies) out.append(to_dict(p));
  return out;
}

// "100G" for whole gigabits (as Config writes speeds), else bits per second.
py::object speed_to_python(int64_t bps) {
  constexpr int64_t kG = 1'000'000'000;
  if (bps % kG == 0) return py::str(std::to_string(bps / kG) + "G");
  return py::int_(bps);
}

py::dict default_config() {
  const EngineConfig c;
  py::dict d;
  d["job_budget_s"] = static_cast<double>(c.link.job_budget_ns) / kSec;
  d["micro_flap_ms"] = static_cast<double>(c.link.micro_flap_ns) / kMs;
  d["hold_time_ms"] = static_cast<double>(c.link.hold_down_ns) / kMs;
  d["window_policies"] = policies_to_python(c.link.windows, window_to_python);
  d["dampening_policies"] = policies_to_python(c.link.dampening, dampening_to_python);
  const char* rule = storm_rule_name(c.pfc.storm_duty);
  d["storm_rule"] = rule ? py::object(py::str(rule)) : py::object(py::float_(c.pfc.storm_duty));
  d["pfc_detection_ms"] = static_cast<double>(c.pfc.detection_ns) / kMs;
  d["pfc_restoration_ms"] = static_cast<double>(c.pfc.restoration_ns) / kMs;
  d["pause_window_s"] = static_cast<double>(c.pfc.window_ns) / kSec;
  d["default_speed"] = speed_to_python(c.pfc.default_speed_bps);
  py::dict speeds;
  for (const auto& [pattern, bps] : c.pfc.port_speeds) speeds[py::str(pattern)] = speed_to_python(bps);
  d["port_speeds"] = speeds;
  py::dict own_macs;  // "02:fa:00:00:00:01" as Config writes them
  for (const auto& [port, mac] : c.lldp.own_macs) {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(mac >> 40 & 0xff),
                  unsigned(mac >> 32 & 0xff), unsigned(mac >> 24 & 0xff), unsigned(mac >> 16 & 0xff),
                  unsigned(mac >> 8 & 0xff), unsigned(mac & 0xff));
    own_macs[py::str(port)] = text;
  }
  d["own_macs"] = own_macs;
  d["ring_capacity"] = PipelineOptions{}.ring_capacity;
  return d;
}

// The same defaults the way Config.to_core() hands a configuration to analyze() (nanoseconds,
// the policies as tuples): a run the command line starts before its Config is loaded is given
// these, and taken when to_core() gives the same (detect/prestart.py).
py::dict engine_defaults() {
  const EngineConfig c;
  py::dict d;
  d["job_budget_ns"] = c.link.job_budget_ns;
  d["micro_flap_ns"] = c.link.micro_flap_ns;
  d["hold_down_ns"] = c.link.hold_down_ns;
  py::list windows, dampening, port_speeds, own_macs;
  for (const auto& w : c.link.windows) windows.append(py::make_tuple(w.name, w.count, w.window_ns));
  for (const auto& p : c.link.dampening)
    dampening.append(py::make_tuple(p.name, p.penalty, p.reuse, p.suppress, p.half_life_ns, p.max_suppress_ns));
  for (const auto& [pattern, bps] : c.pfc.port_speeds) port_speeds.append(py::make_tuple(pattern, bps));
  for (const auto& [port, mac] : c.lldp.own_macs) own_macs.append(py::make_tuple(port, mac));
  d["windows"] = windows;
  d["dampening"] = dampening;
  d["detection_ns"] = c.pfc.detection_ns;
  d["restoration_ns"] = c.pfc.restoration_ns;
  d["storm_duty"] = c.pfc.storm_duty;
  d["pause_window_ns"] = c.pfc.window_ns;
  d["default_speed_bps"] = c.pfc.default_speed_bps;
  d["port_speeds"] = port_speeds;
  d["own_macs"] = own_macs;
  return d;
}

py::dict presets() {
  py::dict windows, dampening, storm_rules;
  for (const auto& w : window_presets()) windows[py::str(w.name)] = window_to_python(w);
  for (const auto& p : dampening_presets()) dampening[py::str(p.name)] = dampening_to_python(p);
  for (const auto& r : kStormRules) storm_rules[r.name] = r.duty;
  py::dict d;
  d["window_policies"] = windows;
  d["dampening_policies"] = dampening;
  d["storm_rules"] = storm_rules;
  return d;
}

// One (device, iface) pair per path, "" for none (io/capture_reader.hpp, PortNaming).
std::vector<PortNaming> port_naming(const std::vector<std::pair<std::string, std::string>>& naming) {
  std::vector<PortNaming> out;
  out.reserve(naming.size());
  for (const auto& [device, iface] : naming) out.push_back(PortNaming{device, iface});
  return out;
}

// Counter samples from Python: (ts_ns, read_ns, interface, refresh_ns, flags, values),
// values = [(meaning, direction, priority, unit, width, value), ...] with meaning and
// unit as indices of counter_meanings() / ("frames", "us", "events"), direction 0 none,
// 1 rx, 2 tx (flapwatch/counters.hpp).
using PyCounterValue = std::tuple<int, int, int, int, int, uint64_t>;
using PyCounterSample = std::tuple<int64_t, int64_t, std::string, int64_t, int, std::vector<PyCounterValue>>;
CounterSample counter_sample(const PyCounterSample& t) {
  CounterSample s;
  const auto& [ts, read_ns, iface, refresh, flags, values] = t;
  s.ts_ns = ts;
  s.read_ns = read_ns;
  s.interface = iface;
  s.refresh_ns = refresh;
  s.flags = static_cast<uint8_t>(flags);
  for (const auto& [meaning, dir, prio, unit, width, value] : values) {
    if (meaning < 0 || meaning >= kCounterMeanings || unit < 0 || unit > 2 || (width != 32 && width != 64))
      throw std::invalid_argument("counter value: meaning, unit or width out of range");
    s.values.push_back(CounterValue{static_cast<CounterMeaning>(meaning), static_cast<int8_t>(dir),
                                    static_cast<int8_t>(prio), static_cast<CounterUnit>(unit),
                                    static_cast<uint8_t>(width), value});
  }
  return s;
}

// Driver profiles from Python: (driver, aliases, refresh_ns, [(pattern, prio_group,
// meaning, direction, unit, width), ...]), patterns in ECMAScript syntax.
using PyRule = std::tuple<std::string, int, int, int, int, int>;
using PyProfile = std::tuple<std::string, std::vector<std::string>, int64_t, std::vector<PyRule>>;
std::vector<CounterProfile> counter_profiles(const std::vector<PyProfile>& in) {
  std::vector<CounterProfile> out;
  for (const auto& [driver, aliases, refresh, rules] : in) {
    CounterProfile p{driver, aliases, refresh, {}};
    for (const auto& [pattern, group, meaning, dir, unit, width] : rules)
      p.rules.push_back(CounterRuleSpec{pattern, group, static_cast<CounterMeaning>(meaning), static_cast<int8_t>(dir),
                                        static_cast<CounterUnit>(unit), static_cast<uint8_t>(width)});
    out.push_back(std::move(p));
  }
  return out;
}

// Captures merged by time through the trackers; returns detections as columns.
// Bytes consumed by a running analyze(); read from another Python thread for progress.
struct Progress {
  std::atomic<uint64_t> bytes{0};
};

// analyze()'s call: the configuration and the samples taken with the GIL, the captures
// run through the engine without it (run(), on any thread), the detections moved into
// numpy with it (result()). Not movable: the options point into it.
struct AnalyzeCall {
  AnalyzeCall(std::vector<std::string> paths_, const py::dict& config, bool strict, size_t ring_capacity,
              Progress* progress, const std::vector<std::pair<std::string, std::string>>& naming,
              const std::vector<PyCounterSample>& samples, unsigned threads, uint64_t range_bytes)
      : paths(std::move(paths_)), cfg(engine_config(config)), engine(cfg, strings),
        opts{strict, ring_capacity, progress ? &progress->bytes : nullptr, port_naming(naming)} {
    std::vector<uint32_t> seq;
    for (const auto& t : samples) {
      CounterSample s = counter_sample(t);
      int32_t port = strings.intern(s.interface);
      if (static_cast<size_t>(port) >= seq.size()) seq.resize(static_cast<size_t>(port) + 1);
      sample_records(s, port, ++seq[static_cast<size_t>(port)], [&](const Record& r) { extra.push_back(r); });
    }
    std::stable_sort(extra.begin(), extra.end(), [](const Record& a, const Record& b) { return a.ts_ns < b.ts_ns; });
    opts.extra = &extra;
    opts.threads = threads;
    opts.range_bytes = range_bytes;
  }
  AnalyzeCall(const AnalyzeCall&) = delete;
  AnalyzeCall& operator=(const AnalyzeCall&) = delete;

  void run() { pipeline = run_pipeline(paths, strings, engine, cfg, opts); }

  py::dict result() {
    py::dict out;
    out["tables"] = to_python(engine.detections());
    out["strings"] = strings.snapshot_from(0);
    out["counts"] = counts_to_python(pipeline.counts);
    out["records"] = pipeline.records;
    out["ring_full_waits"] = pipeline.ring_full_waits;
    out["ranges"] = pipeline.ranges;
    out["ranges_redecoded"] = pipeline.ranges_redecoded;
    out["ranges_fell_back"] = pipeline.ranges_fell_back;
    out["first_ns"] = engine.first_ns();
    out["last_ns"] = engine.last_ns();
    out["warnings"] = pipeline.warnings;
    return out;
  }

  std::vector<std::string> paths;
  EngineConfig cfg;
  StringTable strings;
  Engine engine;
  std::vector<Record> extra;  // the samples' records, in time order
  PipelineOptions opts;
  PipelineResult pipeline;
};

py::dict analyze(const std::vector<std::string>& paths, const py::dict& config, bool strict, size_t ring_capacity,
                 Progress* progress, const std::vector<std::pair<std::string, std::string>>& naming,
                 const std::vector<PyCounterSample>& samples, unsigned threads, uint64_t range_bytes) {
  AnalyzeCall call(paths, config, strict, ring_capacity, progress, naming, samples, threads, range_bytes);
  {
    py::gil_scoped_release release;
    call.run();
  }
  return call.result();
}

// `flapwatch inspect`'s summary of the captures: the dict present/summary.py's
// CaptureSummary.to_json() gives (same keys, order and values), read with up to `threads`
// readers per big file, the GIL released meanwhile.
py::dict inspect(const std::vector<std::string>& paths, bool strict, unsigned threads, uint64_t min_range_bytes) {
  StringTable strings;
  CaptureSummary s(strings);
  {
    py::gil_scoped_release release;
    summarize_captures(paths, s, strings, strict, threads, min_range_bytes);
  }
  auto text = [&](int32_t i) -> py::object { return i >= 0 ? py::object(py::str(strings[i])) : py::none(); };
  auto per_priority = [](const std::array<int64_t, 8>& f, const std::array<int64_t, 8>& q) {
    py::list out;
    for (int i = 0; i < 8; ++i) {
      py::dict d;
      d["priority"] = i;
      d["frames"] = f[static_cast<size_t>(i)];
      d["quanta_sum"] = q[static_cast<size_t>(i)];
      out.append(d);
    }
    return out;
  };
  auto by_name = [&](const auto& per_port) {  // (name, port) of the ports seen, sorted by name
    std::vector<std::pair<std::string, size_t>> out;
    for (size_t p = 0; p < per_port.size(); ++p)
      if (per_port[p].seen) out.emplace_back(strings[static_cast<int32_t>(p)], p);
    std::sort(out.begin(), out.end());
    return out;
  };
  std::vector<const CaptureSummary::Neighbor*> heard, own;  // neighbors(), and the ports' own LLDPDUs
  for (const auto& n : s.neighbors) (s.own(n) ? own : heard).push_back(&n);
  auto speed_of = [&](int32_t port) {  // the last speed a neighbor on the port announced, 0 unknown
    int64_t bps = 0;
    for (const auto* n : heard) {
      int64_t v = n->last_speed ? n->last_speed : n->first_speed;
      if (n->port == port && v) bps = v;
    }
    return bps;
  };
  py::dict out;
  out["files"] = paths;
  out["frames"] = s.counts.frames();
  out["counts"] = counts_to_python(s.counts);
  out["first_ts_ns"] = s.any_ts ? py::object(py::int_(s.first_ts_ns)) : py::none();
  out["last_ts_ns"] = s.any_ts ? py::object(py::int_(s.last_ts_ns)) : py::none();
  std::array<int64_t, 8> total_f{}, total_q{};
  py::dict pfc_per_port;
  for (const auto& [name, p] : by_name(s.pfc)) {
    for (size_t i = 0; i < 8; ++i) {
      total_f[i] += s.pfc[p].frames[i];
      total_q[i] += s.pfc[p].quanta[i];
    }
    pfc_per_port[py::str(name)] = per_priority(s.pfc[p].frames, s.pfc[p].quanta);
  }
  out["pfc_per_priority"] = per_priority(total_f, total_q);
  out["pfc_per_port"] = pfc_per_port;
  int64_t pause_frames = 0, pause_quanta = 0;
  py::dict pause_per_port;
  for (const auto& [name, p] : by_name(s.pause)) {
    const auto& v = s.pause[p];
    pause_frames += v.frames;
    pause_quanta += v.quanta;
    int64_t bps = speed_of(static_cast<int32_t>(p));
    py::dict d;
    d["frames"] = v.frames;
    d["quanta_sum"] = v.quanta;
    d["speed_bps"] = bps ? py::object(py::int_(bps)) : py::none();
    // Python's int / int: exact, correctly rounded (quanta x 512 may pass 2^53).
    d["pause_seconds"] = bps ? py::int_(v.quanta * 512).attr("__truediv__")(py::int_(bps)) : py::none();
    pause_per_port[py::str(name)] = d;
  }
  out["pause_frames"] = pause_frames;
  out["pause_quanta_sum"] = pause_quanta;
  out["pause_per_port"] = pause_per_port;
  py::list neighbors;
  for (const auto* n : heard) {
    py::dict d;
    d["port"] = strings[n->port];
    d["chassis_id"] = strings[n->chassis_id];
    d["port_id"] = strings[n->port_id];
    d["ttl"] = n->last_ttl >= 0 ? n->last_ttl : n->first_ttl;
    d["system_name"] = text(n->last_name != -2 ? n->last_name : n->first_name);
    int64_t bps = n->last_speed ? n->last_speed : n->first_speed;
    d["speed_bps"] = bps ? py::object(py::int_(bps)) : py::none();
    d["frames"] = n->frames;
    d["shutdowns"] = n->shutdowns;
    neighbors.append(d);
  }
  out["lldp_neighbors"] = neighbors;
  py::dict own_frames;
  for (const auto* n : own) {
    py::str port(strings[n->port]);
    own_frames[port] = (own_frames.contains(port) ? own_frames[port].cast<int64_t>() : 0) + n->frames;
  }
  out["lldp_own_frames"] = own_frames;
  py::list links;
  for (const auto& l : s.links) {
    py::dict d;
    d["port"] = strings[l.port];
    d["ifindex"] = l.ifindex;
    d["messages"] = l.messages;
    d["first_ts_ns"] = l.first_ts_ns;
    d["last_ts_ns"] = l.last_ts_ns;
    d["operstate"] = l.operstate;
    d["carrier"] = l.carrier;
    d["carrier_changes"] = l.carrier_changes;
    d["carrier_up_count"] = l.carrier_up_count;
    d["carrier_down_count"] = l.carrier_down_count;
    d["down_messages"] = l.down_messages;
    links.append(d);
  }
  out["link_per_port"] = links;
  py::dict malformed;
  for (const auto& [reason, n] : s.malformed) malformed[py::str(strings[reason])] = n;
  out["malformed_reasons"] = malformed;
  out["warnings"] = s.warnings;
  return out;
}

// analyze() run on a thread of its own from the start (a replay's command line starts one
// before it has parsed its words: python/flapwatch/detect/prestart.py). result() waits for it
// without the GIL and makes its result with it, on the caller's thread: no Python runs on the
// call's thread (an import there, numpy's, would race the caller's own). Destroyed
// unfinished, it waits for the run to end.
class StartedAnalyze {
 public:
  explicit StartedAnalyze(std::unique_ptr<AnalyzeCall> call) : call_(std::move(call)) {
    thread_ = std::thread([this] {
      try {
        call_->run();
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  StartedAnalyze(const StartedAnalyze&) = delete;
  StartedAnalyze& operator=(const StartedAnalyze&) = delete;
  ~StartedAnalyze() {
    if (thread_.joinable()) thread_.join();
  }

  py::dict result() {
    if (taken_) throw std::logic_error("the started analysis' result was taken already");
    {
      py::gil_scoped_release release;
      thread_.join();
    }
    taken_ = true;
    if (error_) std::rethrow_exception(error_);
    return call_->result();
  }

 private:
  std::unique_ptr<AnalyzeCall> call_;
  std::exception_ptr error_;
  bool taken_ = false;
  std::thread thread_;
};

// A followed capture: poll() for frames written since, new_rows() for detections since.
class PyFollowSession {
 public:
  PyFollowSession(const std::vector<std::string>& paths, const py::dict& config,
                  const std::vector<std::pair<std::string, std::string>>& naming)
      : session_(paths, engine_config(config), port_naming(naming)) {}

  int64_t poll(int64_t max_frames) {
    py::gil_scoped_release release;
    return session_.poll(max_frames);
  }
  py::dict new_rows() {
    py::dict out;
    session_.take_new_rows([&](const char* name, auto& table, size_t start) { out[name] = rows_from(table, start); });
    return out;
  }
  // Ends the session; returns every table whole.
  py::dict finish() {
    session_.finish();
    return new_rows();
  }
  std::vector<std::string> strings_from(size_t start) const { return session_.strings().snapshot_from(start); }

  FollowSession session_;
};

// The live agent: C++ threads read and track; Python polls for new detection rows.
class PyLiveAgent {
 public:
  PyLiveAgent(const py::dict& config, std::vector<std::string> interfaces, bool netlink, std::string record,
              size_t ring_capacity, uint64_t rotate_bytes, double rotate_interval_s, unsigned keep)
      : agent_(engine_config(config),
               LiveOptions{std::move(interfaces), netlink, ring_capacity, std::move(record),
                           RotationOptions{rotate_bytes, static_cast<int64_t>(rotate_interval_s * 1e9), keep}}) {}

  void start() { agent_.start(); }
  void stop() {
    py::gil_scoped_release release;
    agent_.stop();
  }
  // Hands the rows over and drops them from the engine: memory stays flat however
  // long the agent runs.
  py::dict new_rows() {
    return agent_.with_engine([&](Engine& e) {
      py::dict out;
      e.detections().for_each_table([&](const char* name, auto& table) { out[name] = rows_from(table, 0); });
      e.clear_detections();
      return out;
    });
  }
  py::dict ports() {
    PortTable t = agent_.port_snapshot();
    return columns_to_python(t);
  }
  // What the counters alone saw, per port (string index): the paused ns of slots 0..8
  // (8: 802.3x PAUSE) and the PHY link-downs without a carrier change; the engine's
  // totals since it started (or since the last reconfigure()).
  py::list counter_totals() {
    return agent_.with_engine([&](Engine& e) {
      py::list out;
      const CounterTracker& c = e.counters();
      for (size_t p = 0; p < c.port_count(); ++p) {
        auto port = static_cast<int32_t>(p);
        if (!c.has_port(port)) continue;
        std::vector<int64_t> paused(9);
        for (int slot = 0; slot < 9; ++slot) paused[static_cast<size_t>(slot)] = c.paused_ns(port, slot);
        out.append(py::make_tuple(port, paused, c.phy_flaps(port)));
      }
      return out;
    });
  }
  void reconfigure(const py::dict& config) { agent_.reconfigure(engine_config(config)); }
  void configure_counters(std::vector<std::string> interfaces, int64_t interval_ns, const std::vector<PyProfile>& profiles,
                          std::string driver, size_t keep_raw, bool netlink_extras) {
    CounterOptions c;
    c.enabled = true;
    c.interfaces = std::move(interfaces);
    c.interval_ns = interval_ns;
    c.profiles = counter_profiles(profiles);
    c.driver = std::move(driver);
    c.keep_raw = keep_raw;
    c.netlink_extras = netlink_extras;
    agent_.configure_counters(std::move(c));
  }
  bool push_link(int64_t ts_ns, const std::string& iface, bool up, int64_t changes, int64_t ups, int64_t downs,
                 bool baseline) {
    LinkEvent e;
    e.baseline = baseline;
    e.ts_ns = ts_ns;
    e.interface = iface;
    e.up = up;
    e.carrier_changes = changes;
    e.carrier_up_count = ups;
    e.carrier_down_count = downs;
    return agent_.push_link(e);
  }
  bool push_counters(const PyCounterSample& t) { return agent_.push_counters(counter_sample(t)); }
  py::list raw_counter_samples() {
    py::list out;
    for (auto& r : agent_.take_raw_counter_samples())
      out.append(py::make_tuple(r.ts_ns, r.read_ns, r.interface, r.names_reread, *r.names, r.values));
    return out;
  }
  py::dict stats() {
    LiveStats s = agent_.stats();
    py::dict d;
    d["frames"] = s.frames;
    d["records"] = s.records;
    d["ring_dropped"] = s.ring_dropped;
    d["kernel_drops"] = s.kernel_drops;
    d["netlink_overruns"] = s.netlink_overruns;
    d["notices"] = s.notices;
    d["recording"] = s.recording;
    d["record_packets"] = s.record_packets;
    d["record_bytes"] = s.record_bytes;
    d["record_rotations"] = s.record_rotations;
    d["record_errors"] = s.record_errors;
    d["reloads"] = s.reloads;
    py::dict c;
    c["samples"] = s.counters.samples;
    c["reads_failed"] = s.counters.reads_failed;
    c["name_rereads"] = s.counters.name_rereads;
    c["dropped"] = s.counters.dropped;
    c["pushed"] = s.counters.pushed;
    c["push_dropped"] = s.counters.push_dropped;
    c["read_ns_total"] = s.counters.read_ns_total;
    d["counters"] = c;
    return d;
  }
  std::vector<std::string> strings_from(size_t start) { return agent_.strings().snapshot_from(start); }

  LiveAgent agent_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "flapwatch C++ core: capture readers and decoders";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CaptureError& e) {
      py::object cls = py::module_::import("flapwatch.errors").attr("CaptureError");
      py::object err = cls(e.path(), e.offset(), e.reason());
      PyErr_SetObject(cls.ptr(), err.ptr());
    } catch (const std::system_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });

  py::class_<Progress>(m, "Progress")
      .def(py::init<>())
      .def_property_readonly("bytes", [](const Progress& p) { return p.bytes.load(std::memory_order_relaxed); });

  m.def(
      "column_pool_stats",
      [] {
        auto s = ColumnPool::instance().stats();
        py::dict d;
        d["mapped"] = s.mapped;
        d["reused"] = s.reused;
        d["kept"] = s.kept;
        d["kept_bytes"] = s.kept_bytes;
        return d;
      },
      "Big column buffers mapped, reused from the pool, and kept for reuse now.");
  m.def("trim_column_pool", [] { ColumnPool::instance().trim(); },
        "Give the column buffers kept for reuse back to the system.");

  m.def(
      "set_window_mode",
      [](const std::string& mode) {
        if (mode == "auto") set_window_mode(WindowMode::automatic);
        else if (mode == "map") set_window_mode(WindowMode::map);
        else if (mode == "read") set_window_mode(WindowMode::read);
        else throw py::value_error("the window mode is auto, map or read; got " + mode);
      },
      py::arg("mode"),
      "How every reader of the process takes big windows of regular uncompressed files: auto (mapped or read "
      "by what each costs lately), map or read (io/block_buffer.hpp). The results are the same.");
  m.def(
      "window_stats",
      [] {
        WindowStats s = window_stats();
        static const char* const modes[] = {"auto", "map", "read"};
        py::dict d;
        d["mode"] = modes[static_cast<int>(window_mode())];
        d["mapped_bytes"] = s.mapped_bytes;
        d["read_bytes"] = s.read_bytes;
        d["map_ns_per_mib"] = s.map_ns_per_mib;
        d["read_ns_per_mib"] = s.read_ns_per_mib;
        return d;
      },
      "The window mode; the bytes of big windows mapped and read by every reader of the process so far, and what "
      "each kind cost when last measured (ns per MiB, 0: not measured).");

  m.def("default_config", &default_config,
        "The core's default configuration, with the field names and units of flapwatch's Config.");
  m.def("engine_defaults", &engine_defaults,
        "The core's default configuration as Config.to_core() gives one to analyze() (nanoseconds, policies as tuples).");
  m.def("presets", &presets,
        "The core's named presets: {window_policies: {name: policy}, dampening_policies: ..., storm_rules: {name: duty}}.");

  m.def("analyze", &analyze, py::arg("paths"), py::arg("config"), py::arg("strict") = false,
        py::arg("ring_capacity") = PipelineOptions{}.ring_capacity, py::arg("progress") = nullptr,
        py::arg("naming") = std::vector<std::pair<std::string, std::string>>{},
        py::arg("samples") = std::vector<PyCounterSample>{}, py::arg("threads") = 1,
        py::arg("range_bytes") = PipelineOptions{}.range_bytes,
        "Run the captures, merged by time, through the trackers; returns {tables, strings, counts, ...}. "
        "threads: for one big uncompressed capture, threads decoding ranges of range_bytes while another feeds the trackers (the result the same); 0: one reader feeding them record by record, whatever the input. "
        "naming: one (device, iface) pair per path ('' for none) naming its ports (docs/DECODE_RULES.md, Ports). "
        "samples: counter samples (ts_ns, read_ns, interface, refresh_ns, flags, [(meaning, direction, priority, "
        "unit, width, value), ...]) merged by time with the captures.");
  py::class_<StartedAnalyze>(m, "StartedAnalyze")
      .def("result", &StartedAnalyze::result,
           "Waits for the run (the GIL released) and returns what analyze() would have.");
  m.def(
      "start_analyze",
      [](const std::vector<std::string>& paths, const py::dict& config, bool strict, size_t ring_capacity,
         Progress* progress, const std::vector<std::pair<std::string, std::string>>& naming,
         const std::vector<PyCounterSample>& samples, unsigned threads, uint64_t range_bytes) {
        return std::make_unique<StartedAnalyze>(std::make_unique<AnalyzeCall>(
            paths, config, strict, ring_capacity, progress, naming, samples, threads, range_bytes));
      },
      py::keep_alive<0, 5>(),  // the progress the run writes to lives as long as the run
      py::arg("paths"), py::arg("config"), py::arg("strict") = false,
      py::arg("ring_capacity") = PipelineOptions{}.ring_capacity, py::arg("progress") = nullptr,
      py::arg("naming") = std::vector<std::pair<std::string, std::string>>{},
      py::arg("samples") = std::vector<PyCounterSample>{}, py::arg("threads") = 1,
      py::arg("range_bytes") = PipelineOptions{}.range_bytes,
      "analyze(), started on a thread of its own; its result() is analyze()'s.");
  m.def("inspect", &inspect, py::arg("paths"), py::arg("strict") = false, py::arg("threads") = 1,
        py::arg("min_range_bytes") = kMinRangeBytes,
        "`flapwatch inspect`'s summary of the captures (the dict of present/summary.py's CaptureSummary.to_json()), "
        "summed as they are decoded (no columns); threads: readers per uncompressed file, each on a range of at "
        "least min_range_bytes; the result the same.");
  m.def(
      "split_capture",
      [](const std::string& path, unsigned parts, uint64_t min_bytes) {
        std::vector<uint64_t> begins;
        for (const auto& r : split_capture(path, parts, min_bytes)) begins.push_back(r.begin);
        return begins;
      },
      py::arg("path"), py::arg("parts"), py::arg("min_bytes") = 0,
      "Where readers on `parts` threads would start (io/capture_split.hpp): the ranges' first bytes, [] none.");
  m.def("counter_meanings", [] { return std::vector<std::string>(kCounterMeaningNames, kCounterMeaningNames + kCounterMeanings); },
        "The counter meanings, in the order counter samples index them (flapwatch/counters.hpp).");
  py::class_<EthtoolReader>(m, "EthtoolReader", "`ethtool -S IFACE` by ioctl (GSSET_INFO, GSTRINGS, GSTATS).")
      .def(py::init<std::string>(), py::arg("interface"))
      .def(
          "read",
          [](EthtoolReader& r) -> py::object {
            bool ok;
            {
              py::gil_scoped_release release;
              ok = r.read();
            }
            if (!ok) throw std::system_error(std::error_code(), r.interface() + ": " + r.error());
            return py::make_tuple(r.ts_ns(), r.read_ns(), r.names(), r.values(), r.names_changed());
          },
          "(ts_ns, read_ns, names, values, names_changed); OSError when the interface has no statistics.")
      .def("driver", &EthtoolReader::driver)
      .def_property_readonly("name_rereads", &EthtoolReader::name_rereads);

  py::class_<PcapngWriter>(m, "PcapngWriter")
      .def(py::init<const std::string&, std::string_view>(), py::arg("path"), py::arg("application") = "flapwatch")
      .def("add_interface", &PcapngWriter::add_interface, py::arg("name"), py::arg("linktype"),
           py::arg("snaplen") = 262144)
      .def(
          "write_packet",
          [](PcapngWriter& w, uint32_t iface, int64_t ts_ns, py::bytes data, int64_t origlen) {
            std::string_view v = data;
            auto caplen = static_cast<uint32_t>(v.size());
            w.write_packet(iface, ts_ns, reinterpret_cast<const uint8_t*>(v.data()), caplen,
                           origlen < 0 ? caplen : static_cast<uint32_t>(origlen));
          },
          py::arg("interface_id"), py::arg("ts_ns"), py::arg("data"), py::arg("origlen") = -1)
      .def("flush", &PcapngWriter::flush)
      .def("close", &PcapngWriter::close)
      .def_property_readonly("packets", &PcapngWriter::packets);

  py::class_<PyLiveAgent>(m, "LiveAgent")
      .def(py::init<const py::dict&, std::vector<std::string>, bool, std::string, size_t, uint64_t, double, unsigned>(),
           py::arg("config"), py::arg("interfaces"), py::arg("netlink") = true, py::arg("record") = "",
           py::arg("ring_capacity") = size_t(1) << 16, py::arg("rotate_bytes") = 0, py::arg("rotate_interval_s") = 0.0,
           py::arg("keep") = 0,
           "record: a pcapng of every consumed frame; it rotates when a file would pass rotate_bytes or has run "
           "rotate_interval_s (0: never), keeping FILE.1 (newest) .. FILE.keep besides FILE.")
      .def("start", &PyLiveAgent::start)
      .def("stop", &PyLiveAgent::stop)
      .def("new_rows", &PyLiveAgent::new_rows, "Detection rows added since the last call, per table (copies).")
      .def("ports", &PyLiveAgent::ports, "The per-port table as of now.")
      .def("counter_totals", &PyLiveAgent::counter_totals,
           "Per port seen in counter samples: (port string index, paused ns of slots 0..8 (8: 802.3x PAUSE), "
           "PHY link-downs without a carrier change).")
      .def("stats", &PyLiveAgent::stats)
      .def("reconfigure", &PyLiveAgent::reconfigure, py::arg("config"),
           "Validates the configuration (ValueError: the running one stays) and applies it between two records.")
      .def("strings_from", &PyLiveAgent::strings_from, py::arg("start") = 0)
      .def("configure_counters", &PyLiveAgent::configure_counters, py::arg("interfaces"), py::arg("interval_ns"),
           py::arg("profiles"), py::arg("driver") = "", py::arg("keep_raw") = 0, py::arg("netlink_extras") = true,
           "Before start(): poll these interfaces' counters (empty: the capture interfaces) every interval_ns.")
      .def("push_link", &PyLiveAgent::push_link, py::arg("ts_ns"), py::arg("interface"), py::arg("up"),
           py::arg("carrier_changes") = -1, py::arg("carrier_up_count") = -1, py::arg("carrier_down_count") = -1,
           py::arg("baseline") = false,
           "An embedder's link event, into the trackers; False when the push ring is full. baseline: a state "
           "read (a port's first is no edge), not a change seen.")
      .def("push_counters", &PyLiveAgent::push_counters, py::arg("sample"),
           "An embedder's counter sample (as analyze()'s samples), into the trackers; False when the ring is full.")
      .def("raw_counter_samples", &PyLiveAgent::raw_counter_samples,
           "The raw reads kept (keep_raw): (ts_ns, read_ns, interface, names_reread, names, values).");

  py::class_<PyFollowSession>(m, "FollowSession")
      .def(py::init<const std::vector<std::string>&, const py::dict&,
                    const std::vector<std::pair<std::string, std::string>>&>(),
           py::arg("paths"), py::arg("config"), py::arg("naming") = std::vector<std::pair<std::string, std::string>>{})
      .def("poll", &PyFollowSession::poll, py::arg("max_frames") = 0)
      .def("new_rows", &PyFollowSession::new_rows)
      .def("finish", &PyFollowSession::finish)
      .def("strings_from", &PyFollowSession::strings_from, py::arg("start") = 0)
      .def_property_readonly("counts", [](const PyFollowSession& s) { return counts_to_python(s.session_.counts()); })
      .def_property_readonly("first_ns", [](PyFollowSession& s) { return s.session_.engine().first_ns(); })
      .def_property_readonly("last_ns", [](PyFollowSession& s) { return s.session_.engine().last_ns(); });

  py::class_<PyCaptureFile>(m, "CaptureFile")
      .def(py::init<const std::string&, bool, std::string, std::string>(), py::arg("path"), py::arg("strict") = false,
           py::arg("device") = "", py::arg("iface") = "")
      .def("read", &PyCaptureFile::read, py::arg("max_frames") = 0,
           "Decode up to max_frames frames (all when <= 0); returns {table: {column: ndarray}}.")
      .def("strings_from", &PyCaptureFile::strings_from, py::arg("start") = 0)
      .def_property_readonly("counts", [](const PyCaptureFile& f) { return counts_to_python(f.file_.counts()); })
      .def_property_readonly("frames", [](const PyCaptureFile& f) { return f.file_.counts().frames(); })
      .def_property_readonly("done", [](const PyCaptureFile& f) { return f.file_.done(); })
      .def_property_readonly("warnings", [](const PyCaptureFile& f) { return f.file_.warnings(); })
      .def_property_readonly("path", [](const PyCaptureFile& f) { return f.file_.path(); })
      .def_property_readonly("format",
                             [](const PyCaptureFile& f) { return f.file_.reader().is_pcapng() ? "pcapng" : "pcap"; })
      .def_property_readonly("compressed", [](const PyCaptureFile& f) { return f.file_.reader().compressed(); });
}
