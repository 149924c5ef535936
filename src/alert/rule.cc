#include "gralarm/rule.h"

#include <nlohmann/json.hpp>

#include "absl/strings/cord.h"
#include "alert/rule_forecast.h"
#include "expr/catalog.h"
#include "expr/parser.h"
#include "expr/program.h"
#include "gralarm/strings.h"

namespace gralarm {

using nlohmann::json;

absl::Status FieldError(std::string_view field, std::string_view message) {
  absl::Status s = absl::InvalidArgumentError(StrCat(field, ": ", message));
  s.SetPayload(kFieldPayload, absl::Cord(AbslView(field)));
  return s;
}

std::string FieldOf(const absl::Status& status) {
  auto p = status.GetPayload(kFieldPayload);
  return p ? std::string(*p) : std::string();
}

bool ValidRuleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status ValidateLabelName(std::string_view name) {
  bool valid = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    valid = valid && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_');
  }
  if (!valid) {
    return FieldError("labels", StrCat("\"", name,
                                       "\" is not a valid label name (it must "
                                       "match [a-zA-Z_][a-zA-Z0-9_]*)"));
  }
  if (name.starts_with("__")) {
    return FieldError(
        "labels",
        StrCat("\"", name, "\": label names starting with __ are reserved"));
  }
  for (const char* reserved : kReservedLabels) {
    if (name == reserved) {
      return FieldError("labels", StrCat("\"", name,
                                         "\" is set by gralarm on every alert "
                                         "(alertname, severity, series)"));
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status ParseFields(const json& j, bool is_template, RuleFields* f,
                         std::string* template_name) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "id" || key == "name" || key == "pattern" || key == "target" ||
        key == "step_s" || key == "lateness_s" || key == "emit_prefix" ||
        key == "grafana") {
      if (is_template && key != "name") {
        return FieldError(key, "a template cannot set it");
      }
      continue;  // read by the caller
    }
    if (key == "direction") {
      if (v == "above") {
        f->direction = Direction::kAbove;
      } else if (v == "below") {
        f->direction = Direction::kBelow;
      } else {
        return FieldError(key, "must be \"above\" or \"below\"");
      }
    } else if (key == "thresholds") {
      if (!v.is_object())
        return FieldError(key, "must be an object of level: number");
      std::array<std::optional<double>, kNumLevels> t;
      for (auto lt = v.begin(); lt != v.end(); ++lt) {
        Level level;
        if (!ParseLevel(lt.key(), &level) || level == Level::kOk) {
          return FieldError(key, StrCat("unknown level \"", lt.key(),
                                        "\" (warning, major, critical)"));
        }
        if (!lt.value().is_number()) {
          return FieldError(key, StrCat(lt.key(), " must be a number"));
        }
        t[static_cast<int>(level)] = lt.value().get<double>();
      }
      f->thresholds = t;
    } else if (key == "checks_alert" || key == "checks_ok" ||
               key == "nodata_after_s") {
      if (!v.is_number_integer()) return FieldError(key, "must be an integer");
      int64_t n = v.get<int64_t>();
      if (key == "checks_alert") f->checks_alert = n;
      if (key == "checks_ok") f->checks_ok = n;
      if (key == "nodata_after_s") f->nodata_after_s = n;
    } else if (key == "ok_margin_pct") {
      if (!v.is_number()) return FieldError(key, "must be a number");
      f->ok_margin_pct = v.get<double>();
    } else if (key == "transform") {
      if (v == "none") {
        f->transform = Transform::kNone;
      } else if (v == "rate") {
        f->transform = Transform::kRate;
      } else if (v == "delta") {
        f->transform = Transform::kDelta;
      } else {
        return FieldError(key, "must be \"none\", \"rate\" or \"delta\"");
      }
    } else if (key == "schedule") {
      if (!v.is_string()) return FieldError(key, "must be a string");
      f->schedule = v.get<std::string>();
    } else if (key == "template") {
      if (is_template)
        return FieldError(key, "a template cannot name a template");
      if (!v.is_string()) return FieldError(key, "must be a string");
      *template_name = v.get<std::string>();
    } else if (key == "channels") {
      if (!v.is_array())
        return FieldError(key, "must be an array of channel names");
      std::vector<std::string> names;
      for (const json& n : v) {
        if (!n.is_string()) return FieldError(key, "must hold strings only");
        names.push_back(n.get<std::string>());
      }
      f->channels = names;
    } else if (key == "labels") {
      if (!v.is_object())
        return FieldError(key, "must be an object of strings");
      std::map<std::string, std::string> labels;
      for (auto lt = v.begin(); lt != v.end(); ++lt) {
        if (absl::Status s = ValidateLabelName(lt.key()); !s.ok()) return s;
        if (!lt.value().is_string()) {
          return FieldError(key, StrCat(lt.key(), " must be a string"));
        }
        labels[lt.key()] = lt.value().get<std::string>();
      }
      f->labels = labels;
    } else if (key == "enabled") {
      if (!v.is_boolean()) return FieldError(key, "must be true or false");
      f->enabled = v.get<bool>();
    } else if (key == "flap") {
      constexpr char kShape[] =
          "must be {\"window_s\": seconds, \"changes\": count}";
      if (!v.is_object()) return FieldError(key, kShape);
      FlapOptions flap;
      for (auto ft = v.begin(); ft != v.end(); ++ft) {
        if (!ft.value().is_number_integer()) return FieldError(key, kShape);
        const int64_t n = ft.value().get<int64_t>();
        if (ft.key() == "window_s") {
          flap.window_s = n;
        } else if (ft.key() == "changes") {
          flap.changes = n;
        } else {
          return FieldError(
              key, StrCat("unknown field \"", ft.key(), "\"; ", kShape));
        }
      }
      if (flap.changes == 0 && flap.window_s == 0) {
        f->flap = flap;  // explicitly off
      } else if (flap.changes < 2 || flap.changes > 1000) {
        return FieldError(key, "changes must be between 2 and 1000");
      } else if (flap.window_s < 1 || flap.window_s > 86400) {
        return FieldError(key, "window_s must be between 1 and 86400");
      } else {
        f->flap = flap;
      }
    } else if (key == "forecast") {
      if (absl::Status s = ParseForecastField(v, &f->forecast); !s.ok())
        return s;
    } else {
      return FieldError(key, "unknown field");
    }
  }
  return absl::OkStatus();
}

void FieldsToJson(const RuleFields& f, json* j) {
  if (f.direction)
    (*j)["direction"] = *f.direction == Direction::kAbove ? "above" : "below";
  if (f.thresholds) {
    json t = json::object();
    for (int i = 1; i < kNumLevels; ++i) {
      if ((*f.thresholds)[i]) {
        t[std::string(LevelName(static_cast<Level>(i)))] = *(*f.thresholds)[i];
      }
    }
    (*j)["thresholds"] = t;
  }
  if (f.checks_alert) (*j)["checks_alert"] = *f.checks_alert;
  if (f.checks_ok) (*j)["checks_ok"] = *f.checks_ok;
  if (f.ok_margin_pct) (*j)["ok_margin_pct"] = *f.ok_margin_pct;
  if (f.transform) {
    (*j)["transform"] = *f.transform == Transform::kNone   ? "none"
                        : *f.transform == Transform::kRate ? "rate"
                                                           : "delta";
  }
  if (f.nodata_after_s) (*j)["nodata_after_s"] = *f.nodata_after_s;
  if (f.schedule) (*j)["schedule"] = *f.schedule;
  if (f.channels) (*j)["channels"] = *f.channels;
  if (f.labels) (*j)["labels"] = *f.labels;
  if (f.enabled) (*j)["enabled"] = *f.enabled;
  if (f.flap) {
    (*j)["flap"] = {{"window_s", f.flap->window_s},
                    {"changes", f.flap->changes}};
  }
  if (f.forecast) (*j)["forecast"] = ForecastToJson(*f.forecast);
}

absl::StatusOr<json> ParseObject(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) return FieldError("", "request body is not valid JSON");
  if (!j.is_object()) return FieldError("", "expected a JSON object");
  return j;
}

absl::Status ReadString(const json& j, const char* key, std::string* out) {
  if (!j.contains(key)) return absl::OkStatus();
  if (!j[key].is_string()) return FieldError(key, "must be a string");
  *out = j[key].get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadInteger(const json& j, const char* key,
                         std::optional<int64_t>* out) {
  if (!j.contains(key)) return absl::OkStatus();
  if (!j[key].is_number_integer()) return FieldError(key, "must be an integer");
  *out = j[key].get<int64_t>();
  return absl::OkStatus();
}

// The target fields of a rule: exactly one of pattern and target; step_s,
// lateness_s and emit_prefix only with target.
absl::Status CheckTargetFields(const json& j, const RuleSpec& spec) {
  const bool has_pattern = j.contains("pattern");
  const bool has_target = j.contains("target");
  if (has_pattern && has_target) {
    return FieldError("target",
                      "a rule has either pattern or target, not both");
  }
  if (!has_target) {
    for (const char* key : {"step_s", "lateness_s", "emit_prefix"}) {
      if (j.contains(key)) return FieldError(key, "only for a target rule");
    }
    if (spec.pattern.empty()) {
      return FieldError("pattern", "is required (or target)");
    }
    return absl::OkStatus();
  }
  if (spec.target.empty()) return FieldError("target", "must not be empty");
  if (spec.target.size() > expr::kMaxTargetBytes) {
    return FieldError("target",
                      StrCat("longer than ", expr::kMaxTargetBytes, " bytes"));
  }
  if (spec.step_s && (*spec.step_s < 1 || *spec.step_s > 86400)) {
    return FieldError("step_s", "must be between 1 and 86400");
  }
  if (spec.lateness_s && (*spec.lateness_s < 0 || *spec.lateness_s > 86400)) {
    return FieldError("lateness_s", "must be between 0 and 86400");
  }
  if (j.contains("emit_prefix") && !ValidMetricPrefix(spec.emit_prefix)) {
    return FieldError("emit_prefix",
                      "must be dot-separated segments of [A-Za-z0-9_-] (at "
                      "most 200 bytes)");
  }
  return absl::OkStatus();
}

// The "grafana" object of a rule: {"uid", "panel_id", "ref_id", "url"}; uid,
// panel_id and ref_id required, url optional (http or https).
absl::Status ParseGrafanaOrigin(const json& v, GrafanaOrigin* out) {
  constexpr char kShape[] =
      "must be {\"uid\": string, \"panel_id\": integer, \"ref_id\": "
      "string, \"url\": string}";
  if (!v.is_object()) return FieldError("grafana", kShape);
  GrafanaOrigin o;
  auto printable = [](const std::string& s) {
    for (char c : s) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ') {
        return false;
      }
    }
    return true;
  };
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    const json& x = it.value();
    if (k == "panel_id") {
      if (!x.is_number_integer() || x.get<int64_t>() < 0) {
        return FieldError("grafana", "panel_id must be an integer >= 0");
      }
      o.panel_id = x.get<int64_t>();
    } else if (k == "uid" || k == "ref_id" || k == "url") {
      if (!x.is_string()) {
        return FieldError("grafana", StrCat(k, " must be a string"));
      }
      (k == "uid"      ? o.uid
       : k == "ref_id" ? o.ref_id
                       : o.url) = x.get<std::string>();
    } else {
      return FieldError("grafana",
                        StrCat("unknown field \"", k, "\"; ", kShape));
    }
  }
  if (!v.contains("panel_id"))
    return FieldError("grafana", "panel_id is required");
  if (o.uid.empty() || o.uid.size() > 128 || !printable(o.uid)) {
    return FieldError("grafana",
                      "uid must hold 1 to 128 bytes, no spaces or control "
                      "characters");
  }
  if (o.ref_id.empty() || o.ref_id.size() > 64 || !printable(o.ref_id)) {
    return FieldError("grafana",
                      "ref_id must hold 1 to 64 bytes, no spaces or control "
                      "characters");
  }
  if (!o.url.empty() &&
      ((!o.url.starts_with("http://") && !o.url.starts_with("https://")) ||
       o.url.size() > 2048 || !printable(o.url))) {
    return FieldError("grafana",
                      "url must be an http:// or https:// URL of at most 2048 "
                      "bytes");
  }
  *out = std::move(o);
  return absl::OkStatus();
}

}  // namespace

bool ValidMetricPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 200) return false;
  bool segment_empty = true;
  for (char c : prefix) {
    if (c == '.') {
      if (segment_empty) return false;
      segment_empty = true;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return false;
    }
    segment_empty = false;
  }
  return !segment_empty;
}

absl::StatusOr<RuleSpec> ParseRuleJson(std::string_view text) {
  auto j = ParseObject(text);
  if (!j.ok()) return j.status();
  RuleSpec spec;
  for (auto [key, out] :
       {std::pair{"id", &spec.id}, std::pair{"name", &spec.name},
        std::pair{"pattern", &spec.pattern}, std::pair{"target", &spec.target},
        std::pair{"emit_prefix", &spec.emit_prefix}}) {
    if (absl::Status s = ReadString(*j, key, out); !s.ok()) return s;
  }
  for (auto [key, out] : {std::pair{"step_s", &spec.step_s},
                          std::pair{"lateness_s", &spec.lateness_s}}) {
    if (absl::Status s = ReadInteger(*j, key, out); !s.ok()) return s;
  }
  if (absl::Status s =
          ParseFields(*j, false, &spec.fields, &spec.template_name);
      !s.ok()) {
    return s;
  }
  if (!spec.id.empty() && !ValidRuleId(spec.id)) {
    return FieldError("id", "must match [a-z0-9_.-]{1,128}");
  }
  if (j->contains("grafana")) {
    GrafanaOrigin origin;
    if (absl::Status s = ParseGrafanaOrigin((*j)["grafana"], &origin);
        !s.ok()) {
      return s;
    }
    spec.grafana = std::move(origin);
  }
  if (absl::Status s = CheckTargetFields(*j, spec); !s.ok()) return s;
  return spec;
}

absl::StatusOr<TemplateSpec> ParseTemplateJson(std::string_view text) {
  auto j = ParseObject(text);
  if (!j.ok()) return j.status();
  TemplateSpec t;
  if (absl::Status s = ReadString(*j, "name", &t.name); !s.ok()) return s;
  if (!ValidRuleId(t.name))
    return FieldError("name", "must match [a-z0-9_.-]{1,128}");
  std::string unused;
  if (absl::Status s = ParseFields(*j, true, &t.fields, &unused); !s.ok())
    return s;
  return t;
}

std::string RuleSpecToJson(const RuleSpec& spec) {
  json j = json::object();
  j["id"] = spec.id;
  j["name"] = spec.name;
  if (spec.target.empty()) {
    j["pattern"] = spec.pattern;
  } else {
    j["target"] = spec.target;
    if (spec.step_s) j["step_s"] = *spec.step_s;
    if (spec.lateness_s) j["lateness_s"] = *spec.lateness_s;
    if (!spec.emit_prefix.empty()) j["emit_prefix"] = spec.emit_prefix;
  }
  if (!spec.template_name.empty()) j["template"] = spec.template_name;
  FieldsToJson(spec.fields, &j);
  if (spec.grafana) {
    j["grafana"] = {{"uid", spec.grafana->uid},
                    {"panel_id", spec.grafana->panel_id},
                    {"ref_id", spec.grafana->ref_id},
                    {"url", spec.grafana->url}};
  }
  return j.dump();
}

std::string TemplateSpecToJson(const TemplateSpec& spec) {
  json j = json::object();
  j["name"] = spec.name;
  FieldsToJson(spec.fields, &j);
  return j.dump();
}

absl::StatusOr<std::shared_ptr<const RuleTarget>> ResolveTarget(
    const RuleSpec& spec) {
  auto tree = expr::Parse(spec.target);
  if (!tree.ok()) {
    return FieldError("target", std::string(tree.status().message()));
  }
  if (absl::Status s = expr::Validate(*tree); !s.ok()) {
    return FieldError("target", std::string(s.message()));
  }
  auto t = std::make_shared<RuleTarget>();
  t->step_s = spec.step_s.value_or(kDefaultStepS);
  t->lateness_s = spec.lateness_s.value_or(t->step_s / 2);
  t->emit_prefix = spec.emit_prefix;
  auto program = expr::Program::Compile(*tree, t->step_s);
  if (!program.ok()) {
    return FieldError("target", std::string(program.status().message()));
  }
  for (const Glob* g : (*program)->globs()) t->globs.push_back(*g);
  if (t->globs.empty()) {
    return FieldError("target", "names no series (it needs a path)");
  }
  t->canonical = expr::Format(*tree);
  t->tree = std::make_shared<const expr::Node>(*std::move(tree));
  return std::shared_ptr<const RuleTarget>(std::move(t));
}

absl::StatusOr<Rule> ResolveRule(const RuleSpec& spec, const TemplateSpec* tmpl,
                                 const Config& config) {
  if (!ValidRuleId(spec.id))
    return FieldError("id", "must match [a-z0-9_.-]{1,128}");
  if (!spec.template_name.empty() && tmpl == nullptr) {
    return FieldError("template",
                      StrCat("unknown template \"", spec.template_name, "\""));
  }
  std::shared_ptr<const RuleTarget> target;
  if (!spec.target.empty()) {
    auto t = ResolveTarget(spec);
    if (!t.ok()) return t.status();
    target = *std::move(t);
  }
  auto glob = target ? absl::StatusOr<Glob>(target->globs.front())
                     : Glob::Compile(spec.pattern);
  if (!glob.ok())
    return FieldError("pattern", std::string(glob.status().message()));
  const RuleFields none;
  const RuleFields& r = spec.fields;
  const RuleFields& t = tmpl != nullptr ? tmpl->fields : none;
  auto pick = [](const auto& a, const auto& b, auto fallback) {
    return a ? *a : b ? *b : fallback;
  };
  Rule rule{spec, std::move(*glob), {}, 0, "24x7", {}, {}, true, {}, target};
  EvalParams& p = rule.params;
  p.direction = pick(r.direction, t.direction, Direction::kAbove);
  p.thresholds =
      pick(r.thresholds, t.thresholds, std::array<std::optional<double>, 4>{});
  const int64_t checks_alert = pick(r.checks_alert, t.checks_alert, int64_t{1});
  const int64_t checks_ok = pick(r.checks_ok, t.checks_ok, int64_t{1});
  p.ok_margin_pct = pick(r.ok_margin_pct, t.ok_margin_pct, 0.0);
  p.transform = pick(r.transform, t.transform, Transform::kNone);
  rule.nodata_after_s = pick(r.nodata_after_s, t.nodata_after_s, int64_t{0});
  rule.schedule = pick(r.schedule, t.schedule, std::string("24x7"));
  rule.channels = pick(r.channels, t.channels, std::vector<std::string>{});
  rule.labels = pick(r.labels, t.labels, std::map<std::string, std::string>{});
  rule.enabled = pick(r.enabled, t.enabled, true);
  rule.flap = pick(r.flap, t.flap, FlapOptions{});
  p.forecast = pick(r.forecast, t.forecast, ForecastOptions{});

  std::optional<double> previous;
  bool any = false;
  for (int i = 1; i < kNumLevels; ++i) {
    if (!p.thresholds[i]) continue;
    any = true;
    if (!std::isfinite(*p.thresholds[i]))
      return FieldError("thresholds", "must be finite");
    if (previous &&
        (p.direction == Direction::kAbove ? *p.thresholds[i] <= *previous
                                          : *p.thresholds[i] >= *previous)) {
      return FieldError("thresholds", p.direction == Direction::kAbove
                                          ? "must rise from warning to major "
                                            "to critical for direction above"
                                          : "must fall from warning to major "
                                            "to critical for direction below");
    }
    previous = p.thresholds[i];
  }
  if (!any)
    return FieldError("thresholds",
                      "set at least one of warning, major, critical");
  if (checks_alert < 1 || checks_alert > 10000) {
    return FieldError("checks_alert", "must be between 1 and 10000");
  }
  if (checks_ok < 1 || checks_ok > 10000) {
    return FieldError("checks_ok", "must be between 1 and 10000");
  }
  p.checks_alert = static_cast<int>(checks_alert);
  p.checks_ok = static_cast<int>(checks_ok);
  if (!(p.ok_margin_pct >= 0 && p.ok_margin_pct <= 100)) {
    return FieldError("ok_margin_pct", "must be between 0 and 100");
  }
  if (rule.nodata_after_s < 0)
    return FieldError("nodata_after_s", "must not be negative");
  if (rule.schedule != "24x7" &&
      config.FindSchedule(rule.schedule) == nullptr) {
    return FieldError("schedule",
                      StrCat("unknown schedule \"", rule.schedule, "\""));
  }
  for (const std::string& c : rule.channels) {
    if (config.FindChannel(c) == nullptr) {
      return FieldError("channels", StrCat("unknown channel \"", c, "\""));
    }
  }
  if (absl::Status s = ResolveForecast(&rule); !s.ok()) return s;
  if (rule.spec.name.empty()) rule.spec.name = rule.spec.id;
  return rule;
}

}  // namespace gralarm
