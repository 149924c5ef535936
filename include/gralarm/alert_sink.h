#ifndef GRALARM_ALERT_SINK_H_
#define GRALARM_ALERT_SINK_H_

#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "gralarm/alert_engine.h"
#include "gralarm/point_sink.h"
#include "gralarm/target_engine.h"

namespace gralarm {

// The alert engines' side of one ingest loop: offers every point to the
// engine (pattern rules) and to the target engine (inputs of target rules),
// against the loop's snapshots of their rules (taken again whenever their
// rules change). Series that no rule matches (neither a pattern nor a path of
// a target) are remembered and skipped without taking a lock until the rules
// change.
class AlertSink final : public PointSink {
 public:
  // `engine` and `targets` (not owned; `targets` may be null) must outlive the
  // sink.
  AlertSink(AlertEngine* engine, TargetEngine* targets)
      : engine_(engine), targets_(targets) {}

  void Accept(const Point& point) override;
  // Offer() is synchronous: nothing is held back.
  void Flush() override {}

  // Unmatched series remembered (about 16 bytes each); past it the memory
  // starts over.
  static constexpr size_t kMaxUnmatched = 4 << 20;

 private:
  AlertEngine* const engine_;
  TargetEngine* const targets_;
  std::shared_ptr<const RuleSet> rules_;
  uint64_t rules_generation_ = ~uint64_t{0};
  std::shared_ptr<const TargetEngine::Snapshot> target_rules_;
  uint64_t target_generation_ = ~uint64_t{0};
  // By Point::path_hash(): the series no pattern rule (kNoRule) or no target
  // rule (kNoTarget) matches.
  static constexpr uint8_t kNoRule = 1, kNoTarget = 2;
  absl::flat_hash_map<uint64_t, uint8_t> unmatched_;
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_SINK_H_
