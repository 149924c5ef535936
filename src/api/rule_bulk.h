#ifndef GRALARM_API_RULE_BULK_H_
#define GRALARM_API_RULE_BULK_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gralarm/rule.h"

namespace gralarm {

// The body of POST /api/v1/rules/bulk: {"ids": [...], "set": {field: value}}.
struct BulkRuleChange {
  std::vector<std::string> ids;  // 1 to kMaxBulkRules rule ids
  nlohmann::json set;            // an object of kBulkRuleFields (null: unset)
};

inline constexpr size_t kMaxBulkRules = 10000;

// The rule fields a bulk change may set: those an operator changes on many
// alarms at once. What a rule watches (pattern, target, ...) and what names
// it (id, name) are changed one rule at a time.
inline constexpr std::string_view kBulkRuleFields[] = {
    "channels",  "checks_alert", "checks_ok", "ok_margin_pct",
    "schedule",  "enabled",      "template",  "nodata_after_s",
    "direction", "thresholds",   "labels",    "flap"};

// Parses and checks the shape of the body (InvalidArgument naming "ids",
// "set" or "set.<field>"); the values are checked by ApplyBulkRuleChange.
absl::StatusOr<BulkRuleChange> ParseBulkRuleChange(std::string_view body);

// `spec` with the fields of `set` replaced (a null removes the field: the
// template's value or the default then applies), parsed as a rule JSON write
// of it would be.
absl::StatusOr<RuleSpec> ApplyBulkRuleChange(const RuleSpec& spec,
                                             const nlohmann::json& set);

// The field an error names, as the client wrote it: "set.<field>" when it is
// (under) a field of `set`, else `field` as it is.
std::string BulkErrorField(std::string_view field, const nlohmann::json& set);

}  // namespace gralarm

#endif  // GRALARM_API_RULE_BULK_H_
