#include "api/rule_bulk.h"

#include <algorithm>

#include "gralarm/record_json.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using json = nlohmann::json;

bool BulkField(std::string_view key) {
  return std::find(std::begin(kBulkRuleFields), std::end(kBulkRuleFields),
                   key) != std::end(kBulkRuleFields);
}

}  // namespace

absl::StatusOr<BulkRuleChange> ParseBulkRuleChange(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return FieldError("",
                      "the body must be a JSON object {\"ids\": [...], "
                      "\"set\": {...}}");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "ids" && key != "set") {
      return FieldError(ValidUtf8(key), "unknown key (ids and set only)");
    }
  }
  BulkRuleChange out;
  const auto ids = j.find("ids");
  if (ids == j.end() || !ids->is_array() || ids->empty()) {
    return FieldError("ids", "must be a non-empty list of rule ids");
  }
  if (ids->size() > kMaxBulkRules) {
    return FieldError("ids",
                      StrCat("at most ", kMaxBulkRules, " rules at once"));
  }
  out.ids.reserve(ids->size());
  for (const json& id : *ids) {
    if (!id.is_string() || !ValidRuleId(id.get_ref<const std::string&>())) {
      return FieldError(
          "ids", StrCat("each id must match [a-z0-9_.-]{1,128}: ",
                        ValidUtf8(id.dump(-1, ' ', false,
                                          json::error_handler_t::replace))));
    }
    out.ids.push_back(id.get<std::string>());
  }
  const auto set = j.find("set");
  if (set == j.end() || !set->is_object() || set->empty()) {
    return FieldError("set", "must be an object of the fields to change");
  }
  for (const auto& [key, value] : set->items()) {
    if (!BulkField(key)) {
      return FieldError(StrCat("set.", ValidUtf8(key)),
                        "not a field a bulk change sets (channels, "
                        "checks_alert, checks_ok, ok_margin_pct, schedule, "
                        "enabled, template, nodata_after_s, direction, "
                        "thresholds, labels, flap)");
    }
  }
  out.set = *set;
  return out;
}

absl::StatusOr<RuleSpec> ApplyBulkRuleChange(const RuleSpec& spec,
                                             const json& set) {
  json j = json::parse(RuleSpecToJson(spec), nullptr, false);
  if (!j.is_object()) return absl::InternalError("a stored rule is not JSON");
  for (const auto& [key, value] : set.items()) {
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
  }
  return ParseRuleJson(j.dump());
}

std::string BulkErrorField(std::string_view field, const json& set) {
  const std::string_view top = field.substr(0, field.find_first_of(".["));
  if (!top.empty() && set.contains(top)) return StrCat("set.", field);
  return std::string(field);
}

}  // namespace gralarm
