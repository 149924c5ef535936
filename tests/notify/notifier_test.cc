#include "gralarm/notifier.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gralarm/notify_delivery.h"
#include "gralarm/strings.h"
#include "testing/http_receiver.h"
#include "testing/test_env.h"

namespace gralarm {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

using Receiver = testing::HttpReceiver;

AlertRecord Alert(std::string series, Level severity) {
  AlertRecord a;
  a.rule_id = "cpu";
  a.rule_name = "CPU load";
  a.series = std::move(series);
  a.severity = severity;
  a.since_ms = kStart;
  a.last_value = 97;
  a.labels = {{"team", "noc"}};
  return a;
}

std::shared_ptr<const Config> ChannelConfig(int port) {
  auto c = ParseConfig(StrCat(R"([[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:)",
                              port, R"(/"
[[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                              port, R"(/hook"
)"),
                       "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(NotifierPayloadTest, AnEscalationAlsoEndsTheOldLabelSet) {
  auto config = ChannelConfig(1);
  OutboxRecord r;
  r.channel = "hook";
  r.status = "firing";
  r.alert = Alert("srv.a.cpu", Level::kCritical);
  r.created_ms = kStart + 60000;
  r.replaces = "warning";
  const json hook = json::parse(WebhookPayload(r, *config));
  EXPECT_EQ(hook["status"], "firing");
  ASSERT_EQ(hook["alerts"].size(), 2u);
  EXPECT_EQ(hook["alerts"][0]["status"], "firing");
  EXPECT_EQ(hook["alerts"][0]["labels"]["severity"], "critical");
  EXPECT_EQ(hook["alerts"][1]["status"], "resolved");
  EXPECT_EQ(hook["alerts"][1]["labels"]["severity"], "warning");
  EXPECT_EQ(hook["alerts"][1]["endsAt"], "2026-01-01T00:01:00.000Z");
  EXPECT_NE(hook["alerts"][0]["fingerprint"], hook["alerts"][1]["fingerprint"]);
  EXPECT_FALSE(hook["commonLabels"].contains("severity"));

  const json am = json::parse(AlertmanagerPayload(r, *config));
  ASSERT_EQ(am.size(), 2u);
  EXPECT_FALSE(am[0].contains("endsAt"));
  EXPECT_EQ(am[0]["labels"]["severity"], "critical");
  EXPECT_EQ(am[1]["labels"]["severity"], "warning");
  EXPECT_EQ(am[1]["endsAt"], "2026-01-01T00:01:00.000Z");

  r.replaces.clear();
  EXPECT_EQ(json::parse(WebhookPayload(r, *config))["alerts"].size(), 1u);
  EXPECT_EQ(json::parse(AlertmanagerPayload(r, *config)).size(), 1u);
}

TEST(NotifierPayloadTest, AResolvedAlertSaysSo) {
  auto config = ChannelConfig(1);
  OutboxRecord r;
  r.channel = "hook";
  r.status = "resolved";
  r.alert = Alert("srv.a.cpu", Level::kCritical);
  r.alert.last_value = 12;
  r.ends_ms = kStart + 60000;
  const json hook = json::parse(WebhookPayload(r, *config));
  EXPECT_EQ(hook["status"], "resolved");
  EXPECT_EQ(hook["alerts"][0]["annotations"]["summary"],
            "CPU load: srv.a.cpu resolved (was critical, now 12)");
  EXPECT_EQ(hook["commonAnnotations"]["summary"],
            hook["alerts"][0]["annotations"]["summary"]);
  const json am = json::parse(AlertmanagerPayload(r, *config));
  EXPECT_EQ(am[0]["annotations"]["summary"],
            "CPU load: srv.a.cpu resolved (was critical, now 12)");
  EXPECT_EQ(am[0]["endsAt"], "2026-01-01T00:01:00.000Z");
  // Firing, and the label set an escalation left.
  r.status = "firing";
  r.ends_ms = 0;
  r.alert.last_value = 97;
  r.replaces = "warning";
  const json up = json::parse(WebhookPayload(r, *config));
  EXPECT_EQ(up["alerts"][0]["annotations"]["summary"],
            "CPU load: srv.a.cpu is critical (97)");
  EXPECT_EQ(up["alerts"][1]["annotations"]["summary"],
            "CPU load: srv.a.cpu is no longer warning (now critical, 97)");
}

TEST(NotifierPayloadTest, AForecastAlertSaysWhatIsPredicted) {
  auto config = ChannelConfig(1);
  OutboxRecord r;
  r.channel = "hook";
  r.status = "firing";
  r.alert = Alert("core.link1.util", Level::kCritical);
  r.alert.last_value = 71.5;
  r.alert.forecast = 96.25;
  const json hook = json::parse(WebhookPayload(r, *config));
  EXPECT_EQ(hook["alerts"][0]["annotations"]["summary"],
            "CPU load: core.link1.util is forecast critical (96.25 predicted; "
            "now 71.5)");
  EXPECT_EQ(hook["alerts"][0]["annotations"]["forecast"], "96.25");
  const json am = json::parse(AlertmanagerPayload(r, *config));
  EXPECT_EQ(am[0]["annotations"]["forecast"], "96.25");
  ChannelOptions c;
  c.type = "command";
  c.command = {"send", "{value}", "{forecast}"};
  EXPECT_EQ(CommandArgs(c, r),
            (std::vector<std::string>{"send", "71.5", "96.25"}));
  EXPECT_EQ(json::parse(GraphiteEventPayload(r))["data"],
            "core.link1.util = 71.5, forecast 96.25");
  // Resolved: told as any alert, the forecast kept as an annotation.
  r.status = "resolved";
  r.ends_ms = kStart + 60000;
  const json done = json::parse(WebhookPayload(r, *config));
  EXPECT_EQ(done["alerts"][0]["annotations"]["summary"],
            "CPU load: core.link1.util resolved (was critical, now 71.5)");
  // Not a forecast rule's: no forecast anywhere.
  r.alert.forecast.reset();
  EXPECT_FALSE(
      json::parse(WebhookPayload(r, *config))["alerts"][0]["annotations"]
          .contains("forecast"));
  EXPECT_EQ(CommandArgs(c, r), (std::vector<std::string>{"send", "71.5", ""}));
}

TEST(NotifierPayloadTest, CommandArgsTellStatusFromAndTo) {
  ChannelOptions c;
  c.type = "command";
  c.phones = {"+34600000000", "+34600000001"};
  c.command = {"send",
               "{status}",
               "{from}->{to}",
               "{severity} {series}",
               "{value} {rule} {phones}",
               "{unknown} {",
               "}"};
  OutboxRecord r;
  r.status = "firing";
  r.alert = Alert("srv.a.cpu", Level::kWarning);
  r.alert.last_value = 85;
  auto args = CommandArgs(c, r);  // a raise
  EXPECT_EQ(args, (std::vector<std::string>{
                      "send", "firing", "ok->warning", "warning srv.a.cpu",
                      "85 cpu +34600000000,+34600000001", "{unknown} {", "}"}));
  r.alert.severity = Level::kCritical;  // an escalation
  r.replaces = "warning";
  args = CommandArgs(c, r);
  EXPECT_EQ(args[1], "firing");
  EXPECT_EQ(args[2], "warning->critical");
  r.replaces.clear();  // a reminder
  r.reminder = true;
  EXPECT_EQ(CommandArgs(c, r)[2], "critical->critical");
  r.reminder = false;  // a clear: {severity} is the level it had
  r.status = "resolved";
  r.alert.last_value = 3;
  args = CommandArgs(c, r);
  EXPECT_EQ(args[1], "resolved");
  EXPECT_EQ(args[2], "critical->ok");
  EXPECT_EQ(args[3], "critical srv.a.cpu");
  // A value holding a placeholder's text is not substituted again.
  r.alert.series = "srv.{rule}.{phones}";
  EXPECT_EQ(CommandArgs(c, r)[3], "critical srv.{rule}.{phones}");
  // No-data is a level of its own.
  r.alert.nodata = true;
  EXPECT_EQ(CommandArgs(c, r)[2], "nodata->ok");
}

TEST(DeliveryTest, HttpStatusesAsAlertmanagerTreatsThem) {
  for (long code : {200L, 201L, 202L, 204L}) {
    EXPECT_EQ(ClassifyHttpStatus(code), Delivery::kDelivered) << code;
  }
  for (long code : {500L, 502L, 503L, 504L, 408L, 429L}) {
    EXPECT_EQ(ClassifyHttpStatus(code), Delivery::kRetry) << code;
  }
  for (long code : {400L, 401L, 403L, 404L, 405L, 413L, 422L, 301L, 302L}) {
    EXPECT_EQ(ClassifyHttpStatus(code), Delivery::kRejected) << code;
  }
}

TEST(DeliveryTest, ARefusalCarriesTheReceiversAnswer) {
  Receiver receiver({400});
  const DeliveryResult d = HttpPost(
      StrCat("http://127.0.0.1:", receiver.port(), "/"), "[]", 5000, nullptr);
  EXPECT_EQ(d.outcome, Delivery::kRejected);
  EXPECT_EQ(d.error, "HTTP 400: refused: bad label");
}

TEST(DeliveryTest, ACommandStartsWithDefaultSignalsAndNeedNotReadItsInput) {
  // As in `gralarm serve`: SIGPIPE ignored in the process and blocked here.
  struct sigaction old_action {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_action);
  sigset_t pipe, old_mask;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigaddset(&pipe, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &pipe, &old_mask);

  const std::string out = StrCat(::testing::TempDir(), "/sigs-", getpid());
  const DeliveryResult d =
      RunCommand({"/bin/sh", "-c",
                  "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > $0", out},
                 "", 5000);
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  EXPECT_NE(text.str().find("SigBlk:\t0000000000000000"), std::string::npos)
      << text.str();
  // SIGPIPE (13) is bit 0x1000 of SigIgn.
  const size_t ign = text.str().find("SigIgn:\t");
  ASSERT_NE(ign, std::string::npos);
  EXPECT_EQ(std::stoull(text.str().substr(ign + 8, 16), nullptr, 16) & 0x1000,
            0u)
      << text.str();

  // A command that exits without reading 1 MiB of input: no SIGPIPE, no hang.
  const DeliveryResult quick =
      RunCommand({"/bin/true"}, std::string(1 << 20, 'x'), 5000);
  EXPECT_EQ(quick.outcome, Delivery::kDelivered) << quick.error;
  // One that neither reads nor exits is killed at its timeout.
  const auto t0 = std::chrono::steady_clock::now();
  const DeliveryResult stuck =
      RunCommand({"/bin/sleep", "30"}, std::string(1 << 20, 'x'), 300);
  EXPECT_EQ(stuck.outcome, Delivery::kRetry);
  EXPECT_EQ(stuck.error, "timed out after 300 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));

  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  sigaction(SIGPIPE, &old_action, nullptr);
}

TEST(NotifierTest, ActiveAlertsAreResentToAlertmanagerEveryMinute) {
  Receiver receiver;
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  Notifier notifier(store->get(), config, &clock);
  std::atomic<int> asked{0};
  notifier.SetActiveSource([&] {
    ++asked;
    return std::vector<AlertEngine::Notifiable>{
        {Alert("srv.a.cpu", Level::kWarning), {"am", "hook"}},
        {Alert("srv.b.cpu", Level::kCritical), {"am"}},
        {Alert("srv.c.cpu", Level::kMajor), {"hook"}}};
  });
  notifier.Start();
  // At start: the alertmanager channel gets its two alerts in one POST; the
  // webhook nothing (its reminders go through the outbox).
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 1; }));
  auto requests = receiver.Requests();
  EXPECT_EQ(requests[0].first, "/api/v2/alerts");
  const json sent = json::parse(requests[0].second);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0]["labels"]["series"], "srv.a.cpu");
  EXPECT_EQ(sent[1]["labels"]["severity"], "critical");
  EXPECT_FALSE(sent[1].contains("endsAt"));
  // Not again within the minute...
  clock.Advance(59000);
  usleep(1500000);
  EXPECT_EQ(receiver.Requests().size(), 1u);
  // ... then once more.
  clock.Advance(2000);
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 2; }));
  notifier.Stop();
  EXPECT_EQ((notifier.Counts()[{"am", "resent"}]), 4u);
}

OutboxRecord Record(const std::string& channel, const std::string& series,
                    int64_t now) {
  OutboxRecord r;
  r.channel = channel;
  r.status = "firing";
  r.alert = Alert(series, Level::kCritical);
  r.created_ms = now;
  r.next_attempt_ms = now;
  return r;
}

std::string Series(const std::string& body) {
  return json::parse(body)["alerts"][0]["labels"]["series"];
}

TEST(NotifierTest, ARefusedNotificationIsDroppedNotRetried) {
  Receiver receiver({400, 422});
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("hook", "srv.a.cpu", kStart),
                             Record("hook", "srv.b.cpu", kStart),
                             Record("hook", "srv.c.cpu", kStart)})
                  .ok());
  Notifier notifier(store->get(), config, &clock);
  notifier.Start();
  // Each refusal costs one attempt, and the next record goes at once.
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 3; }));
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  clock.Advance(600000);  // well past any backoff
  notifier.Wake();
  usleep(300000);
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Series(requests[0].second), "srv.a.cpu");
  EXPECT_EQ(Series(requests[1].second), "srv.b.cpu");
  EXPECT_EQ(Series(requests[2].second), "srv.c.cpu");
  notifier.Stop();
  EXPECT_EQ((notifier.Counts()[{"hook", "rejected"}]), 2u);
  EXPECT_EQ((notifier.Counts()[{"hook", "delivered"}]), 1u);
  EXPECT_EQ((notifier.Counts()[{"hook", "failed"}]), 0u);
}

TEST(NotifierTest, TooManyRequestsTimeoutsAndServerErrorsAreRetriedInOrder) {
  Receiver receiver({429, 503, 408});
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("hook", "srv.a.cpu", kStart),
                             Record("hook", "srv.b.cpu", kStart)})
                  .ok());
  Notifier notifier(store->get(), config, &clock);
  notifier.Start();
  for (size_t attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(testing::WaitFor(
        [&] { return receiver.Requests().size() == attempt; }));
    usleep(100000);
    EXPECT_EQ(receiver.Requests().size(), attempt);  // waits for its backoff
    clock.Advance(300000);
    notifier.Wake();
  }
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 5; }));
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  const auto requests = receiver.Requests();
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(Series(requests[i].second), "srv.a.cpu");
  EXPECT_EQ(Series(requests[4].second), "srv.b.cpu");
  notifier.Stop();
  EXPECT_EQ((notifier.Counts()[{"hook", "failed"}]), 3u);
  EXPECT_EQ((notifier.Counts()[{"hook", "delivered"}]), 2u);
}

TEST(NotifierTest, ASlowChannelDelaysNoOtherChannel) {
  Receiver receiver;
  auto config = ParseConfig(StrCat(R"([[notify.channels]]
name = "slow"
type = "command"
command = ["/bin/sh", "-c", "sleep 1"]
[[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                                   receiver.port(), R"(/hook"
)"),
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  std::vector<OutboxRecord> records;
  for (int i = 0; i < 4; ++i) {
    records.push_back(Record("slow", StrCat("srv.", i, ".cpu"), kStart));
    records.push_back(Record("hook", StrCat("srv.", i, ".cpu"), kStart));
  }
  ASSERT_TRUE((*store)->Enqueue(records).ok());
  Notifier notifier(store->get(), *config, &clock);
  const auto t0 = std::chrono::steady_clock::now();
  notifier.Start();
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 4; }));
  // The webhook's four went while the command ran its first (1 s each).
  EXPECT_LT(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(900));
  EXPECT_EQ((notifier.Counts()[{"slow", "delivered"}]), 0u);
  const auto requests = receiver.Requests();
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(Series(requests[i].second), StrCat("srv.", i, ".cpu"));
  }
  notifier.Stop();
}

TEST(NotifierTest, RecordsOfAChannelNoLongerConfiguredAreDropped) {
  Receiver receiver;
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("gone", "srv.a.cpu", kStart),
                             Record("hook", "srv.a.cpu", kStart)})
                  .ok());
  Notifier notifier(store->get(), config, &clock);
  notifier.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  EXPECT_EQ(receiver.Requests().size(), 1u);
  // Removed while running: its worker drops what comes for it.
  auto without = ParseConfig(StrCat(R"([[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:)",
                                    receiver.port(), "\"\n"),
                             "t.toml");
  ASSERT_TRUE(without.ok());
  notifier.SetConfig(*without);
  ASSERT_TRUE((*store)->Enqueue({Record("hook", "srv.b.cpu", kStart)}).ok());
  notifier.Wake();
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  notifier.Stop();
  EXPECT_EQ(receiver.Requests().size(), 1u);
  EXPECT_EQ((notifier.Counts()[{"gone", "expired"}]), 1u);
  EXPECT_EQ((notifier.Counts()[{"hook", "expired"}]), 1u);
}

TEST(NotifierTest, AGroupedChannelSendsOneMessagePerGroupAndRetriesIt) {
  Receiver receiver({503});
  auto config = ParseConfig(StrCat(R"([[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                                   receiver.port(), R"(/hook"
group_by = ["rule_id"]
group_interval_s = 60
)"),
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  OutboxRecord cleared = Record("hook", "srv.a.cpu", kStart);
  cleared.status = "resolved";
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("hook", "srv.a.cpu", kStart),
                             Record("hook", "srv.b.cpu", kStart), cleared})
                  .ok());
  Notifier notifier(store->get(), *config, &clock);
  notifier.Start();
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 1; }));
  EXPECT_EQ((*store)->OutboxPending(), 3u);  // the POST failed: kept
  clock.Advance(2000);                       // past the backoff
  notifier.Wake();
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  ASSERT_EQ(receiver.Requests().size(), 2u);
  const json body = json::parse(receiver.Requests()[1].second);
  EXPECT_EQ(body["groupKey"], "{}:{alertname=\"cpu\"}");
  ASSERT_EQ(body["alerts"].size(), 2u);
  EXPECT_EQ(body["alerts"][0]["labels"]["series"], "srv.b.cpu");  // firing
  EXPECT_EQ(body["alerts"][1]["status"], "resolved");
  // The next change waits for the group's interval.
  ASSERT_TRUE(
      (*store)->Enqueue({Record("hook", "srv.c.cpu", clock.NowMs())}).ok());
  notifier.Wake();
  usleep(300000);
  EXPECT_EQ(receiver.Requests().size(), 2u);
  clock.Advance(60000);
  notifier.Wake();
  ASSERT_TRUE(
      testing::WaitFor([&] { return receiver.Requests().size() == 3u; }));
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  // Removed while its group holds an alert: dropped.
  ASSERT_TRUE(
      (*store)->Enqueue({Record("hook", "srv.d.cpu", clock.NowMs())}).ok());
  notifier.Wake();
  usleep(300000);
  notifier.SetConfig(*ParseConfig("", "t.toml"));
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  notifier.Stop();
  EXPECT_EQ(receiver.Requests().size(), 3u);
  EXPECT_EQ((notifier.Counts()[{"hook", "delivered"}]), 2u);
  EXPECT_EQ((notifier.Counts()[{"hook", "failed"}]), 1u);
  EXPECT_EQ((notifier.Counts()[{"hook", "expired"}]), 1u);
}

TEST(NotifierTest, RecordsWrittenConcurrentlyGoOutOnceEachInOrder) {
  Receiver receiver;
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(testing::FreshDir("notifier-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  Notifier notifier(store->get(), config, &clock);
  notifier.Start();
  constexpr int kThreads = 4, kEach = 60;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(
            (*store)
                ->Enqueue({Record("hook", StrCat("w", t, ".", i), kStart)})
                .ok());
        notifier.Wake();
      }
    });
  }
  for (std::thread& w : writers) w.join();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return receiver.Requests().size() == kThreads * kEach; }));
  usleep(200000);
  notifier.Stop();
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);  // each writer's records in its order
  for (const auto& [path, body] : requests) {
    const std::string series = Series(body);
    const int t = series[1] - '0';
    EXPECT_EQ(series, StrCat("w", t, ".", next[t])) << "out of order or twice";
    ++next[t];
  }
  EXPECT_EQ((*store)->OutboxPending(), 0u);
}

}  // namespace
}  // namespace gralarm
