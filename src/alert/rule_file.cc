// Rule files ("rules as code"): TOML with [[templates]] and [[rules]] tables
// holding the same fields as the JSON API. Each table is turned into JSON and
// read by the same parser, so both forms accept exactly the same rules. toml++
// is header-only and exception-free here, as in config.cc.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_join.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"
#include "gralarm/toml.h"

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

// Where each key of `t` is written.
std::map<std::string, SourcePosition> KeyPositions(const toml::table& t) {
  std::map<std::string, SourcePosition> out;
  for (auto&& [k, v] : t) {
    out[std::string(k.str())] = {static_cast<int>(k.source().begin.line),
                                 static_cast<int>(k.source().begin.column)};
  }
  return out;
}

// Every field error of one [[rules]] or [[templates]] table, each at the key
// of its field. The JSON parser stops at the first error, so each field is
// parsed alone (beside a placeholder for `placeholder`, the field the parser
// requires). Each `required` field the table lacks is reported at the table's
// header, and so is `whole` (the error of the whole table) when nothing else
// explains it.
template <typename Parse>
std::vector<std::string> TableErrors(
    const std::string& path, const toml::table& t, std::string_view placeholder,
    std::initializer_list<std::pair<const char*, const char*>> required,
    std::string_view what, Parse parse, const absl::Status& whole) {
  std::vector<std::string> errors;
  for (auto&& [k, v] : t) {
    nlohmann::json probe = nlohmann::json::object();
    probe[std::string(placeholder)] = "x";
    probe[std::string(k.str())] = ToJson(v);
    absl::Status s = parse(probe.dump());
    if (!s.ok()) {
      errors.push_back(
          StrCat(Where(path, k.source()), what, ": ", s.message()));
    }
  }
  for (const auto& [field, message] : required) {
    if (t.get(field) == nullptr) {
      errors.push_back(
          StrCat(Where(path, t.source()), what, ": ", field, ": ", message));
    }
  }
  if (errors.empty() && !whole.ok()) {
    const std::string field = FieldOf(whole);
    const toml::node* n = field.empty() ? nullptr : t.get(field);
    errors.push_back(
        StrCat(Where(path, n != nullptr ? n->source() : t.source()), what, ": ",
               whole.message()));
  }
  return errors;
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
          for (std::string& e : TableErrors(
                   path, *t, "name", {{"name", "is required"}}, "template",
                   [](const std::string& j) {
                     return ParseTemplateJson(j).status();
                   },
                   spec.status())) {
            errors.push_back(std::move(e));
          }
          continue;
        }
        spec->source = RuleSource::kFile;
        spec->source_file = path;
        spec->field_positions = KeyPositions(*t);
        file.templates.push_back(std::move(*spec));
      } else {
        auto spec = ParseRuleJson(json);
        if (spec.ok() && spec->id.empty()) {
          spec = FieldError("id", "rules in files need an id");
        }
        if (!spec.ok()) {
          const toml::node* id = t->get("id");
          const std::string what =
              id != nullptr && id->is_string()
                  ? StrCat("rule \"", *id->value<std::string>(), "\"")
                  : std::string("rule");
          // A target rule's fields are probed beside a placeholder target,
          // a pattern rule's beside a placeholder pattern.
          const bool is_target = t->get("target") != nullptr;
          for (std::string& e : TableErrors(
                   path, *t, is_target ? "target" : "pattern",
                   {{"id", "rules in files need an id"},
                    {is_target ? "target" : "pattern",
                     is_target ? "is required" : "is required (or target)"}},
                   what,
                   [](const std::string& j) {
                     return ParseRuleJson(j).status();
                   },
                   spec.status())) {
            errors.push_back(std::move(e));
          }
          continue;
        }
        spec->source = RuleSource::kFile;
        spec->source_file = path;
        spec->source_line = static_cast<int>(t->source().begin.line);
        spec->source_column = static_cast<int>(t->source().begin.column);
        spec->field_positions = KeyPositions(*t);
        file.rules.push_back(std::move(*spec));
      }
    }
  }
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return file;
}

}  // namespace gralarm
