#ifndef GRALARM_TARGET_ENGINE_H_
#define GRALARM_TARGET_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/log.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"

namespace gralarm {

namespace expr {
class Program;
}  // namespace expr

// One computed point of a target rule's output, for the forwarder: the line
// `<name> <value> <ts>` (name already `<emit_prefix>.<output name>` with the
// bytes outside [A-Za-z0-9_.-] replaced by '_').
struct EmittedPoint {
  std::string name;
  double value = 0;
  int64_t ts = 0;
};

// The plaintext line of `p`: "name value ts\n", the value in the shortest
// form that reads back to the same double.
std::string EmitLine(const EmittedPoint& p);

// `<prefix>.<output>` with every byte of `output` outside [A-Za-z0-9_.-]
// replaced by '_'.
std::string EmitName(std::string_view prefix, std::string_view output);

// Evaluates the target rules (README "Target rules"): every raw point whose
// name a path of a target matches is put on the rule's grid
// (floor(ts / step_s) * step_s) and kept in the bucket of its step (several
// steps stay open while lateness lasts; the last point of a series in a step
// wins). A step [t, t + step_s) completes when a point of any input of the
// rule carries ts >= t + step_s + lateness_s (the watermark), or when no input
// point arrived for step_s + lateness_s seconds of wall time (Tick()). A
// completed step runs the rule's program; each output series with a value
// goes into the AlertEngine as a series of the rule at ts t and, when the rule
// has emit_prefix, out through the emitter. A point for a completed step is
// not applied and counts in points_late().
//
// Each rule has its program, buckets and watermark under its own mutex; the
// rules are swapped whole by SetRules() (a rule whose target and step_s are
// unchanged keeps its program and buckets). Lock order: a rule's mutex ->
// the AlertEngine's locks; the emitter is called under the rule's mutex.
class TargetEngine {
 public:
  using Emitter = std::function<void(std::vector<EmittedPoint>)>;

  // `engine`, `store` (may be null: nothing persisted) and `clock` are not
  // owned and must outlive the engine.
  TargetEngine(AlertEngine* engine, Store* store, const Clock* clock);
  ~TargetEngine();

  // Where emitted points go (the forwarder); none: dropped. Set before points
  // flow.
  void SetEmitter(Emitter emitter) { emitter_ = std::move(emitter); }

  // Puts the target rules of `rules` in force. The program and open steps of
  // a rule whose target and step_s are unchanged are kept; those of rules
  // gone or changed are dropped (and their saved state deleted).
  void SetRules(std::shared_ptr<const RuleSet> rules);

  // The rules in force with the state of each target rule, for the ingest
  // loops (taken again when generation() changes).
  struct TargetRule;
  struct TargetRulePoint {
    int32_t slot;
    double value;
  };
  struct Snapshot {
    std::shared_ptr<const RuleSet> rules;
    // By index into rules->rules(); null for pattern rules.
    std::vector<std::shared_ptr<TargetRule>> by_index;
  };
  std::shared_ptr<const Snapshot> snapshot() const;
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // One raw point of series `name` (without tags). Returns false when no
  // target rule of `snapshot` has an input matching `name`.
  bool Offer(const Snapshot& snapshot, std::string_view name, int64_t ts,
             double value);

  // Completes the steps of every rule whose inputs have been quiet for
  // step_s + lateness_s seconds of wall time. About once a second.
  void Tick();

  // Saves the program state and open steps of every rule that changed since
  // the last save (store column family target_state).
  absl::Status Flush();
  // Restores what Flush() saved, for the rules in force whose target and
  // step_s are unchanged; other saved states are dropped (logged). Call once,
  // after SetRules().
  absl::Status Restore();

  uint64_t points_late() const { return points_late_.load(); }
  // Output series dropped because an earlier output of the same step had the
  // same name.
  uint64_t outputs_duplicate() const { return outputs_duplicate_.load(); }

 private:
  // Completes every open step up to `through` (a step start), in order.
  // tr.mu held.
  void CompleteThrough(TargetRule& tr, int64_t through);
  // Runs the program on step `step` with `points`. tr.mu held.
  void Evaluate(TargetRule& tr, int64_t step,
                const std::vector<TargetRulePoint>& points);

  AlertEngine* const engine_;
  Store* const store_;
  const Clock* const clock_;
  Emitter emitter_;
  mutable absl::Mutex mu_;  // guards snapshot_ (swapped whole)
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> points_late_{0};
  std::atomic<uint64_t> outputs_duplicate_{0};
  LogLimiter duplicate_log_{1, std::chrono::seconds(60)};
};

// The state of one target rule. Public for the Snapshot; used only by the
// TargetEngine.
struct TargetEngine::TargetRule {
  absl::Mutex mu;
  std::shared_ptr<const Rule> rule ABSL_GUARDED_BY(mu);
  std::unique_ptr<expr::Program> program ABSL_GUARDED_BY(mu);
  // Open steps by start: their points in arrival order.
  std::map<int64_t, std::vector<TargetRulePoint>> buckets ABSL_GUARDED_BY(mu);
  // The newest timestamp of an input point (none yet: INT64_MIN).
  int64_t watermark ABSL_GUARDED_BY(mu) = INT64_MIN;
  // Steps up to this one are completed (none yet: INT64_MIN).
  int64_t completed ABSL_GUARDED_BY(mu) = INT64_MIN;
  int64_t last_input_ms ABSL_GUARDED_BY(mu) = 0;  // wall time
  bool dirty ABSL_GUARDED_BY(mu) = false;         // changed since the last save
  ~TargetRule();
};

}  // namespace gralarm

#endif  // GRALARM_TARGET_ENGINE_H_
