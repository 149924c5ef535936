// Forecast rules in the AlertEngine (README "Forecast rules"): what their
// alerts and events carry, and their window across a restart.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "gralarm/alert_engine.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"
#include "testing/rule_sets.h"

namespace gralarm {
namespace {

constexpr int64_t kStart = 1767225600000;

// Both rules watch link.util; "trend" compares the value predicted 1200 s
// ahead by the line over the last 600 s.
const char kTrend[] =
    R"({"id": "trend", "pattern": "link.util", "thresholds": {"critical": 95},
        "forecast": {"window_s": 600, "horizon_s": 1200}})";
const char kPlain[] =
    R"({"id": "plain", "pattern": "link.util", "thresholds": {"critical": 95}})";

class ForecastEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("forecast-test");
    Open();
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    store_.reset();
    store_ = *Store::Open(dir_);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    engine_->SetRules(testing::RuleSetOf(*config_, {kTrend, kPlain}));
  }
  // 20 + 0.05 t: the actual value reaches 95 at t = 1500, the forecast
  // (1200 s ahead) at t = 300.
  static double Value(uint32_t t) { return 20 + 0.05 * t; }
  void Point(uint32_t t) {
    clock_.Advance(1000);
    engine_->Offer(*engine_->rules(), "link.util", "link.util", t, Value(t));
  }
  std::optional<AlertRecord> Active(std::string_view rule) {
    for (AlertRecord& a : engine_->ActiveAlerts()) {
      if (a.rule_id == rule) return a;
    }
    return std::nullopt;
  }

  std::string dir_;
  FakeClock clock_{kStart};
  std::shared_ptr<const Config> config_ = std::make_shared<Config>();
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
};

TEST_F(ForecastEngineTest, RaisesBeforeThePlainRuleAndSaysItIsAForecast) {
  std::map<std::string, uint32_t> raised;
  for (uint32_t t = 0; t <= 1800; t += 30) {
    Point(t);
    for (const char* rule : {"trend", "plain"}) {
      if (!raised.count(rule) && Active(rule)) raised[rule] = t;
    }
  }
  ASSERT_EQ(raised.size(), 2u);
  EXPECT_EQ(raised["trend"], 300u);
  EXPECT_EQ(raised["plain"], 1500u);
  const AlertRecord a = *Active("trend");
  EXPECT_EQ(a.labels.at("kind"), "forecast");
  EXPECT_EQ(a.value, Value(300));  // the actual value
  ASSERT_TRUE(a.forecast);
  EXPECT_NEAR(*a.forecast, 95, 1e-9);
  EXPECT_FALSE(Active("plain")->forecast);
  EXPECT_EQ(Active("plain")->labels.count("kind"), 0u);
  auto events = store_->Events();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].rule_id, "trend");
  EXPECT_EQ((*events)[0].ts, 300u);
  EXPECT_EQ((*events)[0].value, Value(300));
  EXPECT_NEAR(*(*events)[0].forecast, 95, 1e-9);
  EXPECT_FALSE((*events)[1].forecast);
  // The series view shows the last forecast (at t = 1800: 1200 s ahead).
  const auto view = engine_->SeriesOf("trend");
  ASSERT_EQ(view.size(), 1u);
  EXPECT_NEAR(*view[0].forecast, Value(3000), 1e-9);
  EXPECT_FALSE(engine_->SeriesOf("plain")[0].forecast);
}

TEST_F(ForecastEngineTest, TheWindowSurvivesARestart) {
  for (uint32_t t = 0; t <= 270; t += 30) Point(t);  // forecasts below 95
  EXPECT_FALSE(Active("trend"));
  ASSERT_TRUE(engine_->Flush().ok());
  Open();
  ASSERT_TRUE(engine_->Restore().ok());
  // One point after the restart: with the window restored, the forecast
  // crosses at once (an empty window would need 300 s of points again).
  Point(300);
  ASSERT_TRUE(Active("trend"));
  EXPECT_NEAR(*Active("trend")->forecast, 95, 1e-9);
  // And the alert, with its forecast, survives the next restart.
  ASSERT_TRUE(engine_->Flush().ok());
  Open();
  ASSERT_TRUE(engine_->Restore().ok());
  ASSERT_TRUE(Active("trend"));
  EXPECT_NEAR(*Active("trend")->forecast, 95, 1e-9);
}

TEST_F(ForecastEngineTest, ARuleThatDropsItsForecastComparesValuesAgain) {
  for (uint32_t t = 0; t <= 300; t += 30) Point(t);
  ASSERT_TRUE(Active("trend"));  // the forecast crossed at 300
  // The same rule without forecast: its state stays, the window goes, and
  // the next value (36.5) clears it.
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "trend", "pattern": "link.util",
                               "thresholds": {"critical": 95}})"},
                         2));
  Point(330);
  EXPECT_FALSE(Active("trend"));
  EXPECT_FALSE(engine_->SeriesOf("trend")[0].forecast);
  auto events = store_->Events();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().to, "ok");
  EXPECT_FALSE(events->back().forecast);
  ASSERT_TRUE(engine_->Flush().ok());
  Open();  // with the forecast rule again, as at the start
  ASSERT_TRUE(engine_->Restore().ok());
  Point(360);  // its window starts empty: no forecast from one point
  EXPECT_FALSE(Active("trend"));
  EXPECT_FALSE(engine_->SeriesOf("trend")[0].forecast);
}

TEST_F(ForecastEngineTest, AStateWithoutAWindowWaitsForTheMinimumSpan) {
  // A state as a release without forecasts wrote it (version 2) for a steep
  // series: restored, the forecast starts from an empty window.
  SeriesState s;
  s.has_last_ts = true;
  s.last_ts = 0;
  s.last_value = Value(0);
  std::string v2 = EncodeSeriesState(s, false);
  v2[0] = 2;
  ASSERT_TRUE(
      store_->SaveStates({{Store::StateKey("trend", "link.util"), v2}}).ok());
  Open();
  ASSERT_TRUE(engine_->Restore().ok());
  // Two points far above the line: no forecast from two points.
  clock_.Advance(1000);
  engine_->Offer(*engine_->rules(), "link.util", "link.util", 30, 50);
  clock_.Advance(1000);
  engine_->Offer(*engine_->rules(), "link.util", "link.util", 60, 90);
  EXPECT_FALSE(Active("trend"));
  auto events = store_->Events();
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

}  // namespace
}  // namespace gralarm
