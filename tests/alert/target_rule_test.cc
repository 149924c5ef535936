// Target rules: their fields (JSON, rule files), the RuleSet's index of their
// inputs, the TargetEngine (grid, watermark and idle completion, late points,
// emitted lines, state across a restart) and the AlertEngine states of their
// outputs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "gralarm/alert_engine.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"
#include "gralarm/target_engine.h"
#include "testing/target_engine_fixture.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

std::shared_ptr<const Config> TestConfig() {
  auto c = ParseConfig("[evaluation]\nnodata_guard_s = 60\n", "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

absl::StatusOr<Rule> Resolve(const std::string& json) {
  auto spec = ParseRuleJson(json);
  if (!spec.ok()) return spec.status();
  if (spec->id.empty()) spec->id = "generated";
  return ResolveRule(*spec, nullptr, *TestConfig());
}

std::string RefusedField(const std::string& json) {
  auto rule = Resolve(json);
  return rule.ok() ? "" : FieldOf(rule.status());
}

std::shared_ptr<const RuleSet> Rules(std::vector<std::string> jsons,
                                     uint64_t generation = 1) {
  std::vector<std::shared_ptr<const Rule>> rules;
  for (const std::string& j : jsons) {
    auto rule = Resolve(j);
    EXPECT_TRUE(rule.ok()) << rule.status();
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  return RuleSet::Build(rules, generation);
}

TEST(TargetRule, FieldsAndDefaults) {
  auto rule = Resolve(
      R"j({"id": "s", "target": "sumSeries(a.*.x)",
          "thresholds": {"major": 10}})j");
  ASSERT_TRUE(rule.ok()) << rule.status();
  ASSERT_TRUE(rule->is_target());
  EXPECT_EQ(rule->target->step_s, 60);
  EXPECT_EQ(rule->target->lateness_s, 30);
  EXPECT_EQ(rule->target->canonical, "sumSeries(a.*.x)");
  ASSERT_EQ(rule->target->globs.size(), 1u);
  EXPECT_EQ(rule->target->globs[0].pattern(), "a.*.x");
  auto r2 = Resolve(
      R"j({"id": "p", "target": "asPercent(sum(a.*.u), sum(a.*.m))",
          "step_s": 10, "lateness_s": 0, "emit_prefix": "gralarm.derived",
          "thresholds": {"major": 85}})j");
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->target->step_s, 10);
  EXPECT_EQ(r2->target->lateness_s, 0);
  EXPECT_EQ(r2->target->emit_prefix, "gralarm.derived");
  // The JSON round trip keeps what was written.
  auto again = ParseRuleJson(RuleSpecToJson(r2->spec));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->target, "asPercent(sum(a.*.u), sum(a.*.m))");
  EXPECT_EQ(again->step_s, 10);
  EXPECT_EQ(again->lateness_s, 0);
  EXPECT_EQ(again->emit_prefix, "gralarm.derived");
  EXPECT_TRUE(again->pattern.empty());
}

TEST(TargetRule, EachRefusalNamesItsField) {
  const std::string t = R"j("thresholds": {"major": 1})j";
  EXPECT_EQ(RefusedField(R"j({"pattern": "a", "target": "a", )j" + t + "}"),
            "target");
  EXPECT_EQ(RefusedField("{" + t + "}"), "pattern");
  EXPECT_EQ(RefusedField(R"j({"pattern": "a", "step_s": 60, )j" + t + "}"),
            "step_s");
  EXPECT_EQ(RefusedField(R"j({"target": "a", "step_s": 0, )j" + t + "}"),
            "step_s");
  EXPECT_EQ(RefusedField(R"j({"target": "a", "step_s": "60", )j" + t + "}"),
            "step_s");
  EXPECT_EQ(RefusedField(R"j({"target": "a", "lateness_s": -1, )j" + t + "}"),
            "lateness_s");
  EXPECT_EQ(
      RefusedField(R"j({"target": "a", "emit_prefix": "a..b", )j" + t + "}"),
      "emit_prefix");
  EXPECT_EQ(
      RefusedField(R"j({"target": "a", "emit_prefix": "a b", )j" + t + "}"),
      "emit_prefix");
  EXPECT_EQ(RefusedField(R"j({"target": "", )j" + t + "}"), "target");
  EXPECT_EQ(RefusedField(R"j({"target": "sumSeries(a.*", )j" + t + "}"),
            "target");
  EXPECT_EQ(RefusedField(R"j({"target": "a", )j" + t + "}"), "");
  // The parser's column and the catalogue's message travel with the field.
  auto bad = Resolve(R"j({"target": "sumSeries(a.*.x", )j" + t + "}");
  EXPECT_THAT(bad.status().message(), HasSubstr("column"));
  auto unknown = Resolve(R"j({"target": "fooBar(a.b)", )j" + t + "}");
  EXPECT_EQ(FieldOf(unknown.status()), "target");
  EXPECT_THAT(unknown.status().message(), HasSubstr("fooBar"));
  auto selects = Resolve(R"j({"target": "highestMax(a.*, 2)", )j" + t + "}");
  EXPECT_EQ(FieldOf(selects.status()), "target");
  EXPECT_THAT(selects.status().message(), HasSubstr("highestMax"));
  // A template cannot carry a target.
  for (const char* key : {"target", "step_s", "lateness_s", "emit_prefix"}) {
    auto tmpl = ParseTemplateJson(
        StrCat(R"j({"name": "x", ")j", key, R"j(": "a", "checks_alert": 2})j"));
    EXPECT_EQ(FieldOf(tmpl.status()), key);
  }
}

TEST(TargetRule, RuleFileErrorsAtTheField) {
  auto file = ParseRuleFile(R"j([[rules]]
id = "t"
target = "sumSeries(a.*.x)"
step_s = 0
thresholds = { major = 1 }
)j",
                            "r.toml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("r.toml:4:1: rule \"t\""));
  EXPECT_THAT(file.status().message(), HasSubstr("step_s"));
  auto ok = ParseRuleFile(R"j([[rules]]
id = "t"
target = "sumSeries(a.*.x)"
step_s = 10
emit_prefix = "gralarm.derived"
thresholds = { major = 1 }
)j",
                          "r.toml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->rules[0].target, "sumSeries(a.*.x)");
  EXPECT_EQ(ok->rules[0].step_s, 10);
  // A bad expression is reported at the target key when rules resolve.
  const std::string dir =
      StrCat(::testing::TempDir(), "/target-rule-file-", getpid());
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/r.toml");
    out << "[[rules]]\nid = \"t\"\nthresholds = { major = 1 }\n"
           "target = \"sumSeries(a.*.x\"\n";
  }
  auto config = ParseConfig(StrCat("[rules]\nfiles = [\"", dir, "/r.toml\"]\n"),
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto rules = LoadRules(**config, nullptr, 1);
  ASSERT_FALSE(rules.ok());
  EXPECT_THAT(rules.status().message(), HasSubstr("r.toml:4:1: rule \"t\""));
  EXPECT_THAT(rules.status().message(), HasSubstr("target: column"));
}

TEST(TargetRule, RuleSetMatchesInputsOnlyThroughMatchTargets) {
  auto rules = Rules({
      R"j({"id": "pat", "pattern": "a.*.x", "thresholds": {"major": 1}})j",
      R"j({"id": "sum", "target": "sumSeries(a.*.x)", "thresholds": {"major": 1}})j",
      R"j({"id": "pct", "target": "asPercent(b.u, sum(c.{m,n}.*))",
          "thresholds": {"major": 1}})j",
      R"j({"id": "off", "target": "a.b.x", "enabled": false,
          "thresholds": {"major": 1}})j",
  });
  ASSERT_TRUE(rules->has_targets());
  RuleSet::Matches m;
  rules->Match("a.b.x", &m);
  EXPECT_THAT(m, ElementsAre(0u));
  rules->MatchTargets("a.b.x", &m);
  EXPECT_THAT(m, ElementsAre(1u));
  rules->MatchTargets("b.u", &m);
  EXPECT_THAT(m, ElementsAre(2u));
  rules->MatchTargets("c.n.q", &m);
  EXPECT_THAT(m, ElementsAre(2u));
  rules->MatchTargets("c.o.q", &m);
  EXPECT_THAT(m, IsEmpty());
  rules->Match("b.u", &m);
  EXPECT_THAT(m, IsEmpty());
}

TEST(TargetRule, EmitNames) {
  EXPECT_EQ(EmitName("p.q", "sumSeries(a.*.x)"), "p.q.sumSeries_a._.x_");
  EXPECT_EQ(EmitName("p", "a-b_c.d"), "p.a-b_c.d");
  EXPECT_EQ(EmitLine({"p.x", 1.5, 60}), "p.x 1.5 60\n");
  EXPECT_EQ(EmitLine({"p.x", 0.1 + 0.2, 60}), "p.x 0.30000000000000004 60\n");
}

class TargetEngineTest : public testing::TargetEngineFixture {
 protected:
  TargetEngineTest() : TargetEngineFixture(kStart, TestConfig()) {}
  void SetRules(std::vector<std::string> jsons, uint64_t generation = 1) {
    TargetEngineFixture::SetRules(Rules(std::move(jsons), generation));
  }
  bool Point(std::string_view name, int64_t ts, double v) {
    clock_.Advance(100);
    return targets_->Offer(*targets_->snapshot(), name, ts, v);
  }
  // The output series of rule `id` with their last value.
  std::vector<std::pair<std::string, double>> Outputs(std::string_view id) {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& s : engine_->SeriesOf(id))
      out.emplace_back(s.series, s.state.last_value);
    return out;
  }
};

const char kSum[] =
    R"j({"id": "sum", "target": "sumSeries(a.*.x)", "step_s": 60,
        "lateness_s": 30, "emit_prefix": "d",
        "thresholds": {"major": 100}, "checks_alert": 1})j";

TEST_F(TargetEngineTest, AStepCompletesAtTheWatermark) {
  SetRules({kSum});
  EXPECT_TRUE(Point("a.1.x", 60, 10));
  EXPECT_TRUE(Point("a.2.x", 61, 20));
  EXPECT_TRUE(Point("a.2.x", 119, 25));  // the last point of a step wins
  EXPECT_FALSE(Point("b.1.x", 60, 1));   // not an input
  EXPECT_TRUE(Point("a.1.x", 149, 1));   // 60 + 60 + 30 > 149: still open
  EXPECT_THAT(Outputs("sum"), IsEmpty());
  EXPECT_TRUE(Point("a.1.x", 150, 2));  // watermark 150 completes step 60
  EXPECT_THAT(Outputs("sum"), ElementsAre(std::pair<std::string, double>(
                                  "sumSeries(a.*.x)", 35)));
  EXPECT_THAT(emitted_, ElementsAre("d.sumSeries_a._.x_ 35 60\n"));
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  // Step 120 (a.1.x = 2) completes at 210; 200 crosses the threshold.
  EXPECT_TRUE(Point("a.2.x", 130, 198));
  EXPECT_TRUE(Point("a.2.x", 210, 0));
  ASSERT_EQ(emitted_.size(), 2u);
  EXPECT_EQ(emitted_[1], "d.sumSeries_a._.x_ 200 120\n");
  auto alerts = engine_->ActiveAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule_id, "sum");
  EXPECT_EQ(alerts[0].series, "sumSeries(a.*.x)");
  EXPECT_EQ(alerts[0].severity, Level::kMajor);
}

TEST_F(TargetEngineTest, OutputsSharingANameAreOneSeriesTheFirst) {
  SetRules({R"j({"id": "cpu", "target": "aliasByMetric(h.*.cpu)",
                 "step_s": 60, "lateness_s": 0, "emit_prefix": "d",
                 "thresholds": {"major": 100}})j"});
  EXPECT_TRUE(Point("h.b.cpu", 60, 20));
  EXPECT_TRUE(Point("h.a.cpu", 61, 10));
  EXPECT_TRUE(Point("h.a.cpu", 120, 11));  // completes step 60
  // Graphite lists h.a.cpu first: its value is the series "cpu".
  EXPECT_THAT(Outputs("cpu"),
              ElementsAre(std::pair<std::string, double>("cpu", 10)));
  EXPECT_THAT(emitted_, ElementsAre("d.cpu 10 60\n"));
  EXPECT_EQ(targets_->outputs_duplicate(), 1u);
}

TEST_F(TargetEngineTest, LatePointsAreCountedNotApplied) {
  SetRules({kSum});
  Point("a.1.x", 60, 10);
  Point("a.1.x", 150, 1);  // completes 60
  EXPECT_EQ(targets_->points_late(), 0u);
  Point("a.2.x", 100, 1000);  // step 60: done
  EXPECT_EQ(targets_->points_late(), 1u);
  // Step 0 had no point but the watermark passed it: late too.
  Point("a.2.x", 5, 1000);
  EXPECT_EQ(targets_->points_late(), 2u);
  // Step 120 is open while lateness lasts: not late.
  Point("a.2.x", 125, 7);
  EXPECT_EQ(targets_->points_late(), 2u);
  EXPECT_THAT(Outputs("sum"), ElementsAre(std::pair<std::string, double>(
                                  "sumSeries(a.*.x)", 10)));
}

TEST_F(TargetEngineTest, IdleStepsCompleteOnTheWallClock) {
  SetRules({kSum});
  Point("a.1.x", 60, 3);
  Point("a.2.x", 70, 4);
  targets_->Tick();
  EXPECT_THAT(Outputs("sum"), IsEmpty());
  clock_.Advance(89 * 1000);  // step_s + lateness_s = 90 s of quiet needed
  targets_->Tick();
  EXPECT_THAT(Outputs("sum"), IsEmpty());
  clock_.Advance(1000);
  targets_->Tick();
  EXPECT_THAT(Outputs("sum"), ElementsAre(std::pair<std::string, double>(
                                  "sumSeries(a.*.x)", 7)));
  // The step is completed: a point for it now is late.
  Point("a.1.x", 61, 1);
  EXPECT_EQ(targets_->points_late(), 1u);
}

TEST_F(TargetEngineTest, RawPointsNeverReachTargetStates) {
  // A target whose output is named like a raw series: a.b.x (a plain path).
  SetRules(
      {R"j({"id": "plain", "target": "a.b.x", "step_s": 60,
               "lateness_s": 0, "thresholds": {"major": 100}})j",
       R"j({"id": "pat", "pattern": "a.b.x", "thresholds": {"major": 5}})j"});
  Point("a.b.x", 60, 50);
  engine_->Offer(*engine_->rules(), "a.b.x", "a.b.x", 60, 50);
  Point("a.b.x", 120, 500);  // completes 60 with 50
  engine_->Offer(*engine_->rules(), "a.b.x", "a.b.x", 120, 500);
  // The target state saw only its step (50 < 100); the pattern rule both.
  auto alerts = engine_->ActiveAlerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule_id, "pat");
  EXPECT_THAT(Outputs("plain"),
              ElementsAre(std::pair<std::string, double>("a.b.x", 50)));
  // New rules (the target rule kept) keep the output state; without the rule
  // it goes.
  SetRules({R"j({"id": "plain", "target": "a.b.x", "step_s": 60,
               "lateness_s": 0, "thresholds": {"major": 100}})j"},
           2);
  EXPECT_THAT(Outputs("plain"),
              ElementsAre(std::pair<std::string, double>("a.b.x", 50)));
  SetRules(
      {R"j({"id": "pat", "pattern": "a.b.x", "thresholds": {"major": 5}})j"},
      3);
  EXPECT_THAT(Outputs("plain"), IsEmpty());
}

TEST_F(TargetEngineTest, ProgramAndOpenStepsSurviveARestartWithoutASpike) {
  const char kRate[] =
      R"j({"id": "rate", "target": "perSecond(c.*.n)", "step_s": 10,
          "lateness_s": 5, "emit_prefix": "d",
          "thresholds": {"major": 1000}})j";
  SetRules({kRate});
  // A counter rising by 10 a step: 1 per second.
  int64_t v = 1000;
  for (int64_t ts = 100; ts <= 200; ts += 10, v += 10) Point("c.1.n", ts, v);
  const size_t before = emitted_.size();
  ASSERT_GE(before, 8u);
  EXPECT_EQ(emitted_.back(), "d.perSecond_c.1.n_ 1 180\n");
  // Step 190 and 200 are open. Restart.
  ASSERT_TRUE(targets_->Flush().ok());
  ASSERT_TRUE(engine_->Flush().ok());
  Open();
  emitted_.clear();
  SetRules({kRate});
  ASSERT_TRUE(engine_->Restore().ok());
  ASSERT_TRUE(targets_->Restore().ok());
  for (int64_t ts = 210; ts <= 240; ts += 10, v += 10) Point("c.1.n", ts, v);
  // Steps 190.. complete in order with the same rate: no reset, no spike,
  // and no step evaluated twice.
  ASSERT_EQ(emitted_.size(), 4u);
  EXPECT_THAT(
      emitted_,
      ElementsAre("d.perSecond_c.1.n_ 1 190\n", "d.perSecond_c.1.n_ 1 200\n",
                  "d.perSecond_c.1.n_ 1 210\n", "d.perSecond_c.1.n_ 1 220\n"));
  // A changed target drops the saved state (its program starts anew).
  ASSERT_TRUE(targets_->Flush().ok());
  Open();
  SetRules({R"j({"id": "rate", "target": "perSecond(c.*.n)", "step_s": 20,
               "thresholds": {"major": 1000}})j"});
  ASSERT_TRUE(targets_->Restore().ok());
  Point("c.1.n", 300, 5000);
  EXPECT_EQ(targets_->points_late(), 0u);
}

TEST_F(TargetEngineTest, StepsWithoutPointsAreEvaluatedToo) {
  SetRules({R"j({"id": "tn", "target": "transformNull(a.*.x, -1)",
               "step_s": 60, "lateness_s": 0, "emit_prefix": "d",
               "thresholds": {"major": 100}})j"});
  Point("a.1.x", 60, 5);
  Point("a.1.x", 180, 6);  // completes 60 and 120, which has no point
  Point("a.1.x", 240, 7);
  EXPECT_THAT(emitted_, ElementsAre("d.transformNull_a.1.x_-1_ 5 60\n",
                                    "d.transformNull_a.1.x_-1_ -1 120\n",
                                    "d.transformNull_a.1.x_-1_ 6 180\n"));
}

TEST_F(TargetEngineTest, ChangingLatenessKeepsTheProgram) {
  SetRules({kSum});
  Point("a.1.x", 60, 10);
  SetRules({R"j({"id": "sum", "target": "sumSeries(a.*.x)", "step_s": 60,
               "lateness_s": 0, "thresholds": {"major": 100}})j"},
           2);
  Point("a.1.x", 120, 1);  // lateness 0: step 60 completes now
  EXPECT_THAT(Outputs("sum"), ElementsAre(std::pair<std::string, double>(
                                  "sumSeries(a.*.x)", 10)));
}

TEST_F(TargetEngineTest, SilencesAndSchedulesApplyToOutputsAsToSeries) {
  auto config = ParseConfig(R"([evaluation]
nodata_guard_s = 60
[[notify.channels]]
name = "a"
type = "webhook"
url = "http://127.0.0.1:1/"
[schedules.daytime]
from = "08:00"
to = "22:00"
timezone = "UTC"
)",
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  config_ = *config;
  Open();
  auto rule = [](std::string id, std::string target, std::string extra = "") {
    return StrCat(R"j({"id": ")j", id, R"j(", "target": ")j", target,
                  R"j(", "step_s": 60, "lateness_s": 0, "channels": ["a"],
                  "thresholds": {"major": 1})j",
                  extra, "}");
  };
  // Rules resolve against the fixture's config: channel "a" and schedule
  // "daytime" are in it.
  std::vector<std::shared_ptr<const Rule>> rules;
  for (const std::string& j :
       {rule("by-id", "sumSeries(a.*.x)"), rule("by-name", "sumSeries(b.*.x)"),
        rule("by-braces", "sumSeries(c.{1,2}.x)"),
        rule("loud", "sumSeries(d.*.x)"),
        rule("night", "sumSeries(e.*.x)", R"j(, "schedule": "daytime")j")}) {
    auto spec = ParseRuleJson(j);
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto resolved = ResolveRule(*spec, nullptr, *config_);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    rules.push_back(std::make_shared<const Rule>(std::move(*resolved)));
  }
  auto set = RuleSet::Build(rules, 1);
  engine_->SetRules(set);
  targets_->SetRules(set);
  // A silence by the rule's id, one by the output's name (its glob
  // characters match themselves), one by an output name holding braces.
  const int64_t ends = kStart + 24 * 3600 * 1000;
  for (auto [id, rule_glob, series] :
       {std::tuple{"s1", "by-id", ""}, std::tuple{"s2", "", "sumSeries(b.*.x)"},
        std::tuple{"s3", "", "sumSeries(c.{1,2}.x)"}}) {
    SilenceRecord x;
    x.id = id;
    x.rule = rule_glob;
    x.series = series;
    x.starts_at_ms = 0;
    x.ends_at_ms = ends;
    ASSERT_TRUE(store_->PutSilence(x).ok());
  }
  engine_->SetSilences(*store_->Silences());
  for (const char* p : {"a", "b", "c", "d", "e"}) {
    Point(StrCat(p, ".1.x"), 60, 5);
    Point(StrCat(p, ".1.x"), 120, 5);  // completes step 60
  }
  std::map<std::string, bool> silenced;
  for (const auto& a : engine_->ActiveAlerts())
    silenced[a.rule_id] = a.silenced;
  EXPECT_EQ(silenced, (std::map<std::string, bool>{{"by-id", true},
                                                   {"by-name", true},
                                                   {"by-braces", true},
                                                   {"loud", false},
                                                   {"night", false}}));
  auto outbox = [&] {
    std::vector<std::string> rule_ids;
    EXPECT_TRUE(store_
                    ->ScanOutbox([&](const OutboxRecord& r) {
                      rule_ids.push_back(r.alert.rule_id);
                      return true;
                    })
                    .ok());
    return rule_ids;
  };
  // 00:00 UTC: "night" is held until its period opens; silenced ones never.
  EXPECT_THAT(outbox(), ElementsAre("loud"));
  clock_.Set(kStart + 8 * 3600 * 1000);
  engine_->Tick();
  EXPECT_THAT(outbox(), ElementsAre("loud", "night"));
}

}  // namespace
}  // namespace gralarm

namespace gralarm {
namespace {

// A forecast on a target rule: over the output series, through the same
// state machine (README "Forecast rules").
TEST_F(TargetEngineTest, AForecastWorksOnTheOutputSeries) {
  SetRules({R"j({"id": "trend", "target": "sumSeries(a.*.x)", "step_s": 60,
                 "lateness_s": 0, "thresholds": {"major": 99.9},
                 "forecast": {"window_s": 240, "horizon_s": 300}})j",
            R"j({"id": "plain", "target": "sumSeries(a.*.x)", "step_s": 60,
                 "lateness_s": 0, "thresholds": {"major": 99.9}})j"});
  // The output at step s is s / 6: it reaches 99.9 at step 600, its forecast
  // (300 s ahead) at step 300.
  std::map<std::string, int64_t> raised;
  for (int64_t t = 0; t <= 720; t += 60) {
    Point("a.1.x", t, static_cast<double>(t) / 6);
    for (const AlertRecord& a : engine_->ActiveAlerts()) {
      // Step t - 60 completed at watermark t.
      raised.try_emplace(a.rule_id, t - 60);
    }
  }
  EXPECT_EQ(raised["trend"], 300);
  EXPECT_EQ(raised["plain"], 600);
  for (const AlertRecord& a : engine_->ActiveAlerts()) {
    if (a.rule_id != "trend") continue;
    EXPECT_EQ(a.labels.at("kind"), "forecast");
    EXPECT_EQ(a.value, 50);  // the output at step 300
    ASSERT_TRUE(a.forecast);
    EXPECT_NEAR(*a.forecast, 100, 1e-9);
  }
}

}  // namespace
}  // namespace gralarm
