#include <map>

#include "absl/strings/str_join.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"

namespace gralarm {

absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRules(const Config& config,
                                                         Store* store,
                                                         uint64_t generation) {
  std::vector<std::string> errors;
  std::map<std::string, TemplateSpec> templates;
  std::vector<RuleSpec> specs;
  std::map<std::string, std::string> defined_in;  // rule id -> where
  for (const std::string& path : config.rules.files) {
    auto file = LoadRuleFile(path);
    if (!file.ok()) {
      errors.emplace_back(file.status().message());
      continue;
    }
    for (TemplateSpec& t : file->templates) {
      if (templates.contains(t.name)) {
        errors.push_back(
            StrCat(path, ":1:1: template \"", t.name, "\" is defined twice"));
        continue;
      }
      templates.emplace(t.name, std::move(t));
    }
    for (RuleSpec& r : file->rules) {
      const std::string where =
          StrCat(path, ":", r.source_line, ":", r.source_column);
      if (auto it = defined_in.find(r.id); it != defined_in.end()) {
        errors.push_back(StrCat(where, ": rule \"", r.id,
                                "\" is also defined at ", it->second));
        continue;
      }
      defined_in[r.id] = where;
      specs.push_back(std::move(r));
    }
  }
  if (store != nullptr) {
    auto stored_templates = store->TemplateJsons();
    if (!stored_templates.ok()) return stored_templates.status();
    for (const std::string& json : *stored_templates) {
      auto t = ParseTemplateJson(json);
      if (!t.ok() || templates.contains(t->name)) {
        errors.push_back(StrCat(
            "store: template ", t.ok() ? t->name : "?",
            t.ok() ? " is also defined in a rule file" : " does not parse"));
        continue;
      }
      templates.emplace(t->name, std::move(*t));
    }
    auto stored = store->RuleJsons();
    if (!stored.ok()) return stored.status();
    for (const std::string& json : *stored) {
      auto r = ParseRuleJson(json);
      if (!r.ok()) {
        errors.push_back(StrCat("store: a stored rule does not parse: ",
                                r.status().message()));
        continue;
      }
      if (defined_in.contains(r->id)) {
        errors.push_back(StrCat("store: rule \"", r->id,
                                "\" is also defined at ", defined_in[r->id],
                                "; the file's rule is kept"));
        continue;
      }
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
    if (!rule.ok()) {
      errors.push_back(spec.source == RuleSource::kFile
                           ? StrCat(spec.source_file, ":", spec.source_line,
                                    ":", spec.source_column, ": rule \"",
                                    spec.id, "\": ", rule.status().message())
                           : StrCat("store: rule \"", spec.id,
                                    "\": ", rule.status().message()));
      continue;
    }
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return RuleSet::Build(std::move(rules), generation, std::move(templates));
}

}  // namespace gralarm
