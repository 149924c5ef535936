// [cluster] point copies through a whole Server: client points are forwarded
// and copied to every peer; the peers' copies are evaluated only.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "gralarm/net_address.h"
#include "gralarm/server.h"
#include "gralarm/strings.h"
#include "testing/test_sink.h"

namespace gralarm {
namespace {

using testing::TestSink;
using testing::UnusedPort;
using testing::WaitUntil;

std::string FreshStorePath() {
  static std::atomic<int> n{0};
  return StrCat(::testing::TempDir(), "/gralarm-server-peer-test-", getpid(),
                "-", n++);
}

// One worker loop; rule "hot": p.* or c.* warns above 10.
std::shared_ptr<const Config> PairConfig(
    const std::string& carbon, const std::vector<std::string>& peers) {
  const std::string store = FreshStorePath();
  const std::string rules = StrCat(store, ".rules.toml");
  std::ofstream(rules) << "[[rules]]\nid = \"hot\"\npattern = \"{p,c}.*\"\n"
                          "thresholds = { warning = 10 }\n";
  std::string toml = StrCat(
      "[ingest]\nlisten = \"127.0.0.1:0\"\nworkers = 1\n"
      "[api]\nlisten = \"127.0.0.1:0\"\n"
      "[self_metrics]\ncarbon_interval_s = 0\n"
      "[store]\npath = \"",
      store, "\"\n[rules]\nfiles = [\"", rules,
      "\"]\n[cluster]\nnode_id = \"a\"\nlisten = \"127.0.0.1:0\"\npeers = [");
  std::string apis;
  for (size_t i = 0; i < peers.size(); ++i) {
    toml += StrCat(i ? ", " : "", "\"", peers[i], "\"");
    apis += StrCat(i ? ", " : "", "\"http://127.0.0.1:", 1 + i, "\"");
  }
  toml += StrCat("]\npeer_apis = [", apis,
                 "]\n[forward]\nreconnect_min_ms = 10\nreconnect_max_ms = 50\n"
                 "[[forward.destinations]]\naddress = \"",
                 carbon, "\"\n");
  auto c = ParseConfig(toml, "test.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

uint16_t PortOf(const std::string& address) {
  return ParseHostPort(address)->port;
}

void SendTcp(uint16_t port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  close(fd);
}

TEST(ServerPeer, ClientPointsGoToCarbonAndEveryPeerPeerCopiesAreOnlyEvaluated) {
  TestSink carbon, peer1, peer2;
  Server server(
      PairConfig(carbon.address(), {peer1.address(), peer2.address()}));
  ASSERT_TRUE(server.Start().ok());
  ASSERT_FALSE(server.cluster_address().empty());
  const std::vector<std::string> client = {"c.x 1 1700000000",
                                           "c.y 2 1700000001"};
  SendTcp(PortOf(server.ingest_address()),
          "c.x 1 1700000000\nc.y\t2 1700000001\n");
  for (TestSink* s : {&carbon, &peer1, &peer2}) {
    ASSERT_TRUE(s->WaitFor([](TestSink* t) { return t->Lines().size() >= 2; }));
    EXPECT_EQ(s->Lines(), client);
  }
  // A peer's copy: evaluated (it raises the alert) but neither forwarded nor
  // copied again.
  SendTcp(PortOf(server.cluster_address()), "p.z 99 1700000002\n");
  ASSERT_TRUE(
      WaitUntil([&] { return server.Snapshot().alerts_active[1] == 1; }));
  // A client point after it, as a barrier: it arrives behind anything the
  // peer's copy could have been queued as.
  SendTcp(PortOf(server.ingest_address()), "c.w 3 1700000003\n");
  for (TestSink* s : {&carbon, &peer1, &peer2}) {
    ASSERT_TRUE(s->WaitFor([](TestSink* t) { return t->Lines().size() >= 3; }));
    EXPECT_EQ(s->Lines(), (std::vector<std::string>{client[0], client[1],
                                                    "c.w 3 1700000003"}));
  }
  WaitUntil([&] {
    const StatsSnapshot s = server.Snapshot();
    return s.peers.size() == 2 && s.peers[0].points_forwarded == 3 &&
           s.peers[1].points_forwarded == 3;
  });
  const StatsSnapshot s = server.Snapshot();
  EXPECT_EQ(s.peer_points_received, 1u);
  EXPECT_EQ(s.TotalReceived(), 3u);
  EXPECT_EQ(s.TotalForwarded(), 3u);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].name, peer1.address());
  EXPECT_EQ(s.peers[0].points_forwarded, 3u);
  EXPECT_EQ(s.peers[1].points_forwarded, 3u);
  const std::string text = RenderPrometheus(s, "test");
  EXPECT_NE(
      text.find(StrCat("gralarm_peer_up{peer=\"", peer1.address(), "\"} 1\n")),
      std::string::npos);
  EXPECT_NE(text.find("\ngralarm_peer_points_received_total 1\n"),
            std::string::npos);
  server.Stop(std::chrono::seconds(5));
}

TEST(ServerPeer, ADownPeersCopiesWaitInItsOwnSpoolAndArriveInOrder) {
  TestSink carbon;
  const uint16_t peer_port = UnusedPort();
  const std::string peer = StrCat("127.0.0.1:", peer_port);
  auto config = PairConfig(carbon.address(), {peer});
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::string> sent;
  for (int batch = 0; batch < 5; ++batch) {
    std::string lines;
    for (int i = 0; i < 20; ++i) {
      const int n = batch * 20 + i;
      sent.push_back(StrCat("c.s", n % 7, " ", n, " ", 1700000000 + n));
      lines += sent.back() + "\n";
    }
    SendTcp(PortOf(server.ingest_address()), lines);
    ASSERT_TRUE(carbon.WaitFor(
        [&](TestSink* t) { return t->Lines().size() == sent.size(); }));
  }
  // Carbon was not held back by the down peer; the copies are on disk.
  ASSERT_TRUE(WaitUntil([&] {
    const StatsSnapshot s = server.Snapshot();
    return s.peers.size() == 1 && s.peers[0].spool_bytes > 0 && !s.peers[0].up;
  }));
  EXPECT_TRUE(std::filesystem::exists(
      StrCat(config->store.path, "/spool/peers/127.0.0.1_", peer_port)));
  TestSink back(peer_port);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back.WaitFor(
      [&](TestSink* t) { return t->Lines().size() >= sent.size(); },
      std::chrono::seconds(20)));
  EXPECT_EQ(back.Lines(), sent);
  EXPECT_TRUE(WaitUntil([&] {
    const StatsSnapshot s = server.Snapshot();
    return s.peers[0].spool_bytes == 0 && s.peers[0].up &&
           s.peers[0].points_forwarded == sent.size();
  }));
  server.Stop(std::chrono::seconds(5));
}

TEST(ServerPeer, StopDoesNotWaitForADownPeerItsCopiesStayInTheSpool) {
  TestSink carbon;
  const uint16_t peer_port = UnusedPort();
  auto config = PairConfig(carbon.address(), {StrCat("127.0.0.1:", peer_port)});
  {
    Server server(config);
    ASSERT_TRUE(server.Start().ok());
    SendTcp(PortOf(server.ingest_address()), "c.a 1 1700000000\n");
    ASSERT_TRUE(
        carbon.WaitFor([](TestSink* t) { return t->Lines().size() == 1; }));
    const auto t0 = std::chrono::steady_clock::now();
    server.Stop(std::chrono::seconds(5));
    // The carbon destination is up and confirms at once; the down peer is not
    // waited for.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  }
  // The next start delivers the copy kept in the spool.
  TestSink back(peer_port);
  ASSERT_TRUE(back.ok());
  Server again(config);
  ASSERT_TRUE(again.Start().ok());
  ASSERT_TRUE(back.WaitFor([](TestSink* t) { return t->Lines().size() == 1; }));
  EXPECT_EQ(back.Lines(), std::vector<std::string>{"c.a 1 1700000000"});
  again.Stop(std::chrono::seconds(5));
}

}  // namespace
}  // namespace gralarm
