// Rule files ("rules as code"): TOML with [[templates]] and [[rules]] tables
// holding the same fields as the JSON API. Each table is turned into JSON and
// read by the same parser, so both forms accept exactly the same rules. toml++
// is header-only and exception-free here, as in config.cc.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "gralarm/toml.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_join.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

nlohmann::json ToJson(const toml::node& node) {
  if (const toml::table* t = node.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (auto&& [k, v] : *t) j[std::string(k.str())] = ToJson(v);
    return j;
  }
  if (const toml::array* a = node.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const toml::node& v : *a) j.push_back(ToJson(v));
    return j;
  }
  if (auto v = node.value_exact<std::string>()) return *v;
  if (auto v = node.value_exact<int64_t>()) return *v;
  if (auto v = node.value_exact<double>()) return *v;
  if (auto v = node.value_exact<bool>()) return *v;
  return nullptr;  // dates and times: refused by the field parser
}

std::string Where(const std::string& path, const toml::source_region& r) {
  return StrCat(path, ":", r.begin.line, ":", r.begin.column, ": ");
}

// The position of the field an error names, else of the table.
toml::source_region FieldRegion(const toml::table& t, const absl::Status& s) {
  std::string field = FieldOf(s);
  if (const toml::node* n = field.empty() ? nullptr : t.get(field))
    return n->source();
  return t.source();
}

}  // namespace

absl::StatusOr<RuleFile> LoadRuleFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::NotFoundError(StrCat(path, ":1:1: cannot open rule file"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseRuleFile(text.str(), path);
}

absl::StatusOr<RuleFile> ParseRuleFile(std::string_view text,
                                       const std::string& path) {
  toml::parse_result parsed = toml::parse(text, path);
  if (!parsed) {
    return absl::InvalidArgumentError(StrCat(
        Where(path, parsed.error().source()), parsed.error().description()));
  }
  const toml::table& root = parsed.table();
  std::vector<std::string> errors;
  RuleFile file;
  for (auto&& [key, node] : root) {
    if (key.str() != "rules" && key.str() != "templates") {
      errors.push_back(
          StrCat(Where(path, key.source()), "unknown key \"", key.str(),
                 "\" (a rule file holds [[templates]] and [[rules]])"));
      continue;
    }
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      errors.push_back(StrCat(Where(path, node.source()), key.str(),
                              " must be an array of tables ([[", key.str(),
                              "]])"));
      continue;
    }
    for (const toml::node& item : *array) {
      const toml::table* t = item.as_table();
      if (t == nullptr) {
        errors.push_back(
            StrCat(Where(path, item.source()), "each entry must be a table"));
        continue;
      }
      const std::string json = ToJson(*t).dump();
      if (key.str() == "templates") {
        auto spec = ParseTemplateJson(json);
        if (!spec.ok()) {
          errors.push_back(StrCat(Where(path, FieldRegion(*t, spec.status())),
                                  "template: ", spec.status().message()));
          continue;
        }
        spec->source = RuleSource::kFile;
        spec->source_file = path;
        file.templates.push_back(std::move(*spec));
      } else {
        auto spec = ParseRuleJson(json);
        if (spec.ok() && spec->id.empty()) {
          spec = FieldError("id", "rules in files need an id");
        }
        if (!spec.ok()) {
          errors.push_back(StrCat(Where(path, FieldRegion(*t, spec.status())),
                                  "rule: ", spec.status().message()));
          continue;
        }
        spec->source = RuleSource::kFile;
        spec->source_file = path;
        spec->source_line = static_cast<int>(t->source().begin.line);
        spec->source_column = static_cast<int>(t->source().begin.column);
        file.rules.push_back(std::move(*spec));
      }
    }
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return file;
}

}  // namespace gralarm
