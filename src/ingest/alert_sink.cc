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
  uint8_t known = 0;  // kNoRule | kNoTarget
  if (auto it = unmatched_.find(hash); it != unmatched_.end()) {
    known = it->second;
  }
  const uint8_t none = (rules_->rules().empty() ? kNoRule : 0) |
                       (targets ? 0 : kNoTarget);
  if ((known | none) == (kNoRule | kNoTarget)) return;
  const ParsedLine& p = point.parsed;
  uint8_t learned = 0;
  if (!((known | none) & kNoRule) &&
      !engine_->Offer(*rules_, p.path, p.name, p.timestamp, p.value, hash)) {
    learned |= kNoRule;
  }
  if (!((known | none) & kNoTarget) &&
      !targets_->Offer(*target_rules_, p.name, p.timestamp, p.value)) {
    learned |= kNoTarget;
  }
  if (learned != 0) {
    if (unmatched_.size() >= kMaxUnmatched) unmatched_.clear();
    unmatched_[hash] |= learned;
  }
}

}  // namespace gralarm
