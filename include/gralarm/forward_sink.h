#ifndef GRALARM_FORWARD_SINK_H_
#define GRALARM_FORWARD_SINK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gralarm/forwarder.h"
#include "gralarm/point_sink.h"

namespace gralarm {

// The forwarder's side of one ingest loop: routes each point by
// Forwarder::Route() and appends its line to that loop's batch for each of its
// destinations; Flush() queues the batches on the destinations and wakes the
// forward loop once.
class ForwardSink final : public PointSink {
 public:
  // `forwarder` (not owned) must outlive the sink.
  explicit ForwardSink(Forwarder* forwarder);

  void Accept(const Point& point) override;
  void Flush() override;

 private:
  Forwarder* const forwarder_;
  std::vector<std::string> batch_;  // per destination
  std::vector<uint32_t> batch_points_;
};

}  // namespace gralarm

#endif  // GRALARM_FORWARD_SINK_H_
