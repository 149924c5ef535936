#ifndef GRALARM_RULE_H_
#define GRALARM_RULE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gralarm/config.h"
#include "gralarm/evaluator.h"
#include "gralarm/glob.h"

namespace gralarm {

namespace expr {
struct Node;
}  // namespace expr

// Flap detection of a rule: a (rule, series) whose state changes `changes`
// times within `window_s` is flapping. Off when changes is 0.
struct FlapOptions {
  int64_t window_s = 0;
  int64_t changes = 0;
  bool on() const { return changes > 0; }
};

// The fields a template can supply to a rule (every rule field but id, name,
// pattern and the target fields). Unset fields come from the template, then
// from the defaults.
struct RuleFields {
  std::optional<Direction> direction;
  std::optional<std::array<std::optional<double>, kNumLevels>> thresholds;
  std::optional<int64_t> checks_alert;
  std::optional<int64_t> checks_ok;
  std::optional<double> ok_margin_pct;
  std::optional<Transform> transform;
  std::optional<int64_t> nodata_after_s;
  std::optional<std::string> schedule;
  std::optional<std::vector<std::string>> channels;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<bool> enabled;
  std::optional<FlapOptions> flap;
  // README "Forecast rules".
  std::optional<ForecastOptions> forecast;
};

// Where a rule or template was defined.
enum class RuleSource { kApi, kFile };

// A position in a rule file (1-based).
struct SourcePosition {
  int line = 0;
  int column = 0;
};

// Where an imported rule comes from: one query of one Grafana panel (README
// "Grafana"). Rules made otherwise have none.
struct GrafanaOrigin {
  std::string uid;  // the dashboard's uid
  int64_t panel_id = 0;
  std::string ref_id;
  // <grafana url>/d/<uid>?viewPanel=<panel id>: the generatorURL of the
  // rule's alerts and the page's link. May be empty.
  std::string url;
  bool operator==(const GrafanaOrigin&) const = default;
};

// A rule as written (README "Threshold rules"), before its template is applied.
struct RuleSpec {
  std::string id;
  std::string name;
  std::string pattern;
  // A target rule (README "Target rules") has `target` instead of `pattern`:
  // a Graphite expression computed on a grid of step_s seconds.
  std::string target;
  std::optional<int64_t> step_s;      // target only; default kDefaultStepS
  std::optional<int64_t> lateness_s;  // target only; default step_s / 2
  std::string emit_prefix;            // target only; empty: not emitted
  std::string template_name;
  RuleFields fields;
  // The JSON field "grafana": set on rules imported from a Grafana panel.
  std::optional<GrafanaOrigin> grafana;
  RuleSource source = RuleSource::kApi;
  std::string source_file;  // for kFile
  int source_line = 0;      // for kFile: where its table starts
  int source_column = 0;
  // For kFile: where each field's key is written, by field name.
  std::map<std::string, SourcePosition> field_positions;
};

struct TemplateSpec {
  std::string name;
  RuleFields fields;
  RuleSource source = RuleSource::kApi;
  std::string source_file;
  // For kFile: where each field's key is written, by field name.
  std::map<std::string, SourcePosition> field_positions;
};

// The grid of a target rule when step_s is not given.
inline constexpr int64_t kDefaultStepS = 60;

// The target of a target rule, parsed, validated and compiled once.
struct RuleTarget {
  std::shared_ptr<const expr::Node> tree;
  // expr::Format(tree): equal texts are the same computation.
  std::string canonical;
  int64_t step_s = kDefaultStepS;
  int64_t lateness_s = kDefaultStepS / 2;
  std::string emit_prefix;  // empty: outputs are not emitted
  // The glob of every path of the target, in the order written.
  std::vector<Glob> globs;
};

// A rule ready for evaluation: template and defaults applied, everything
// validated.
struct Rule {
  RuleSpec spec;
  // Pattern rules: the pattern. Target rules: the target's first path (not
  // used for matching; RuleSet indexes RuleTarget::globs).
  Glob glob;
  EvalParams params;
  int64_t nodata_after_s = 0;
  std::string schedule = "24x7";
  std::vector<std::string> channels;
  std::map<std::string, std::string> labels;
  bool enabled = true;
  FlapOptions flap;  // off unless set
  // Set for a target rule: its points are the outputs of the target, offered
  // by the TargetEngine, never raw points.
  std::shared_ptr<const RuleTarget> target;
  bool is_target() const { return target != nullptr; }
};

// A validation failure naming the offending field ("thresholds",
// "checks_alert"...). The field travels as the status payload kFieldPayload;
// FieldOf() reads it back.
inline constexpr char kFieldPayload[] = "gralarm.field";
absl::Status FieldError(std::string_view field, std::string_view message);
std::string FieldOf(const absl::Status& status);

// Parses rule / template JSON (README "Threshold rules"). An absent id is left
// empty (the caller generates one). Unknown fields and wrong types are field
// errors.
absl::StatusOr<RuleSpec> ParseRuleJson(std::string_view json);
absl::StatusOr<TemplateSpec> ParseTemplateJson(std::string_view json);
std::string RuleSpecToJson(const RuleSpec& spec);
std::string TemplateSpecToJson(const TemplateSpec& spec);

// Applies the template (null when the rule names none) and the defaults, then
// validates against the config's schedules and channels.
absl::StatusOr<Rule> ResolveRule(const RuleSpec& spec, const TemplateSpec* tmpl,
                                 const Config& config);

// Parses, validates and compiles the target of a target rule, with its
// step_s, lateness_s (default step_s / 2) and emit_prefix. Errors are
// "target" field errors with the parser's or the catalogue's message
// ("column N: ...", an unsupported function named).
absl::StatusOr<std::shared_ptr<const RuleTarget>> ResolveTarget(
    const RuleSpec& spec);

// Valid emit_prefix values: dot-separated non-empty segments of
// [A-Za-z0-9_-], at most 200 bytes.
bool ValidMetricPrefix(std::string_view prefix);

// Valid rule ids: [a-z0-9_.-]{1,128}.
bool ValidRuleId(std::string_view id);

// The labels gralarm sets on every alert it sends; a rule cannot set them.
inline constexpr const char* kReservedLabels[] = {"alertname", "severity",
                                                  "series"};

// Checks one label name of a rule or template as Prometheus and Alertmanager
// do: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for internal
// use) and not one of kReservedLabels. Alertmanager refuses an alert with any
// other name (HTTP 400), so such a label must never reach the outbox. Returns
// a "labels" field error naming the label.
absl::Status ValidateLabelName(std::string_view name);

// A rule file's content ([[templates]] and [[rules]] tables in TOML).
struct RuleFile {
  std::vector<TemplateSpec> templates;
  std::vector<RuleSpec> rules;
};

// Parses a rule file; errors are "file:line:col: message" lines, every error
// of every table, each at the key of the field at fault (at the table's header
// for a missing field).
absl::StatusOr<RuleFile> LoadRuleFile(const std::string& path);
// The same for a rule file's text; `path` names it in errors.
absl::StatusOr<RuleFile> ParseRuleFile(std::string_view text,
                                       const std::string& path);

class Store;
class RuleSet;

// Builds the rules in force: those of config.rules.files (read-only) and those
// stored through the API (`store` may be null). Every rule is resolved against
// its template and the config.
//
// Rule files are the operator's configuration: any error in them (syntax,
// a duplicate id, a rule that does not resolve) fails the whole load, as
// "file:line:col: message" lines, every error of every rule at its field.
// Stored rules are data: one that does not parse or resolve (it names a
// schedule, channel or template that is gone) is left out of force and listed
// in RuleSet::invalid() with its reason, and the other rules load; such
// problems are also RuleSet::warnings() lines. Fails otherwise only when the
// store cannot be read.
absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRules(const Config& config,
                                                         Store* store,
                                                         uint64_t generation);

// The two steps of LoadRules, for a caller that keeps the rule files in force
// while the store changes: LoadRuleFiles reads and parses config.rules.files
// (errors as above), LoadRules(config, files, ...) resolves them with the
// stored rules.
absl::StatusOr<std::vector<RuleFile>> LoadRuleFiles(const Config& config);
absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRules(
    const Config& config, const std::vector<RuleFile>& files, Store* store,
    uint64_t generation);

}  // namespace gralarm

#endif  // GRALARM_RULE_H_
