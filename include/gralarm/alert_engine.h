#ifndef GRALARM_ALERT_ENGINE_H_
#define GRALARM_ALERT_ENGINE_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/flap.h"
#include "gralarm/log.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"

namespace gralarm {

struct EngineCounters {
  uint64_t series_tracked = 0;  // (series) with at least one matching rule
  uint64_t rule_series = 0;     // (rule, series) pairs tracked
  // Active alerts by state, indexed by Index(AlertState); kOk stays 0.
  std::array<int64_t, kNumAlertStates> alerts_active{};
  // Transitions by the state they went to (alert_transitions_total{to}).
  std::array<uint64_t, kNumAlertStates> transitions{};
  uint64_t flapping = 0;  // (rule, series) flapping now
};

// Evaluates every point against the rules that match its series and keeps one
// state a (rule, series). A transition is committed to the store (event, alert,
// history, state: one atomic write through the WAL) before the call returns, so
// nothing shown or notified is ever lost by a crash; counters are persisted by
// Flush(). Offer() is called by every ingest loop at once: series live in
// shards, each under its own lock, so loops only meet on the same shard.
class AlertEngine {
 public:
  AlertEngine(Store* store, const Clock* clock,
              std::shared_ptr<const Config> config);

  // Replaces the rules. Series re-match at once; alerts of rules that are gone,
  // or no longer match, end into history.
  void SetRules(std::shared_ptr<const RuleSet> rules);
  std::shared_ptr<const RuleSet> rules() const;
  // Changes with every SetRules(); cheap to poll from the ingest loops.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }
  void SetConfig(std::shared_ptr<const Config> config);

  // Replaces the silences (as stored); alerts they match are marked silenced at
  // once and from then on, while the silence is in force.
  void SetSilences(const std::vector<SilenceRecord>& silences);

  // Called (from any thread) after notifications were queued in the outbox.
  void SetNotifyHook(std::function<void()> hook) {
    notify_hook_ = std::move(hook);
  }

  // Rebuilds states and active alerts from the store. Call once, after
  // SetRules().
  absl::Status Restore();

  // One point of `path` (the full series, tags included; `name` is without
  // tags), matched against `rules` (the caller's snapshot of rules()). Returns
  // false when no rule of `rules` matches the series, so that callers may skip
  // it until the rules change.
  bool Offer(const RuleSet& rules, std::string_view path, std::string_view name,
             uint32_t ts, double value) {
    return Offer(rules, path, name, ts, value, PathHash(path));
  }
  // The same, for a caller that already has PathHash(path).
  bool Offer(const RuleSet& rules, std::string_view path, std::string_view name,
             uint32_t ts, double value, uint64_t path_hash);

  // One value of output series `series` of target rule `rule` (from the
  // TargetEngine) at step `ts`: the same state machine, notifications,
  // silences, schedules, no-data and history as a pattern rule's point. A rule
  // no longer in force is ignored. Raw points (Offer) never reach the states
  // of target rules.
  void OfferTarget(const std::shared_ptr<const Rule>& rule,
                   std::string_view series, int64_t ts, double value);

  // The hash the engine places a series by.
  static uint64_t PathHash(std::string_view path);

  // Periodic work, about once a second: no-data checks, alerts whose schedule
  // opened or whose silence ended (notified now), and reminders: an alert
  // still active is notified again every repeat_interval_s of each of its
  // channels (except alertmanager channels, which the Notifier re-sends every
  // minute), counted from its last notification. A reminder that fell due
  // while gralarm was stopped is sent at the next interval.
  void Tick();

  // An active alert that may be notified now (neither silenced nor held), and
  // its rule's channels.
  struct Notifiable {
    AlertRecord alert;
    std::vector<std::string> channels;
  };
  std::vector<Notifiable> NotifiableAlerts() const;
  // Persists the counters and values that changed since the last flush. A
  // state is never written over a newer one: a transition committed while a
  // flush is writing its shard lands after that write.
  absl::Status Flush();
  // Tests only: runs in Flush() between copying a shard's dirty states and
  // writing them (the shard lock released), once per shard with dirty states.
  void SetFlushPauseForTest(std::function<void()> pause) {
    flush_pause_ = std::move(pause);
  }

  // Active alerts with their live last value and last-seen time.
  std::vector<AlertRecord> ActiveAlerts() const;
  EngineCounters Counters() const;

  // The state of every series a rule tracks (GET /api/v1/rules/{id}/series).
  struct SeriesView {
    std::string series;
    SeriesState state;
    bool nodata = false;
    int64_t last_arrival_ms = 0;
    bool flapping = false;
    // A forecast rule's last forecast (none before the minimum span).
    std::optional<double> forecast;
  };
  std::vector<SeriesView> SeriesOf(std::string_view rule_id) const;

 private:
  struct RuleState {
    std::shared_ptr<const Rule> rule;
    SeriesState state;
    // rule->is_target(), kept beside the state: Offer() asks it for every
    // point and every state, and the Rule is another cache line.
    bool target = false;
    bool nodata = false;
    bool dirty = false;
    bool active = false;    // an alert is raised
    bool held = false;      // raised outside its schedule: notification held
    bool silenced = false;  // a silence in force matches it
    Level peak = Level::kOk;
    int64_t since_ms = 0;
    double raise_value = 0;
    int64_t notified_ms = 0;  // a firing notification was last queued then
    // Only for rules with `flap`; shared by copies of the state.
    std::shared_ptr<FlapTracker> flap;
    // Only for rules with `forecast` (empty otherwise): the window, and the
    // forecast that raised the alert.
    ForecastWindow forecast;
    bool flapping() const { return flap && flap->flapping(); }
    AlertState alert_state() const { return StateOf(state.level, nodata); }
  };
  // Most series match one rule: its state lives inside the entry (one
  // allocation a series).
  using RuleStates = absl::InlinedVector<RuleState, 1>;
  struct SeriesEntry {
    uint64_t generation = 0;
    int64_t last_arrival_ms = 0;
    RuleStates rules;
  };
  struct Shard {
    mutable absl::Mutex mu;
    // A node map: one allocation holds a series' name and entry, and an
    // entry stays where it is while the map grows.
    absl::node_hash_map<std::string, SeriesEntry> series ABSL_GUARDED_BY(mu);
    // Orders the shard's state writes as the states were taken: held around
    // every store write of a state (transitions, deletes; taken under `mu`)
    // and by Flush() from before it releases `mu` after copying until its
    // write is done. A state copied under `mu` therefore reaches the store
    // before any state taken after it. Order: mu -> write_mu.
    absl::Mutex write_mu;
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(uint64_t path_hash) { return shards_[path_hash % kShards]; }
  // Calls fn(path, entry, rule_state) for every (rule, series), one shard at
  // a time under its lock.
  template <typename Fn>
  void ForEachRuleState(Fn fn) {
    for (Shard& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      for (auto& [path, entry] : shard.series) {
        for (RuleState& rs : entry.rules) fn(std::string_view(path), entry, rs);
      }
    }
  }
  template <typename Fn>
  void ForEachRuleState(Fn fn) const {
    for (const Shard& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      for (const auto& [path, entry] : shard.series) {
        for (const RuleState& rs : entry.rules) {
          fn(std::string_view(path), entry, rs);
        }
      }
    }
  }
  // The write order lock of the shard `path` lives in (see Shard::write_mu).
  absl::Mutex& WriteMuOf(std::string_view path) {
    return ShardOf(PathHash(path)).write_mu;
  }
  // Re-matches an entry against `rules`, keeping the states of rules that still
  // match and ending the alerts of those that do not. The states of target
  // rules are kept while their rule is in force (as a target rule).
  void Rebuild(const RuleSet& rules, std::string_view path, SeriesEntry* entry);
  // The state of target rule `rule` in `entry`, added when missing.
  RuleState& TargetStateOf(SeriesEntry* entry,
                           const std::shared_ptr<const Rule>& rule);
  // Offers one value to one state (Offer's and OfferTarget's common part).
  void OfferState(RuleState& rs, std::string_view path, uint32_t ts,
                  double value);
  // Records a change of `rs` for `path` from `from` to `to` (its state now):
  // ChangeLife(), then NotifyChange() unless the series is flapping, then
  // CommitChange(). Shard lock held.
  void Apply(RuleState& rs, std::string_view path, AlertState from,
             AlertState to, double value, uint32_t ts);
  // What a change does to the alert of a (rule, series).
  struct Change {
    TransitionWrite write;    // event, and history when the alert ended
    bool raised = false;      // an alert is active after the change ...
    bool was_active = false;  // ... and was before it (a change of level)
    std::optional<RuleState> ended;  // the alert as it ended, if it did
  };
  // The alert's life: raised (since, held by its schedule), re-levelled, or
  // ended into history; silences re-checked; active counts moved. Updates
  // `rs`; writes nothing.
  Change ChangeLife(RuleState& rs, std::string_view path, AlertState from,
                    AlertState to, double value, uint32_t ts, int64_t now);
  // Notification policy of a change: the outbox records due for the rule's
  // channels (none while silenced or held), with the label set a change of
  // level replaces, and what receivers were told (for flap detection).
  void NotifyChange(RuleState& rs, std::string_view path, AlertState from,
                    double value, int64_t now, Change* change);
  // Writes the change with the alert as it is now and the state, as one
  // store commit under the shard's write order lock; counts it; wakes the
  // notifier when it queued notifications.
  void CommitChange(RuleState& rs, std::string_view path, AlertState from,
                    AlertState to, TransitionWrite write);
  void EndAlert(RuleState& rs, std::string_view path, std::string_view reason);
  AlertRecord ToRecord(const RuleState& rs, std::string_view path,
                       int64_t last_seen) const;
  static std::string EncodeState(const RuleState& rs);
  // A forecast rule's last forecast (for its events); none for other rules.
  static std::optional<double> LastForecast(const RuleState& rs);
  static bool DecodeState(std::string_view bytes, RuleState* rs);
  void CountActive(AlertState state, int delta);
  std::shared_ptr<const Config> config() const;

  struct CompiledSilence {
    SilenceRecord record;
    std::optional<Glob> rule;    // none: any rule
    std::optional<Glob> series;  // none: any series
  };
  // True when a silence in force at `now` matches the rule and series.
  bool Silenced(const RuleState& rs, std::string_view path, int64_t now) const;
  // Updates (and persists) the silenced flag of an active alert. Shard lock
  // held.
  void RefreshSilenced(RuleState& rs, std::string_view path,
                       const SeriesEntry& entry, int64_t now);

  // Outbox records for the rule's channels, unless silenced or held.
  std::vector<OutboxRecord> Notifications(const RuleState& rs,
                                          std::string_view path, bool resolved,
                                          double value, int64_t now);
  // Queues a firing notification for an active alert that became notifiable
  // (its period opened or its silence ended); `why` names the event's `from`.
  void NotifyNow(RuleState& rs, std::string_view path, const SeriesEntry& entry,
                 std::string_view why, int64_t now);
  // Appends the reminders due between the previous tick and `now`.
  void Reminders(const RuleState& rs, std::string_view path,
                 const SeriesEntry& entry, const Config& config, int64_t now,
                 std::vector<OutboxRecord>* out) const;
  // Flap detection of a change of `rs` (see FlapOptions): whether to notify.
  FlapTracker::Verdict FlapChange(RuleState& rs, int64_t now);
  // Appends the notification of a series that stopped flapping: its state now.
  void FlapEnded(RuleState& rs, std::string_view path, int64_t now,
                 std::vector<OutboxRecord>* out);
  std::function<void()> notify_hook_;
  std::function<void()> flush_pause_;  // tests only

  Store* const store_;
  const Clock* const clock_;
  mutable absl::Mutex rules_mu_;
  std::shared_ptr<const RuleSet> rules_ ABSL_GUARDED_BY(rules_mu_);
  std::shared_ptr<const Config> config_ ABSL_GUARDED_BY(rules_mu_);
  std::atomic<uint64_t> generation_{0};
  std::shared_ptr<const std::vector<CompiledSilence>> silences_
      ABSL_GUARDED_BY(rules_mu_);
  std::array<Shard, kShards> shards_;

  std::atomic<int64_t> last_point_ms_{
      0};                         // any point at all, for the no-data guard
  int64_t guard_resumed_ms_ = 0;  // Tick() only
  int64_t last_tick_ms_ = 0;      // Tick() only; 0 before the first
  bool guard_paused_ = false;     // Tick() only
  bool guard_logged_ = false;     // Tick() only: the pause was logged
  std::atomic<uint64_t> series_tracked_{0};
  std::atomic<uint64_t> rule_series_{0};
  std::array<std::atomic<int64_t>, kNumAlertStates> alerts_active_{};
  std::array<std::atomic<uint64_t>, kNumAlertStates> transitions_{};
  std::atomic<int64_t> flapping_{0};
  LogLimiter store_error_log_{1, std::chrono::seconds(10)};
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_ENGINE_H_
