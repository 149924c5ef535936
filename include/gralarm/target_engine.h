#ifndef GRALARM_TARGET_ENGINE_H_
#define GRALARM_TARGET_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/graphite_web.h"
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
//
// History (docs/TARGETS.md "History"): a rule whose program reads input
// history before its first step (expr::Program::history_steps() > 0) gets it
// from graphite-web's /render when its program is new (SetRules) and, after a
// restart, for the steps gralarm was down (Restore). The loads run on the
// history loader thread (StartHistoryLoader) or in LoadPendingHistory(),
// without holding a rule's mutex during the HTTP calls. While a rule's load
// runs, its steps are held (points are buffered, steps do not complete), at
// most HoldLimitS(step_s) seconds; the history is replayed into the program
// without alerting or emitting, then the held steps complete.
enum class HistoryState {
  kNotNeeded,     // the program reads no history
  kUnconfigured,  // no [graphite] url: the rule runs without history
  kLoading,       // a load is due or running
  kLoaded,        // the program's state includes its history
  kFailed,        // the last load failed; retried at next_retry_ms
};
std::string_view HistoryStateName(HistoryState s);

// A target rule's history status, for the API.
struct TargetHistoryStatus {
  HistoryState state = HistoryState::kNotNeeded;
  int64_t steps = 0;          // Program::history_steps()
  int64_t loaded_steps = 0;   // steps replayed by the last successful load
  std::string error;          // the last failure ("" when none)
  int64_t next_retry_ms = 0;  // kFailed: when the next attempt runs
};

// How long a rule's steps are held for its history load, in seconds: six
// steps, at least 30 s. Past it the rule evaluates without the history
// (logged) and the load is retried later.
int64_t HoldLimitS(int64_t step_s);

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

  // The graphite-web history is read from; null: none configured (rules
  // needing history run without it, state kUnconfigured). Setting a client
  // makes those rules load their history.
  void SetGraphite(std::shared_ptr<const GraphiteWebClient> client);
  // Starts the history loader thread: it runs LoadPendingHistory() every
  // second and when woken. Stopped by StopHistoryLoader() or the destructor.
  void StartHistoryLoader();
  void StopHistoryLoader();
  // Runs every history load that is due, one rule after the other, on the
  // calling thread. Returns the number of loads attempted.
  int LoadPendingHistory();
  // The history status of target rule `rule_id` in force; nullopt when none.
  std::optional<TargetHistoryStatus> HistoryStatus(
      std::string_view rule_id) const;

  uint64_t history_loads_ok() const { return history_loads_ok_.load(); }
  uint64_t history_loads_error() const { return history_loads_error_.load(); }
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
  // Completes the steps the watermark allows, unless they are held. tr.mu
  // held.
  void CompleteByWatermark(TargetRule& tr);
  // Ends a hold that lasted past HoldLimitS (logged) and completes what it
  // held. tr.mu held.
  void CheckHold(TargetRule& tr, int64_t now_ms);
  // Marks a rule's load failed with `error`, schedules the retry. tr.mu held.
  void LoadFailed(TargetRule& tr, std::string error, int64_t now_ms);
  std::shared_ptr<const GraphiteWebClient> graphite() const;
  void LoaderLoop();

  AlertEngine* const engine_;
  Store* const store_;
  const Clock* const clock_;
  Emitter emitter_;
  mutable absl::Mutex mu_;  // guards snapshot_ (swapped whole)
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  std::shared_ptr<const GraphiteWebClient> graphite_ ABSL_GUARDED_BY(mu_);
  absl::Mutex loader_mu_;
  bool loader_stop_ ABSL_GUARDED_BY(loader_mu_) = false;
  bool loader_wake_ ABSL_GUARDED_BY(loader_mu_) = false;
  std::thread loader_;
  std::atomic<uint64_t> history_loads_ok_{0};
  std::atomic<uint64_t> history_loads_error_{0};
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
  // History (see HistoryState). `holding`: steps are not completed while a
  // load runs, since `hold_since_ms`. `history_complete`: the program's state
  // includes its history (persisted; a restart then loads only the gap).
  HistoryState history_state ABSL_GUARDED_BY(mu) = HistoryState::kNotNeeded;
  std::string history_error ABSL_GUARDED_BY(mu);
  int64_t history_loaded_steps ABSL_GUARDED_BY(mu) = 0;
  int64_t history_next_ms ABSL_GUARDED_BY(mu) = 0;  // a load is due from then
  int64_t history_backoff_ms ABSL_GUARDED_BY(mu) = 0;
  bool history_complete ABSL_GUARDED_BY(mu) = false;
  bool holding ABSL_GUARDED_BY(mu) = false;
  int64_t hold_since_ms ABSL_GUARDED_BY(mu) = 0;
  ~TargetRule();
};

}  // namespace gralarm

#endif  // GRALARM_TARGET_ENGINE_H_
