#include "expr/stage.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace gralarm::expr {

void Stage::Run(const StepContext& ctx, bool compute) {
  bool changed = dirty_;
  for (Stage* child : children_) {
    child->Run(ctx, compute);
    changed = changed || child->shape_changed_;
  }
  shape_changed_ = false;
  if (changed) {
    Reshape();
    dirty_ = false;
    shape_changed_ = true;
  }
  if (compute) Compute(ctx);
}

int64_t Stage::Lookback() const {
  int64_t deepest = 0;
  for (const Stage* child : children_) {
    deepest = std::max(deepest, child->Lookback());
  }
  return deepest + OwnLookback();
}

int64_t Stage::History() const {
  int64_t deepest = 0;
  for (const Stage* child : children_) {
    deepest = std::max(deepest, child->History());
  }
  return deepest + OwnHistory();
}

std::string FormatPathExpressions(
    const std::vector<const std::vector<Series>*>& lists) {
  std::vector<absl::string_view> seen;
  for (const auto* list : lists) {
    for (const Series& s : *list) {
      if (std::find(seen.begin(), seen.end(), s.path_expression) ==
          seen.end()) {
        seen.push_back(s.path_expression);
      }
    }
  }
  return absl::StrJoin(seen, ",");
}

}  // namespace gralarm::expr
