// Target rules whose program reads history (Program::history_steps() > 0):
// the TargetEngine loads it from a stand-in graphite-web /render, replays it
// without alerting or emitting, holds live steps meanwhile, reports failures
// with a retry, and after a restart loads only the steps it missed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "gralarm/alert_engine.h"
#include "gralarm/graphite_web.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"
#include "gralarm/target_engine.h"
#include "testing/http_get_server.h"
#include "testing/target_engine_fixture.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kT = 1767225600;  // 2026-01-01T00:00:00Z, a step start
constexpr int64_t kStep = 60;

// movingSum over the 3 steps before each step: 3 steps of history. Its
// threshold is below the history's values: an alert from history would show.
const char kRule[] =
    R"j({"id": "ms", "target": "movingSum(a.x, 3)", "step_s": 60,
        "lateness_s": 0, "emit_prefix": "d",
        "thresholds": {"major": 10}, "checks_alert": 1})j";

std::shared_ptr<const RuleSet> Rules(const std::string& json) {
  auto c = ParseConfig("", "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  auto spec = ParseRuleJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto rule = ResolveRule(*spec, nullptr, **c);
  EXPECT_TRUE(rule.ok()) << rule.status();
  return RuleSet::Build({std::make_shared<const Rule>(std::move(*rule))}, 1);
}

// graphite-web's answer for a.x with `points` ([value, ts] pairs, null
// allowed).
std::string Answer(const std::string& points) {
  return StrCat(R"([{"target": "a.x", "tags": {"name": "a.x"}, )",
                R"("datapoints": [)", points, "]}]");
}

// The value of query parameter `key` in a request target.
std::string QueryParam(const std::string& target, const std::string& key) {
  const size_t at = target.find(StrCat("&", key, "="));
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return target.substr(start, target.find('&', start) - start);
}

class TargetHistoryTest : public testing::TargetEngineFixture {
 protected:
  TargetHistoryTest()
      : TargetEngineFixture(kT * 1000, *ParseConfig("", "t.toml")) {}
  // Opens the engines again with kRule in force.
  void Open() override {
    TargetEngineFixture::Open();
    SetRules(Rules(kRule));
  }
  void Point(int64_t ts, double v) {
    targets_->Offer(*targets_->snapshot(), "a.x", ts, v);
  }
  TargetHistoryStatus Status() {
    auto s = targets_->HistoryStatus("ms");
    EXPECT_TRUE(s.has_value());
    return s.value_or(TargetHistoryStatus{});
  }
  std::shared_ptr<const GraphiteWebClient> Client(const std::string& url) {
    return std::make_shared<const GraphiteWebClient>(url, 2000);
  }
};

TEST_F(TargetHistoryTest, HistoryIsReplayedWithoutAlertsThenUsed) {
  // Points outside [kT - 3 steps, kT) are not used; two points in one step:
  // the last wins.
  testing::GetServer graphite([](const std::string&) {
    return testing::GetReply{
        .body = Answer(StrCat("[1000, ", kT - 4 * kStep, "], [5, ",
                              kT - 3 * kStep, "], [20, ", kT - 3 * kStep + 1,
                              "], [null, ", kT - 2 * kStep, "], [30, ",
                              kT - kStep, "], [1000, ", kT, "]"))};
  });
  targets_->SetGraphite(Client(graphite.url()));
  EXPECT_EQ(Status().state, HistoryState::kLoading);
  EXPECT_EQ(Status().steps, 3);
  EXPECT_EQ(targets_->LoadPendingHistory(), 1);
  const auto heads = graphite.Heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_THAT(heads[0], HasSubstr("/render?format=json&target=a.x&"));
  EXPECT_EQ(QueryParam(heads[0].substr(0, heads[0].find(' ', 4)), "from"),
            StrCat(kT - 4 * kStep));
  // Up to the current step (its points join its bucket, under the live ones).
  EXPECT_THAT(heads[0], HasSubstr(StrCat("&until=", kT + kStep - 1, " ")));
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
  EXPECT_EQ(Status().loaded_steps, 3);
  EXPECT_EQ(targets_->history_loads_ok(), 1u);
  // The past raised nothing and emitted nothing.
  EXPECT_THAT(emitted_, IsEmpty());
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  // The first live step sums the history before it: 20 + 30.
  Point(kT, 1);
  Point(kT + kStep, 2);
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 50 1767225600\n"));
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  // A point for a replayed step is late.
  Point(kT - kStep, 7);
  EXPECT_EQ(targets_->points_late(), 1u);
}

TEST_F(TargetHistoryTest, AnotherRetentionStepIsGridded) {
  // graphite answers at 30 s: each step of the rule keeps its last point.
  testing::GetServer graphite([](const std::string&) {
    std::string points;
    for (int64_t ts = kT - 3 * kStep; ts < kT; ts += 30) {
      points += StrCat(points.empty() ? "" : ", ", "[", ts - kT, ", ", ts, "]");
    }
    return testing::GetReply{.body = Answer(points)};
  });
  targets_->SetGraphite(Client(graphite.url()));
  targets_->LoadPendingHistory();
  Point(kT, 1);
  Point(kT + kStep, 2);
  // -150, -90, -30 (the second point of each step).
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ -270 1767225600\n"));
}

TEST_F(TargetHistoryTest, LiveStepsAreHeldWhileLoadingThenReleased) {
  testing::GetServer graphite(
      [](const std::string&) { return testing::GetReply{.body = Answer("")}; });
  targets_->SetGraphite(Client(graphite.url()));
  Point(kT, 1);
  Point(kT + kStep, 2);
  Point(kT + 2 * kStep, 3);
  EXPECT_THAT(emitted_, IsEmpty());  // held: the loader has not run
  // The load (nothing in graphite) releases them: they complete in order.
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
  EXPECT_EQ(Status().loaded_steps, 0);
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 1 1767225660\n"));
}

TEST_F(TargetHistoryTest, AHoldPastItsLimitEvaluatesWithoutHistory) {
  targets_->SetGraphite(Client("http://127.0.0.1:1"));  // never reached
  Point(kT, 1);
  Point(kT + kStep, 2);
  EXPECT_THAT(emitted_, IsEmpty());
  clock_.Advance(HoldLimitS(kStep) * 1000 - 1);
  targets_->Tick();
  EXPECT_THAT(emitted_, IsEmpty());
  clock_.Advance(1);
  targets_->Tick();  // kT (an empty window: no output), then kT + 60 (idle)
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 1 1767225660\n"));
}

TEST_F(TargetHistoryTest, AFailureIsReportedRetriedAndThenReloadsFully) {
  std::atomic<bool> up{false};
  testing::GetServer graphite([&](const std::string&) {
    if (!up) return testing::GetReply{.status = 500, .body = "boom\n"};
    return testing::GetReply{
        .body = Answer(StrCat("[10, ", kT - 2 * kStep, "], [20, ", kT - kStep,
                              "], [1, ", kT, "]"))};
  });
  targets_->SetGraphite(Client(graphite.url()));
  EXPECT_EQ(targets_->LoadPendingHistory(), 1);
  TargetHistoryStatus s = Status();
  EXPECT_EQ(s.state, HistoryState::kFailed);
  EXPECT_THAT(s.error, HasSubstr("answered HTTP 500: boom"));
  EXPECT_EQ(s.next_retry_ms, kT * 1000 + 5000);
  EXPECT_EQ(targets_->history_loads_error(), 1u);
  // Live evaluation goes on without history meanwhile.
  Point(kT, 1);
  Point(kT + kStep, 2);
  EXPECT_THAT(emitted_, IsEmpty());              // no history: an empty window
  EXPECT_EQ(targets_->LoadPendingHistory(), 0);  // not yet due
  clock_.Advance(5000);
  up = true;
  EXPECT_EQ(targets_->LoadPendingHistory(), 1);
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
  EXPECT_EQ(Status().loaded_steps, 3);  // kT - 2 steps .. kT, all again
  // The program was rebuilt from the history: the held step kT + 60 sums
  // 10 + 20 + 1 once it completes.
  Point(kT + 2 * kStep, 3);
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 31 1767225660\n"));
}

TEST_F(TargetHistoryTest, UnreachableNamesTheUrlAndBacksOff) {
  int port;
  {
    testing::GetServer gone(
        [](const std::string&) { return testing::GetReply{}; });
    port = gone.port();
  }
  targets_->SetGraphite(Client(StrCat("http://127.0.0.1:", port)));
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().state, HistoryState::kFailed);
  EXPECT_THAT(Status().error, HasSubstr("graphite-web is unreachable"));
  clock_.Advance(5000);
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().next_retry_ms, clock_.NowMs() + 10000);  // doubled
}

TEST_F(TargetHistoryTest, WithoutAUrlTheRuleRunsWithoutHistory) {
  EXPECT_EQ(Status().state, HistoryState::kUnconfigured);  // not held
  EXPECT_EQ(targets_->LoadPendingHistory(), 0);
  EXPECT_EQ(Status().state, HistoryState::kUnconfigured);
  EXPECT_EQ(Status().error, "");
  EXPECT_EQ(targets_->LoadPendingHistory(), 0);  // no loop
  EXPECT_EQ(targets_->history_loads_error(), 0u);
  Point(kT, 1);
  Point(kT + kStep, 2);
  Point(kT + 2 * kStep, 3);
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 1 1767225660\n"));
  // A url configured later loads it.
  testing::GetServer graphite(
      [](const std::string&) { return testing::GetReply{.body = Answer("")}; });
  targets_->SetGraphite(Client(graphite.url()));
  EXPECT_EQ(Status().state, HistoryState::kLoading);
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
}

TEST_F(TargetHistoryTest, ARestartLoadsOnlyTheStepsItMissed) {
  std::vector<std::string> asked;
  absl::Mutex mu;
  testing::GetServer graphite([&](const std::string& target) {
    absl::MutexLock lock(&mu);
    asked.push_back(target);
    // Carbon holds 7 at every step (points that reached it through another
    // relay, or while gralarm was down); gralarm's live points are 5.
    std::string points;
    for (int64_t ts = kT - 10 * kStep; ts < kT + 20 * kStep; ts += kStep) {
      points += StrCat(points.empty() ? "" : ", ", "[7, ", ts, "]");
    }
    return testing::GetReply{.body = Answer(points)};
  });
  auto asked_from = [&](size_t i) {
    absl::MutexLock lock(&mu);
    return i < asked.size() ? QueryParam(asked[i], "from") : "none";
  };
  targets_->SetGraphite(Client(graphite.url()));
  targets_->LoadPendingHistory();
  Point(kT, 5);
  Point(kT + kStep, 5);  // completes kT: 7 + 7 + 7
  clock_.Advance((kStep + 1) * 1000);
  targets_->Tick();  // completes kT + 60 (idle): 7 + 7 + 5
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 21 1767225600\n",
                                    "d.movingSum_a.x_3_ 19 1767225660\n"));
  ASSERT_TRUE(targets_->Flush().ok());
  ASSERT_TRUE(engine_->Flush().ok());

  // Down for 2 steps: kT + 120 and kT + 180 are loaded, nothing more.
  clock_.Set((kT + 4 * kStep) * 1000);
  Open();
  targets_->SetGraphite(Client(graphite.url()));
  ASSERT_TRUE(engine_->Restore().ok());
  ASSERT_TRUE(targets_->Restore().ok());
  EXPECT_EQ(Status().state, HistoryState::kLoading);
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
  EXPECT_EQ(asked_from(1), StrCat(kT + kStep));
  EXPECT_EQ(Status().loaded_steps, 2);
  emitted_.clear();
  Point(kT + 4 * kStep, 5);
  Point(kT + 5 * kStep, 5);  // completes kT + 240: 5 (live) + 7 + 7 (gap)
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 19 1767225840\n"));
  clock_.Advance((kStep + 1) * 1000);
  targets_->Tick();  // completes kT + 300
  ASSERT_TRUE(targets_->Flush().ok());

  // Down longer than the history (3 steps): a full load of 3 steps.
  clock_.Set((kT + 12 * kStep) * 1000);
  Open();
  targets_->SetGraphite(Client(graphite.url()));
  ASSERT_TRUE(targets_->Restore().ok());
  targets_->LoadPendingHistory();
  EXPECT_EQ(asked_from(2), StrCat(kT + 8 * kStep));
  EXPECT_EQ(Status().loaded_steps, 3);
}

TEST_F(TargetHistoryTest, TheGapAfterAnOpenStepJoinsTheLivePoints) {
  testing::GetServer graphite([](const std::string&) {
    std::string points;
    for (int64_t ts = kT - 10 * kStep; ts < kT + 20 * kStep; ts += kStep) {
      points += StrCat(points.empty() ? "" : ", ", "[7, ", ts, "]");
    }
    return testing::GetReply{.body = Answer(points)};
  });
  targets_->SetGraphite(Client(graphite.url()));
  targets_->LoadPendingHistory();
  Point(kT, 5);
  Point(kT + kStep, 5);  // completes kT; kT + 60 stays open
  ASSERT_TRUE(targets_->Flush().ok());
  // Killed; restarted 4 steps later: carbon got kT + 60 .. kT + 180 meanwhile.
  clock_.Set((kT + 4 * kStep) * 1000);
  Open();
  targets_->SetGraphite(Client(graphite.url()));
  ASSERT_TRUE(targets_->Restore().ok());
  targets_->LoadPendingHistory();
  EXPECT_EQ(Status().state, HistoryState::kLoaded);
  EXPECT_EQ(Status().loaded_steps, 0);  // nothing before the open step
  emitted_.clear();
  Point(kT + 4 * kStep, 5);
  // kT + 60 keeps its live 5 (over carbon's 7); the gap steps have 7.
  EXPECT_THAT(emitted_, ElementsAre("d.movingSum_a.x_3_ 19 1767225660\n",
                                    "d.movingSum_a.x_3_ 17 1767225720\n",
                                    "d.movingSum_a.x_3_ 17 1767225780\n"));
  Point(kT + 5 * kStep, 5);
  EXPECT_EQ(emitted_.back(), "d.movingSum_a.x_3_ 19 1767225840\n");
}

TEST_F(TargetHistoryTest, ARuleWithoutHistoryNeedsNone) {
  auto rules = Rules(
      R"j({"id": "ms", "target": "scale(a.x, 2)", "step_s": 60,
          "lateness_s": 0, "thresholds": {"major": 50}})j");
  engine_->SetRules(rules);
  targets_->SetRules(rules);
  EXPECT_EQ(Status().state, HistoryState::kNotNeeded);
  EXPECT_EQ(targets_->LoadPendingHistory(), 0);
}

}  // namespace
}  // namespace gralarm
