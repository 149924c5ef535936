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

void PutValue(std::string* out, Value v) {
  coding::PutFixed8(out, v.ok ? 1 : 0);
  coding::PutDouble(out, v.v);
}

bool GetValue(coding::Reader* in, Value* v) {
  uint8_t ok;
  if (!in->GetFixed8(&ok) || ok > 1 || !in->GetDouble(&v->v)) return false;
  v->ok = ok == 1;
  return true;
}

void PutValueRing(std::string* out, const std::vector<Value>& ring,
                  uint32_t head) {
  coding::PutVarint32(out, static_cast<uint32_t>(ring.size()));
  coding::PutVarint32(out, head);
  for (const Value& v : ring) PutValue(out, v);
}

bool GetValueRing(coding::Reader* in, uint32_t length, std::vector<Value>* ring,
                  uint32_t* head) {
  uint32_t n;
  if (!in->GetVarint32(&n) || !in->GetVarint32(head) || n != length ||
      (n > 0 && *head >= n) || (n == 0 && *head != 0)) {
    return false;
  }
  ring->resize(n);
  for (Value& v : *ring) {
    if (!GetValue(in, &v)) return false;
  }
  return true;
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
