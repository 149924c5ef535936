#include "alert/rule_forecast.h"

#include "gralarm/strings.h"

namespace gralarm {

absl::Status ParseForecastField(const nlohmann::json& v,
                                std::optional<ForecastOptions>* out) {
  constexpr char kField[] = "forecast";
  constexpr char kShape[] =
      "must be {\"window_s\": seconds, \"horizon_s\": seconds}";
  if (!v.is_object()) return FieldError(kField, kShape);
  ForecastOptions f;
  bool has_window = false, has_horizon = false;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "window_s" && it.key() != "horizon_s") {
      return FieldError(kField,
                        StrCat("unknown field \"", it.key(), "\"; ", kShape));
    }
    if (!it.value().is_number_integer()) {
      return FieldError(kField, StrCat(it.key(), " must be an integer"));
    }
    const int64_t n = it.value().get<int64_t>();
    if (it.key() == "window_s") {
      f.window_s = n;
      has_window = true;
    } else {
      f.horizon_s = n;
      has_horizon = true;
    }
  }
  if (!has_window || !has_horizon) return FieldError(kField, kShape);
  if (f.window_s == 0 && f.horizon_s == 0) {
    *out = f;  // explicitly off
    return absl::OkStatus();
  }
  if (f.window_s < kForecastMinWindowS || f.window_s > kForecastMaxWindowS) {
    return FieldError(kField,
                      StrCat("window_s must be between ", kForecastMinWindowS,
                             " and ", kForecastMaxWindowS, " (7 days)"));
  }
  if (f.horizon_s < 1 || f.horizon_s > kForecastMaxHorizonS) {
    return FieldError(kField, StrCat("horizon_s must be between 1 and ",
                                     kForecastMaxHorizonS, " (30 days)"));
  }
  *out = f;
  return absl::OkStatus();
}

nlohmann::json ForecastToJson(const ForecastOptions& f) {
  return {{"window_s", f.window_s}, {"horizon_s", f.horizon_s}};
}

absl::Status ResolveForecast(Rule* rule) {
  const ForecastOptions& f = rule->params.forecast;
  if (!f.on()) return absl::OkStatus();
  if (rule->target != nullptr && f.window_s < 2 * rule->target->step_s) {
    return FieldError("forecast",
                      StrCat("window_s must be at least 2 * step_s (",
                             2 * rule->target->step_s,
                             "): a forecast needs 3 points over half the "
                             "window"));
  }
  auto kind = rule->labels.find("kind");
  if (kind != rule->labels.end() && kind->second != "forecast") {
    return FieldError("labels",
                      "kind is set to \"forecast\" by gralarm on the alerts "
                      "of a forecast rule");
  }
  rule->labels["kind"] = "forecast";
  return absl::OkStatus();
}

}  // namespace gralarm
