#ifndef GRALARM_EXPR_PROGRAM_H_
#define GRALARM_EXPR_PROGRAM_H_

// A compiled Graphite target, evaluated step by step on a grid of `step_s`
// seconds with graphite-web 1.1.8's functions (docs/TARGETS.md).
//
// Feeding: for every point, Slot(name) (once per series; -1 when no path of
// the target matches) then Set(slot, value): the last value set in a step
// wins, as whisper keeps the last point of a step. Evaluate(t) then returns
// the output series of step t and starts the next step. Every input series
// ever given stays an input (graphite lists every whisper file matching a
// path, missing points are None), in name order.
//
// Not thread-safe: one program is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "expr/ast.h"
#include "expr/series.h"
#include "gralarm/glob.h"

namespace gralarm::expr {

class Stage;
class PathStage;

class Program {
 public:
  // Compiles `target` (a call or a path). Errors name the function or
  // argument at fault; functions outside docs/TARGETS.md are refused.
  // `step_s` must be positive.
  static absl::StatusOr<std::unique_ptr<Program>> Compile(const Node& target,
                                                          int64_t step_s);
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  int64_t step_s() const { return step_s_; }
  // The glob of every path of the target, in the order written.
  std::vector<const Glob*> globs() const;
  // True when some path of the target matches `name`.
  bool Matches(std::string_view name) const;

  // The input slot of series `name`, registering it (a new input of every
  // path it matches) when it is new; -1 when no path matches it.
  int32_t Slot(std::string_view name);
  // Sets the value of `slot` (from Slot()) in the step being gathered; a slot
  // Slot() did not return (-1 included) is ignored.
  void Set(int32_t slot, double value);

  // Evaluates step `t` (a multiple of step_s, after the last evaluated step)
  // with the values set since the last evaluation, and clears them. Steps
  // skipped since the last evaluation are evaluated first with every value
  // missing (their outputs are not returned; only as many as can still change
  // a state are run). The result is valid until the next call.
  absl::StatusOr<const std::vector<Series>*> Evaluate(int64_t t);

  std::optional<int64_t> last_step() const { return last_step_; }
  size_t input_count() const { return slot_names_.size(); }
  // The input series names, by slot.
  const std::vector<std::string>& input_names() const { return slot_names_; }
  // The steps of history the target needs (windows, delays, derivatives).
  int64_t lookback_steps() const;
  // The steps of input history a render of the target reads before its
  // first step (Stage::History()): the history to replay into a new program
  // so its state is the one graphite-web computes.
  int64_t history_steps() const;

  // The input series names, the last step and every per-series state, as
  // bytes: version byte 1, then little-endian fields (docs/TARGETS.md).
  std::string EncodeState() const;
  // Restores EncodeState()'s output into a program compiled from the same
  // target and step, before any Slot() call. Refuses other input.
  absl::Status DecodeState(std::string_view state);

 private:
  Program() = default;
  friend class Compiler;

  int64_t step_s_ = 0;
  std::vector<std::unique_ptr<Stage>> stages_;
  Stage* root_ = nullptr;
  std::vector<PathStage*> paths_;
  absl::flat_hash_map<std::string, int32_t> slot_by_name_;
  std::vector<std::string> slot_names_;
  std::vector<Value> slot_values_;
  std::vector<int32_t> touched_;
  std::optional<int64_t> last_step_;
  std::vector<Series> empty_;
};

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_PROGRAM_H_
