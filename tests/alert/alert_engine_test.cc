#include "gralarm/alert_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

#include "gralarm/rule.h"
#include "gralarm/strings.h"
#include "testing/rule_sets.h"

namespace gralarm {
namespace {

using testing::FreshTestDir;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z, a Thursday

std::shared_ptr<const Config> TestConfig(std::string extra = "") {
  auto c = ParseConfig("[evaluation]\nnodata_guard_s = 60\n" + extra, "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

const char kUtil[] =
    R"({"id": "util", "pattern": "if.*.util", "checks_alert": 2,
                         "thresholds": {"warning": 70, "critical": 90},
                         "labels": {"team": "noc"}})";

class AlertEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTestDir("engine-test");
    Open(TestConfig());
  }
  void Open(std::shared_ptr<const Config> config) {
    engine_.reset();
    store_.reset();
    config_ = config;
    store_ = *Store::Open(dir_);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
  }
  void Point(std::string_view path, uint32_t ts, double v) {
    clock_.Advance(1000);
    engine_->Offer(*engine_->rules(), path, path.substr(0, path.find(';')), ts,
                   v);
  }

  std::string dir_;
  FakeClock clock_{kStart};
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
};

TEST_F(AlertEngineTest, RaisesAfterChecksAlertAndClearsIntoHistoryOnce) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  EXPECT_TRUE(engine_->ActiveAlerts().empty());  // one breaching point of two
  Point("if.eth0.util", 110, 96);
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].severity, Level::kCritical);
  EXPECT_EQ(active[0].series, "if.eth0.util");
  EXPECT_EQ(active[0].labels.at("team"), "noc");
  EXPECT_EQ(engine_->Counters().alerts_active[3], 1);
  Point("if.eth0.util", 120, 10);
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  Point("if.eth0.util", 130, 10);
  auto history = store_->History(0, INT64_MAX);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].peak, Level::kCritical);
  EXPECT_EQ((*history)[0].severity, Level::kCritical);
  EXPECT_EQ((*history)[0].last_value, 10);
  auto events = store_->Events();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].from, "ok");
  EXPECT_EQ((*events)[0].to, "critical");
  EXPECT_EQ((*events)[1].to, "ok");
  EXPECT_EQ(engine_->Counters().alerts_active[3], 0);
}

TEST_F(AlertEngineTest, EverySeriesHasItsOwnStateAndTagsAreKept) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  for (uint32_t ts : {100u, 110u}) {
    Point("if.eth0.util", ts, 95);
    Point("if.eth1.util;host=r1", ts, 75);
    Point("if.eth2.util", ts, 5);
  }
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 2u);
  std::map<std::string, Level> by_series;
  for (const auto& a : active) by_series[a.series] = a.severity;
  EXPECT_EQ(by_series["if.eth0.util"], Level::kCritical);
  EXPECT_EQ(by_series["if.eth1.util;host=r1"], Level::kWarning);
  EXPECT_EQ(engine_->Counters().series_tracked, 3u);
}

TEST_F(AlertEngineTest, AlertsAndCountersSurviveAReopen) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  Point("if.eth0.util", 110, 95);
  Point("if.eth0.util", 120, 10);  // one OK point of... checks_ok = 1: clears
  Point("if.eth0.util", 130, 95);  // the first breaching point of a new run
  ASSERT_TRUE(engine_->Flush().ok());
  const auto before = engine_->ActiveAlerts();
  // A new process: same store, same rules.
  Open(config_);
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  ASSERT_TRUE(engine_->Restore().ok());
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  Point("if.eth0.util", 140, 95);  // completes the run of two begun before
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].severity, Level::kCritical);
  // An old timestamp is not evaluated after a restart either.
  Point("if.eth0.util", 90, 0);
  EXPECT_EQ(engine_->ActiveAlerts().size(), 1u);
  (void)before;
}

// A flush copies a shard's dirty states under the shard lock and writes them
// after releasing it. A transition an ingest loop commits in between must not
// be overwritten by the older copy: after a kill -9 the restored level would
// contradict the active alert.
TEST_F(AlertEngineTest, AFlushNeverWritesAStateOverANewerTransition) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);  // one breaching point of two: dirty, ok
  std::atomic<bool> raised{false};
  std::thread ingest;
  engine_->SetFlushPauseForTest([&] {
    if (ingest.joinable()) return;
    // The point that raises the alert arrives while the flush holds its copy.
    ingest = std::thread([&] {
      Point("if.eth0.util", 110, 96);
      raised = true;
    });
    // Gives the transition every chance to commit before the flush writes
    // (with the writes ordered, it waits for this write instead).
    for (int i = 0; i < 50 && !raised; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  });
  ASSERT_TRUE(engine_->Flush().ok());
  ingest.join();
  ASSERT_TRUE(raised);
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  // A new process on the same store, as after a kill -9 (no final flush).
  Open(config_);
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  ASSERT_TRUE(engine_->Restore().ok());
  const auto series = engine_->SeriesOf("util");
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].state.level, Level::kCritical);
  EXPECT_EQ(series[0].state.last_value, 96);
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  // The restored state goes on from the transition: a clearing point ends it.
  Point("if.eth0.util", 120, 10);
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
}

// Series names are bytes: any byte from 0x21 up, UTF-8 or not.
TEST_F(AlertEngineTest, ASeriesNameThatIsNotUtf8IsStoredAndRestoredExactly) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  const std::string path = "if.\xff\xfe\xc3.util";
  Point(path, 100, 95);
  Point(path, 110, 95);
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  ASSERT_TRUE(engine_->Flush().ok());
  auto stored = store_->ActiveAlerts();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].series, path);
  Open(config_);
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  ASSERT_TRUE(engine_->Restore().ok());
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].series, path);
  Point(path, 120, 10);  // clears into history, name intact
  auto history = store_->History(0, kStart + 3600 * 1000);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].series, path);
}

TEST_F(AlertEngineTest, ActiveAlertKeepsItsSinceAcrossAReopen) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  Point("if.eth0.util", 110, 95);
  const int64_t since = engine_->ActiveAlerts().at(0).since_ms;
  Open(config_);  // no Flush: the transition itself was written
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  ASSERT_TRUE(engine_->Restore().ok());
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].since_ms, since);
  EXPECT_EQ(engine_->Counters().alerts_active[3], 1);
}

TEST_F(AlertEngineTest, SilentSeriesGoesNodataAndItsNextPointClearsIt) {
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "nd", "pattern": "up.*",
      "thresholds": {"critical": 1}, "direction": "below", "nodata_after_s": 30})"}));
  Point("up.a", 100, 5);
  Point("up.b", 100, 5);
  for (int i = 0; i < 40; ++i) {
    Point("up.b", 101 + i, 5);  // up.b keeps talking, so ingest is not silent
    engine_->Tick();
  }
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].series, "up.a");
  EXPECT_TRUE(active[0].nodata);
  EXPECT_EQ(active[0].SeverityName(), "nodata");
  EXPECT_EQ(engine_->Counters().alerts_active[4], 1);
  Point("up.a", 200, 5);
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  auto history = store_->History(0, INT64_MAX);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_TRUE((*history)[0].nodata);
}

TEST_F(AlertEngineTest, NothingGoesNodataWhileTheWholeIngestIsSilent) {
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "nd", "pattern": "up.*",
      "thresholds": {"critical": 1}, "direction": "below", "nodata_after_s": 30})"}));
  Point("up.a", 100, 5);
  Point("up.b", 100, 5);
  for (int i = 0; i < 600; ++i) {  // ten minutes without a single point
    clock_.Advance(1000);
    engine_->Tick();
  }
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  // Points flow again: the silence counts from then on, not from before.
  Point("up.a", 800, 5);
  for (int i = 0; i < 20; ++i) {
    Point("up.a", 801 + i, 5);
    engine_->Tick();
  }
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  for (int i = 0; i < 20; ++i) {
    Point("up.a", 821 + i, 5);
    engine_->Tick();
  }
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].series, "up.b");
}

// Collects what the default logger writes while it lives.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::find(sinks.begin(), sinks.end(), sink_));
  }
  std::string Text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(AlertEngineTest, TheNodataPauseIsLoggedOnlyWhenPointsStopAfterFlowing) {
  LogCapture log;
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "nd", "pattern": "up.*",
      "thresholds": {"critical": 1}, "direction": "below", "nodata_after_s": 30})"}));
  // From the start no point has arrived yet, by design: no outage.
  for (int i = 0; i < 120; ++i) {
    clock_.Advance(1000);
    engine_->Tick();
  }
  EXPECT_EQ(log.Text().find("paused"), std::string::npos) << log.Text();
  // The first point is no resumption either.
  Point("up.a", 100, 5);
  engine_->Tick();
  EXPECT_EQ(log.Text().find("resume"), std::string::npos) << log.Text();
  // Points that had flowed stop: the pause is logged once, then its end.
  for (int i = 0; i < 120; ++i) {
    clock_.Advance(1000);
    engine_->Tick();
  }
  const std::string paused = "no point arrived for 60 s: no-data checks paused";
  const size_t at = log.Text().find(paused);
  ASSERT_NE(at, std::string::npos) << log.Text();
  EXPECT_EQ(log.Text().find(paused, at + 1), std::string::npos);
  EXPECT_EQ(log.Text().find("resume"), std::string::npos);
  Point("up.a", 300, 5);
  engine_->Tick();
  EXPECT_THAT(log.Text(), ::testing::HasSubstr(
                              "points arrive again: no-data checks resume"));
}

TEST_F(AlertEngineTest, OutsideTheScheduleTheAlertIsHeldUntilThePeriodOpens) {
  // Daytime in Madrid (UTC+1 in January): 08:00-22:00 local.
  Open(TestConfig(R"([schedules.daytime]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
from = "08:00"
to = "22:00"
timezone = "Europe/Madrid"
)"));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "day", "pattern": "x.*",
      "thresholds": {"warning": 1}, "schedule": "daytime"})"}));
  clock_.Set(kStart + 3 * 3600 * 1000);  // 03:00 UTC = 04:00 in Madrid: closed
  Point("x.a", 100, 5);
  auto active = engine_->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_TRUE(active[0].held);
  clock_.Set(kStart + 6 * 3600 * 1000 +
             59 * 60 * 1000);  // 07:59 local: still closed
  engine_->Tick();
  EXPECT_TRUE(engine_->ActiveAlerts()[0].held);
  clock_.Set(kStart + 7 * 3600 * 1000);  // 08:00 local: open
  engine_->Tick();
  EXPECT_FALSE(engine_->ActiveAlerts()[0].held);
  auto events = store_->Events();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].to, "due");
}

TEST_F(AlertEngineTest, RemovingARuleEndsItsAlertsIntoHistory) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  Point("if.eth0.util", 110, 95);
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  engine_->SetRules(testing::RuleSetOf(*config_, {}, 2));
  EXPECT_TRUE(engine_->ActiveAlerts().empty());
  EXPECT_EQ(store_->History(0, INT64_MAX)->size(), 1u);
  EXPECT_TRUE(store_->ActiveAlerts()->empty());
}

TEST_F(AlertEngineTest, AnAlertWhoseRuleIsNotInForceAtARestartEndsIntoHistory) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  Point("if.eth0.util", 110, 95);
  ASSERT_TRUE(engine_->Flush().ok());
  ASSERT_EQ(store_->ActiveAlerts()->size(), 1u);
  // A new process where the rule is not in force (gone, or invalid).
  Open(config_);
  engine_->SetRules(testing::RuleSetOf(*config_, {}));
  ASSERT_TRUE(engine_->Restore().ok());
  EXPECT_TRUE(store_->ActiveAlerts()->empty());
  auto history = store_->History(0, INT64_MAX);
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].rule_id, "util");
  EXPECT_EQ((*history)[0].severity, Level::kCritical);
  EXPECT_EQ(store_->Events()->back().to, "ok");
  EXPECT_EQ(store_->OutboxPending(), 0u);
}

TEST_F(AlertEngineTest, HistoryOlderThanRetentionIsPruned) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  Point("if.eth0.util", 100, 95);
  Point("if.eth0.util", 110, 95);
  Point("if.eth0.util", 120, 1);
  auto pruned = store_->PruneHistory(clock_.NowMs() + 1);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  EXPECT_TRUE(store_->History(0, INT64_MAX)->empty());
}

}  // namespace
}  // namespace gralarm

namespace gralarm {
namespace {

TEST_F(AlertEngineTest, ASilenceMarksMatchingAlertsWhileItIsInForce) {
  engine_->SetRules(testing::RuleSetOf(*config_, {kUtil}));
  SilenceRecord x;
  x.id = "maint";
  x.rule = "util";
  x.series = "if.eth0.*";
  x.starts_at_ms = clock_.NowMs();
  x.ends_at_ms = clock_.NowMs() + 60 * 1000;
  ASSERT_TRUE(store_->PutSilence(x).ok());
  engine_->SetSilences(*store_->Silences());
  for (uint32_t ts : {100u, 110u}) {
    Point("if.eth0.util", ts, 95);
    Point("if.eth1.util", ts, 95);
  }
  std::map<std::string, bool> silenced;
  for (const auto& a : engine_->ActiveAlerts()) silenced[a.series] = a.silenced;
  EXPECT_TRUE(silenced.at("if.eth0.util"));  // tracked, not notified
  EXPECT_FALSE(silenced.at("if.eth1.util"));
  clock_.Advance(61 * 1000);  // the silence ended
  engine_->Tick();
  auto stored = store_->ActiveAlerts();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  for (const auto& a : *stored) EXPECT_FALSE(a.silenced) << a.series;
}

}  // namespace
}  // namespace gralarm

namespace gralarm {
namespace {

// The outbox's records, in delivery order.
std::vector<OutboxRecord> Outbox(Store* store) {
  std::vector<OutboxRecord> out;
  EXPECT_TRUE(store
                  ->ScanOutbox([&](const OutboxRecord& r) {
                    out.push_back(r);
                    return true;
                  })
                  .ok());
  return out;
}

size_t OutboxSize(Store* store) { return Outbox(store).size(); }

TEST_F(AlertEngineTest, TransitionsQueueOneNotificationPerChannel) {
  Open(TestConfig(R"([[notify.channels]]
name = "a"
type = "webhook"
url = "http://127.0.0.1:1/"
[[notify.channels]]
name = "b"
type = "webhook"
url = "http://127.0.0.1:1/"
)"));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1}, "channels": ["a", "b"]})"}));
  Point("x.a", 100, 5);  // raise
  EXPECT_EQ(OutboxSize(store_.get()), 2u);
  Point("x.a", 110, 0);  // clear
  const std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 4u);
  EXPECT_EQ(queued[0].status, "firing");
  EXPECT_EQ(queued[2].status, "resolved");
  EXPECT_EQ(queued[2].alert.severity,
            Level::kWarning);  // as it was when it ended
  EXPECT_EQ(store_->OutboxPending(), 4u);
}

TEST_F(AlertEngineTest,
       HeldAlertIsQueuedWhenItsPeriodOpensAndSilencedOneNever) {
  Open(TestConfig(R"([[notify.channels]]
name = "a"
type = "webhook"
url = "http://127.0.0.1:1/"
[schedules.daytime]
from = "08:00"
to = "22:00"
timezone = "Europe/Madrid"
)"));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "day", "pattern": "x.*",
      "thresholds": {"warning": 1}, "schedule": "daytime", "channels": ["a"]})",
                                    R"({"id": "quiet", "pattern": "q.*",
      "thresholds": {"warning": 1}, "channels": ["a"]})"}));
  SilenceRecord x;
  x.id = "s";
  x.rule = "quiet";
  x.starts_at_ms = 0;
  x.ends_at_ms = kStart + 24 * 3600 * 1000;
  ASSERT_TRUE(store_->PutSilence(x).ok());
  engine_->SetSilences(*store_->Silences());
  clock_.Set(kStart + 3 * 3600 * 1000);  // 04:00 in Madrid: closed
  Point("x.a", 100, 5);
  Point("q.a", 100, 5);
  EXPECT_EQ(engine_->ActiveAlerts().size(), 2u);
  EXPECT_EQ(OutboxSize(store_.get()), 0u);  // held, and silenced
  clock_.Set(kStart + 7 * 3600 * 1000);     // 08:00 local: open
  engine_->Tick();
  const std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].alert.series, "x.a");
  EXPECT_EQ(queued[0].status, "firing");
}

const char kChannels[] = R"([[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1/"
repeat_interval_s = 3600
[[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:1/"
)";

TEST_F(AlertEngineTest, StillActiveAlertIsRemindedEveryRepeatInterval) {
  Open(TestConfig(kChannels));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1, "critical": 10},
      "channels": ["hook", "am"]})"}));
  engine_->Tick();
  Point("x.a", 100, 5);  // raise: one record a channel
  ASSERT_EQ(OutboxSize(store_.get()), 2u);
  const int64_t raised = clock_.NowMs();
  for (int64_t t = raised + 60000; t < raised + 3 * 3600 * 1000 + 1000;
       t += 60000) {
    clock_.Set(t);
    engine_->Tick();
  }
  // Reminders at +1 h, +2 h and +3 h, to the webhook only: alertmanager
  // channels are re-sent by the Notifier instead.
  const std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 5u);
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(queued[i].channel, "hook");
    EXPECT_EQ(queued[i].status, "firing");
    EXPECT_EQ(queued[i].created_ms, raised + 3600 * 1000 * (i - 1));
  }
  // An escalation is notified, and the next reminder counts from it.
  clock_.Set(raised + 3 * 3600 * 1000 + 1800 * 1000);
  engine_->Tick();
  Point("x.a", 110, 50);  // critical
  EXPECT_EQ(OutboxSize(store_.get()), 7u);
  const int64_t later = clock_.NowMs();
  clock_.Set(later + 3599 * 1000);
  engine_->Tick();
  EXPECT_EQ(OutboxSize(store_.get()), 7u);
  clock_.Set(later + 3601 * 1000);
  engine_->Tick();
  EXPECT_EQ(OutboxSize(store_.get()), 8u);
  // Nothing once it cleared.
  Point("x.a", 120, 0);
  const size_t after_clear = OutboxSize(store_.get());  // + 2 resolved
  EXPECT_EQ(after_clear, 10u);
  clock_.Set(later + 5 * 3600 * 1000);
  engine_->Tick();
  EXPECT_EQ(OutboxSize(store_.get()), after_clear);
}

TEST_F(AlertEngineTest, RemindersCountFromTheLastNotificationAcrossAReopen) {
  Open(TestConfig(kChannels));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1}, "channels": ["hook"]})"}));
  engine_->Tick();
  Point("x.a", 100, 5);
  const int64_t raised = clock_.NowMs();
  ASSERT_TRUE(engine_->Flush().ok());
  Open(config_);
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1}, "channels": ["hook"]})"}));
  ASSERT_TRUE(engine_->Restore().ok());
  clock_.Set(raised + 1800 * 1000);
  engine_->Tick();
  EXPECT_EQ(OutboxSize(store_.get()), 1u);
  clock_.Set(raised + 3600 * 1000);
  engine_->Tick();
  EXPECT_EQ(OutboxSize(store_.get()), 2u);
}

TEST_F(AlertEngineTest, EscalationEndsTheLabelSetOfTheOldSeverity) {
  Open(TestConfig(kChannels));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1, "critical": 10}, "channels": ["am"]})"}));
  Point("x.a", 100, 5);   // warning
  Point("x.a", 110, 50);  // critical
  Point("x.a", 120, 0);   // ok
  const std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 3u);
  EXPECT_EQ(queued[0].replaces, "");
  EXPECT_EQ(queued[1].alert.SeverityName(), "critical");
  EXPECT_EQ(queued[1].replaces, "warning");
  EXPECT_EQ(queued[2].status, "resolved");
  EXPECT_EQ(queued[2].alert.SeverityName(), "critical");
  EXPECT_EQ(queued[2].replaces, "");
}

TEST_F(AlertEngineTest, AlertStillActiveWhenItsSilenceEndsIsNotifiedThen) {
  Open(TestConfig(kChannels));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"warning": 1}, "channels": ["hook"]})"}));
  SilenceRecord x;
  x.id = "s";
  x.starts_at_ms = 0;
  x.ends_at_ms = kStart + 3600 * 1000;
  ASSERT_TRUE(store_->PutSilence(x).ok());
  engine_->SetSilences(*store_->Silences());
  engine_->Tick();
  Point("x.a", 100, 5);
  clock_.Set(kStart + 3599 * 1000);
  engine_->Tick();  // silenced: neither notified nor reminded
  EXPECT_EQ(OutboxSize(store_.get()), 0u);
  clock_.Set(kStart + 3600 * 1000);
  engine_->Tick();
  const std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].status, "firing");
  EXPECT_EQ(engine_->NotifiableAlerts().size(), 1u);
}

TEST_F(AlertEngineTest, AFlappingSeriesIsNotifiedOnceAsSuchThenOnceStable) {
  Open(TestConfig(R"([[notify.channels]]
name = "a"
type = "webhook"
url = "http://127.0.0.1:1/"
)"));
  engine_->SetRules(
      testing::RuleSetOf(*config_, {R"({"id": "n", "pattern": "x.*",
      "thresholds": {"critical": 1}, "channels": ["a"],
      "flap": {"window_s": 60, "changes": 4}})"}));
  uint32_t ts = 100;
  for (int i = 0; i < 9; ++i) Point("x.a", ts++, i % 2 == 0 ? 5 : 0);
  // 9 changes, ending critical: 3 told as usual, the 4th as flapping.
  std::vector<OutboxRecord> queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 4u);
  EXPECT_FALSE(queued[2].alert.flapping);
  EXPECT_TRUE(queued[3].alert.flapping);
  EXPECT_EQ(queued[3].status, "resolved");
  EXPECT_EQ(store_->Events()->size(), 9u);
  EXPECT_EQ(store_->History(0, kStart * 2)->size(), 4u);
  ASSERT_EQ(engine_->ActiveAlerts().size(), 1u);
  EXPECT_TRUE(engine_->ActiveAlerts()[0].flapping);
  EXPECT_EQ(engine_->Counters().flapping, 1u);
  EXPECT_TRUE(engine_->SeriesOf("n")[0].flapping);
  // Stable for less than the window: nothing; then one firing notification.
  clock_.Advance(59000);
  engine_->Tick();
  EXPECT_EQ(Outbox(store_.get()).size(), 4u);
  clock_.Advance(1000);
  engine_->Tick();
  queued = Outbox(store_.get());
  ASSERT_EQ(queued.size(), 5u);
  EXPECT_EQ(queued[4].status, "firing");
  EXPECT_FALSE(queued[4].alert.flapping);
  EXPECT_FALSE(engine_->ActiveAlerts()[0].flapping);
  EXPECT_EQ(engine_->Counters().flapping, 0u);
  clock_.Advance(120000);
  engine_->Tick();
  EXPECT_EQ(Outbox(store_.get()).size(), 5u);
  // Changes further apart than the window are never flapping.
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(30000);
    Point("x.a", ts++, i % 2 == 0 ? 0 : 5);
  }
  EXPECT_EQ(Outbox(store_.get()).size(), 11u);
}

TEST(FlapRuleTest, FlapIsValidated) {
  EXPECT_TRUE(ParseRuleJson(R"({"id": "n", "pattern": "x", "flap":
      {"window_s": 600, "changes": 6}})")
                  .ok());
  for (const char* bad :
       {R"({"flap": 3})", R"({"flap": {"window_s": 600, "changes": 1}})",
        R"({"flap": {"window_s": 0, "changes": 6}})",
        R"({"flap": {"window": 600, "changes": 6}})"}) {
    auto spec = ParseRuleJson(bad);
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_EQ(FieldOf(spec.status()), "flap") << bad;
  }
  auto spec = ParseRuleJson(R"({"id": "n", "pattern": "x", "flap":
      {"window_s": 600, "changes": 6}})");
  ASSERT_TRUE(spec.ok());
  EXPECT_NE(RuleSpecToJson(*spec).find("\"flap\""), std::string::npos);
}

}  // namespace
}  // namespace gralarm
