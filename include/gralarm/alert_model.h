#ifndef GRALARM_ALERT_MODEL_H_
#define GRALARM_ALERT_MODEL_H_

// The alert model: the states a (rule, series) can be raised in, and the
// records of alerts, their history, the event log, silences and
// notifications. Plain data, shared by the engine, the store (which encodes
// them: docs/STORAGE.md), the API and the notifier; nothing here knows how it
// is persisted.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gralarm/evaluator.h"

namespace gralarm {

// What a (rule, series) is raised as. The first four are the Levels with the
// same numbers; kNoData is "no point for nodata_after_s", which outranks any
// level while it lasts. Arrays indexed by state have kNumAlertStates slots.
enum class AlertState : uint8_t {
  kOk = 0,
  kWarning = 1,
  kMajor = 2,
  kCritical = 3,
  kNoData = 4,
};
inline constexpr int kNumAlertStates = 5;
inline constexpr std::array<AlertState, kNumAlertStates> kAllAlertStates = {
    AlertState::kOk, AlertState::kWarning, AlertState::kMajor,
    AlertState::kCritical, AlertState::kNoData};

// The slot of `state` in an array of kNumAlertStates.
constexpr size_t Index(AlertState state) { return static_cast<size_t>(state); }
// The state of a series at `level`, or kNoData while flagged no-data.
constexpr AlertState StateOf(Level level, bool nodata) {
  return nodata ? AlertState::kNoData : static_cast<AlertState>(level);
}
// The level part of a state (kOk for kNoData).
constexpr Level LevelOf(AlertState state) {
  return state == AlertState::kNoData ? Level::kOk
                                      : static_cast<Level>(state);
}
// "ok", "warning", "major", "critical", "nodata".
std::string_view AlertStateName(AlertState state);
// The inverse of AlertStateName; false for anything else.
bool ParseAlertState(std::string_view name, AlertState* out);

// An alert that is raised now (README "HTTP API and web page").
struct AlertRecord {
  std::string rule_id;
  std::string rule_name;
  std::string series;
  Level severity = Level::kOk;  // kOk while only nodata is raised
  Level peak = Level::kOk;
  bool nodata = false;
  double value = 0;  // the value that raised it
  // A forecast rule's alert: the forecast that raised it (`value` is then the
  // actual value of that point).
  std::optional<double> forecast;
  int64_t since_ms = 0;
  double last_value = 0;  // at the last transition
  int64_t last_seen_ms = 0;
  std::map<std::string, std::string> labels;
  bool silenced = false;
  // Notifications for it are held because its rule's schedule is closed.
  bool held = false;
  // When a firing notification was last queued for it (0: never); reminders
  // count from here.
  int64_t notified_ms = 0;
  // Its (rule, series) is flapping (the rule's `flap`): changes are recorded
  // but not notified until it is stable again.
  bool flapping = false;
  // Its rule's Grafana panel url (RuleSpec::grafana), sent as Alertmanager's
  // generatorURL; empty for other rules.
  std::string generator_url;

  // What it is raised as: its severity, or kNoData while flagged no-data.
  AlertState state() const { return StateOf(severity, nodata); }
  // AlertStateName(state()): "warning", "major", "critical" or "nodata".
  std::string SeverityName() const;
};

// An alert that ended.
struct HistoryRecord {
  std::string rule_id;
  std::string rule_name;
  std::string series;
  Level peak = Level::kOk;
  Level severity = Level::kOk;  // the level it held just before it ended
  bool nodata = false;          // it ended while flagged no-data
  // What it was raised as just before it ended.
  AlertState state() const { return StateOf(severity, nodata); }
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double last_value = 0;
  std::map<std::string, std::string> labels;
};

// One entry of the event log {rule_id, series, from, to, value, ts, at}. For a
// transition, from/to are AlertStateName()s. An alert that became notifiable
// without a transition is logged from its reason ("held": its schedule opened,
// "silenced": its silence ended) to "due".
struct EventRecord {
  uint64_t seq = 0;
  std::string rule_id;
  std::string series;
  std::string from;
  std::string to;
  double value = 0;
  uint32_t ts = 0;
  int64_t at_ms = 0;
  // A forecast rule's: the forecast of that point (the value its thresholds
  // were compared with), when one was made.
  std::optional<double> forecast;
};

// Alerts matching a silence are tracked as usual but not notified (README
// "Notifications").
struct SilenceRecord {
  std::string id;
  std::string rule;    // a rule id or a glob over rule ids
  std::string series;  // a glob over series names (without tags)
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;
  std::string created_by;
  std::string comment;
};

// A notification waiting for delivery to one channel (the durable outbox).
struct OutboxRecord {
  uint64_t seq = 0;     // assigned by the store; delivery order
  std::string channel;  // a [[notify.channels]] name
  std::string status;   // "firing" or "resolved"
  AlertRecord alert;    // the alert as it was at the transition
  // Set when the alert's severity label changed from this one (say "warning"
  // on an escalation to "critical"): receivers are told that label set ended,
  // since Alertmanager identifies an alert by its labels.
  // An AlertStateName(); empty when nothing is replaced.
  std::string replaces;
  // A reminder of an alert still active at the same level (no transition).
  bool reminder = false;
  int64_t ends_ms = 0;  // for "resolved": when it ended
  int64_t created_ms = 0;
  int attempts = 0;
  int64_t next_attempt_ms = 0;
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_MODEL_H_
