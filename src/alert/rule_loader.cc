// LoadRules: the rule files (configuration: an error fails the load) and the
// stored API rules (data: a rule that no longer resolves is left out of force
// and reported, never stops the others).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "absl/strings/str_join.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

// Every error ResolveRule finds in `spec`, not only its first. ResolveRule
// stops at the first error; so each field that can fail is also resolved
// alone, on a base known to resolve, with the rule's value (or the
// template's, when the rule does not set it). The whole rule's error is
// kept when no single field explains it.
std::vector<absl::Status> ResolveErrors(const RuleSpec& spec,
                                        const TemplateSpec* tmpl,
                                        const Config& config) {
  auto whole = ResolveRule(spec, tmpl, config);
  if (whole.ok()) return {};
  const RuleFields none;
  const RuleFields& r = spec.fields;
  const RuleFields& t = tmpl != nullptr ? tmpl->fields : none;
  RuleSpec base;
  base.id = "probe";
  base.pattern = "probe";
  base.fields.thresholds = std::array<std::optional<double>, kNumLevels>{};
  (*base.fields.thresholds)[static_cast<int>(Level::kWarning)] = 1;
  std::vector<RuleSpec> probes;
  auto probe = [&](auto set) {
    RuleSpec p = base;
    set(p);
    probes.push_back(std::move(p));
  };
  auto either = [](const auto& a, const auto& b) { return a ? a : b; };
  probe([&](RuleSpec& p) { p.id = spec.id; });
  probe([&](RuleSpec& p) {
    p.pattern = spec.pattern;
    if (!spec.target.empty()) {
      p.pattern.clear();
      p.target = spec.target;
      p.step_s = spec.step_s;
      p.lateness_s = spec.lateness_s;
      p.emit_prefix = spec.emit_prefix;
    }
  });
  probe([&](RuleSpec& p) {
    p.fields.direction = either(r.direction, t.direction);
    p.fields.thresholds = either(r.thresholds, t.thresholds);
  });
  probe([&](RuleSpec& p) {
    p.fields.checks_alert = either(r.checks_alert, t.checks_alert);
  });
  probe([&](RuleSpec& p) {
    p.fields.checks_ok = either(r.checks_ok, t.checks_ok);
  });
  probe([&](RuleSpec& p) {
    p.fields.ok_margin_pct = either(r.ok_margin_pct, t.ok_margin_pct);
  });
  probe([&](RuleSpec& p) {
    p.fields.nodata_after_s = either(r.nodata_after_s, t.nodata_after_s);
  });
  probe(
      [&](RuleSpec& p) { p.fields.schedule = either(r.schedule, t.schedule); });
  probe(
      [&](RuleSpec& p) { p.fields.channels = either(r.channels, t.channels); });
  probe([&](RuleSpec& p) { p.fields.labels = either(r.labels, t.labels); });
  std::vector<absl::Status> errors;
  if (!spec.template_name.empty() && tmpl == nullptr) {
    errors.push_back(FieldError(
        "template", StrCat("unknown template \"", spec.template_name, "\"")));
  }
  for (const RuleSpec& p : probes) {
    auto resolved = ResolveRule(p, nullptr, config);
    if (!resolved.ok()) errors.push_back(resolved.status());
  }
  std::set<std::string> fields;
  for (const absl::Status& e : errors) fields.insert(FieldOf(e));
  if (!fields.contains(FieldOf(whole.status()))) {
    errors.insert(errors.begin(), whole.status());
  }
  return errors;
}

// True when the rule itself sets `field` (else it comes from its template).
bool RuleSets(const RuleSpec& spec, const std::string& field) {
  return spec.field_positions.contains(field) || field.empty() ||
         field == "id" || field == "pattern" || field == "template" ||
         field == "target" || field == "step_s" || field == "lateness_s" ||
         field == "emit_prefix";
}

struct PlacedError {
  std::string file;
  SourcePosition at;
  std::string text;
};

// "file:line:col: rule "id": message" at the field's key in the file (the
// rule's, or its template's when the value comes from the template).
PlacedError FileRuleError(const RuleSpec& spec, const TemplateSpec* tmpl,
                          const absl::Status& error) {
  const std::string field = FieldOf(error);
  std::string file = spec.source_file;
  SourcePosition at{spec.source_line, spec.source_column};
  std::string from;
  if (auto it = spec.field_positions.find(field);
      it != spec.field_positions.end()) {
    at = it->second;
  } else if (!RuleSets(spec, field) && tmpl != nullptr) {
    from = StrCat(" (from template \"", tmpl->name, "\")");
    if (auto t = tmpl->field_positions.find(field);
        tmpl->source == RuleSource::kFile && t != tmpl->field_positions.end()) {
      file = tmpl->source_file;
      at = t->second;
    }
  }
  return {file, at,
          StrCat(file, ":", at.line, ":", at.column, ": rule \"", spec.id, "\"",
                 from, ": ", error.message())};
}

// The id of a stored rule whose JSON does not parse as a rule, if it has one.
std::string IdOf(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) {
    return j["id"].get<std::string>();
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<RuleFile>> LoadRuleFiles(const Config& config) {
  std::vector<std::string> errors;
  std::vector<RuleFile> files;
  for (const std::string& path : config.rules.files) {
    auto file = LoadRuleFile(path);
    if (!file.ok()) {
      errors.emplace_back(file.status().message());
      continue;
    }
    files.push_back(std::move(*file));
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return files;
}

absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRules(const Config& config,
                                                         Store* store,
                                                         uint64_t generation) {
  auto files = LoadRuleFiles(config);
  if (!files.ok()) return files.status();
  return LoadRules(config, *files, store, generation);
}

absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRules(
    const Config& config, const std::vector<RuleFile>& files, Store* store,
    uint64_t generation) {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<InvalidRule> invalid;
  std::map<std::string, TemplateSpec> templates;
  std::vector<RuleSpec> specs;
  std::map<std::string, std::string> defined_in;   // rule id -> where
  std::map<std::string, std::string> stored_json;  // API rule id -> JSON
  for (const RuleFile& file : files) {
    for (const TemplateSpec& t : file.templates) {
      if (auto it = templates.find(t.name); it != templates.end()) {
        auto at = t.field_positions.find("name");
        errors.push_back(
            StrCat(t.source_file, ":",
                   at == t.field_positions.end() ? 1 : at->second.line, ":",
                   at == t.field_positions.end() ? 1 : at->second.column,
                   ": template \"", t.name, "\" is also defined in ",
                   it->second.source_file));
        continue;
      }
      templates.emplace(t.name, t);
    }
    for (const RuleSpec& r : file.rules) {
      const std::string where =
          StrCat(r.source_file, ":", r.source_line, ":", r.source_column);
      if (auto it = defined_in.find(r.id); it != defined_in.end()) {
        auto at = r.field_positions.find("id");
        errors.push_back(StrCat(
            r.source_file, ":",
            at == r.field_positions.end() ? r.source_line : at->second.line,
            ":",
            at == r.field_positions.end() ? r.source_column : at->second.column,
            ": rule \"", r.id, "\" is also defined at ", it->second));
        continue;
      }
      defined_in[r.id] = where;
      specs.push_back(r);
    }
  }
  if (store != nullptr) {
    auto stored_templates = store->TemplateJsons();
    if (!stored_templates.ok()) return stored_templates.status();
    for (const std::string& json : *stored_templates) {
      auto t = ParseTemplateJson(json);
      if (!t.ok()) {
        warnings.push_back(StrCat("store: a stored template does not parse (",
                                  t.status().message(), "); left out"));
        continue;
      }
      if (auto it = templates.find(t->name); it != templates.end()) {
        warnings.push_back(StrCat(
            "store: template \"", t->name, "\" is also defined in ",
            it->second.source_file, "; the file's template is in force"));
        continue;
      }
      templates.emplace(t->name, std::move(*t));
    }
    auto stored = store->RuleJsons();
    if (!stored.ok()) return stored.status();
    for (const std::string& json : *stored) {
      auto r = ParseRuleJson(json);
      if (!r.ok() || r->id.empty()) {
        const absl::Status s =
            r.ok() ? FieldError("id", "is missing") : r.status();
        invalid.push_back({IdOf(json), json, FieldOf(s),
                           StrCat("does not parse: ", s.message())});
        continue;
      }
      if (auto it = defined_in.find(r->id); it != defined_in.end()) {
        invalid.push_back({r->id, json, "id",
                           StrCat("id: also defined at ", it->second,
                                  "; the file's rule is in force"),
                           /*shadowed=*/true});
        continue;
      }
      stored_json[r->id] = json;
      specs.push_back(std::move(*r));
    }
  }
  std::vector<std::shared_ptr<const Rule>> rules;
  for (const RuleSpec& spec : specs) {
    const TemplateSpec* tmpl = nullptr;
    if (!spec.template_name.empty()) {
      auto it = templates.find(spec.template_name);
      if (it != templates.end()) tmpl = &it->second;
    }
    auto rule = ResolveRule(spec, tmpl, config);
    if (rule.ok()) {
      rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
      continue;
    }
    const std::vector<absl::Status> all = ResolveErrors(spec, tmpl, config);
    if (spec.source == RuleSource::kFile) {
      std::vector<PlacedError> placed;
      for (const absl::Status& e : all)
        placed.push_back(FileRuleError(spec, tmpl, e));
      std::stable_sort(placed.begin(), placed.end(), [](auto& a, auto& b) {
        return std::tie(a.file, a.at.line, a.at.column) <
               std::tie(b.file, b.at.line, b.at.column);
      });
      for (PlacedError& p : placed) errors.push_back(std::move(p.text));
      continue;
    }
    std::vector<std::string> reasons;
    for (const absl::Status& e : all) reasons.emplace_back(e.message());
    invalid.push_back({spec.id, stored_json[spec.id], FieldOf(all.front()),
                       absl::StrJoin(reasons, "; ")});
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  for (const InvalidRule& r : invalid) {
    warnings.push_back(StrCat("store: rule \"", r.id.empty() ? "?" : r.id,
                              "\" is invalid and not in force: ", r.reason));
  }
  return RuleSet::Build(std::move(rules), generation, std::move(templates),
                        std::move(invalid), std::move(warnings));
}

}  // namespace gralarm
