// The cluster gate of gated channels, as the channel workers apply it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gralarm/notifier.h"
#include "gralarm/strings.h"
#include "testing/http_receiver.h"
#include "testing/test_env.h"

namespace gralarm {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// A gate set by hand: active or not; a standby drops what was created
// before drop_before_ms.
class FakeGate final : public NotifyGate {
 public:
  bool Active() const override { return active.load(); }
  HeldFate Fate(int64_t created_ms, int64_t) const override {
    return created_ms < drop_before_ms.load() ? HeldFate::kDrop
                                              : HeldFate::kHold;
  }
  std::atomic<bool> active{false};
  std::atomic<int64_t> drop_before_ms{0};
};

std::shared_ptr<const Config> Channels(int port,
                                       const std::string& hook_extra) {
  auto c = ParseConfig(StrCat(R"([[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:)",
                              port, R"(/"
[[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:)",
                              port, "/hook\"\n", hook_extra),
                       "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

OutboxRecord Record(const std::string& channel, const std::string& series,
                    int64_t created) {
  OutboxRecord r;
  r.channel = channel;
  r.status = "firing";
  r.alert.rule_id = "cpu";
  r.alert.rule_name = "CPU load";
  r.alert.series = series;
  r.alert.severity = Level::kCritical;
  r.alert.since_ms = created;
  r.created_ms = created;
  r.next_attempt_ms = created;
  return r;
}

size_t PathCount(testing::HttpReceiver& receiver, const std::string& path) {
  size_t n = 0;
  for (const auto& [p, body] : receiver.Requests()) n += p == path;
  return n;
}

std::vector<std::string> HookSeries(testing::HttpReceiver& receiver) {
  std::vector<std::string> out;
  for (const auto& [p, body] : receiver.Requests()) {
    if (p != "/hook") continue;
    const json sent = json::parse(body);
    for (const json& a : sent["alerts"]) out.push_back(a["labels"]["series"]);
  }
  return out;
}

TEST(NotifyGateTest, AStandbyHoldsGatedChannelsAndSendsAlertmanager) {
  testing::HttpReceiver receiver;
  auto store = Store::Open(testing::FreshDir("gate-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  FakeGate gate;
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("am", "srv.a.cpu", kStart),
                             Record("hook", "srv.a.cpu", kStart),
                             Record("hook", "srv.b.cpu", kStart + 1000)})
                  .ok());
  Notifier notifier(store->get(), Channels(receiver.port(), ""), &clock);
  notifier.SetGate(&gate);
  notifier.Start();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return PathCount(receiver, "/api/v2/alerts") == 1; }));
  usleep(500000);
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);
  EXPECT_EQ((*store)->OutboxPending(), 2u);

  // The active node had time for the first: dropped here, unsent.
  gate.drop_before_ms = kStart + 1;
  clock.Advance(1000);
  notifier.Wake();
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 1; }));
  EXPECT_EQ((notifier.Counts()[{"hook", "left_to_peer"}]), 1u);
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);

  // Active (the lower node died): what is still held goes out.
  gate.active = true;
  notifier.Wake();
  ASSERT_TRUE(
      testing::WaitFor([&] { return PathCount(receiver, "/hook") == 1; }));
  EXPECT_EQ(HookSeries(receiver), std::vector<std::string>{"srv.b.cpu"});
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  notifier.Stop();
  EXPECT_EQ((notifier.Counts()[{"hook", "delivered"}]), 1u);
}

TEST(NotifyGateTest, AHeldBacklogGoesOutOldestFirstOnFailover) {
  testing::HttpReceiver receiver;
  auto store = Store::Open(testing::FreshDir("gate-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  FakeGate gate;
  std::vector<OutboxRecord> records;
  for (int i = 0; i < 5; ++i)
    records.push_back(
        Record("hook", StrCat("srv.", i, ".cpu"), kStart - 5 + i));
  ASSERT_TRUE((*store)->Enqueue(records).ok());
  Notifier notifier(store->get(), Channels(receiver.port(), ""), &clock);
  notifier.SetGate(&gate);
  notifier.Start();
  usleep(300000);
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);
  gate.active = true;
  notifier.Wake();
  ASSERT_TRUE(
      testing::WaitFor([&] { return PathCount(receiver, "/hook") == 5; }));
  EXPECT_EQ(HookSeries(receiver),
            (std::vector<std::string>{"srv.0.cpu", "srv.1.cpu", "srv.2.cpu",
                                      "srv.3.cpu", "srv.4.cpu"}));
  notifier.Stop();
}

TEST(NotifyGateTest, AGroupedChannelPassesTheSameGate) {
  testing::HttpReceiver receiver;
  auto store = Store::Open(testing::FreshDir("gate-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  FakeGate gate;
  gate.active = true;
  Notifier notifier(
      store->get(),
      Channels(receiver.port(), "group_by = []\ngroup_wait_s = 10\n"), &clock);
  notifier.SetGate(&gate);
  notifier.Start();
  ASSERT_TRUE((*store)
                  ->Enqueue({Record("hook", "srv.a.cpu", kStart),
                             Record("hook", "srv.b.cpu", kStart)})
                  .ok());
  notifier.Wake();
  usleep(300000);  // read into the group, which waits 10 s
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);
  // Standby before the group was due: nothing goes out when it would be.
  gate.active = false;
  notifier.Wake();
  usleep(300000);
  clock.Advance(11000);
  notifier.Wake();
  usleep(500000);
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);
  EXPECT_EQ((*store)->OutboxPending(), 2u);
  // Active again: the held records are grouped anew, one message for both.
  gate.active = true;
  notifier.Wake();
  usleep(300000);
  EXPECT_EQ(PathCount(receiver, "/hook"), 0u);  // a new group waits again
  clock.Advance(11000);
  notifier.Wake();
  ASSERT_TRUE(
      testing::WaitFor([&] { return PathCount(receiver, "/hook") == 1; }));
  EXPECT_EQ(HookSeries(receiver),
            (std::vector<std::string>{"srv.a.cpu", "srv.b.cpu"}));
  ASSERT_TRUE(testing::WaitFor([&] { return (*store)->OutboxPending() == 0; }));
  notifier.Stop();
}

TEST(NotifyGateTest, WithoutAGateEveryChannelSends) {
  testing::HttpReceiver receiver;
  auto store = Store::Open(testing::FreshDir("gate-test"));
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kStart);
  ASSERT_TRUE((*store)->Enqueue({Record("hook", "srv.a.cpu", kStart)}).ok());
  Notifier notifier(store->get(), Channels(receiver.port(), ""), &clock);
  notifier.Start();
  ASSERT_TRUE(
      testing::WaitFor([&] { return PathCount(receiver, "/hook") == 1; }));
  notifier.Stop();
}

}  // namespace
}  // namespace gralarm
