#include "gralarm/notifier.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// An HTTP receiver on 127.0.0.1 that answers 200 to every request and keeps
// each request's path and body.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> Requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      size_t body_at = std::string::npos, length = 0;
      while (true) {
        if (body_at == std::string::npos &&
            (body_at = in.find("\r\n\r\n")) != std::string::npos) {
          body_at += 4;
          const size_t cl = in.find("Content-Length: ");
          length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        }
        if (body_at != std::string::npos && in.size() >= body_at + length)
          break;
        const ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        in.append(buf, n);
      }
      if (body_at != std::string::npos) {
        const size_t sp = in.find(' ');
        absl::MutexLock lock(&mu_);
        requests_.emplace_back(in.substr(sp + 1, in.find(' ', sp + 1) - sp - 1),
                               in.substr(body_at, length));
      }
      const std::string ok =
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!write(c, ok.data(), ok.size());
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<std::pair<std::string, std::string>> requests_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

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

std::string FreshDir() {
  std::string dir = StrCat(::testing::TempDir(), "/gralarm-notifier-test-",
                           getpid(), "-", std::rand());
  std::filesystem::remove_all(dir);
  return dir;
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 500 && !done(); ++i) usleep(10000);
  return done();
}

TEST(NotifierTest, ActiveAlertsAreResentToAlertmanagerEveryMinute) {
  Receiver receiver;
  auto config = ChannelConfig(receiver.port());
  auto store = Store::Open(FreshDir());
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
  ASSERT_TRUE(WaitFor([&] { return receiver.Requests().size() == 1; }));
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
  ASSERT_TRUE(WaitFor([&] { return receiver.Requests().size() == 2; }));
  notifier.Stop();
  EXPECT_EQ((notifier.Counts()[{"am", "resent"}]), 4u);
}

}  // namespace
}  // namespace gralarm
