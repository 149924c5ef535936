#include "gralarm/alert_sink.h"

namespace gralarm {

void AlertSink::Accept(const Point& point) {
  if (engine_->generation() != rules_generation_) {
    rules_ = engine_->rules();
    rules_generation_ = rules_->generation();
    unmatched_.clear();
  }
  if (targets_ != nullptr && targets_->generation() != target_generation_) {
    target_rules_ = targets_->snapshot();
    target_generation_ = target_rules_->rules->generation();
    unmatched_.clear();
  }
  const bool targets = target_rules_ && target_rules_->rules->has_targets();
  if (rules_->rules().empty() && !targets) return;
  const uint64_t hash = point.path_hash();
  if (unmatched_.contains(hash)) return;
  const ParsedLine& p = point.parsed;
  bool matched = false;
  if (!rules_->rules().empty()) {
    matched =
        engine_->Offer(*rules_, p.path, p.name, p.timestamp, p.value, hash);
  }
  if (targets) {
    matched |= targets_->Offer(*target_rules_, p.name, p.timestamp, p.value);
  }
  if (!matched) {
    if (unmatched_.size() >= kMaxUnmatched) unmatched_.clear();
    unmatched_.insert(hash);
  }
}

}  // namespace gralarm
