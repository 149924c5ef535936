#ifndef GRALARM_SPOOL_H_
#define GRALARM_SPOOL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace gralarm {

// Lines read back from a spool, with the segment they came from. The chunk
// that ends a segment has `segment_end`: once it was written to the
// destination, Release(segment) deletes the file.
struct SpooledChunk {
  std::string bytes;
  uint32_t points = 0;
  int64_t segment = 0;
  bool segment_end = false;
};

// A destination's disk spool: a FIFO of chunks of plaintext lines in
// append-only segment files (<id>.spool, at most kSegmentBytes each) under one
// directory. A record is a 12-byte header (magic, length, points; little
// endian) and the bytes. Everything appended survives the process being
// killed (the kernel holds what write() accepted); a record cut short by a
// crash is cut off when the spool is opened. A segment is deleted only once
// its chunks were read and written on (Release), so a crash in between sends
// that segment again: carbon-cache stores a repeated point once. Past
// `max_bytes` the oldest segments are dropped, and their points counted.
// Thread-safe.
class Spool {
 public:
  static constexpr uint64_t kSegmentBytes = 16 << 20;

  // Opens (creating) `dir` and recovers the segments found there.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(std::string dir,
                                                     uint64_t max_bytes);
  ~Spool();

  // Adds a chunk after everything spooled. `dropped_points` gets the points of
  // the oldest segments dropped to stay within max_bytes.
  absl::Status Append(std::string_view bytes, uint32_t points,
                      uint64_t* dropped_points);
  // Adds chunks before everything spooled (they are older: a destination's
  // memory queue at shutdown), in their order.
  absl::Status Prepend(
      const std::vector<std::pair<std::string, uint32_t>>& chunks);
  // Reads the oldest unread chunks, about `max_bytes` of them (at least one
  // when not empty).
  absl::Status Read(size_t max_bytes, std::vector<SpooledChunk>* out);
  // Deletes a segment whose chunks were all read and written on.
  void Release(int64_t segment);

  // Nothing left to read.
  bool empty() const;
  // Bytes on disk (unread, or read but not yet released).
  uint64_t bytes() const;
  // Points not yet read.
  uint64_t points() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    int64_t id = 0;
    uint64_t bytes = 0;        // file size
    uint64_t points = 0;       // in records not yet read
    uint64_t read_offset = 0;  // where the next unread record starts
  };
  Spool(std::string dir, uint64_t max_bytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(int64_t id) const;
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::Status WriteRecord(int fd, std::string_view bytes,
                                  uint32_t points, uint64_t* written);
  void CloseTail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseReader() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t DropOldest() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  // Unread segments, oldest first; the last one is the tail appended to.
  std::deque<Segment> segments_ ABSL_GUARDED_BY(mu_);
  int tail_fd_ ABSL_GUARDED_BY(mu_) = -1;  // open on segments_.back()
  int read_fd_ ABSL_GUARDED_BY(mu_) = -1;  // open on segment read_id_
  int64_t read_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_id_ ABSL_GUARDED_BY(mu_) = int64_t{1} << 40;
  // Read to the end, waiting for Release: id -> bytes.
  std::map<int64_t, uint64_t> read_ ABSL_GUARDED_BY(mu_);
  uint64_t total_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gralarm

#endif  // GRALARM_SPOOL_H_
