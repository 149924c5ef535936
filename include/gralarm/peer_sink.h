#ifndef GRALARM_PEER_SINK_H_
#define GRALARM_PEER_SINK_H_

#include <cstdint>
#include <string>

#include "gralarm/forwarder.h"
#include "gralarm/point_sink.h"

namespace gralarm {

// The peer copy side of one ingest loop ([cluster]): appends the forward line
// of every point (Point::AppendForwardLine, the bytes the forwarder sends to
// carbon) once to the loop's batch; Flush() queues that batch on every peer
// link of `links` (Forwarder::CreatePeerLinks) and wakes their loop once.
// Only the client ingest loops have one: points read on cluster.listen are
// never copied again.
class PeerSink final : public PointSink {
 public:
  // `links` (not owned) must outlive the sink.
  explicit PeerSink(Forwarder* links);

  void Accept(const Point& point) override;
  void Flush() override;

 private:
  Forwarder* const links_;
  std::string batch_;
  uint32_t batch_points_ = 0;
};

}  // namespace gralarm

#endif  // GRALARM_PEER_SINK_H_
