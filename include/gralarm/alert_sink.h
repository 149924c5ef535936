#ifndef GRALARM_ALERT_SINK_H_
#define GRALARM_ALERT_SINK_H_

#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "gralarm/alert_engine.h"
#include "gralarm/point_sink.h"

namespace gralarm {

// The alert engine's side of one ingest loop: offers every point to the
// engine, against the loop's snapshot of the rules (taken again whenever the
// engine's rules change). Series that no rule matches are remembered and
// skipped without taking a lock until the rules change.
class AlertSink final : public PointSink {
 public:
  // `engine` (not owned) must outlive the sink.
  explicit AlertSink(AlertEngine* engine) : engine_(engine) {}

  void Accept(const Point& point) override;
  // Offer() is synchronous: nothing is held back.
  void Flush() override {}

  // Unmatched series remembered (about 16 bytes each); past it the memory
  // starts over.
  static constexpr size_t kMaxUnmatched = 4 << 20;

 private:
  AlertEngine* const engine_;
  std::shared_ptr<const RuleSet> rules_;
  uint64_t rules_generation_ = ~uint64_t{0};
  absl::flat_hash_set<uint64_t> unmatched_;  // by Point::path_hash()
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_SINK_H_
