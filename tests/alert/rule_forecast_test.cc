// The `forecast` field of rules and templates (README "Forecast rules").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gralarm/rule.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Rule> Resolve(const std::string& json,
                             const TemplateSpec* tmpl = nullptr) {
  auto spec = ParseRuleJson(json);
  if (!spec.ok()) return spec.status();
  if (spec->id.empty()) spec->id = "generated";
  return ResolveRule(*spec, tmpl, Config());
}

std::string Pattern(const std::string& forecast) {
  return R"({"pattern": "a.b", "thresholds": {"critical": 95}, "forecast": )" +
         forecast + "}";
}

TEST(RuleForecast, SetsTheEvalParamsAndTheKindLabel) {
  auto rule = Resolve(Pattern(R"({"window_s": 3600, "horizon_s": 7200})"));
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->params.forecast.window_s, 3600);
  EXPECT_EQ(rule->params.forecast.horizon_s, 7200);
  EXPECT_EQ(rule->labels.at("kind"), "forecast");
  // Without forecast: no label, off.
  auto plain = Resolve(R"({"pattern": "a.b", "thresholds": {"critical": 95}})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->params.forecast.on());
  EXPECT_EQ(plain->labels.count("kind"), 0u);
}

TEST(RuleForecast, RefusesBadValuesAsForecastFieldErrors) {
  for (const char* bad : {
           R"(3600)",
           R"({"window_s": 3600})",
           R"({"horizon_s": 60})",
           R"({"window_s": 3600.5, "horizon_s": 60})",
           R"({"window_s": "1h", "horizon_s": 60})",
           R"({"window_s": 3600, "horizon_s": 60, "step": 1})",
           R"({"window_s": 9, "horizon_s": 60})",
           R"({"window_s": 604801, "horizon_s": 60})",
           R"({"window_s": 3600, "horizon_s": 0})",
           R"({"window_s": 3600, "horizon_s": -5})",
           R"({"window_s": 3600, "horizon_s": 2592001})",
           R"({"window_s": 0, "horizon_s": 60})",
       }) {
    auto rule = Resolve(Pattern(bad));
    ASSERT_FALSE(rule.ok()) << bad;
    EXPECT_EQ(FieldOf(rule.status()), "forecast") << bad << rule.status();
  }
  EXPECT_TRUE(
      Resolve(Pattern(R"({"window_s": 604800, "horizon_s": 2592000})")).ok());
}

TEST(RuleForecast, TargetRulesNeedTwoStepsOfWindow) {
  const std::string target =
      R"j({"target": "sumSeries(a.*.b)", "step_s": 60,
          "thresholds": {"critical": 1}, )j";
  auto rule =
      Resolve(target + R"("forecast": {"window_s": 119, "horizon_s": 60}})");
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(FieldOf(rule.status()), "forecast");
  EXPECT_THAT(std::string(rule.status().message()), HasSubstr("2 * step_s"));
  rule = Resolve(target + R"("forecast": {"window_s": 120, "horizon_s": 60}})");
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_TRUE(rule->is_target());
  EXPECT_EQ(rule->labels.at("kind"), "forecast");
}

TEST(RuleForecast, KindLabelIsGralarms) {
  auto rule = Resolve(R"({"pattern": "a.b", "thresholds": {"critical": 95},
      "labels": {"kind": "capacity"},
      "forecast": {"window_s": 3600, "horizon_s": 60}})");
  ASSERT_FALSE(rule.ok());
  EXPECT_EQ(FieldOf(rule.status()), "labels");
  // A plain rule may use the label.
  EXPECT_TRUE(Resolve(R"({"pattern": "a.b", "thresholds": {"critical": 95},
      "labels": {"kind": "capacity"}})")
                  .ok());
}

TEST(RuleForecast, TemplatesSupplyItAndRulesTurnItOff) {
  auto t = ParseTemplateJson(
      R"({"name": "trend", "forecast": {"window_s": 600, "horizon_s": 900}})");
  ASSERT_TRUE(t.ok()) << t.status();
  auto rule = Resolve(
      R"({"pattern": "a.b", "template": "trend", "thresholds": {"critical": 9}})",
      &*t);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->params.forecast.horizon_s, 900);
  rule = Resolve(R"({"pattern": "a.b", "template": "trend",
      "thresholds": {"critical": 9}, "forecast": {"window_s": 0, "horizon_s": 0}})",
                 &*t);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_FALSE(rule->params.forecast.on());
  EXPECT_EQ(rule->labels.count("kind"), 0u);
}

TEST(RuleForecast, RoundTripsThroughJson) {
  auto spec = ParseRuleJson(
      R"({"id": "r", "pattern": "a.*", "thresholds": {"critical": 3},
          "forecast": {"window_s": 3600, "horizon_s": 7200}})");
  ASSERT_TRUE(spec.ok());
  const std::string json = RuleSpecToJson(*spec);
  EXPECT_THAT(json,
              HasSubstr(R"("forecast":{"horizon_s":7200,"window_s":3600})"));
  auto again = ParseRuleJson(json);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RuleSpecToJson(*again), json);
}

TEST(RuleForecast, RuleFilesTakeItAndPlaceItsErrors) {
  auto file = ParseRuleFile(R"([[rules]]
id = "link"
pattern = "a.b"
thresholds = { critical = 95 }
forecast = { window_s = 3600, horizon_s = 7200 }

[[rules]]
id = "bad"
pattern = "a.c"
thresholds = { critical = 95 }
forecast = { window_s = 3600, horizon_s = "2h" }
)",
                            "f.toml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()),
              HasSubstr("f.toml:11:1: rule \"bad\": forecast: horizon_s must "
                        "be an integer"));
  EXPECT_THAT(std::string(file.status().message()),
              ::testing::Not(HasSubstr("\"link\"")));
  file = ParseRuleFile(R"([[rules]]
id = "link"
pattern = "a.b"
thresholds = { critical = 95 }
forecast = { window_s = 3600, horizon_s = 7200 }
)",
                       "f.toml");
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->rules.size(), 1u);
  EXPECT_EQ(file->rules[0].fields.forecast->window_s, 3600);
}

}  // namespace
}  // namespace gralarm
