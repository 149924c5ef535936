#include "cluster/held_outputs.h"

#include <utility>

#include "gralarm/log.h"

namespace gralarm {

std::vector<EmittedPoint> HeldOutputs::Pass(std::vector<EmittedPoint> points,
                                            const NotifyGate& gate,
                                            int64_t now_ms) {
  if (gate.Active()) {
    if (held_.empty()) return points;
    std::vector<EmittedPoint> out;
    out.reserve(held_.size() + points.size());
    for (Held& h : held_) out.push_back(std::move(h.point));
    spdlog::info(
        "cluster: forwarding {} target-rule output points held while this "
        "node was a standby",
        held_.size());
    held_.clear();
    for (EmittedPoint& p : points) out.push_back(std::move(p));
    return out;
  }
  while (!held_.empty() &&
         gate.Fate(held_.front().held_at_ms, now_ms) == HeldFate::kDrop) {
    held_.pop_front();
    ++left_to_peer_;
  }
  for (EmittedPoint& p : points) held_.push_back({now_ms, std::move(p)});
  if (held_.size() > max_points_) {
    const size_t excess = held_.size() - max_points_;
    held_.erase(held_.begin(), held_.begin() + static_cast<long>(excess));
    if (dropped_full_ == 0) {
      spdlog::warn(
          "cluster: more than {} target-rule output points held while the "
          "active node is unreachable; dropping the oldest "
          "(gralarm_target_outputs_held_dropped_total)",
          max_points_);
    }
    dropped_full_ += excess;
  }
  return {};
}

}  // namespace gralarm
