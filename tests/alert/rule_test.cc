#include "gralarm/rule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "gralarm/rule_set.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Config> TestConfig() {
  auto c = ParseConfig(R"(
[schedules.daytime]
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:00"
to = "22:00"
timezone = "Europe/Madrid"
[[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:9093"
)",
                       "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

// The field a rule's JSON is refused for ("" when it is accepted).
std::string RefusedField(const std::string& json) {
  auto spec = ParseRuleJson(json);
  if (!spec.ok()) return FieldOf(spec.status());
  if (spec->id.empty()) spec->id = "generated";
  auto rule = ResolveRule(*spec, nullptr, *TestConfig());
  return rule.ok() ? "" : FieldOf(rule.status());
}

TEST(Rule, AcceptsTheSpecExample) {
  EXPECT_EQ(RefusedField(R"({
    "id": "cgnat-ethtrunk-util", "name": "Huawei Eth-trunk bandwidth utilization",
    "pattern": "cgnat.*.ethtrunk*.{input,output}.util_pct", "direction": "above",
    "thresholds": {"warning": 70, "major": 85, "critical": 95},
    "checks_alert": 3, "checks_ok": 2, "ok_margin_pct": 10, "transform": "none",
    "nodata_after_s": 0, "schedule": "daytime", "template": "", "channels": ["am"],
    "labels": {"dashboard": "CG-NAT"}, "enabled": true})"),
            "");
}

TEST(Rule, EachRefusalNamesItsField) {
  const std::string p = R"("pattern": "a.b", )";
  EXPECT_EQ(RefusedField("{" + p +
                         R"("thresholds": {"warning": 90, "critical": 80}})"),
            "thresholds");
  EXPECT_EQ(
      RefusedField(
          "{" + p +
          R"("direction": "below", "thresholds": {"warning": 10, "critical": 20}})"),
      "thresholds");
  EXPECT_EQ(RefusedField("{" + p + R"("thresholds": {}})"), "thresholds");
  EXPECT_EQ(RefusedField("{" + p + R"("thresholds": {"fatal": 1}})"),
            "thresholds");
  EXPECT_EQ(RefusedField("{" + p +
                         R"("thresholds": {"warning": 1}, "checks_alert": 0})"),
            "checks_alert");
  EXPECT_EQ(RefusedField("{" + p +
                         R"("thresholds": {"warning": 1}, "checks_ok": 0})"),
            "checks_ok");
  EXPECT_EQ(
      RefusedField("{" + p +
                   R"("thresholds": {"warning": 1}, "ok_margin_pct": 101})"),
      "ok_margin_pct");
  EXPECT_EQ(
      RefusedField("{" + p +
                   R"("thresholds": {"warning": 1}, "schedule": "night"})"),
      "schedule");
  EXPECT_EQ(
      RefusedField("{" + p +
                   R"("thresholds": {"warning": 1}, "template": "nope"})"),
      "template");
  EXPECT_EQ(
      RefusedField("{" + p +
                   R"("thresholds": {"warning": 1}, "channels": ["sms"]})"),
      "channels");
  EXPECT_EQ(
      RefusedField(R"({"pattern": "a.{b", "thresholds": {"warning": 1}})"),
      "pattern");
  EXPECT_EQ(RefusedField(R"({"thresholds": {"warning": 1}})"), "pattern");
  EXPECT_EQ(
      RefusedField(
          R"({"id": "Bad Id", "pattern": "a", "thresholds": {"warning": 1}})"),
      "id");
  EXPECT_EQ(
      RefusedField("{" + p +
                   R"("thresholds": {"warning": 1}, "transform": "log"})"),
      "transform");
  EXPECT_EQ(RefusedField("{" + p +
                         R"("thresholds": {"warning": 1}, "colour": "red"})"),
            "colour");
}

TEST(Rule, LabelNamesFollowPrometheus) {
  for (const char* name :
       {"team", "dashboard", "_x", "A_1", "x1", "Team_Name", "a_"}) {
    EXPECT_TRUE(ValidateLabelName(name).ok()) << name;
  }
  // What Alertmanager refuses (HTTP 400), what Prometheus reserves, and the
  // labels gralarm sets itself.
  for (const char* name :
       {"bad label", "1x", "", "team-name", "dash.board", "é", "a/b", "__x",
        "__name__", "alertname", "severity", "series"}) {
    const absl::Status s = ValidateLabelName(name);
    EXPECT_FALSE(s.ok()) << name;
    EXPECT_EQ(FieldOf(s), "labels") << name;
  }
  EXPECT_THAT(std::string(ValidateLabelName("bad label").message()),
              HasSubstr("\"bad label\" is not a valid label name"));
  EXPECT_THAT(std::string(ValidateLabelName("severity").message()),
              HasSubstr("set by gralarm"));
}

TEST(Rule, RulesAndTemplatesWithABadLabelAreRefused) {
  const std::string rule =
      R"({"id": "r", "pattern": "a.b", "thresholds": {"warning": 1}, )";
  EXPECT_EQ(RefusedField(rule + R"("labels": {"team": "noc"}})"), "");
  for (const char* labels :
       {R"({"bad label": "x"})", R"({"1x": "x"})", R"({"severity": "page"})",
        R"({"alertname": "other"})", R"({"team": "noc", "__meta": "x"})"}) {
    EXPECT_EQ(RefusedField(rule + R"("labels": )" + labels + "}"), "labels")
        << labels;
    auto t = ParseTemplateJson(std::string(R"({"name": "t", "labels": )") +
                               labels + "}");
    ASSERT_FALSE(t.ok()) << labels;
    EXPECT_EQ(FieldOf(t.status()), "labels");
  }
  // A rule file's rules and templates go through the same parser, and the
  // error points at the labels.
  auto file = ParseRuleFile(R"([[templates]]
name = "t"
labels = { "bad label" = "x" }

[[rules]]
id = "r"
pattern = "a.b"
thresholds = { warning = 1 }
labels = { severity = "page" }
)",
                            "rules.toml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(std::string(file.status().message()),
              HasSubstr("rules.toml:3:1: template: labels: \"bad label\" is "
                        "not a valid label name"));
  EXPECT_THAT(std::string(file.status().message()),
              HasSubstr("rules.toml:9:1: rule \"r\": labels: \"severity\" is "
                        "set by gralarm"));
}

TEST(Rule, TemplateSuppliesWhatTheRuleLeavesUnset) {
  auto t = ParseTemplateJson(R"({"name": "util", "thresholds": {"warning": 70},
                                 "checks_alert": 3, "labels": {"team": "noc"}})");
  ASSERT_TRUE(t.ok()) << t.status();
  auto spec = ParseRuleJson(R"({"id": "r", "pattern": "a.*", "template": "util",
                                "checks_alert": 5})");
  ASSERT_TRUE(spec.ok());
  auto rule = ResolveRule(*spec, &*t, *TestConfig());
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->params.checks_alert, 5);       // the rule's own
  EXPECT_EQ(*rule->params.thresholds[1], 70.0);  // from the template
  EXPECT_EQ(rule->labels.at("team"), "noc");
  EXPECT_EQ(rule->params.checks_ok, 1);  // the default
}

TEST(Rule, RoundTripsThroughJson) {
  auto spec = ParseRuleJson(R"({"id": "r", "name": "n", "pattern": "a.*",
      "thresholds": {"warning": 1, "critical": 3}, "direction": "above", "labels": {"x": "y"}})");
  ASSERT_TRUE(spec.ok());
  auto again = ParseRuleJson(RuleSpecToJson(*spec));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(RuleSpecToJson(*again), RuleSpecToJson(*spec));
}

TEST(RuleFile, ReadsTemplatesAndRulesAndPlacesErrors) {
  const std::string path = ::testing::TempDir() + "/rules_test.toml";
  std::ofstream(path) << R"([[templates]]
name = "util"
thresholds = { warning = 70, major = 85, critical = 95 }

[[rules]]
id = "eth"
pattern = "cgnat.*.ethtrunk*.{input,output}.util_pct"
template = "util"
labels = { dashboard = "CG-NAT" }

[[rules]]
id = "broken"
pattern = "x"
checks_alert = "three"
)";
  auto file = LoadRuleFile(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(
      std::string(file.status().message()),
      HasSubstr(path +
                ":14:1: rule \"broken\": checks_alert: must be an integer"));
}

TEST(RuleSet, FindsExactAndGlobRulesOnceEach) {
  auto config = TestConfig();
  std::vector<std::shared_ptr<const Rule>> rules;
  for (
      const char* json :
      {R"({"id": "exact", "pattern": "a.b.c", "thresholds": {"warning": 1}})",
       R"({"id": "star", "pattern": "a.*.c", "thresholds": {"warning": 1}})",
       R"({"id": "braces", "pattern": "a.{b,x}.{c,c}", "thresholds": {"warning": 1}})",
       R"({"id": "off", "pattern": "a.b.c", "thresholds": {"warning": 1}, "enabled": false})",
       R"({"id": "other", "pattern": "z.*", "thresholds": {"warning": 1}})"}) {
    auto spec = ParseRuleJson(json);
    ASSERT_TRUE(spec.ok());
    auto rule = ResolveRule(*spec, nullptr, *config);
    ASSERT_TRUE(rule.ok()) << rule.status();
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  auto set = RuleSet::Build(rules, 1);
  RuleSet::Matches m;
  set->Match("a.b.c", &m);
  std::vector<std::string> ids;
  for (uint32_t i : m) ids.push_back(set->rules()[i]->spec.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"exact", "star", "braces"}));
  set->Match("a.q.c", &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(set->rules()[m[0]]->spec.id, "star");
  set->Match("b.b.c", &m);
  EXPECT_TRUE(m.empty());
  EXPECT_NE(set->Find("off"), nullptr);
}

TEST(RuleSet, AgreesWithMatchingEveryRuleOneByOne) {
  auto config = TestConfig();
  std::mt19937 rng(7);
  const std::vector<std::string> parts = {"a",  "ab",  "abc", "b",
                                          "s1", "s12", "x"};
  const std::vector<std::string> wild = {"*",        "a*",    "ab*",   "s1?",
                                         "s1*",      "[ab]*", "[!a]*", "{a,b}",
                                         "{ab,s1}*", "?"};
  auto pick = [&](const std::vector<std::string>& v) {
    return v[rng() % v.size()];
  };
  std::vector<std::shared_ptr<const Rule>> rules;
  for (int i = 0; i < 400; ++i) {
    std::string pattern;
    const int depth = 1 + static_cast<int>(rng() % 3);
    for (int d = 0; d < depth; ++d) {
      if (d) pattern += ".";
      pattern += (rng() % 2) ? pick(parts) : pick(wild);
    }
    RuleSpec spec;
    spec.id = "r" + std::to_string(i);
    spec.pattern = pattern;
    spec.fields.thresholds =
        std::array<std::optional<double>, 4>{std::nullopt, 1.0};
    auto rule = ResolveRule(spec, nullptr, *config);
    ASSERT_TRUE(rule.ok()) << pattern << ": " << rule.status();
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  auto set = RuleSet::Build(rules, 1);
  for (int i = 0; i < 3000; ++i) {
    std::string name;
    const int depth = 1 + static_cast<int>(rng() % 3);
    for (int d = 0; d < depth; ++d) {
      if (d) name += ".";
      name += pick(parts) + (rng() % 3 == 0 ? std::to_string(rng() % 30) : "");
    }
    RuleSet::Matches got;
    set->Match(name, &got);
    std::vector<uint32_t> want;
    for (uint32_t r = 0; r < rules.size(); ++r) {
      if (rules[r]->glob.Matches(name)) want.push_back(r);
    }
    ASSERT_EQ(std::vector<uint32_t>(got.begin(), got.end()), want) << name;
  }
}

}  // namespace
}  // namespace gralarm
