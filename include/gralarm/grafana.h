#ifndef GRALARM_GRAFANA_H_
#define GRALARM_GRAFANA_H_

// Grafana dashboards as gralarm reads them to import rules (README "Grafana"):
// the dashboard model and its parser, template variables, the expansion of a
// panel's Graphite queries into what Grafana sends to graphite-web, and a
// client of Grafana's HTTP API.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gralarm/config.h"

namespace gralarm::grafana {

// A panel's or query's "datasource": absent or null (the dashboard's
// default), a name ("graphite", "-- Mixed --", "$ds"), or a reference object
// {"type": "graphite", "uid": "..."} (Grafana 8.3 and later).
struct Datasource {
  enum class Kind { kDefault, kName, kRef };
  Kind kind = Kind::kDefault;
  std::string name;  // kName
  std::string type;  // kRef (may be empty)
  std::string uid;   // kRef (may be empty)
};

// One query of a panel ("targets[]"). Graphite queries are {refId, target,
// targetFull?, hide?, datasource?, textEditor?}; other data sources write
// other fields (expr, rawSql, query...), listed in other_fields.
struct Query {
  std::string ref_id;
  bool has_target = false;  // "target" is a string
  std::string target;
  std::optional<std::string> target_full;
  bool hide = false;
  Datasource datasource;
  std::vector<std::string> other_fields;  // "expr", "rawSql"... sorted
};

struct Panel {
  int64_t id = 0;
  std::string title;
  std::string row;  // the title of the row holding it; empty when none
  std::string type;
  Datasource datasource;
  std::vector<Query> queries;
  // A library panel ("libraryPanel": {"uid"}): its queries live in
  // Grafana's library, not in the dashboard JSON. GrafanaClient reads them
  // (ApplyLibraryPanel); until then, or when that failed (library_error), the
  // panel has no query gralarm can alert on.
  std::string library_uid;
  bool library_loaded = false;
  std::string library_error;
};

// Why library panel `p` offers no query (its problem in the API); empty for
// a panel that is no library panel or whose library model was read.
std::string LibraryPanelProblem(const Panel& p);

struct VariableOption {
  std::string text;
  std::string value;
};

// One entry of "templating.list[]" as saved in the dashboard.
struct Variable {
  std::string name;
  std::string type;  // query, custom, constant, interval, textbox, ...
  std::string label;
  // query: the Graphite find query; custom and interval: the comma-separated
  // values; constant and textbox: the value.
  std::string query;
  std::string regex;  // query only: "/pattern/flags" filter
  int sort = 0;       // query only: Grafana's sort code (0 none ... 6)
  bool multi = false;
  bool include_all = false;
  std::optional<std::string> all_value;  // "allValue" when set and not empty
  // current.value: one value, or a list when `current_is_list`; "$__all"
  // stands for All.
  std::vector<std::string> current;
  bool current_is_list = false;
  std::string current_text;             // current.text (a list joined by " + ")
  std::vector<VariableOption> options;  // as saved
  Datasource datasource;
  bool auto_interval = false;  // interval: "auto" on
};

struct Dashboard {
  std::string uid;
  std::string title;
  int64_t schema_version = 0;
  std::vector<Variable> variables;
  // Every panel holding queries, rows flattened, in the dashboard's order;
  // row panels themselves are not listed.
  std::vector<Panel> panels;
};

// Parses a dashboard: the {"dashboard": {...}, "meta": {...}} envelope of
// GET /api/dashboards/uid/<uid>, or a bare dashboard. Reads every layout:
// rows[].panels[] (schemaVersion < 16), top-level panels[] where a
// {"type": "row"} panel starts a row that the following panels belong to
// until the next row, and collapsed rows that keep their children in their
// own panels[]. Panels without an id get the next free ids, as Grafana does;
// queries without a refId get the next free letter. Malformed JSON is
// InvalidArgument naming the byte position; a value of the wrong shape where
// a dashboard must have an object is InvalidArgument naming the field.
absl::StatusOr<Dashboard> ParseDashboard(std::string_view json);

// Reads a library panel's model into `panel`: the answer of Grafana's
// GET /api/library-elements/<uid>, {"result": {"uid", "name", "kind",
// "model": {panel JSON}, ...}}. The model gives the title (when it has one),
// type, data source and queries, as Grafana shows a library panel; the
// dashboard keeps its id and row. InvalidArgument for malformed JSON (with the
// position) or an answer without result.model; `panel` is then unchanged.
absl::Status ApplyLibraryPanel(std::string_view json, Panel* panel);

// Lists the texts of the metrics a Graphite find query matches (graphite-web
// /metrics/find). Injected so that tests and the fuzzer need no server.
using Finder = std::function<absl::StatusOr<std::vector<std::string>>(
    std::string_view query)>;

// Values chosen by the caller, by variable name; they override the saved
// current values. "All" or "$__all" chooses All.
using Selections = std::map<std::string, std::vector<std::string>>;

// A variable with its options and current value resolved.
struct ResolvedVariable {
  std::string name;
  std::string type;
  std::string label;
  bool multi = false;
  bool include_all = false;
  std::optional<std::string> all_value;
  // The options, All first when include_all ({"All", "$__all"}).
  std::vector<VariableOption> options;
  // The current value(s), as Grafana holds them: a list for a multi-value
  // variable (current_is_list), else one value. {"$__all"} for All.
  std::vector<std::string> current;
  bool current_is_list = false;
  std::string current_text;
  // Why its values may be wrong (unsupported type, find query failed...);
  // a query using it is then not supported. Empty when fine.
  std::string problem;
  bool is_all() const { return !current.empty() && current[0] == "$__all"; }
};

// Resolves every variable of `d` in order: custom and interval options from
// their query, query variables through `find` (their query interpolated with
// the other variables first, its `regex` filter and `sort` applied), current
// values from `selections` or else the saved current (a saved value no longer
// among the options falls back to the first option, as Grafana does).
std::vector<ResolvedVariable> ResolveVariables(const Dashboard& d,
                                               const Selections& selections,
                                               const Finder& find);

// The result of interpolating a text.
struct Interpolated {
  std::string text;
  // One line per problem: a builtin ($__interval...) that has no value
  // outside Grafana, a variable with a problem, an unknown variable.
  std::vector<std::string> problems;
};

// Replaces the variables of `text` as Grafana's template service does for the
// Graphite data source: $v, ${v}, ${v:format}, [[v]] and [[v:format]];
// multi-value and All become {a,b,c} (glob format) or the variable's
// allValue; the formats glob, regex, pipe, csv, raw, text, distributed,
// singlequote, doublequote, percentencode, lucene, sqlstring, json and
// queryparam (an unknown format falls back to glob, as in Grafana). Unknown
// variables are left as written.
Interpolated Interpolate(std::string_view text,
                         const std::vector<ResolvedVariable>& variables);

// A query of a panel as gralarm would alert on it.
struct ExpandedQuery {
  std::string ref_id;
  bool hidden = false;
  std::string raw;       // the target as written
  std::string expanded;  // #X references and variables replaced
  // The expanded target parses and compiles as a gralarm target rule.
  bool supported = false;
  std::string problem;  // why not supported; empty when supported
};

// Expands every query of `panel`: #X references replaced by query X's
// expression (targetFull when the query has one; else substituted until none
// is left, as Grafana's editor does; a cycle is a problem), then variables
// (Interpolate), then Graphite's '5m' -> '5min' interval fix. Hidden queries
// are listed hidden and unsupported ("hidden in Grafana", naming the queries
// that use it); queries of another data source than Graphite are unsupported
// with the reason.
std::vector<ExpandedQuery> ExpandPanel(
    const Dashboard& d, const Panel& panel,
    const std::vector<ResolvedVariable>& variables);

// The literal name of alias(x, "name") when it is the outermost call of
// `target`; empty otherwise.
std::string AliasOf(std::string_view target);

// The panel's url: <base>/d/<uid>?viewPanel=<id>; the dashboard's:
// <base>/d/<uid>.
std::string PanelUrl(std::string_view base, std::string_view uid,
                     int64_t panel_id);
std::string DashboardUrl(std::string_view base, std::string_view uid);

// One dashboard of a search.
struct SearchHit {
  std::string uid;
  std::string title;
  std::string folder;  // folderTitle; empty for the General folder
  std::vector<std::string> tags;
  std::string url;  // Grafana's url of the dashboard (absolute)
};

// Parses a GET /api/search answer.
absl::StatusOr<std::vector<SearchHit>> ParseSearch(std::string_view json,
                                                   std::string_view base_url);

// A client of Grafana's HTTP API: each call is one GET with
// "Authorization: Bearer <token>" (when a token is set), bounded by the
// timeout. Errors never hold the token:
//   Unavailable        Grafana does not answer (refused, reset, timeout),
//                      naming the url
//   PermissionDenied   401 or 403: Grafana refused the token
//   NotFound           404: no such dashboard
//   DataLoss           the answer is not the expected JSON (with position)
//   Internal           any other status
class GrafanaClient {
 public:
  explicit GrafanaClient(const GrafanaOptions& options);

  // GET /api/search?type=dash-db&query=<q>.
  absl::StatusOr<std::vector<SearchHit>> Search(std::string_view q) const;
  // GET /api/dashboards/uid/<uid>, parsed; then, for each library panel,
  // GET /api/library-elements/<uid> (once a uid), read with
  // ApplyLibraryPanel(). A library panel that cannot be read keeps the error
  // in library_error (after a Grafana that does not answer, the remaining
  // ones are not asked: each would wait for the timeout).
  absl::StatusOr<Dashboard> GetDashboard(std::string_view uid) const;
  const std::string& url() const { return url_; }

 private:
  absl::StatusOr<std::string> Get(std::string_view path_and_query,
                                  std::string_view what) const;
  std::string url_;
  std::string token_;
  int64_t timeout_ms_;
};

}  // namespace gralarm::grafana

#endif  // GRALARM_GRAFANA_H_
