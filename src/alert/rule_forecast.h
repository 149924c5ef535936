#ifndef GRALARM_SRC_ALERT_RULE_FORECAST_H_
#define GRALARM_SRC_ALERT_RULE_FORECAST_H_

// The `forecast` field of rules and templates (README "Forecast rules"): its
// JSON form and its validation, kept apart from the other fields of rule.cc.

#include <nlohmann/json.hpp>
#include <optional>

#include "absl/status/status.h"
#include "gralarm/rule.h"

namespace gralarm {

// Reads {"window_s": s, "horizon_s": s}: both integers, window_s in
// [kForecastMinWindowS, kForecastMaxWindowS], horizon_s in
// [1, kForecastMaxHorizonS]; {"window_s": 0, "horizon_s": 0} is explicitly
// off (a rule turning off its template's forecast). "forecast" field errors.
absl::Status ParseForecastField(const nlohmann::json& v,
                                std::optional<ForecastOptions>* out);
nlohmann::json ForecastToJson(const ForecastOptions& f);

// The checks that need the whole rule, after its template is applied: a
// target rule's window_s is at least 2 * step_s (a forecast needs three
// points over half the window); labels.kind, set to "forecast" on the
// alerts of a forecast rule, is not set by the rule to anything else.
absl::Status ResolveForecast(Rule* rule);

}  // namespace gralarm

#endif  // GRALARM_SRC_ALERT_RULE_FORECAST_H_
