#include "gralarm/api.h"

#include <openssl/crypto.h>

#include <cerrno>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "api/grafana_api.h"
#include "api/rule_bulk.h"
#include "api/settings.h"
#include "api/graph.h"
#include "expr/evaluate_points.h"
#include "gralarm/glob.h"
#include "gralarm/idle_priority.h"
#include "gralarm/line_parser.h"
#include "gralarm/record_json.h"
#include "gralarm/record_sync.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"

namespace gralarm {

using nlohmann::json;

namespace {
// 2100-01-01T00:00:00Z: later times are mistakes (milliseconds given as
// seconds, an overflow), not plans.
constexpr int64_t kLatestMs = 4102444800000;
}  // namespace

bool ParseTimeParam(std::string_view text, int64_t* ms) {
  if (text.empty() || text.size() > 64) return false;
  if (text.find_first_not_of("0123456789.") == std::string_view::npos) {
    char* end = nullptr;
    std::string t(text);
    double seconds = std::strtod(t.c_str(), &end);
    if (*end != '\0' || !(seconds >= 0) || seconds * 1000 >= kLatestMs) {
      return false;
    }
    *ms = static_cast<int64_t>(seconds * 1000);
    return true;
  }
  std::string t(text);
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
    t.pop_back();
    t += "+00:00";
  }
  absl::Time time;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, t, &time, &err)) return false;
  if (time < absl::UnixEpoch() || time >= absl::FromUnixMillis(kLatestMs)) {
    return false;
  }
  *ms = absl::ToUnixMillis(time);
  return true;
}

HttpResponse FieldErrorResponse(const absl::Status& status) {
  json j = {{"error",
             {{"code", "invalid_argument"},
              {"message", std::string(status.message())},
              {"field", FieldOf(status)}}}};
  return HttpResponse{400, "application/json", JsonText(j)};
}

namespace {

constexpr size_t kDefaultLimit = 100;
// POST /api/v1/evaluate: the most points, and steps between the first and the
// last, one request may ask for.
constexpr size_t kMaxEvaluatePoints = 100000;
constexpr size_t kMaxEvaluateSteps = 100000;
constexpr size_t kMaxLimit = 1000;

HttpResponse Json(int status, const json& j) {
  return HttpResponse{status, "application/json", JsonText(j)};
}

HttpResponse BadParam(std::string_view name, std::string_view message) {
  json j = {{"error",
             {{"code", "invalid_argument"},
              {"message", StrCat(name, ": ", message)},
              {"field", name}}}};
  return Json(400, j);
}

HttpResponse NotFound(std::string_view what) {
  return JsonError(404, "not_found", StrCat(what, " not found"));
}

HttpResponse Conflict(std::string_view message) {
  return JsonError(409, "conflict", message);
}

HttpResponse Internal(const absl::Status& s) {
  return JsonError(500, "internal", std::string(s.message()));
}

// An AlertService error as the API answers it (see AlertService).
HttpResponse ServiceError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return FieldErrorResponse(s);
    case absl::StatusCode::kNotFound:
      return JsonError(404, "not_found", std::string(s.message()));
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return Conflict(std::string(s.message()));
    default:
      return Internal(s);
  }
}

// A page of a list: {"items": [...], "next_cursor": "..."}.
HttpResponse Page(json items, std::string next_cursor) {
  return Json(200,
              json{{"items", std::move(items)}, {"next_cursor", next_cursor}});
}

// Reads ?limit= (default 100, at most 1000).
bool Limit(const std::map<std::string, std::string>& q, size_t* limit,
           HttpResponse* error) {
  *limit = kDefaultLimit;
  auto it = q.find("limit");
  if (it == q.end()) return true;
  char* end = nullptr;
  long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < 1 ||
      v > static_cast<long>(kMaxLimit)) {
    *error = BadParam("limit", "must be between 1 and 1000");
    return false;
  }
  *limit = static_cast<size_t>(v);
  return true;
}

std::string Param(const std::map<std::string, std::string>& q,
                  const char* key) {
  auto it = q.find(key);
  return it == q.end() ? "" : it->second;
}

// A glob parameter (empty = everything).
bool GlobParam(const std::map<std::string, std::string>& q, const char* key,
               std::optional<Glob>* out, HttpResponse* error) {
  std::string v = Param(q, key);
  if (v.empty()) return true;
  auto g = Glob::Compile(v);
  if (!g.ok()) {
    *error = BadParam(key, std::string(g.status().message()));
    return false;
  }
  *out = std::move(*g);
  return true;
}

// Whether a series name passes a ?series= filter (none: all): the glob
// matches it, or spells it (the output of a target rule is named by its
// expression, whose braces and brackets are glob characters).
bool SeriesPasses(const std::optional<Glob>& filter, std::string_view series) {
  const std::string_view name = MetricName(series);
  return !filter || filter->Matches(name) || filter->pattern() == name;
}

// The filters shared by the history and event lists.
struct Filters {
  size_t limit = kDefaultLimit;
  std::optional<Glob> series;
  int64_t from = 0;
  int64_t to = INT64_MAX;
  std::string rule;
  std::string severity;
};

bool ParseFilters(const std::map<std::string, std::string>& q, Filters* f,
                  HttpResponse* error) {
  if (!Limit(q, &f->limit, error)) return false;
  if (!GlobParam(q, "series", &f->series, error)) return false;
  for (auto [key, out] :
       {std::pair{"from", &f->from}, std::pair{"to", &f->to}}) {
    std::string text = Param(q, key);
    if (!text.empty() && !ParseTimeParam(text, out)) {
      *error = BadParam(
          key, "must be RFC 3339 or epoch seconds, between 1970 and 2100");
      return false;
    }
  }
  f->rule = Param(q, "rule");
  f->severity = Param(q, "severity");
  return true;
}

json RuleJson(const Rule& r) {
  json j = json::parse(RuleSpecToJson(r.spec));
  j["source"] = r.spec.source == RuleSource::kFile ? "file" : "api";
  j["read_only"] = r.spec.source == RuleSource::kFile;
  if (r.spec.source == RuleSource::kFile) j["source_file"] = r.spec.source_file;
  j["valid"] = true;
  if (r.is_target()) {  // the values in force, defaults included
    j["step_s"] = r.target->step_s;
    j["lateness_s"] = r.target->lateness_s;
  }
  return j;
}

// RuleJson with, for a target rule in force, its "history" status.
json RuleJson(const Rule& r, ApiBackend* b) {
  json j = RuleJson(r);
  if (!r.is_target()) return j;
  const std::optional<TargetHistoryStatus> h = b->TargetHistory(r.spec.id);
  if (!h) return j;
  json hj = {{"state", HistoryStateName(h->state)},
             {"steps", h->steps},
             {"loaded_steps", h->loaded_steps}};
  if (!h->error.empty()) hj["error"] = h->error;
  if (h->next_retry_ms > 0) hj["next_retry"] = Rfc3339Millis(h->next_retry_ms);
  j["history"] = std::move(hj);
  return j;
}

// A stored rule not in force: its stored fields, "valid": false and why.
json InvalidRuleJson(const InvalidRule& r) {
  json j = json::parse(r.json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) j = json::object();
  j["id"] = r.id;
  j["source"] = "api";
  j["read_only"] = false;
  j["valid"] = false;
  j["invalid_reason"] = r.reason;
  j["invalid_field"] = r.field;
  return j;
}

std::string JsonString(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                               : std::string();
}

json TemplateJson(const TemplateSpec& t) {
  json j = json::parse(TemplateSpecToJson(t));
  j["source"] = t.source == RuleSource::kFile ? "file" : "api";
  j["read_only"] = t.source == RuleSource::kFile;
  return j;
}

json SilenceJson(const SilenceRecord& x) {
  return json{{"id", x.id},
              {"rule", x.rule},
              {"series", x.series},
              {"starts_at", Rfc3339Millis(x.starts_at_ms)},
              {"ends_at", Rfc3339Millis(x.ends_at_ms)},
              {"created_by", x.created_by},
              {"comment", x.comment}};
}

// Compares in a time that tells nothing of how much of a guess was right.
bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "application/json", in any case, with or without parameters.
bool IsJsonContentType(std::string_view v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  return absl::EqualsIgnoreCase(AbslView(v), "application/json");
}

// An Origin header that is absent, or names this server by the Host the
// request was sent to ("http://" or "https://" + Host).
bool SameOrigin(const HttpRequest& r) {
  if (r.origin.empty()) return true;
  return !r.host.empty() &&
         (absl::EqualsIgnoreCase(r.origin, StrCat("http://", r.host)) ||
          absl::EqualsIgnoreCase(r.origin, StrCat("https://", r.host)));
}

// Splits "/api/v1/a/b/c" into {"a", "b", "c"}; any other path into {}.
std::vector<std::string> PathParts(std::string_view path) {
  std::vector<std::string> parts;
  constexpr std::string_view kPrefix = "/api/v1/";
  if (!path.starts_with(kPrefix)) return parts;  // answered 404
  path.remove_prefix(kPrefix.size());
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

class Request {
 public:
  Request(ApiBackend* b, WriteToken* token, const HttpRequest& r)
      : b_(b),
        token_(token),
        r_(r),
        q_(ParseQuery(r.query)),
        parts_(PathParts(r.path)) {}

  HttpResponse Handle();

 private:
  bool Is(std::string_view method) const { return r_.method == method; }
  // The answer refusing a request without api.token (503 while a token file
  // never gave one, 401 for a missing or wrong token), or none: it may go on.
  // `who` names what needs the token in the 401's message.
  std::optional<HttpResponse> RequireToken(std::string_view who) {
    const absl::StatusOr<std::string> token = token_->Get(b_->config()->api);
    if (!token.ok()) {
      return JsonError(503, "unavailable",
                       std::string(token.status().message()));
    }
    if (!token->empty() &&
        !SameSecret(r_.authorization, StrCat("Bearer ", *token))) {
      return JsonError(401, "unauthenticated",
                       StrCat(who, " need the header Authorization: Bearer "
                                   "<api.token>"));
    }
    return std::nullopt;
  }
  HttpResponse MethodNotAllowed() const {
    return JsonError(405, "method_not_allowed",
                     StrCat(r_.method, " is not allowed on ", r_.path));
  }

  HttpResponse Summary();
  HttpResponse Rules();
  HttpResponse Rule(const std::string& id);
  HttpResponse RuleSeries(const std::string& id);
  HttpResponse PutRule(const std::string& path_id, bool create);
  // POST /api/v1/rules/bulk: one change to many API rules, all or none.
  HttpResponse BulkRules();
  // GET /api/v1/settings: what is in force, read-only.
  HttpResponse Settings();
  HttpResponse Templates();
  HttpResponse Template(const std::string& name);
  HttpResponse PutTemplate(const std::string& path_name, bool create);
  HttpResponse Alerts();
  HttpResponse History();
  HttpResponse Events();
  HttpResponse Silences();
  HttpResponse DeleteSilence(const std::string& id);
  HttpResponse Match();
  HttpResponse Backup();
  // Runs a target over given points (trying an expression before saving it).
  // Writes nothing, but is a POST like the writes, so it takes the same
  // checks (token, same origin, JSON): it costs CPU, and the page calls it
  // like any write.
  HttpResponse Evaluate();
  // GET and POST /api/v1/cluster/records (README "Rules, templates and
  // silences").
  HttpResponse ClusterRecords();

  ApiBackend* const b_;
  WriteToken* const token_;
  const HttpRequest& r_;
  const std::map<std::string, std::string> q_;
  const std::vector<std::string> parts_;
};

HttpResponse Request::Handle() {
  const bool write = !Is("GET") && !Is("HEAD");
  if (write) {
    if (!SameOrigin(r_)) {
      return JsonError(403, "cross_origin",
                       StrCat("writes from the page of another site (Origin ",
                              ValidUtf8(r_.origin), ") are refused"));
    }
    if (std::optional<HttpResponse> refused = RequireToken("writes");
        refused) {
      return *refused;
    }
    if ((Is("POST") || Is("PUT")) && !IsJsonContentType(r_.content_type)) {
      return JsonError(415, "unsupported_media_type",
                       StrCat(r_.method,
                              " needs the header Content-Type: "
                              "application/json"));
    }
  }
  const size_t n = parts_.size();
  const std::string first = n > 0 ? parts_[0] : "";
  if (first == "settings" && n == 1)
    return Is("GET") ? Settings() : MethodNotAllowed();
  if (first == "summary" && n == 1)
    return Is("GET") ? Summary() : MethodNotAllowed();
  if (first == "rules" && n == 1) {
    if (Is("GET")) return Rules();
    if (Is("POST")) return PutRule("", /*create=*/true);
    return MethodNotAllowed();
  }
  if (first == "rules" && n == 2 && parts_[1] == "bulk" && Is("POST")) {
    return BulkRules();
  }
  if (first == "rules" && n == 2) {
    if (Is("GET") || Is("DELETE")) return Rule(parts_[1]);
    if (Is("PUT")) return PutRule(parts_[1], /*create=*/false);
    return MethodNotAllowed();
  }
  if (first == "rules" && n == 3 && parts_[2] == "series") {
    return Is("GET") ? RuleSeries(parts_[1]) : MethodNotAllowed();
  }
  if (first == "templates" && n == 1) {
    if (Is("GET")) return Templates();
    if (Is("POST")) return PutTemplate("", /*create=*/true);
    return MethodNotAllowed();
  }
  if (first == "templates" && n == 2) {
    if (Is("GET") || Is("DELETE")) return Template(parts_[1]);
    if (Is("PUT")) return PutTemplate(parts_[1], /*create=*/false);
    return MethodNotAllowed();
  }
  if (first == "alerts" && n == 1)
    return Is("GET") ? Alerts() : MethodNotAllowed();
  if (first == "history" && n == 1)
    return Is("GET") ? History() : MethodNotAllowed();
  if (first == "events" && n == 1)
    return Is("GET") ? Events() : MethodNotAllowed();
  if (first == "silences" && n == 1) {
    return Is("GET") || Is("POST") ? Silences() : MethodNotAllowed();
  }
  if (first == "silences" && n == 2) {
    return Is("DELETE") ? DeleteSilence(parts_[1]) : MethodNotAllowed();
  }
  if (first == "match" && n == 1)
    return Is("GET") ? Match() : MethodNotAllowed();
  if (first == "backup" && n == 1)
    return Is("POST") ? Backup() : MethodNotAllowed();
  if (first == "evaluate" && n == 1)
    return Is("POST") ? Evaluate() : MethodNotAllowed();
  // Grafana import (README "Grafana").
  if (first == "grafana" && n == 2 && parts_[1] == "dashboards") {
    return Is("GET") ? GrafanaSearchResponse(*b_->config(), Param(q_, "q"))
                     : MethodNotAllowed();
  }
  if (first == "grafana" && n == 3 && parts_[1] == "dashboards") {
    return Is("GET")
               ? GrafanaDashboardResponse(*b_->config(), parts_[2], r_.query)
               : MethodNotAllowed();
  }
  if (first == "grafana" && n == 2 && parts_[1] == "import") {
    if (!Is("POST")) return MethodNotAllowed();
    return GrafanaImportResponse(
        *b_->config(), *b_->alert_engine().rules(), b_->alert_service(),
        r_.body, [](const gralarm::Rule& r) { return RuleJson(r); });
  }
  if (first == "cluster" && n == 2 && parts_[1] == "records") {
    return Is("GET") || Is("POST") ? ClusterRecords() : MethodNotAllowed();
  }
  if (first == "graph" && n == 1) {
    return Is("GET") ? GraphResponse(b_->config()->graphite, q_)
                     : MethodNotAllowed();
  }
  return JsonError(404, "not_found", StrCat("no route ", r_.path));
}

HttpResponse Request::Summary() {
  const EngineCounters c = b_->alert_engine().Counters();
  const auto rules = b_->alert_engine().rules();
  json alerts = json::object();
  for (AlertState state : kAllAlertStates) {
    if (state == AlertState::kOk) continue;
    alerts[std::string(AlertStateName(state))] = c.alerts_active[Index(state)];
  }
  return Json(200, json{{"rules", rules->rules().size()},
                        {"rules_invalid", rules->invalid().size()},
                        {"series_tracked", c.series_tracked},
                        {"flapping", c.flapping},
                        {"alerts", std::move(alerts)}});
}

HttpResponse Request::Rules() {
  size_t limit;
  HttpResponse error;
  if (!Limit(q_, &limit, &error)) return error;
  const std::string needle = Param(q_, "q");
  const std::string cursor = Param(q_, "cursor");
  auto rules = b_->alert_engine().rules();
  // Rules in force and invalid stored rules, by id; JSON for one page only.
  struct Entry {
    std::string id;
    const gralarm::Rule* rule;
    const InvalidRule* invalid;
  };
  std::vector<Entry> sorted;
  auto add = [&](const std::string& id, const std::string& name,
                 const std::string& pattern, Entry e) {
    if (id <= cursor) return;
    if (!needle.empty() && id.find(needle) == std::string::npos &&
        name.find(needle) == std::string::npos &&
        pattern.find(needle) == std::string::npos) {
      return;
    }
    sorted.push_back(std::move(e));
  };
  for (const auto& r : rules->rules()) {
    add(r->spec.id, r->spec.name,
        r->is_target() ? r->spec.target : r->spec.pattern,
        {r->spec.id, r.get(), nullptr});
  }
  for (const InvalidRule& r : rules->invalid()) {
    if (r.shadowed || r.id.empty()) continue;
    const json j = InvalidRuleJson(r);
    add(r.id, JsonString(j, "name"),
        j.contains("target") ? JsonString(j, "target")
                             : JsonString(j, "pattern"),
        {r.id, nullptr, &r});
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry& a, const Entry& b) { return a.id < b.id; });
  json items = json::array();
  std::string next;
  for (size_t i = 0; i < sorted.size() && i < limit; ++i) {
    const Entry& e = sorted[i];
    items.push_back(e.rule ? RuleJson(*e.rule, b_)
                           : InvalidRuleJson(*e.invalid));
    if (i + 1 == limit && sorted.size() > limit) next = e.id;
  }
  return Page(std::move(items), next);
}

HttpResponse Request::Rule(const std::string& id) {
  if (Is("DELETE")) {
    if (absl::Status s = b_->alert_service().DeleteRule(id); !s.ok())
      return ServiceError(s);
    return HttpResponse{204, "application/json", ""};
  }
  const auto rules = b_->alert_engine().rules();
  auto rule = rules->Find(id);
  const InvalidRule* invalid = rule ? nullptr : rules->FindInvalid(id);
  if (rule == nullptr && invalid == nullptr)
    return NotFound(StrCat("rule \"", id, "\""));
  return Json(200, rule ? RuleJson(*rule, b_) : InvalidRuleJson(*invalid));
}

HttpResponse Request::RuleSeries(const std::string& id) {
  // An invalid rule exists but tracks no series: its page is empty.
  const auto rules = b_->alert_engine().rules();
  if (rules->Find(id) == nullptr && rules->FindInvalid(id) == nullptr) {
    return NotFound(StrCat("rule \"", id, "\""));
  }
  size_t limit;
  HttpResponse error;
  if (!Limit(q_, &limit, &error)) return error;
  const std::string cursor = Param(q_, "cursor");
  json items = json::array();
  std::string next;
  for (const auto& v : b_->alert_engine().SeriesOf(id)) {
    if (!cursor.empty() && v.series <= cursor) continue;
    if (items.size() == limit) {
      next = items.back()["series"].get<std::string>();
      break;
    }
    items.push_back(json{{"series", v.series},
                         {"level", LevelName(v.state.level)},
                         {"nodata", v.nodata},
                         {"last_value", v.state.last_value},
                         {"last_ts", v.state.last_ts},
                         {"last_seen", Rfc3339Millis(v.last_arrival_ms)},
                         {"checks_up", v.state.up_count},
                         {"checks_down", v.state.down_count},
                         {"flapping", v.flapping}});
    if (v.forecast) items.back()["forecast"] = *v.forecast;  // README
  }
  return Page(std::move(items), next);
}

HttpResponse Request::PutRule(const std::string& path_id, bool create) {
  auto spec = ParseRuleJson(r_.body);
  if (!spec.ok()) return FieldErrorResponse(spec.status());
  auto rule = create
                  ? b_->alert_service().CreateRule(std::move(*spec))
                  : b_->alert_service().ReplaceRule(path_id, std::move(*spec));
  if (!rule.ok()) return ServiceError(rule.status());
  return Json(create ? 201 : 200, RuleJson(**rule, b_));
}

HttpResponse Request::BulkRules() {
  auto change = ParseBulkRuleChange(r_.body);
  if (!change.ok()) return FieldErrorResponse(change.status());
  const json& set = change->set;
  auto rules = b_->alert_service().ChangeRules(
      change->ids,
      [&set](const RuleSpec& spec) { return ApplyBulkRuleChange(spec, set); });
  if (!rules.ok()) {
    // The service's answer, naming the rule at fault (in the message and as
    // "rule") and the field as the client wrote it ("set.<field>").
    const absl::Status& s = rules.status();
    HttpResponse r = ServiceError(s);
    json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("error")) return r;
    json& e = j["error"];
    if (auto id = s.GetPayload(kRuleIdPayload)) {
      const std::string rule(*id);
      e["rule"] = rule;
      const std::string message = e.value("message", "");
      if (!message.starts_with("rule \"")) {
        e["message"] = StrCat("rule \"", rule, "\": ", message);
      }
    }
    if (s.code() == absl::StatusCode::kInvalidArgument) {
      e["field"] = BulkErrorField(FieldOf(s), set);
    }
    return Json(r.status, j);
  }
  json items = json::array();
  for (const auto& rule : *rules) items.push_back(RuleJson(*rule, b_));
  return Json(200, json{{"items", std::move(items)}});
}

HttpResponse Request::Settings() {
  const std::shared_ptr<const Config> config = b_->config();
  SettingsState state;
  state.grafana = ProbeGrafana(config->grafana);
  state.graphite = ProbeGraphite(config->graphite);
  state.store_bytes = DirectoryBytes(config->store.path,
                                     config->store.backup_dir.empty()
                                         ? config->store.path + "/backups"
                                         : config->store.backup_dir);
  state.cluster = b_->cluster_view();
  const absl::StatusOr<std::string> token = token_->Get(config->api);
  state.token_required = !token.ok() || !token->empty();
  return Json(200, SettingsJson(*config, state));
}

HttpResponse Request::Templates() {
  auto rules = b_->alert_engine().rules();
  const std::string cursor = Param(q_, "cursor");
  size_t limit;
  HttpResponse error;
  if (!Limit(q_, &limit, &error)) return error;
  json items = json::array();
  std::string next;
  for (const auto& [name, t] : rules->templates()) {
    if (name <= cursor) continue;
    if (items.size() == limit) {
      next = items.back()["name"].get<std::string>();
      break;
    }
    items.push_back(TemplateJson(t));
  }
  return Page(std::move(items), next);
}

HttpResponse Request::Template(const std::string& name) {
  if (Is("DELETE")) {
    if (absl::Status s = b_->alert_service().DeleteTemplate(name); !s.ok())
      return ServiceError(s);
    return HttpResponse{204, "application/json", ""};
  }
  auto rules = b_->alert_engine().rules();
  const TemplateSpec* t = rules->FindTemplate(name);
  if (t == nullptr) return NotFound(StrCat("template \"", name, "\""));
  return Json(200, TemplateJson(*t));
}

HttpResponse Request::PutTemplate(const std::string& path_name, bool create) {
  auto t = ParseTemplateJson(r_.body.empty() ? "{}" : r_.body);
  if (!t.ok()) return FieldErrorResponse(t.status());
  auto put =
      create ? b_->alert_service().CreateTemplate(std::move(*t))
             : b_->alert_service().ReplaceTemplate(path_name, std::move(*t));
  if (!put.ok()) return ServiceError(put.status());
  return Json(create ? 201 : 200, TemplateJson(*put));
}

HttpResponse Request::Alerts() {
  size_t limit;
  HttpResponse error;
  if (!Limit(q_, &limit, &error)) return error;
  std::optional<Glob> series;
  if (!GlobParam(q_, "series", &series, &error)) return error;
  const std::string severity = Param(q_, "severity");
  const std::string rule = Param(q_, "rule");
  const std::string cursor = Param(q_, "cursor");
  auto alerts = b_->alert_engine().ActiveAlerts();
  auto key = [](const AlertRecord& a) { return a.rule_id + '\x1f' + a.series; };
  std::sort(alerts.begin(), alerts.end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
  json items = json::array();
  std::string next;
  for (const AlertRecord& a : alerts) {
    if (!cursor.empty() && key(a) <= cursor) continue;
    if (!severity.empty() && a.SeverityName() != severity) continue;
    if (!rule.empty() && a.rule_id != rule) continue;
    if (!SeriesPasses(series, a.series)) continue;
    if (items.size() == limit) {
      next = items.back()["rule_id"].get<std::string>() + '\x1f' +
             items.back()["series"].get<std::string>();
      break;
    }
    items.push_back(AlertJson(a));
  }
  return Page(std::move(items), next);
}

// One CSV row of a history entry: text cells through CsvTextCell, numbers,
// levels and times as they are.
std::string HistoryCsvRow(const HistoryRecord& h) {
  const json j = HistoryJson(h);
  return StrCat(
      CsvTextCell(h.rule_id), ",", CsvTextCell(h.rule_name), ",",
      CsvTextCell(h.series), ",", j["peak_severity"].get<std::string>(), ",",
      j["severity"].get<std::string>(), ",", j["start"].get<std::string>(), ",",
      j["end"].get<std::string>(), ",", JsonText(j["last_value"]), ",",
      CsvTextCell(JsonText(j["labels"])), "\r\n");
}

HttpResponse Request::History() {
  Filters f;
  HttpResponse error;
  if (!ParseFilters(q_, &f, &error)) return error;
  const std::string format = Param(q_, "format");
  if (!format.empty() && format != "json" && format != "csv") {
    return BadParam("format", "must be json or csv");
  }
  std::string after;
  if (std::string c = Param(q_, "cursor"); !c.empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(c, &raw)) {
      return BadParam("cursor", "is not a cursor");
    }
    after = raw;
  }
  // Visits the entries that pass the filters, from the cursor on, until
  // `fn` returns false.
  auto scan = [b = b_, f,
               after](const std::function<bool(std::string_view key,
                                               const HistoryRecord&)>& fn) {
    absl::Status s;
    RunAtIdlePriority([&] {
      s = b->ScanHistory(
          f.from, f.to, after,
          [&](std::string_view key, const HistoryRecord& h) {
            const std::string_view sev = AlertStateName(h.state());
            if (!f.rule.empty() && h.rule_id != f.rule) return true;
            if (!f.severity.empty() && f.severity != sev &&
                f.severity != LevelName(h.peak)) {
              return true;
            }
            if (!SeriesPasses(f.series, h.series)) return true;
            return fn(key, h);
          },
          [&](std::string_view rule_id, std::string_view series_path) {
            return (f.rule.empty() || rule_id == f.rule) &&
                   SeriesPasses(f.series, series_path);
          });
    });
    return s;
  };
  if (format == "csv") {
    // The whole filtered history (or ?limit= rows when given), streamed as
    // it is read: an export is never cut at a page.
    const size_t max_rows =
        q_.contains("limit") ? f.limit : std::numeric_limits<size_t>::max();
    HttpResponse r{200, "text/csv; charset=utf-8", ""};
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"gralarm-history.csv\"");
    r.stream = [scan, max_rows](const BodyWriter& write) {
      if (!write("rule_id,rule_name,series,peak_severity,severity,start,end,"
                 "last_value,labels\r\n")) {
        return absl::OkStatus();
      }
      size_t rows = 0;
      return scan([&](std::string_view, const HistoryRecord& h) {
        return rows++ < max_rows && write(HistoryCsvRow(h));
      });
    };
    return r;
  }
  std::vector<HistoryRecord> page;
  std::string last_key;
  bool more = false;
  absl::Status s = scan([&](std::string_view key, const HistoryRecord& h) {
    if (page.size() == f.limit) {
      more = true;
      return false;
    }
    page.push_back(h);
    last_key = std::string(key);
    return true;
  });
  if (!s.ok()) return Internal(s);
  json items = json::array();
  for (const HistoryRecord& h : page) items.push_back(HistoryJson(h));
  return Page(std::move(items),
              more ? absl::WebSafeBase64Escape(last_key) : "");
}

HttpResponse Request::Events() {
  Filters f;
  HttpResponse error;
  if (!ParseFilters(q_, &f, &error)) return error;
  const size_t limit = f.limit;
  const std::optional<Glob>& series = f.series;
  const int64_t from = f.from, to = f.to;
  const std::string& rule = f.rule;
  const std::string& severity = f.severity;
  uint64_t after = 0;
  if (std::string c = Param(q_, "cursor"); !c.empty()) {
    char* end = nullptr;
    errno = 0;
    if (c.find_first_not_of("0123456789") != std::string::npos) {
      return BadParam("cursor", "is not a cursor");
    }
    after = std::strtoull(c.c_str(), &end, 10);
    if (*end != '\0' || errno == ERANGE) {
      return BadParam("cursor", "is not a cursor");
    }
  }
  json items = json::array();
  uint64_t last = 0;
  bool more = false;
  absl::Status s;
  RunAtIdlePriority([&] {
    s = b_->ScanEvents(after, [&](const EventRecord& e) {
      if (e.at_ms < from || e.at_ms > to) return true;
      if (!rule.empty() && e.rule_id != rule) return true;
      if (!severity.empty() && e.to != severity) return true;
      if (!SeriesPasses(series, e.series)) return true;
      if (items.size() == limit) {
        more = true;
        return false;
      }
      items.push_back(EventJson(e));
      last = e.seq;
      return true;
    });
  });
  if (!s.ok()) return Internal(s);
  return Page(std::move(items), more ? std::to_string(last) : "");
}

HttpResponse Request::Silences() {
  if (Is("GET")) {
    auto all = b_->alert_service().Silences();
    if (!all.ok()) return Internal(all.status());
    json items = json::array();
    for (const SilenceRecord& x : *all) items.push_back(SilenceJson(x));
    return Page(std::move(items), "");
  }
  json j = json::parse(r_.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return FieldErrorResponse(FieldError("", "expected a JSON object"));
  SilenceRecord x;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (!it.value().is_string())
      return FieldErrorResponse(FieldError(k, "must be a string"));
    const std::string v = it.value().get<std::string>();
    if (k == "rule") {
      x.rule = v;
    } else if (k == "series") {
      x.series = v;
    } else if (k == "created_by") {
      x.created_by = v;
    } else if (k == "comment") {
      x.comment = v;
    } else if (k == "starts_at" || k == "ends_at") {
      int64_t ms;
      if (!ParseTimeParam(v, &ms)) {
        return FieldErrorResponse(FieldError(
            k, "must be RFC 3339 or epoch seconds, between 1970 and 2100"));
      }
      (k == "starts_at" ? x.starts_at_ms : x.ends_at_ms) = ms;
    } else if (k != "id") {
      return FieldErrorResponse(FieldError(k, "unknown field"));
    }
  }
  const int64_t now = absl::ToUnixMillis(absl::Now());
  if (!j.contains("starts_at")) x.starts_at_ms = now;
  if (!j.contains("ends_at"))
    return FieldErrorResponse(FieldError("ends_at", "is required"));
  auto added = b_->alert_service().AddSilence(std::move(x));
  if (!added.ok()) return ServiceError(added.status());
  return Json(201, SilenceJson(*added));
}

HttpResponse Request::DeleteSilence(const std::string& id) {
  if (absl::Status s = b_->alert_service().DeleteSilence(id); !s.ok())
    return ServiceError(s);
  return HttpResponse{204, "application/json", ""};
}

HttpResponse Request::ClusterRecords() {
  if (!b_->config()->cluster.enabled()) {
    return JsonError(404, "no_cluster",
                     "no [cluster] is configured on this node: it takes no "
                     "replicated records");
  }
  if (Is("GET")) {
    // Like a write: the records are every rule of the node.
    if (std::optional<HttpResponse> refused =
            RequireToken("the cluster endpoints");
        refused) {
      return *refused;
    }
    auto all = b_->alert_service().Records();
    if (!all.ok()) return Internal(all.status());
    json records = json::array();
    for (const ReplicatedRecord& r : *all)
      records.push_back(ReplicatedRecordJson(r));
    return Json(200, json{{"node_id", b_->config()->cluster.node_id},
                          {"records", std::move(records)}});
  }
  auto records = ParseReplicatedRecords(r_.body);
  if (!records.ok()) return FieldErrorResponse(records.status());
  auto result = b_->alert_service().ApplyReplicated(std::move(*records));
  if (!result.ok()) return Internal(result.status());
  json refused = json::array();
  for (const auto& [kind, id, why] : result->refused) {
    refused.push_back(json{{"kind", std::string(RecordKindName(kind))},
                           {"id", id},
                           {"error", std::string(why.message())}});
  }
  return Json(200, json{{"applied", result->applied},
                        {"ignored", result->ignored},
                        {"refused", std::move(refused)}});
}

HttpResponse Request::Match() {
  const std::string metric = Param(q_, "metric");
  if (metric.empty()) return BadParam("metric", "is required");
  const std::string_view name = MetricName(metric);
  auto rules = b_->alert_engine().rules();
  RuleSet::Matches m;
  rules->Match(name, &m);
  json ids = json::array();
  for (uint32_t i : m) ids.push_back(rules->rules()[i]->spec.id);
  rules->MatchTargets(name, &m);
  json target_ids = json::array();
  for (uint32_t i : m) target_ids.push_back(rules->rules()[i]->spec.id);
  return Json(200, json{{"metric", metric},
                        {"destinations", b_->Route(name)},
                        {"rules", ids},
                        {"target_rules", target_ids}});
}

HttpResponse Request::Evaluate() {
  json j = json::parse(r_.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return FieldErrorResponse(FieldError("", "the body must be a JSON object"));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "target" && it.key() != "step_s" && it.key() != "points") {
      return FieldErrorResponse(FieldError(it.key(), "unknown field"));
    }
  }
  if (!j.contains("target") || !j["target"].is_string()) {
    return FieldErrorResponse(FieldError("target", "a string is required"));
  }
  RuleSpec spec;
  spec.target = j["target"].get<std::string>();
  if (j.contains("step_s")) {
    if (!j["step_s"].is_number_integer() || j["step_s"].get<int64_t>() < 1 ||
        j["step_s"].get<int64_t>() > 86400) {
      return FieldErrorResponse(
          FieldError("step_s", "must be an integer between 1 and 86400"));
    }
    spec.step_s = j["step_s"].get<int64_t>();
  }
  auto target = ResolveTarget(spec);
  if (!target.ok()) return FieldErrorResponse(target.status());
  const json& in = j.contains("points") ? j["points"] : json::array();
  if (!in.is_array()) {
    return FieldErrorResponse(
        FieldError("points", "must be an array of [path, value, timestamp]"));
  }
  if (in.size() > kMaxEvaluatePoints) {
    return FieldErrorResponse(FieldError(
        "points", StrCat("at most ", kMaxEvaluatePoints, " points")));
  }
  std::vector<expr::InputPoint> points;
  points.reserve(in.size());
  int64_t first = std::numeric_limits<int64_t>::max();
  int64_t last = std::numeric_limits<int64_t>::min();
  for (const json& p : in) {
    if (!p.is_array() || p.size() != 3 || !p[0].is_string() ||
        !p[1].is_number() || !p[2].is_number_integer()) {
      return FieldErrorResponse(FieldError(
          "points", "each point must be [path, value, timestamp (integer)]"));
    }
    const std::string path = p[0].get<std::string>();
    if (path.empty() || path.size() > 1024) {
      return FieldErrorResponse(
          FieldError("points", "a path must hold 1 to 1024 bytes"));
    }
    const int64_t ts = p[2].get<int64_t>();
    if (ts < 0 || ts > kLatestMs / 1000) {
      return FieldErrorResponse(
          FieldError("points", "a timestamp must be Unix seconds"));
    }
    first = std::min(first, ts);
    last = std::max(last, ts);
    points.push_back({std::string(MetricName(path)), p[1].get<double>(), ts});
  }
  if (!points.empty() && (last - first) / (*target)->step_s >
                             static_cast<int64_t>(kMaxEvaluateSteps)) {
    return FieldErrorResponse(FieldError(
        "points",
        StrCat("the points span more than ", kMaxEvaluateSteps, " steps")));
  }
  auto out = expr::EvaluatePoints(*(*target)->tree, (*target)->step_s, points);
  if (!out.ok()) {
    return FieldErrorResponse(
        FieldError("target", std::string(out.status().message())));
  }
  json series = json::array();
  for (const expr::OutputSeries& s : *out) {
    json datapoints = json::array();
    for (const auto& [v, t] : s.datapoints) {
      datapoints.push_back(json::array({v ? json(*v) : json(nullptr), t}));
    }
    series.push_back(json{{"target", s.name}, {"datapoints", datapoints}});
  }
  return Json(200, series);
}

HttpResponse Request::Backup() {
  const auto config = b_->config();
  const std::string dir = config->store.backup_dir.empty()
                              ? config->store.path + "/backups"
                              : config->store.backup_dir;
  const std::string path = StrCat(
      dir, "/",
      absl::FormatTime("%Y%m%dT%H%M%E3SZ", absl::Now(), absl::UTCTimeZone()));
  if (absl::Status s = b_->Checkpoint(path); !s.ok()) return Internal(s);
  return Json(201, json{{"path", path}});
}

}  // namespace

HttpResponse Api::Handle(const HttpRequest& request) {
  return Request(backend_, &token_, request).Handle();
}

void Api::CheckToken() { (void)token_.Get(backend_->config()->api); }

}  // namespace gralarm
