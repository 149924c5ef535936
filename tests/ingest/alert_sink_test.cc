// AlertSink: every point reaches the pattern rules and the target rules that
// take it; a series remembered as unmatched by one kind is still offered to
// the other, and the memory starts over when the rules change.
#include "gralarm/alert_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/line_parser.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

constexpr char kPattern[] =
    R"j({"id": "p", "pattern": "p.*", "thresholds": {"major": 100},
        "checks_alert": 1})j";
constexpr char kSum[] =
    R"j({"id": "sum", "target": "sumSeries(a.*.x)", "step_s": 60,
        "lateness_s": 0, "thresholds": {"major": 1000}})j";

class AlertSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = StrCat(::testing::TempDir(), "/gralarm-alert-sink-test-", getpid(),
                  "-", n++);
    std::filesystem::remove_all(dir_);
    auto config = ParseConfig("", "t.toml");
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    store_ = *Store::Open(dir_);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    targets_ =
        std::make_unique<TargetEngine>(engine_.get(), store_.get(), &clock_);
    targets_->SetEmitter([](std::vector<EmittedPoint>) {});
    sink_ = std::make_unique<AlertSink>(engine_.get(), targets_.get());
  }
  void TearDown() override {
    sink_.reset();
    targets_.reset();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetRules(std::vector<std::string> jsons) {
    std::vector<std::shared_ptr<const Rule>> rules;
    for (const std::string& j : jsons) {
      auto spec = ParseRuleJson(j);
      ASSERT_TRUE(spec.ok()) << spec.status();
      auto rule = ResolveRule(*spec, nullptr, *config_);
      ASSERT_TRUE(rule.ok()) << rule.status();
      rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
    }
    auto set = RuleSet::Build(rules, ++generation_);
    engine_->SetRules(set);
    targets_->SetRules(set);
  }
  void Send(const std::string& line) {
    clock_.Advance(100);
    Point point;
    point.line = line;
    ASSERT_EQ(ParseLine(line, 0, LineParserOptions{}, &point.parsed),
              LineVerdict::kOk)
        << line;
    sink_->Accept(point);
  }
  std::vector<std::pair<std::string, double>> Outputs(std::string_view id) {
    std::vector<std::pair<std::string, double>> out;
    for (const auto& s : engine_->SeriesOf(id))
      out.emplace_back(s.series, s.state.last_value);
    return out;
  }
  std::vector<std::string> Alerting(std::string_view rule_id) {
    std::vector<std::string> out;
    for (const auto& a : engine_->ActiveAlerts())
      if (a.rule_id == rule_id) out.push_back(a.series);
    return out;
  }

  std::string dir_;
  FakeClock clock_{kStart};
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::unique_ptr<TargetEngine> targets_;
  std::unique_ptr<AlertSink> sink_;
  uint64_t generation_ = 0;
};

TEST_F(AlertSinkTest, EachKindOfRuleGetsEveryPointItTakes) {
  SetRules({kPattern, kSum});
  // a.1.x is an input of the target rule only: remembered as matching no
  // pattern rule, it must still reach the target rule on every point.
  Send("a.1.x 10 60");
  Send("a.1.x 20 90");   // the last point of step 60 wins
  Send("a.1.x 30 120");  // completes step 60
  EXPECT_THAT(Outputs("sum"), ElementsAre(Pair("sumSeries(a.*.x)", 20)));
  // p.1 is matched by the pattern rule only: remembered as taken by no target
  // rule, it must still reach the pattern rule on every point.
  Send("p.1 5 60");
  EXPECT_THAT(Alerting("p"), IsEmpty());
  Send("p.1 500 61");
  EXPECT_THAT(Alerting("p"), ElementsAre("p.1"));
  // A series neither takes changes nothing.
  Send("z.1 5000 60");
  Send("z.1 5000 61");
  EXPECT_THAT(engine_->SeriesOf("p"), ::testing::SizeIs(1));
}

TEST_F(AlertSinkTest, UnmatchedSeriesAreOfferedAgainAfterARuleChange) {
  SetRules({kPattern});
  Send("q.1 500 60");  // no rule yet: remembered as unmatched
  Send("a.1.x 7 60");  // no target rule yet
  Send("a.1.x 8 61");
  SetRules({kPattern, kSum,
            R"j({"id": "q", "pattern": "q.*", "thresholds": {"major": 100},
                "checks_alert": 1})j"});
  Send("q.1 500 61");
  EXPECT_THAT(Alerting("q"), ElementsAre("q.1"));
  Send("a.1.x 9 62");
  Send(
      "a.1.x 1 120");  // completes step 60 with the point sent after the change
  EXPECT_THAT(Outputs("sum"), ElementsAre(Pair("sumSeries(a.*.x)", 9)));
}

TEST_F(AlertSinkTest, NoRulesAtAllIsANoOp) {
  SetRules({});
  Send("p.1 500 60");
  Send("a.1.x 500 60");
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  EXPECT_THAT(engine_->SeriesOf("p"), IsEmpty());
}

}  // namespace
}  // namespace gralarm
