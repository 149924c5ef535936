#include <gtest/gtest.h>

#include <atomic>

#include "gralarm/cluster_health.h"
#include "testing/http_get_server.h"

namespace gralarm {
namespace {

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

ClusterOptions Options(std::string node_id, std::vector<std::string> apis) {
  ClusterOptions o;
  o.node_id = std::move(node_id);
  o.peers.assign(apis.size(), "127.0.0.1:1");
  o.peer_apis = std::move(apis);
  o.failover_s = 10;
  o.timeout_ms = 1000;
  return o;
}

// A peer's API: answers /healthz as node `id` while `up`, 503 otherwise.
struct FakePeer {
  explicit FakePeer(std::string id)
      : id(std::move(id)), server([this](const std::string& target) {
          testing::GetReply r;
          if (target != "/healthz" || !up.load()) {
            r.status = 503;
            return r;
          }
          r.body = R"({"status":"ok","node_id":")" + this->id + R"("})";
          return r;
        }) {}
  const std::string id;
  std::atomic<bool> up{true};
  testing::GetServer server;
};

TEST(PeerHealthMonitorTest, LearnsThePeersNodeIdAndTakesItsRole) {
  FakePeer a("a");
  FakeClock clock(kT0);
  PeerHealthMonitor b(Options("b", {a.server.url() + "/"}), &clock);
  EXPECT_FALSE(b.Active());  // a may be lower: it has not answered yet
  b.PollOnce();
  EXPECT_FALSE(b.Active());
  ASSERT_EQ(b.Peers().size(), 1u);
  EXPECT_EQ(b.Peers()[0].node_id, "a");
  EXPECT_TRUE(b.Peers()[0].up);
  ASSERT_FALSE(a.server.Heads().empty());
  EXPECT_EQ(a.server.Heads()[0].substr(0, 13), "GET /healthz ");

  FakePeer c("c");
  PeerHealthMonitor a_node(Options("a", {c.server.url()}), &clock);
  a_node.PollOnce();
  EXPECT_TRUE(a_node.Active());
}

TEST(PeerHealthMonitorTest, TheStandbyTakesOverAfterFailoverAndHandsBack) {
  FakePeer a("a");
  FakeClock clock(kT0);
  PeerHealthMonitor b(Options("b", {a.server.url()}), &clock);
  b.PollOnce();
  ASSERT_FALSE(b.Active());
  a.up = false;
  clock.Advance(1000);
  b.PollOnce();
  EXPECT_FALSE(b.Peers()[0].up);
  EXPECT_FALSE(b.Active());
  clock.Advance(9999);
  b.PollOnce();
  EXPECT_FALSE(b.Active());
  clock.Advance(1);
  b.PollOnce();
  EXPECT_TRUE(b.Active());
  a.up = true;
  clock.Advance(1000);
  b.PollOnce();
  EXPECT_FALSE(b.Active());
}

TEST(PeerHealthMonitorTest, ANodeWithoutNodeIdCountsAsUnreachable) {
  testing::GetServer plain([](const std::string&) {
    testing::GetReply r;
    r.body = R"({"status":"ok"})";
    return r;
  });
  FakeClock clock(kT0);
  PeerHealthMonitor b(Options("b", {plain.url()}), &clock);
  b.PollOnce();
  EXPECT_FALSE(b.Peers()[0].up);
  EXPECT_FALSE(b.Active());
  clock.Advance(10000);
  b.PollOnce();
  EXPECT_TRUE(b.Active());
}

TEST(PeerHealthMonitorTest, ThePollThreadDecidesOnItsOwn) {
  FakePeer c("c");
  RealClock clock;
  PeerHealthMonitor a(Options("a", {c.server.url()}), &clock);
  EXPECT_FALSE(a.Active());
  a.Start();
  for (int i = 0; i < 500 && !a.Active(); ++i) usleep(10000);
  EXPECT_TRUE(a.Active());
  a.Stop();
}

}  // namespace
}  // namespace gralarm
