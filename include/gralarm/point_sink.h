#ifndef GRALARM_POINT_SINK_H_
#define GRALARM_POINT_SINK_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gralarm/line_parser.h"

namespace gralarm {

// One valid point, as an ingest loop hands it to its sinks. Every view points
// into the loop's buffers and is valid only during PointSink::Accept().
struct Point {
  // path (tags included), name (the path without tags: what rules match and
  // rings hash), value, timestamp ("-1" already made the receive time).
  ParsedLine parsed;
  // The line as received, without its line end.
  std::string_view line;

  // Appends the line to forward: the received bytes when already canonical,
  // else "path value timestamp"; always ending in '\n'.
  void AppendForwardLine(std::string* out) const {
    gralarm::AppendForwardLine(parsed, line, out);
  }

  // AlertEngine::PathHash(parsed.path), computed once on first use, so that
  // sinks that place series by it share one computation.
  uint64_t path_hash() const;

 private:
  mutable uint64_t path_hash_ = 0;
  mutable bool hashed_ = false;
};

// What consumes the points of one ingest loop: the forwarder's per-loop
// batches, the alert engine, and later more (a peer link...). A sink belongs
// to one loop: both calls come from that loop's thread, never at once, so a
// sink needs no lock of its own. Neither call may block on the network.
class PointSink {
 public:
  virtual ~PointSink() = default;

  // Every valid point the loop received, in the order received.
  virtual void Accept(const Point& point) = 0;

  // The end of a loop iteration (also before the loop's sinks are replaced,
  // and at stop): hands on what Accept() batched. Not called for an iteration
  // that received nothing.
  virtual void Flush() = 0;
};

}  // namespace gralarm

#endif  // GRALARM_POINT_SINK_H_
