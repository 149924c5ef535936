#ifndef GRALARM_ALERT_SINK_H_
#define GRALARM_ALERT_SINK_H_

#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_set.h"
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

  // Unmatched series remembered in each of the two sets (about 9 bytes each);
  // past it that set starts over.
  static constexpr size_t kMaxUnmatched = 4 << 20;

 private:
  AlertEngine* const engine_;
  TargetEngine* const targets_;
  std::shared_ptr<const RuleSet> rules_;
  uint64_t rules_generation_ = ~uint64_t{0};
  std::shared_ptr<const TargetEngine::Snapshot> target_rules_;
  uint64_t target_generation_ = ~uint64_t{0};
  // By Point::path_hash(): the series no pattern rule matches, and those no
  // target rule takes. Two sets of 8-byte keys rather than one map to a flag
  // byte (16-byte slots): with no target rules only the first is read, and
  // its footprint per loop is what decides the cache misses of the common
  // case, a series no rule matches (bench/RESULTS.md, 2026-11-27).
  absl::flat_hash_set<uint64_t> no_rule_;
  absl::flat_hash_set<uint64_t> no_target_;
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_SINK_H_
