// The Python binding, and nothing else: it moves C++ columns into numpy arrays
// without copying (each array owns its std::vector through a capsule), releases
// the GIL while C++ reads, and maps CaptureError to flapwatch.errors.CaptureError.
// Plain functions and dicts of 1-D arrays only, so nanobind could bind it the same way.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>

#include "flapwatch/capture.hpp"
#include "flapwatch/error.hpp"
#include "flapwatch/follow_session.hpp"
#include "flapwatch/io/pcapng_writer.hpp"
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

template <class Tables>
py::dict to_python(Tables& batch) {
  py::dict tables;
  batch.for_each_table([&](const char* name, auto& table) {
    py::dict columns;
    table.for_each_column([&](const char* column, auto& values) { columns[column] = to_numpy(values); });
    tables[name] = columns;
  });
  return tables;
}

// One capture being read; Python's Capture / iter_capture drive it.
class PyCaptureFile {
 public:
  PyCaptureFile(const std::string& path, bool strict) : file_(path, ReadOptions{strict}) {}

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

  py::dict counts() const {
    py::dict d;
    for (int k = 0; k < kFrameKinds; ++k) d[kFrameKindNames[k]] = file_.counts().by_kind[k];
    return d;
  }

  CaptureFile file_;
};

// Rows [from, size) of every table, copied (follow mode hands out small increments).
template <class Tables>
py::dict rows_since(Tables& tables, const std::map<std::string, size_t>& from) {
  py::dict out;
  tables.for_each_table([&](const char* name, auto& table) {
    size_t start = from.count(name) ? from.at(name) : 0;
    py::dict columns;
    table.for_each_column([&](const char* column, auto& values) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      size_t n = values.size() > start ? values.size() - start : 0;
      py::array_t<T> a(static_cast<py::ssize_t>(n));
      if (n) std::memcpy(a.mutable_data(), values.data() + start, n * sizeof(T));
      columns[column] = a;
    });
    out[name] = columns;
  });
  return out;
}

template <class T>
T get(const py::dict& d, const char* key, T fallback) {
  return d.contains(key) ? d[key].cast<T>() : fallback;
}

// The engine configuration from a flat dict (flapwatch.analysis.Config.to_core()).
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
      l.dampening.push_back({name, penalty, reuse, suppress, half_life, max_suppress});
  }
  PfcConfig& p = c.pfc;
  p.detection_ns = get(d, "detection_ns", p.detection_ns);
  p.restoration_ns = get(d, "restoration_ns", p.restoration_ns);
  p.storm_duty = get(d, "storm_duty", p.storm_duty);
  p.window_ns = get(d, "pause_window_ns", p.window_ns);
  p.default_speed_bps = get(d, "default_speed_bps", p.default_speed_bps);
  if (d.contains("port_speeds")) p.port_speeds = d["port_speeds"].cast<std::vector<std::pair<std::string, int64_t>>>();
  Selection& sel = c.selection;
  if (d.contains("ports")) sel.ports = d["ports"].cast<std::vector<std::string>>();
  if (d.contains("since_ns") && !d["since_ns"].is_none()) sel.since_ns = d["since_ns"].cast<int64_t>();
  if (d.contains("until_ns") && !d["until_ns"].is_none()) sel.until_ns = d["until_ns"].cast<int64_t>();
  if (p.window_ns <= 0 || p.detection_ns < 0 || p.restoration_ns < 0 || p.default_speed_bps <= 0)
    throw py::value_error("pause_window_ns and default_speed_bps must be positive, detection/restoration >= 0");
  for (const auto& w : l.windows)
    if (w.count <= 0 || w.window_ns <= 0) throw py::value_error("window policy " + w.name + ": count and window > 0");
  for (const auto& dp : l.dampening)
    if (dp.half_life_ns <= 0 || dp.reuse <= 0 || dp.suppress <= dp.reuse)
      throw py::value_error("dampening policy " + dp.name + ": half-life > 0 and suppress > reuse > 0");
  return c;
}

// Captures merged by time through the trackers; returns detections as columns.
// Bytes consumed by a running analyze(); read from another Python thread for progress.
struct Progress {
  std::atomic<uint64_t> bytes{0};
};

py::dict analyze(const std::vector<std::string>& paths, const py::dict& config, bool strict, size_t ring_capacity,
                 Progress* progress) {
  EngineConfig cfg = engine_config(config);
  StringTable strings;
  Engine engine(cfg, strings);
  PipelineResult result;
  {
    py::gil_scoped_release release;
    result = run_pipeline(paths, strings, engine, cfg,
                          PipelineOptions{strict, ring_capacity, progress ? &progress->bytes : nullptr});
  }
  py::dict out;
  out["tables"] = to_python(engine.detections());
  out["strings"] = strings.snapshot_from(0);
  py::dict counts;
  for (int k = 0; k < kFrameKinds; ++k) counts[kFrameKindNames[k]] = result.counts.by_kind[k];
  out["counts"] = counts;
  out["records"] = result.records;
  out["ring_full_waits"] = result.ring_full_waits;
  out["first_ns"] = engine.first_ns();
  out["last_ns"] = engine.records() ? engine.now() : -1;
  out["warnings"] = result.warnings;
  return out;
}

// A followed capture: poll() for frames written since, new_rows() for detections since.
class PyFollowSession {
 public:
  PyFollowSession(const std::vector<std::string>& paths, const py::dict& config)
      : session_(paths, engine_config(config)) {}

  int64_t poll(int64_t max_frames) {
    py::gil_scoped_release release;
    return session_.poll(max_frames);
  }
  py::dict new_rows() {
    py::dict out = rows_since(session_.engine().detections(), seen_);
    session_.engine().detections().for_each_table([&](const char* name, auto& t) { seen_[name] = t.size(); });
    return out;
  }
  // Ends the session: flushes open state (ports table, pending clears); returns every
  // table whole.
  py::dict finish() {
    session_.finish();
    seen_.clear();
    return new_rows();
  }
  std::vector<std::string> strings_from(size_t start) const { return session_.strings().snapshot_from(start); }
  py::dict counts() const {
    py::dict d;
    for (int k = 0; k < kFrameKinds; ++k) d[kFrameKindNames[k]] = session_.counts().by_kind[k];
    return d;
  }

  FollowSession session_;
  std::map<std::string, size_t> seen_;
};

// The live agent: C++ threads read and track; Python polls for new detection rows.
class PyLiveAgent {
 public:
  PyLiveAgent(const py::dict& config, std::vector<std::string> interfaces, bool netlink, std::string record,
              size_t ring_capacity)
      : agent_(engine_config(config), LiveOptions{std::move(interfaces), netlink, ring_capacity, std::move(record)}) {}

  void start() { agent_.start(); }
  void stop() {
    py::gil_scoped_release release;
    agent_.stop();
  }
  // Hands the rows over and drops them from the engine: memory stays flat however
  // long the agent runs.
  py::dict new_rows() {
    return agent_.with_engine([&](Engine& e) {
      py::dict out = rows_since(e.detections(), {});
      e.clear_detections();
      return out;
    });
  }
  py::dict ports() {
    return agent_.with_engine([&](Engine& e) {
      PortTable t = e.port_snapshot();
      py::dict columns;
      t.for_each_column([&](const char* column, auto& values) { columns[column] = to_numpy(values); });
      return columns;
    });
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

  m.def("analyze", &analyze, py::arg("paths"), py::arg("config"), py::arg("strict") = false,
        py::arg("ring_capacity") = size_t(1) << 14, py::arg("progress") = nullptr,
        "Run the captures, merged by time, through the trackers; returns {tables, strings, counts, ...}.");

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
      .def(py::init<const py::dict&, std::vector<std::string>, bool, std::string, size_t>(), py::arg("config"),
           py::arg("interfaces"), py::arg("netlink") = true, py::arg("record") = "",
           py::arg("ring_capacity") = size_t(1) << 16)
      .def("start", &PyLiveAgent::start)
      .def("stop", &PyLiveAgent::stop)
      .def("new_rows", &PyLiveAgent::new_rows, "Detection rows added since the last call, per table (copies).")
      .def("ports", &PyLiveAgent::ports, "The per-port table as of now.")
      .def("stats", &PyLiveAgent::stats)
      .def("strings_from", &PyLiveAgent::strings_from, py::arg("start") = 0);

  py::class_<PyFollowSession>(m, "FollowSession")
      .def(py::init<const std::vector<std::string>&, const py::dict&>(), py::arg("paths"), py::arg("config"))
      .def("poll", &PyFollowSession::poll, py::arg("max_frames") = 0)
      .def("new_rows", &PyFollowSession::new_rows)
      .def("finish", &PyFollowSession::finish)
      .def("strings_from", &PyFollowSession::strings_from, py::arg("start") = 0)
      .def_property_readonly("counts", &PyFollowSession::counts)
      .def_property_readonly("first_ns", [](PyFollowSession& s) { return s.session_.engine().first_ns(); })
      .def_property_readonly("last_ns", [](PyFollowSession& s) {
        return s.session_.engine().records() ? s.session_.engine().now() : int64_t(-1);
      });

  py::class_<PyCaptureFile>(m, "CaptureFile")
      .def(py::init<const std::string&, bool>(), py::arg("path"), py::arg("strict") = false)
      .def("read", &PyCaptureFile::read, py::arg("max_frames") = 0,
           "Decode up to max_frames frames (all when <= 0); returns {table: {column: ndarray}}.")
      .def("strings_from", &PyCaptureFile::strings_from, py::arg("start") = 0)
      .def_property_readonly("counts", &PyCaptureFile::counts)
      .def_property_readonly("frames", [](const PyCaptureFile& f) { return f.file_.counts().frames(); })
      .def_property_readonly("done", [](const PyCaptureFile& f) { return f.file_.done(); })
      .def_property_readonly("warnings", [](const PyCaptureFile& f) { return f.file_.warnings(); })
      .def_property_readonly("path", [](const PyCaptureFile& f) { return f.file_.path(); })
      .def_property_readonly("format",
                             [](const PyCaptureFile& f) { return f.file_.reader().is_pcapng() ? "pcapng" : "pcap"; })
      .def_property_readonly("compressed", [](const PyCaptureFile& f) { return f.file_.reader().compressed(); });
}
