// The Python binding, and nothing else: it moves C++ columns into numpy arrays
// without copying (each array owns its std::vector through a capsule), releases
// the GIL while C++ reads, and maps CaptureError to flapwatch.errors.CaptureError.
// Plain functions and dicts of 1-D arrays only, so nanobind could bind it the same way.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "flapwatch/capture.hpp"
#include "flapwatch/error.hpp"

namespace py = pybind11;
using namespace flapwatch;

namespace {

template <class T>
py::array to_numpy(std::vector<T>& column) {
  auto* owned = new std::vector<T>(std::move(column));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), owner);
}

py::dict to_python(RecordBatch& batch) {
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
  std::vector<std::string> strings_from(size_t start) const {
    const auto& all = file_.strings().strings();
    if (start >= all.size()) return {};
    return {all.begin() + static_cast<std::ptrdiff_t>(start), all.end()};
  }

  py::dict counts() const {
    py::dict d;
    for (int k = 0; k < kFrameKinds; ++k) d[kFrameKindNames[k]] = file_.counts().by_kind[k];
    return d;
  }

  CaptureFile file_;
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
    }
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
