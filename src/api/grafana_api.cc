// The /api/v1/grafana/... endpoints: search, dashboard detail with expanded
// targets, and the import of a panel's queries as target rules.

#include "api/grafana_api.h"

#include <atomic>
#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gralarm/api.h"
#include "gralarm/grafana.h"
#include "gralarm/graphite_web.h"
#include "gralarm/record_json.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

HttpResponse Json(int status, const json& j) {
  return HttpResponse{status, "application/json", JsonText(j)};
}

// At most this many API requests wait for Grafana (and graphite-web's
// finds) at once, so that a hung Grafana cannot take every API thread; more
// are answered 503 at once.
constexpr int kMaxWaiting = 8;
std::atomic<int> waiting{0};

// A place among the kMaxWaiting, held for its lifetime when taken.
class WaitSlot {
 public:
  WaitSlot() : taken_(waiting.fetch_add(1) < kMaxWaiting) {
    if (!taken_) waiting.fetch_sub(1);
  }
  ~WaitSlot() {
    if (taken_) waiting.fetch_sub(1);
  }
  WaitSlot(const WaitSlot&) = delete;
  WaitSlot& operator=(const WaitSlot&) = delete;
  bool taken() const { return taken_; }

 private:
  const bool taken_;
};

HttpResponse Busy() {
  return JsonError(
      503, "unavailable",
      StrCat(kMaxWaiting, " requests already wait for Grafana: try again"));
}

HttpResponse GrafanaOff() {
  return JsonError(503, "unavailable",
                   "Grafana import is off: set [grafana] url in the config");
}

// A GrafanaClient error as the API answers it.
HttpResponse GrafanaError(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kNotFound) {
    return JsonError(404, "not_found", std::string(s.message()));
  }
  return JsonError(502, "bad_gateway", std::string(s.message()));
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 &&
               Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// var-<name>=value parameters, repeated for several values, as Grafana's
// dashboard urls write them.
grafana::Selections VarParams(std::string_view query) {
  grafana::Selections out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(start, amp - start);
    const size_t eq = pair.find('=');
    const std::string key = Decode(pair.substr(0, eq));
    if (key.starts_with("var-") && key.size() > 4) {
      out[key.substr(4)].push_back(
          eq == std::string_view::npos ? "" : Decode(pair.substr(eq + 1)));
    }
    start = amp + 1;
  }
  return out;
}

// Query variables' options through graphite-web's /metrics/find (none when
// [graphite] url is empty).
// All the finds of one request share a budget of twice graphite.timeout_ms,
// so that a dashboard of many query variables cannot hold an API thread for
// long: past it, the remaining variables say so.
grafana::Finder MakeFinder(const Config& config) {
  if (config.graphite.url.empty()) return nullptr;
  auto client = std::make_shared<GraphiteWebClient>(config.graphite);
  const absl::Time deadline =
      absl::Now() + absl::Milliseconds(2 * config.graphite.timeout_ms);
  return
      [client, deadline](
          std::string_view query) -> absl::StatusOr<std::vector<std::string>> {
        if (absl::Now() >= deadline) {
          return absl::DeadlineExceededError(
              "not asked: this request's graphite-web time budget (twice "
              "graphite.timeout_ms) is spent");
        }
        auto nodes = client->Find(query);
        if (!nodes.ok()) return nodes.status();
        std::vector<std::string> texts;
        for (const GraphiteNode& n : *nodes) texts.push_back(n.text);
        return texts;
      };
}

json VariableJson(const grafana::ResolvedVariable& v) {
  json options = json::array();
  for (const grafana::VariableOption& o : v.options) {
    options.push_back(json{{"text", o.text}, {"value", o.value}});
  }
  json j = {{"name", v.name},
            {"type", v.type},
            {"label", v.label},
            {"multi", v.multi},
            {"include_all", v.include_all},
            {"current", v.current_is_list
                            ? json(v.current)
                            : json(v.current.empty() ? "" : v.current[0])},
            {"current_text", v.current_text},
            {"options", std::move(options)}};
  if (v.all_value) j["all_value"] = *v.all_value;
  if (!v.problem.empty()) j["problem"] = v.problem;
  return j;
}

json QueryJson(const grafana::ExpandedQuery& q) {
  return json{{"ref_id", q.ref_id},
              {"hidden", q.hidden},
              {"raw", q.raw},
              {"expanded", q.expanded},
              {"supported", q.supported},
              {"problem", q.problem}};
}

struct Loaded {
  grafana::Dashboard dashboard;
  std::vector<grafana::ResolvedVariable> variables;
};

absl::StatusOr<Loaded> Load(const Config& config, std::string_view uid,
                            const grafana::Selections& selections) {
  grafana::GrafanaClient client(config.grafana);
  auto d = client.GetDashboard(uid);
  if (!d.ok()) return d.status();
  Loaded out{*std::move(d), {}};
  out.variables =
      grafana::ResolveVariables(out.dashboard, selections, MakeFinder(config));
  return out;
}

// The rule JSON of one imported query: the body's "rule" fields with name,
// target, labels and grafana set.
json ImportedRule(const json& rule_fields, const Config& config,
                  const grafana::Dashboard& d, const grafana::Panel& p,
                  const grafana::ExpandedQuery& q) {
  json r = rule_fields;
  std::string alias = grafana::AliasOf(q.expanded);
  r["name"] =
      StrCat(d.title, " / ", p.title, " / ", alias.empty() ? q.ref_id : alias);
  r["target"] = q.expanded;
  // Labels of another shape are left for the rule's own check to refuse.
  if (!r.contains("labels")) r["labels"] = json::object();
  if (r["labels"].is_object()) {
    r["labels"]["dashboard"] = d.title;
    r["labels"]["panel"] = p.title;
  }
  r["grafana"] = {{"uid", d.uid},
                  {"panel_id", p.id},
                  {"ref_id", q.ref_id},
                  {"url", grafana::PanelUrl(config.grafana.url, d.uid, p.id)}};
  return r;
}

}  // namespace

HttpResponse GrafanaSearchResponse(const Config& config, std::string_view q) {
  if (config.grafana.url.empty()) return GrafanaOff();
  WaitSlot slot;
  if (!slot.taken()) return Busy();
  grafana::GrafanaClient client(config.grafana);
  auto hits = client.Search(q);
  if (!hits.ok()) return GrafanaError(hits.status());
  json items = json::array();
  for (const grafana::SearchHit& h : *hits) {
    items.push_back(json{{"uid", h.uid},
                         {"title", h.title},
                         {"folder", h.folder},
                         {"tags", h.tags},
                         {"url", h.url}});
  }
  return Json(200, json{{"items", std::move(items)}});
}

HttpResponse GrafanaDashboardResponse(const Config& config,
                                      std::string_view uid,
                                      std::string_view raw_query) {
  if (config.grafana.url.empty()) return GrafanaOff();
  WaitSlot slot;
  if (!slot.taken()) return Busy();
  auto loaded = Load(config, uid, VarParams(raw_query));
  if (!loaded.ok()) return GrafanaError(loaded.status());
  const grafana::Dashboard& d = loaded->dashboard;
  json variables = json::array();
  for (const auto& v : loaded->variables) variables.push_back(VariableJson(v));
  json panels = json::array();
  for (const grafana::Panel& p : d.panels) {
    json targets = json::array();
    for (const auto& q : grafana::ExpandPanel(d, p, loaded->variables)) {
      targets.push_back(QueryJson(q));
    }
    json pj = {{"id", p.id},
               {"title", p.title},
               {"row", p.row},
               {"type", p.type},
               {"url", grafana::PanelUrl(config.grafana.url, d.uid, p.id)},
               {"targets", std::move(targets)}};
    if (std::string why = grafana::LibraryPanelProblem(p); !why.empty()) {
      pj["problem"] = std::move(why);
    }
    panels.push_back(std::move(pj));
  }
  return Json(200,
              json{{"uid", d.uid},
                   {"title", d.title},
                   {"url", grafana::DashboardUrl(config.grafana.url, d.uid)},
                   {"variables", std::move(variables)},
                   {"panels", std::move(panels)}});
}

HttpResponse GrafanaImportResponse(
    const Config& config, const RuleSet& rules, AlertService& service,
    std::string_view body, const std::function<json(const Rule&)>& rule_json) {
  json j = json::parse(body.begin(), body.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return FieldErrorResponse(FieldError("", "the body must be a JSON object"));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "dashboard_uid" && k != "panel_id" && k != "ref_ids" &&
        k != "variables" && k != "rule") {
      return FieldErrorResponse(FieldError(k, "unknown field"));
    }
  }
  if (!j.contains("dashboard_uid") || !j["dashboard_uid"].is_string() ||
      j["dashboard_uid"].get<std::string>().empty()) {
    return FieldErrorResponse(
        FieldError("dashboard_uid", "a non-empty string is required"));
  }
  if (!j.contains("panel_id") || !j["panel_id"].is_number_integer()) {
    return FieldErrorResponse(FieldError("panel_id", "an integer is required"));
  }
  std::vector<std::string> ref_ids;
  if (j.contains("ref_ids")) {
    if (!j["ref_ids"].is_array() || j["ref_ids"].empty()) {
      return FieldErrorResponse(
          FieldError("ref_ids", "must be a non-empty array of strings"));
    }
    std::set<std::string> seen;
    for (const json& r : j["ref_ids"]) {
      if (!r.is_string()) {
        return FieldErrorResponse(
            FieldError("ref_ids", "must be a non-empty array of strings"));
      }
      if (seen.insert(r.get<std::string>()).second) {
        ref_ids.push_back(r.get<std::string>());
      }
    }
  }
  grafana::Selections selections;
  if (j.contains("variables")) {
    const json& v = j["variables"];
    if (!v.is_object()) {
      return FieldErrorResponse(FieldError(
          "variables", "must be an object of name: value or [values]"));
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::vector<std::string>& values = selections[it.key()];
      if (it.value().is_string()) {
        values.push_back(it.value().get<std::string>());
        continue;
      }
      if (!it.value().is_array()) {
        return FieldErrorResponse(FieldError(
            "variables", StrCat(it.key(), " must be a string or [strings]")));
      }
      for (const json& x : it.value()) {
        if (!x.is_string()) {
          return FieldErrorResponse(FieldError(
              "variables", StrCat(it.key(), " must be a string or [strings]")));
        }
        values.push_back(x.get<std::string>());
      }
    }
  }
  json rule_fields = j.contains("rule") ? j["rule"] : json::object();
  if (!rule_fields.is_object()) {
    return FieldErrorResponse(
        FieldError("rule", "must be an object of rule fields"));
  }
  for (const char* k : {"id", "name", "target", "pattern", "grafana"}) {
    if (rule_fields.contains(k)) {
      return FieldErrorResponse(
          FieldError("rule", StrCat(k, " is set by the import")));
    }
  }
  if (config.grafana.url.empty()) return GrafanaOff();
  const std::string uid = j["dashboard_uid"].get<std::string>();
  const int64_t panel_id = j["panel_id"].get<int64_t>();
  WaitSlot slot;
  if (!slot.taken()) return Busy();
  auto loaded = Load(config, uid, selections);
  if (!loaded.ok()) return GrafanaError(loaded.status());
  const grafana::Dashboard& d = loaded->dashboard;
  for (const auto& [name, values] : selections) {
    bool known = false;
    for (const grafana::Variable& v : d.variables) known |= v.name == name;
    if (!known) {
      return FieldErrorResponse(FieldError(
          "variables",
          StrCat("dashboard \"", uid, "\" has no variable \"", name, "\"")));
    }
  }
  const grafana::Panel* panel = nullptr;
  for (const grafana::Panel& p : d.panels) {
    if (p.id == panel_id) panel = &p;
  }
  if (panel == nullptr) {
    return JsonError(404, "not_found",
                     StrCat("dashboard \"", uid, "\" has no panel ", panel_id));
  }
  const auto queries = grafana::ExpandPanel(d, *panel, loaded->variables);
  std::vector<const grafana::ExpandedQuery*> chosen;
  json problems = json::array();
  if (ref_ids.empty()) {
    for (const auto& q : queries) {
      if (q.supported) chosen.push_back(&q);
    }
    if (chosen.empty()) {
      const std::string why = grafana::LibraryPanelProblem(*panel);
      return FieldErrorResponse(FieldError(
          "ref_ids",
          StrCat("panel ", panel_id, " has no query gralarm can alert on",
                 why.empty() ? "" : ": ", why)));
    }
  } else {
    for (const std::string& ref : ref_ids) {
      const grafana::ExpandedQuery* found = nullptr;
      for (const auto& q : queries) {
        if (q.ref_id == ref) found = &q;
      }
      if (found == nullptr) {
        problems.push_back(json{{"ref_id", ref},
                                {"field", "ref_ids"},
                                {"message", "the panel has no such query"}});
      } else if (!found->supported) {
        problems.push_back(json{{"ref_id", ref},
                                {"field", "ref_ids"},
                                {"message", found->problem}});
      } else {
        chosen.push_back(found);
      }
    }
  }
  std::vector<RuleSpec> specs;
  if (problems.empty()) {
    for (const grafana::ExpandedQuery* q : chosen) {
      auto spec = ParseRuleJson(
          JsonText(ImportedRule(rule_fields, config, d, *panel, *q)));
      if (!spec.ok()) {
        problems.push_back(json{{"ref_id", q->ref_id},
                                {"field", FieldOf(spec.status())},
                                {"message", spec.status().message()}});
        continue;
      }
      const TemplateSpec* tmpl = spec->template_name.empty()
                                     ? nullptr
                                     : rules.FindTemplate(spec->template_name);
      spec->id = "import-check";  // ImportRules gives the real one
      if (auto r = ResolveRule(*spec, tmpl, config); !r.ok()) {
        problems.push_back(json{{"ref_id", q->ref_id},
                                {"field", FieldOf(r.status())},
                                {"message", r.status().message()}});
        continue;
      }
      spec->id.clear();
      specs.push_back(*std::move(spec));
    }
  }
  if (problems.empty()) {
    auto rules = service.ImportRules(specs);
    if (rules.ok()) {
      json items = json::array();
      for (const auto& r : *rules) items.push_back(rule_json(*r));
      return Json(201, json{{"items", std::move(items)}});
    }
    const absl::Status& s = rules.status();
    auto index = s.GetPayload(kImportIndexPayload);
    if (!index || (s.code() != absl::StatusCode::kInvalidArgument &&
                   s.code() != absl::StatusCode::kFailedPrecondition)) {
      return JsonError(500, "internal", std::string(s.message()));
    }
    size_t i = 0;
    if (!absl::SimpleAtoi(std::string(*index), &i)) i = chosen.size();
    problems.push_back(
        json{{"ref_id", i < chosen.size() ? chosen[i]->ref_id : ""},
             {"field", FieldOf(s)},
             {"message", s.message()}});
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      return Json(409, json{{"error",
                             {{"code", "conflict"},
                              {"message", s.message()},
                              {"problems", problems}}}});
    }
  }
  std::string message = "nothing imported: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    message += StrCat(i > 0 ? "; " : "", "ref_id ",
                      problems[i]["ref_id"].get<std::string>(), ": ",
                      problems[i]["message"].get<std::string>());
  }
  return Json(400, json{{"error",
                         {{"code", "invalid_argument"},
                          {"message", message},
                          {"field", problems[0]["field"]},
                          {"problems", problems}}}});
}

}  // namespace gralarm
