#include "gralarm/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "gralarm/log.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr uint32_t kMagic = 0x4c4f5053;  // "SPOL"
constexpr size_t kHeaderBytes = 12;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::InternalError(StrCat(what, " ", path, ": ", strerror(errno)));
}

// Reads exactly n bytes at offset; false at end of file or on error.
bool ReadAt(int fd, char* out, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t r = pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(std::string dir,
                                                   uint64_t max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        StrCat("cannot create spool directory ", dir, ": ", ec.message()));
  }
  std::unique_ptr<Spool> spool(new Spool(std::move(dir), max_bytes));
  absl::MutexLock lock(&spool->mu_);
  if (absl::Status s = spool->Recover(); !s.ok()) return s;
  return spool;
}

Spool::~Spool() {
  absl::MutexLock lock(&mu_);
  CloseTail();
  CloseReader();
}

std::string Spool::PathOf(int64_t id) const {
  return fmt::format("{}/{:020}.spool", dir_, id);
}

absl::Status Spool::Recover() {
  std::vector<int64_t> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".spool")) continue;
    char* end = nullptr;
    const long long id = std::strtoll(name.c_str(), &end, 10);
    if (end != name.c_str() + name.size() - 6) continue;
    ids.push_back(id);
  }
  if (ec) {
    return absl::InternalError(
        StrCat("cannot list spool directory ", dir_, ": ", ec.message()));
  }
  std::sort(ids.begin(), ids.end());
  for (int64_t id : ids) {
    const std::string path = PathOf(id);
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open", path);
    struct stat st {};
    fstat(fd, &st);
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    Segment seg{id, 0, 0, 0};
    char header[kHeaderBytes];
    while (seg.bytes + kHeaderBytes <= size &&
           ReadAt(fd, header, kHeaderBytes, seg.bytes) &&
           GetU32(header) == kMagic &&
           seg.bytes + kHeaderBytes + GetU32(header + 4) <= size) {
      seg.points += GetU32(header + 8);
      seg.bytes += kHeaderBytes + GetU32(header + 4);
    }
    if (seg.bytes < size) {
      spdlog::warn(
          "spool {}: {} bytes at the end of {} are not a whole record (cut "
          "short by a crash?): removed",
          dir_, size - seg.bytes, path);
      if (ftruncate(fd, static_cast<off_t>(seg.bytes)) != 0) {
        close(fd);
        return Errno("cannot truncate", path);
      }
    }
    close(fd);
    last_id_ = std::max(last_id_, id);
    if (seg.bytes == 0) {
      unlink(path.c_str());
      continue;
    }
    total_bytes_ += seg.bytes;
    segments_.push_back(seg);
  }
  if (!segments_.empty()) {
    uint64_t points = 0;
    for (const Segment& s : segments_) points += s.points;
    spdlog::info("spool {}: {} points ({} bytes) waiting from an earlier run",
                 dir_, points, total_bytes_);
  }
  return absl::OkStatus();
}

absl::Status Spool::WriteRecord(int fd, std::string_view bytes, uint32_t points,
                                uint64_t* written) {
  std::string record(kHeaderBytes, '\0');
  PutU32(record.data(), kMagic);
  PutU32(record.data() + 4, static_cast<uint32_t>(bytes.size()));
  PutU32(record.data() + 8, points);
  record.append(bytes);
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t w = write(fd, record.data() + done, record.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      // Leave no partial record behind.
      const int saved = errno;
      if (done > 0) {
        struct stat st {};
        if (fstat(fd, &st) == 0)
          (void)!ftruncate(fd, st.st_size - static_cast<off_t>(done));
      }
      errno = saved;
      return absl::InternalError(
          StrCat("spool write failed: ", strerror(saved)));
    }
    done += static_cast<size_t>(w);
  }
  *written = record.size();
  return absl::OkStatus();
}

absl::Status Spool::Append(std::string_view bytes, uint32_t points,
                           uint64_t* dropped_points) {
  absl::MutexLock lock(&mu_);
  *dropped_points = 0;
  if (tail_fd_ < 0) {
    const int64_t id = ++last_id_;
    const std::string path = PathOf(id);
    tail_fd_ =
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tail_fd_ < 0) return Errno("cannot create", path);
    segments_.push_back(Segment{id, 0, 0, 0});
  }
  uint64_t written = 0;
  if (absl::Status s = WriteRecord(tail_fd_, bytes, points, &written);
      !s.ok()) {
    return s;
  }
  Segment& tail = segments_.back();
  tail.bytes += written;
  tail.points += points;
  total_bytes_ += written;
  if (tail.bytes >= kSegmentBytes) CloseTail();
  while (total_bytes_ > max_bytes_) {
    const uint64_t before = total_bytes_;
    *dropped_points += DropOldest();
    if (total_bytes_ == before) break;
  }
  return absl::OkStatus();
}

absl::Status Spool::Prepend(
    const std::vector<std::pair<std::string, uint32_t>>& chunks) {
  if (chunks.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  int64_t id = last_id_ + 1;
  if (!segments_.empty()) id = segments_.front().id - 1;
  if (!read_.empty()) id = std::min(id, read_.begin()->first - 1);
  if (segments_.empty()) last_id_ = id;
  const std::string path = PathOf(id);
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  Segment seg{id, 0, 0, 0};
  for (const auto& [bytes, points] : chunks) {
    uint64_t written = 0;
    if (absl::Status s = WriteRecord(fd, bytes, points, &written); !s.ok()) {
      close(fd);
      unlink(path.c_str());
      return s;
    }
    seg.bytes += written;
    seg.points += points;
  }
  close(fd);
  total_bytes_ += seg.bytes;
  segments_.push_front(seg);
  return absl::OkStatus();
}

absl::Status Spool::Read(size_t max_bytes, std::vector<SpooledChunk>* out) {
  absl::MutexLock lock(&mu_);
  size_t got = 0;
  while (!segments_.empty() && got < max_bytes) {
    Segment& seg = segments_.front();
    if (read_fd_ < 0 || read_id_ != seg.id) {
      CloseReader();
      const std::string path = PathOf(seg.id);
      read_fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (read_fd_ < 0) return Errno("cannot open", path);
      read_id_ = seg.id;
    }
    char header[kHeaderBytes];
    bool whole = seg.read_offset + kHeaderBytes <= seg.bytes &&
                 ReadAt(read_fd_, header, kHeaderBytes, seg.read_offset) &&
                 GetU32(header) == kMagic;
    SpooledChunk chunk;
    if (whole) {
      chunk.bytes.resize(GetU32(header + 4));
      chunk.points = GetU32(header + 8);
      whole =
          seg.read_offset + kHeaderBytes + chunk.bytes.size() <= seg.bytes &&
          ReadAt(read_fd_, chunk.bytes.data(), chunk.bytes.size(),
                 seg.read_offset + kHeaderBytes);
    }
    if (whole) {
      seg.read_offset += kHeaderBytes + chunk.bytes.size();
      seg.points -= std::min<uint64_t>(seg.points, chunk.points);
      got += chunk.bytes.size();
    } else if (seg.read_offset < seg.bytes) {
      spdlog::error(
          "spool {}: unreadable record in {} at offset {}: the rest "
          "of it ({} points) is dropped",
          dir_, PathOf(seg.id), seg.read_offset, seg.points);
      seg.read_offset = seg.bytes;
    }
    chunk.segment = seg.id;
    if (seg.read_offset >= seg.bytes) {
      // Read to the end: a tail gets no more records; a new one is begun.
      if (segments_.size() == 1) CloseTail();
      chunk.segment_end = true;
      read_[seg.id] = seg.bytes;
      CloseReader();
      segments_.pop_front();
    }
    if (whole || chunk.segment_end) out->push_back(std::move(chunk));
  }
  return absl::OkStatus();
}

void Spool::Release(int64_t segment) {
  absl::MutexLock lock(&mu_);
  auto it = read_.find(segment);
  if (it == read_.end()) return;
  unlink(PathOf(segment).c_str());
  total_bytes_ -= it->second;
  read_.erase(it);
}

uint64_t Spool::DropOldest() {
  // Segments already read cost nothing to drop: their chunks are in memory.
  if (!read_.empty()) {
    auto it = read_.begin();
    unlink(PathOf(it->first).c_str());
    total_bytes_ -= it->second;
    read_.erase(it);
    return 0;
  }
  if (segments_.empty()) return 0;
  const Segment seg = segments_.front();
  if (segments_.size() == 1) CloseTail();
  if (read_id_ == seg.id) CloseReader();
  unlink(PathOf(seg.id).c_str());
  total_bytes_ -= seg.bytes;
  segments_.pop_front();
  return seg.points;
}

void Spool::CloseTail() {
  if (tail_fd_ >= 0) close(tail_fd_);
  tail_fd_ = -1;
}

void Spool::CloseReader() {
  if (read_fd_ >= 0) close(read_fd_);
  read_fd_ = -1;
}

bool Spool::empty() const {
  absl::MutexLock lock(&mu_);
  return segments_.empty();
}

uint64_t Spool::bytes() const {
  absl::MutexLock lock(&mu_);
  return total_bytes_;
}

uint64_t Spool::points() const {
  absl::MutexLock lock(&mu_);
  uint64_t n = 0;
  for (const Segment& s : segments_) n += s.points;
  return n;
}

}  // namespace gralarm
