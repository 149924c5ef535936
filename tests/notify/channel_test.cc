#include "notify/channel.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gralarm/strings.h"
#include "testing/http_receiver.h"

namespace gralarm {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// Answers `status` to every request (a refusal's body spans two lines).
class Receiver : public testing::HttpReceiver {
 public:
  explicit Receiver(int status = 200)
      : HttpReceiver({}, status, "no\r\nsuch label") {}
};

std::shared_ptr<const Config> Parse(const std::string& toml) {
  auto c = ParseConfig(toml, "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : std::make_shared<const Config>();
}

std::string Channels(int port, const std::string& out) {
  return StrCat(R"([[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                port, R"(/hook"
[[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:)",
                port, R"(//"
[[notify.channels]]
name = "cmd"
type = "command"
command = ["/bin/sh", "-c", "cat > $0; echo \"$1 $2\" >> $0.args", ")",
                out, R"(", "{status}", "{series}"]
)");
}

OutboxRecord Record(const std::string& channel, const std::string& series) {
  OutboxRecord r;
  r.channel = channel;
  r.status = "firing";
  r.alert.rule_id = "cpu";
  r.alert.rule_name = "CPU load";
  r.alert.series = series;
  r.alert.severity = Level::kCritical;
  r.alert.since_ms = kStart;
  r.alert.last_value = 97;
  r.created_ms = kStart;
  return r;
}

HttpAnswer Answer(long status, std::string said = "") {
  return {"", status, std::move(said)};
}

HttpAnswer NoAnswer(std::string why) { return {std::move(why), 0, ""}; }

CommandExit Exited(int wait_status) { return {"", wait_status}; }

CommandExit NotRun(std::string why) { return {std::move(why), 0}; }

std::string ReadFile(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

TEST(ChannelTest, TheFactoryMakesTheTransportOfEachType) {
  Receiver receiver;
  const std::string out =
      StrCat(::testing::TempDir(), "/channel-test-", getpid());
  auto config = Parse(Channels(receiver.port(), out));

  auto hook = MakeChannel(config, "hook", nullptr);
  ASSERT_TRUE(hook.ok()) << hook.status();
  EXPECT_NE(dynamic_cast<WebhookChannel*>(hook->get()), nullptr);
  EXPECT_EQ((*hook)->options().name, "hook");
  DeliveryResult d = (*hook)->Send(Record("hook", "srv.a.cpu"));
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;

  auto am = MakeChannel(config, "am", nullptr);
  ASSERT_TRUE(am.ok()) << am.status();
  EXPECT_NE(dynamic_cast<AlertmanagerChannel*>(am->get()), nullptr);
  d = (*am)->Send(Record("am", "srv.b.cpu"));
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;

  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].first, "/hook");
  const json webhook = json::parse(requests[0].second);
  EXPECT_EQ(webhook["version"], "4");
  EXPECT_EQ(webhook["receiver"], "hook");
  EXPECT_EQ(webhook["alerts"][0]["labels"]["series"], "srv.a.cpu");
  EXPECT_EQ(requests[1].first, "/api/v2/alerts");  // trailing '/' dropped
  const json alerts = json::parse(requests[1].second);
  ASSERT_TRUE(alerts.is_array());
  EXPECT_EQ(alerts[0]["labels"]["series"], "srv.b.cpu");

  auto cmd = MakeChannel(config, "cmd", nullptr);
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_NE(dynamic_cast<CommandChannel*>(cmd->get()), nullptr);
  d = (*cmd)->Send(Record("cmd", "srv.c.cpu"));
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;
  EXPECT_EQ(ReadFile(out + ".args"), "firing srv.c.cpu\n");
  const json stdin_body = json::parse(ReadFile(out));
  EXPECT_EQ(stdin_body["alerts"][0]["labels"]["series"], "srv.c.cpu");

  EXPECT_EQ(MakeChannel(config, "nope", nullptr).status().code(),
            absl::StatusCode::kNotFound);
  // A type no transport serves (the parser refuses it; a Config built by
  // hand can hold it).
  auto odd = std::make_shared<Config>();
  ChannelOptions pager;
  pager.name = pager.type = "pager";
  odd->channels.push_back(pager);
  EXPECT_EQ(MakeChannel(odd, "pager", nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChannelTest, WhatEachTransportSupports) {
  auto config = Parse(Channels(1, "/dev/null"));
  auto hook = *MakeChannel(config, "hook", nullptr);
  auto am = *MakeChannel(config, "am", nullptr);
  auto cmd = *MakeChannel(config, "cmd", nullptr);
  // A webhook message holds at most 500 alerts; a command's is uncapped.
  EXPECT_EQ(hook->max_group_alerts(), GroupBatcher::kMaxAlerts);
  EXPECT_EQ(cmd->max_group_alerts(), 0u);
  // Only Alertmanager is re-sent active alerts.
  EXPECT_TRUE(am->resends_active());
  EXPECT_FALSE(hook->resends_active());
  EXPECT_FALSE(cmd->resends_active());
  EXPECT_EQ(hook->SendActive({}).outcome, Delivery::kRejected);
}

TEST(ChannelTest, HttpChannelsJudgeAnswersAsAlertmanagerDoes) {
  EXPECT_EQ(HttpChannel::Classify(Answer(200)).outcome, Delivery::kDelivered);
  EXPECT_EQ(HttpChannel::Classify(Answer(204)).outcome, Delivery::kDelivered);
  for (long status : {500L, 503L, 408L, 429L}) {
    const DeliveryResult d = HttpChannel::Classify(Answer(status));
    EXPECT_EQ(d.outcome, Delivery::kRetry) << status;
    EXPECT_EQ(d.error, StrCat("HTTP ", status));
  }
  const DeliveryResult refused =
      HttpChannel::Classify(Answer(422, "bad label"));
  EXPECT_EQ(refused.outcome, Delivery::kRejected);
  EXPECT_EQ(refused.error, "HTTP 422: bad label");
  // No answer at all is worth another try.
  const DeliveryResult none =
      HttpChannel::Classify(NoAnswer("Couldn't connect to server"));
  EXPECT_EQ(none.outcome, Delivery::kRetry);
  EXPECT_EQ(none.error, "Couldn't connect to server");

  // Through a real POST: the refusal carries the receiver's answer, one line.
  Receiver receiver(400);
  auto config = Parse(Channels(receiver.port(), "/dev/null"));
  const DeliveryResult d =
      (*MakeChannel(config, "hook", nullptr))->Send(Record("hook", "srv.a"));
  EXPECT_EQ(d.outcome, Delivery::kRejected);
  EXPECT_EQ(d.error, "HTTP 400: no  such label");
}

TEST(ChannelTest, CommandChannelsJudgeExitStatuses) {
  auto exited = [](int code) { return Exited(code << 8); };
  EXPECT_EQ(CommandChannel::Classify(exited(0)).outcome, Delivery::kDelivered);
  const DeliveryResult failed = CommandChannel::Classify(exited(3));
  EXPECT_EQ(failed.outcome, Delivery::kRetry);  // never refused for good
  EXPECT_EQ(failed.error, "exit status 3");
  const DeliveryResult killed = CommandChannel::Classify(Exited(SIGKILL));
  EXPECT_EQ(killed.outcome, Delivery::kRetry);
  EXPECT_EQ(killed.error, "killed by signal 9");
  const DeliveryResult timed_out =
      CommandChannel::Classify(NotRun("timed out after 300 ms"));
  EXPECT_EQ(timed_out.outcome, Delivery::kRetry);
  EXPECT_EQ(timed_out.error, "timed out after 300 ms");

  // Through a real run.
  auto config = Parse(R"([[notify.channels]]
name = "cmd"
type = "command"
command = ["/bin/sh", "-c", "exit 7"]
)");
  const DeliveryResult d =
      (*MakeChannel(config, "cmd", nullptr))->Send(Record("cmd", "srv.a"));
  EXPECT_EQ(d.outcome, Delivery::kRetry);
  EXPECT_EQ(d.error, "exit status 7");
}

TEST(ChannelTest, AnAlertmanagerChannelSendsAGroupAndActiveAlertsInOnePost) {
  Receiver receiver;
  auto config = Parse(Channels(receiver.port(), "/dev/null"));
  auto am = *MakeChannel(config, "am", nullptr);
  GroupMessage m;
  for (const char* series : {"srv.a.cpu", "srv.b.cpu"}) {
    GroupedAlert a;
    a.record = Record("am", series);
    m.alerts.push_back(a);
  }
  m.alerts[1].record.replaces = "warning";  // escalated: the old set ends
  DeliveryResult d = am->SendGroup(m);
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;
  d = am->SendActive({Record("am", "srv.c.cpu").alert});
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;
  const auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].first, "/api/v2/alerts");
  const json group = json::parse(requests[0].second);
  ASSERT_EQ(group.size(), 3u);
  EXPECT_EQ(group[0]["labels"]["series"], "srv.a.cpu");
  EXPECT_EQ(group[1]["labels"]["series"], "srv.b.cpu");
  EXPECT_EQ(group[2]["labels"]["severity"], "warning");
  EXPECT_TRUE(group[2].contains("endsAt"));
  const json active = json::parse(requests[1].second);
  ASSERT_EQ(active.size(), 1u);
  EXPECT_FALSE(active[0].contains("endsAt"));
}

TEST(ChannelTest, AnHttpAttemptIsCutShortByItsCancelFlag) {
  // A receiver that takes the connection and never answers.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  listen(fd, 4);
  auto config = Parse(StrCat(R"([[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                             ntohs(a.sin_port), R"(/"
timeout_ms = 30000
)"));
  std::atomic<bool> cancel{false};
  auto hook = *MakeChannel(config, "hook", &cancel);
  std::thread stopper([&] {
    usleep(200000);
    cancel = true;
  });
  const auto t0 = std::chrono::steady_clock::now();
  const DeliveryResult d = hook->Send(Record("hook", "srv.a"));
  stopper.join();
  EXPECT_EQ(d.outcome, Delivery::kRetry);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  close(fd);
}

}  // namespace
}  // namespace gralarm
