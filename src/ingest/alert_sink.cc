#include "gralarm/alert_sink.h"

namespace gralarm {
namespace {

void Remember(absl::flat_hash_set<uint64_t>& set, uint64_t hash) {
  if (set.size() >= AlertSink::kMaxUnmatched) set.clear();
  set.insert(hash);
}

}  // namespace

void AlertSink::Accept(const Point& point) {
  if (engine_->generation() != rules_generation_) {
    rules_ = engine_->rules();
    rules_generation_ = rules_->generation();
    no_rule_.clear();
  }
  if (targets_ != nullptr && targets_->generation() != target_generation_) {
    target_rules_ = targets_->snapshot();
    target_generation_ = target_rules_->rules->generation();
    no_target_.clear();
  }
  const bool rules = !rules_->rules().empty();
  const bool targets = target_rules_ && target_rules_->rules->has_targets();
  if (!rules && !targets) return;
  const uint64_t hash = point.path_hash();
  const bool offer_rules = rules && !no_rule_.contains(hash);
  const bool offer_targets = targets && !no_target_.contains(hash);
  const ParsedLine& p = point.parsed;
  if (offer_rules &&
      !engine_->Offer(*rules_, p.path, p.name, p.timestamp, p.value, hash)) {
    Remember(no_rule_, hash);
  }
  if (offer_targets &&
      !targets_->Offer(*target_rules_, p.name, p.timestamp, p.value)) {
    Remember(no_target_, hash);
  }
}

}  // namespace gralarm
