#include "gralarm/peer_sink.h"

#include <utility>

namespace gralarm {
namespace {

constexpr size_t kBatchReserve = 64 * 1024;

}  // namespace

PeerSink::PeerSink(Forwarder* links) : links_(links) {
  batch_.reserve(kBatchReserve);
}

void PeerSink::Accept(const Point& point) {
  point.AppendForwardLine(&batch_);
  ++batch_points_;
}

void PeerSink::Flush() {
  if (batch_points_ == 0) return;
  const int n = links_->num_destinations();
  std::string bytes;
  bytes.reserve(kBatchReserve);
  bytes.swap(batch_);
  // Every peer but the last gets a copy of the batch; the last takes it.
  for (int i = 0; i + 1 < n; ++i) links_->Send(i, bytes, batch_points_);
  if (n > 0) links_->Send(n - 1, std::move(bytes), batch_points_);
  batch_points_ = 0;
  links_->Wake();
}

}  // namespace gralarm
