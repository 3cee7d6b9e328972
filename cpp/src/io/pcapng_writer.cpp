#include "flapwatch/io/pcapng_writer.hpp"

#include <cerrno>
#include <cstring>

#include "flapwatch/error.hpp"

namespace flapwatch {
namespace {

template <class T>
void append(std::vector<uint8_t>& v, T x) {
  const auto* p = reinterpret_cast<const uint8_t*>(&x);
  v.insert(v.end(), p, p + sizeof x);
}

void pad4(std::vector<uint8_t>& v) {
  while (v.size() % 4) v.push_back(0);
}

void option(std::vector<uint8_t>& v, uint16_t code, const void* data, uint16_t len) {
  append(v, code);
  append(v, len);
  const auto* p = static_cast<const uint8_t*>(data);
  v.insert(v.end(), p, p + len);
  pad4(v);
}

}  // namespace

PcapngWriter::PcapngWriter(const std::string& path, std::string_view application) : path_(path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw CaptureError(path, 0, std::string("cannot create: ") + std::strerror(errno));
  std::vector<uint8_t> body;
  append(body, uint32_t{0x1a2b3c4d});  // byte-order magic
  append(body, uint16_t{1});
  append(body, uint16_t{0});
  append(body, int64_t{-1});  // section length unknown: we stream
  option(body, 4, application.data(), static_cast<uint16_t>(application.size()));  // shb_userappl
  append(body, uint32_t{0});  // opt_endofopt
  block(0x0a0d0d0a, body);
}

PcapngWriter::~PcapngWriter() {
  if (f_) std::fclose(f_);
}

void PcapngWriter::put(const void* p, size_t n) {
  if (std::fwrite(p, 1, n, f_) != n) throw CaptureError(path_, bytes_, std::string("write failed: ") + std::strerror(errno));
  bytes_ += n;
}

void PcapngWriter::block(uint32_t type, const std::vector<uint8_t>& body) {
  if (!f_) throw CaptureError(path_, bytes_, "writer is closed");
  uint32_t total = static_cast<uint32_t>(body.size() + 12);
  put(&type, 4);
  put(&total, 4);
  put(body.data(), body.size());
  put(&total, 4);
}

uint32_t PcapngWriter::add_interface(std::string_view name, uint16_t linktype, uint32_t snaplen) {
  std::vector<uint8_t> body;
  append(body, linktype);
  append(body, uint16_t{0});
  append(body, snaplen);
  option(body, 2, name.data(), static_cast<uint16_t>(std::min<size_t>(name.size(), 0xfff0)));  // if_name
  uint8_t tsresol = 9;  // nanoseconds
  option(body, 9, &tsresol, 1);
  append(body, uint32_t{0});
  block(1, body);
  return interfaces_++;
}

void PcapngWriter::write_packet(uint32_t iface, int64_t ts_ns, const uint8_t* data, uint32_t caplen,
                                uint32_t origlen) {
  if (iface >= interfaces_) throw CaptureError(path_, bytes_, "packet for undefined interface " + std::to_string(iface));
  scratch_.clear();
  auto ts = static_cast<uint64_t>(ts_ns);
  append(scratch_, iface);
  append(scratch_, static_cast<uint32_t>(ts >> 32));
  append(scratch_, static_cast<uint32_t>(ts & 0xffffffffu));
  append(scratch_, caplen);
  append(scratch_, origlen);
  scratch_.insert(scratch_.end(), data, data + caplen);
  pad4(scratch_);
  block(6, scratch_);
  ++packets_;
}

void PcapngWriter::flush() {
  if (f_ && std::fflush(f_) != 0) throw CaptureError(path_, bytes_, std::string("flush failed: ") + std::strerror(errno));
}

void PcapngWriter::close() {
  if (!f_) return;
  std::FILE* f = f_;
  f_ = nullptr;
  if (std::fclose(f) != 0) throw CaptureError(path_, bytes_, std::string("close failed: ") + std::strerror(errno));
}

}  // namespace flapwatch
