#ifndef GRALARM_SRC_CLUSTER_HELD_OUTPUTS_H_
#define GRALARM_SRC_CLUSTER_HELD_OUTPUTS_H_

// Target-rule outputs in an active-active pair (README "Redundancy: an
// active-active pair"): both nodes compute them from the same points, but only
// the active node (the NotifyGate's choice, as for webhooks and commands)
// forwards them, so carbon-cache receives each output point once while both
// nodes live. A standby holds its outputs instead; it drops those the active
// node had time to forward (the gate's HeldFate), and forwards the rest,
// oldest first, once it becomes active: when the active node dies, each output
// point reaches carbon at least once and at most twice (whisper keeps one).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "gralarm/notify_gate.h"
#include "gralarm/target_engine.h"

namespace gralarm {

class HeldOutputs {
 public:
  // At most `max_points` are held; beyond, the oldest are dropped (counted).
  explicit HeldOutputs(size_t max_points) : max_points_(max_points) {}

  // The points to forward now: on an active node, what was held (oldest
  // first) and then `points`; on a standby, none (`points` are held, and the
  // held points the gate says the active node had time to send are dropped).
  // Called with no points once a second, so a node that became active
  // forwards what it holds without waiting for new outputs. Not thread-safe.
  std::vector<EmittedPoint> Pass(std::vector<EmittedPoint> points,
                                 const NotifyGate& gate, int64_t now_ms);

  size_t held() const { return held_.size(); }
  // Held points dropped because the active node had time to forward them.
  uint64_t left_to_peer() const { return left_to_peer_; }
  // Held points dropped because more than max_points were held.
  uint64_t dropped_full() const { return dropped_full_; }

 private:
  struct Held {
    int64_t held_at_ms;
    EmittedPoint point;
  };
  const size_t max_points_;
  std::deque<Held> held_;
  uint64_t left_to_peer_ = 0;
  uint64_t dropped_full_ = 0;
};

}  // namespace gralarm

#endif  // GRALARM_SRC_CLUSTER_HELD_OUTPUTS_H_
