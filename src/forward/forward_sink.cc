#include "gralarm/forward_sink.h"

namespace gralarm {
namespace {

constexpr size_t kBatchReserve = 64 * 1024;

}  // namespace

ForwardSink::ForwardSink(Forwarder* forwarder)
    : forwarder_(forwarder),
      batch_(static_cast<size_t>(forwarder->num_destinations())),
      batch_points_(batch_.size(), 0) {
  for (std::string& b : batch_) b.reserve(kBatchReserve);
}

void ForwardSink::Accept(const Point& point) {
  int targets[kMaxFanout];
  const int n = forwarder_->Route(point.parsed.name, targets);
  for (int i = 0; i < n; ++i) {
    point.AppendForwardLine(&batch_[static_cast<size_t>(targets[i])]);
    ++batch_points_[static_cast<size_t>(targets[i])];
  }
}

void ForwardSink::Flush() {
  bool sent = false;
  for (size_t d = 0; d < batch_.size(); ++d) {
    if (batch_points_[d] == 0) continue;
    std::string bytes;
    bytes.reserve(kBatchReserve);
    bytes.swap(batch_[d]);
    forwarder_->Send(static_cast<int>(d), std::move(bytes), batch_points_[d]);
    batch_points_[d] = 0;
    sent = true;
  }
  if (sent) forwarder_->Wake();
}

}  // namespace gralarm
