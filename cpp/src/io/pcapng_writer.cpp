#include "flapwatch/io/pcapng_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "flapwatch/error.hpp"

namespace flapwatch {
namespace {

// Grown, then copied into (vector::insert of a few bytes makes g++ 12 warn of overflows
// it imagines).
template <class T>
void append(std::vector<uint8_t>& v, T x) {
  const size_t at = v.size();
  v.resize(at + sizeof x);
  std::memcpy(v.data() + at, &x, sizeof x);
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

void PcapngWriter::write_custom(const std::vector<uint8_t>& data, bool copyable) {
  scratch_.assign(data.begin(), data.end());
  pad4(scratch_);
  block(copyable ? 0x00000BADu : 0x40000BADu, scratch_);
  ++custom_;
}

void PcapngWriter::flush() {
  if (f_ && std::fflush(f_) != 0) throw CaptureError(path_, bytes_, std::string("flush failed: ") + std::strerror(errno));
  flushed_ = bytes_;
}

uint64_t PcapngWriter::abandon() {
  if (f_) {
    std::fclose(f_);  // its error is the one already reported
    f_ = nullptr;
  }
  // What reached the disk is all blocks up to the last flush and then some prefix of the
  // stream: keep the whole blocks of it (each block starts with its type and length).
  uint64_t keep = flushed_;
  int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0) {
    const auto size = static_cast<uint64_t>(st.st_size);
    uint32_t head[2];
    while (keep + 8 <= size && ::pread(fd, head, 8, static_cast<off_t>(keep)) == 8) {
      if (head[1] < 12 || head[1] % 4 || keep + head[1] > size) break;
      keep += head[1];
    }
    if (keep > 0 && keep < size) (void)::ftruncate(fd, static_cast<off_t>(keep));
  }
  if (fd >= 0) ::close(fd);
  if (keep == 0) ::unlink(path_.c_str());
  return keep;
}

void PcapngWriter::close() {
  if (!f_) return;
  std::FILE* f = f_;
  f_ = nullptr;
  if (std::fclose(f) != 0) throw CaptureError(path_, bytes_, std::string("close failed: ") + std::strerror(errno));
  flushed_ = bytes_;
}

RotatingPcapngWriter::RotatingPcapngWriter(std::string path, std::string application, RotationOptions opts)
    : path_(std::move(path)), application_(std::move(application)), opts_(opts) {
  struct stat st {};
  if (opts_.rotates() && ::stat(path_.c_str(), &st) == 0 && st.st_size > 0) {
    try {
      shift_rotated();  // an earlier run's recording is kept, not overwritten
    } catch (const CaptureError&) {
    }  // then it is overwritten, as without rotation
  }
  open_file();  // throws: a recording that cannot start is a start-up error
}

RotatingPcapngWriter::~RotatingPcapngWriter() { close(); }

std::string RotatingPcapngWriter::error() const {
  std::lock_guard<std::mutex> g(error_mu_);
  return error_;
}

void RotatingPcapngWriter::open_file() {
  file_ = std::make_unique<PcapngWriter>(path_, application_);
  for (const auto& i : interfaces_) file_->add_interface(i.name, i.linktype, i.snaplen);
  file_first_ts_ = -1;
  bytes_.store(file_base_bytes_ + file_->bytes_written(), std::memory_order_relaxed);
}

void RotatingPcapngWriter::shift_rotated() {
  auto gone = [](const std::string& p) {  // removed, or was not there
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw CaptureError(p, 0, std::string("cannot remove: ") + std::strerror(errno));
  };
  auto move = [](const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
      throw CaptureError(from, 0, "cannot rename to " + to + ": " + std::strerror(errno));
  };
  if (opts_.keep == 0) return gone(path_);
  gone(rotated_name(path_, opts_.keep));
  for (unsigned i = opts_.keep - 1; i >= 1; --i) move(rotated_name(path_, i), rotated_name(path_, i + 1));
  move(path_, rotated_name(path_, 1));
}

void RotatingPcapngWriter::rotate() {
  file_->close();
  file_base_bytes_ += file_->bytes_written();
  file_.reset();
  shift_rotated();
  open_file();
  rotations_.fetch_add(1, std::memory_order_relaxed);
}

void RotatingPcapngWriter::fail(const std::string& what) {
  {
    std::lock_guard<std::mutex> g(error_mu_);
    error_ = what;
  }
  errors_.fetch_add(1, std::memory_order_relaxed);
  failed_.store(true, std::memory_order_relaxed);
  if (file_) file_->abandon();
  file_.reset();
}

uint32_t RotatingPcapngWriter::add_interface(std::string_view name, uint16_t linktype, uint32_t snaplen) {
  interfaces_.push_back({std::string(name), linktype, snaplen});
  if (!failed_.load(std::memory_order_relaxed) && file_) {
    try {
      file_->add_interface(name, linktype, snaplen);
      bytes_.store(file_base_bytes_ + file_->bytes_written(), std::memory_order_relaxed);
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  return static_cast<uint32_t>(interfaces_.size() - 1);
}

bool RotatingPcapngWriter::write_packet(uint32_t iface, int64_t ts_ns, const uint8_t* data, uint32_t caplen,
                                        uint32_t origlen) {
  if (failed_.load(std::memory_order_relaxed) || !file_) return false;
  try {
    if (opts_.rotates() && file_->packets() > 0) {
      bool by_size = opts_.max_bytes > 0 &&
                     file_->bytes_written() + PcapngWriter::packet_block_size(caplen) > opts_.max_bytes;
      bool by_time = opts_.max_interval_ns > 0 && ts_ns - file_first_ts_ >= opts_.max_interval_ns;
      if (by_size || by_time) rotate();
    }
    file_->write_packet(iface, ts_ns, data, caplen, origlen);
    if (file_first_ts_ < 0) file_first_ts_ = ts_ns;
    packets_.fetch_add(1, std::memory_order_relaxed);
    bytes_.store(file_base_bytes_ + file_->bytes_written(), std::memory_order_relaxed);
    return true;
  } catch (const std::exception& e) {
    fail(e.what());
    return false;
  }
}

bool RotatingPcapngWriter::write_custom(const std::vector<uint8_t>& data) {
  if (failed_.load(std::memory_order_relaxed) || !file_) return false;
  try {
    file_->write_custom(data);
    bytes_.store(file_base_bytes_ + file_->bytes_written(), std::memory_order_relaxed);
    return true;
  } catch (const std::exception& e) {
    fail(e.what());
    return false;
  }
}

bool RotatingPcapngWriter::flush() {
  if (failed_.load(std::memory_order_relaxed) || !file_) return false;
  try {
    file_->flush();
    return true;
  } catch (const std::exception& e) {
    fail(e.what());
    return false;
  }
}

void RotatingPcapngWriter::close() {
  if (!file_) return;
  try {
    file_->close();
    file_.reset();
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

}  // namespace flapwatch
