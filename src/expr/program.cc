#include "expr/program.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "expr/pyformat.h"
#include "expr/stages.h"
#include "store/coding.h"

namespace gralarm::expr {

namespace {

constexpr uint8_t kStateVersion = 1;

}  // namespace

Program::~Program() = default;

std::vector<const Glob*> Program::globs() const {
  std::vector<const Glob*> out;
  for (const PathStage* path : paths_) out.push_back(&path->glob());
  return out;
}

bool Program::Matches(std::string_view name) const {
  for (const PathStage* path : paths_) {
    if (path->glob().Matches(name)) return true;
  }
  return false;
}

int32_t Program::Slot(std::string_view name) {
  auto it = slot_by_name_.find(Sv(name));
  if (it != slot_by_name_.end()) return it->second;
  const int32_t slot = static_cast<int32_t>(slot_names_.size());
  bool matched = false;
  std::string key(name);
  for (PathStage* path : paths_) {
    if (path->glob().Matches(name)) {
      path->Insert(key, slot);
      matched = true;
    }
  }
  if (!matched) return -1;
  slot_by_name_.emplace(key, slot);
  slot_names_.push_back(std::move(key));
  slot_values_.push_back(Value::None());
  return slot;
}

void Program::Set(int32_t slot, double value) {
  if (slot < 0 || static_cast<size_t>(slot) >= slot_values_.size()) return;
  Value& v = slot_values_[slot];
  if (!v.ok) touched_.push_back(slot);
  v = Value::Of(value);
}

int64_t Program::lookback_steps() const { return root_->Lookback(); }
int64_t Program::history_steps() const { return root_->History(); }

absl::StatusOr<const std::vector<Series>*> Program::Evaluate(int64_t t) {
  if (t % step_s_ != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("step ", t, " is not a multiple of ", step_s_));
  }
  if (last_step_ && t <= *last_step_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "step ", t, " is not after the last evaluated step ", *last_step_));
  }
  StepContext ctx;
  ctx.step_s = step_s_;
  if (last_step_) {
    const int64_t skipped = (t - *last_step_) / step_s_ - 1;
    const int64_t run = std::min(skipped, root_->Lookback() + 1);
    ctx.inputs_missing = true;
    for (int64_t k = run; k >= 1; --k) {
      ctx.t = t - k * step_s_;
      root_->Run(ctx, true);
    }
    ctx.inputs_missing = false;
  } else {
    ctx.first = true;
  }
  ctx.t = t;
  root_->Run(ctx, true);
  for (int32_t slot : touched_) slot_values_[slot] = Value::None();
  touched_.clear();
  last_step_ = t;
  return &root_->out();
}

std::string Program::EncodeState() const {
  std::string out;
  coding::PutFixed8(&out, kStateVersion);
  coding::PutInt64(&out, step_s_);
  coding::PutFixed8(&out, last_step_ ? 1 : 0);
  coding::PutInt64(&out, last_step_.value_or(0));
  coding::PutVarint32(&out, static_cast<uint32_t>(slot_names_.size()));
  for (const std::string& name : slot_names_) {
    coding::PutLengthPrefixed(&out, name);
  }
  coding::PutVarint32(&out, static_cast<uint32_t>(stages_.size()));
  for (const auto& stage : stages_) {
    std::string blob;
    stage->EncodeState(&blob);
    coding::PutLengthPrefixed(&out, blob);
  }
  return out;
}

absl::Status Program::DecodeState(std::string_view state) {
  auto bad = [](std::string_view what) {
    return absl::DataLossError(absl::StrCat("target state: ", Sv(what)));
  };
  if (!slot_names_.empty() || last_step_) {
    return absl::FailedPreconditionError(
        "target state: the program has already run");
  }
  coding::Reader in(state);
  uint8_t version, has_last;
  int64_t step, last;
  uint32_t names;
  if (!in.GetFixed8(&version)) return bad("empty");
  if (version != kStateVersion) {
    return bad(absl::StrCat("unknown version ", version));
  }
  if (!in.GetInt64(&step) || !in.GetFixed8(&has_last) || has_last > 1 ||
      !in.GetInt64(&last) || !in.GetVarint32(&names)) {
    return bad("truncated header");
  }
  if (step != step_s_) {
    return bad(absl::StrCat("step ", step, " is not the program's ", step_s_));
  }
  for (uint32_t i = 0; i < names; ++i) {
    std::string_view name;
    if (!in.GetLengthPrefixed(&name)) return bad("truncated series names");
    Slot(name);  // a name no path matches any more is dropped
  }
  StepContext ctx;
  ctx.step_s = step_s_;
  root_->Run(ctx, false);  // the shapes, so that states find their series
  uint32_t stages;
  if (!in.GetVarint32(&stages) || stages != stages_.size()) {
    return bad("the stages differ from the target's");
  }
  for (const auto& stage : stages_) {
    std::string_view blob;
    if (!in.GetLengthPrefixed(&blob)) return bad("truncated stage state");
    coding::Reader r(blob);
    if (!stage->DecodeState(&r) || r.remaining() != 0) {
      return bad("malformed stage state");
    }
  }
  if (in.remaining() != 0) return bad("trailing bytes");
  if (has_last) last_step_ = last;
  return absl::OkStatus();
}

}  // namespace gralarm::expr
