#include "gralarm/alert_sink.h"

namespace gralarm {

void AlertSink::Accept(const Point& point) {
  if (engine_->generation() != rules_generation_) {
    rules_ = engine_->rules();
    rules_generation_ = rules_->generation();
    unmatched_.clear();
  }
  if (rules_->rules().empty()) return;
  const uint64_t hash = point.path_hash();
  if (unmatched_.contains(hash)) return;
  const ParsedLine& p = point.parsed;
  if (!engine_->Offer(*rules_, p.path, p.name, p.timestamp, p.value, hash)) {
    if (unmatched_.size() >= kMaxUnmatched) unmatched_.clear();
    unmatched_.insert(hash);
  }
}

}  // namespace gralarm
