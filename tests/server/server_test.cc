#include "gralarm/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>

#include "gralarm/net_address.h"
#include "gralarm/strings.h"
#include "testing/test_sink.h"

namespace gralarm {
namespace {

using testing::TestSink;
using testing::WaitUntil;

// `ingest` and `forward` are extra keys for those sections.
// A store directory of its own for every server a test starts.
std::string FreshStorePath() {
  static std::atomic<int> n{0};
  return StrCat(::testing::TempDir(), "/gralarm-server-test-", getpid(), "-",
                n++);
}

std::shared_ptr<const Config> ConfigFor(
    const std::vector<std::string>& destinations, std::string ingest = "",
    std::string forward = "", std::string more = "") {
  std::string toml =
      std::string("[ingest]\nlisten = \"127.0.0.1:0\"\n") +
      (ingest.find("workers") == std::string::npos ? "workers = 2\n" : "") +
      ingest +
      "[api]\nlisten = \"127.0.0.1:0\"\n[self_metrics]\ncarbon_interval_s = 0\n"
      "[store]\npath = \"" +
      FreshStorePath() + "\"\n" + more +
      "[forward]\nreconnect_min_ms = 10\nreconnect_max_ms = 50\n" + forward;
  for (const auto& d : destinations) {
    toml += "[[forward.destinations]]\naddress = \"" + d + "\"\n";
  }
  auto c = ParseConfig(toml, "test.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

uint16_t PortOf(const std::string& address) {
  return ParseHostPort(address)->port;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SendTcp(uint16_t port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = Loopback(port);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    ASSERT_GT(n, 0);
    off += static_cast<size_t>(n);
  }
  close(fd);
}

void SendUdp(uint16_t port, const std::string& datagram) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = Loopback(port);
  sendto(fd, datagram.data(), datagram.size(), 0,
         reinterpret_cast<sockaddr*>(&a), sizeof(a));
  close(fd);
}

TEST(Server, ForwardsValidTcpAndUdpLinesAndCountsInvalidOnes) {
  TestSink sink;
  Server server(ConfigFor({sink.address()}));
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = PortOf(server.ingest_address());
  SendTcp(port,
          "a.b 1 1700000000\nnot a line at all\nc.d\t2 1700000001\r\nx..y 1 "
          "1700000000\n");
  SendUdp(port, "u.a 3 1700000002\nu.b nan 1700000003\nu.c 4 1700000004");
  ASSERT_TRUE(sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 4; }));
  server.Stop(std::chrono::seconds(5));
  std::vector<std::string> lines = sink.Lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines,
            (std::vector<std::string>{"a.b 1 1700000000", "c.d 2 1700000001",
                                      "u.a 3 1700000002", "u.c 4 1700000004"}));
  StatsSnapshot s = server.Snapshot();
  EXPECT_EQ(s.points_received[static_cast<int>(Proto::kTcp)], 2u);
  EXPECT_EQ(s.points_received[static_cast<int>(Proto::kUdp)], 2u);
  EXPECT_EQ(s.lines_invalid[InvalidReasonIndex(LineVerdict::kFields)], 1u);
  EXPECT_EQ(s.lines_invalid[InvalidReasonIndex(LineVerdict::kPath)], 1u);
  EXPECT_EQ(s.lines_invalid[InvalidReasonIndex(LineVerdict::kNan)], 1u);
  EXPECT_EQ(s.TotalForwarded(), 4u);
}

TEST(Server, AStoredRuleThatNoLongerResolvesIsCountedAndDoesNotStopIt) {
  TestSink sink;
  auto config = ConfigFor({sink.address()});
  {
    auto store = Store::Open(config->store.path);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->PutRuleJson("paged", R"({"id": "paged", "pattern": "a.*",
        "channels": ["gone"], "thresholds": {"warning": 1}})")
                    .ok());
    ASSERT_TRUE((*store)
                    ->PutRuleJson("fine", R"({"id": "fine", "pattern": "a.*",
        "thresholds": {"warning": 1}})")
                    .ok());
  }
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  SendTcp(PortOf(server.ingest_address()), "a.b 5 1700000000\n");
  ASSERT_TRUE(sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 1; }));
  StatsSnapshot s = server.Snapshot();
  EXPECT_EQ(s.rules, 1u);
  EXPECT_EQ(s.rules_invalid, 1u);
  const std::string text = RenderPrometheus(s, "test");
  EXPECT_NE(text.find("\ngralarm_rules_invalid 1\n"), std::string::npos);
  EXPECT_EQ(server.engine()->ActiveAlerts().size(), 1u);  // rule "fine"
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, InvalidLinesNeverCloseTheConnection) {
  TestSink sink;
  Server server(ConfigFor({sink.address()}, "max_line_bytes = 100\n"));
  ASSERT_TRUE(server.Start().ok());
  std::string stream;
  for (int i = 0; i < 1000; ++i) {
    stream += StrCat("ok.", i, " ", i, " 1700000000\n");
    stream += (i % 2 == 0) ? std::string(300, 'z') + "\n" : "bad\n";
  }
  SendTcp(PortOf(server.ingest_address()), stream);
  ASSERT_TRUE(
      sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 1000; }));
  server.Stop(std::chrono::seconds(5));
  StatsSnapshot s = server.Snapshot();
  EXPECT_EQ(s.TotalReceived(), 1000u);
  EXPECT_EQ(s.lines_invalid[InvalidReasonIndex(LineVerdict::kTooLong)], 500u);
  EXPECT_EQ(s.lines_invalid[InvalidReasonIndex(LineVerdict::kFields)], 500u);
}

TEST(Server, ADeadDestinationDoesNotHoldBackALiveOne) {
  TestSink live;
  const std::string dead = StrCat("127.0.0.1:", testing::UnusedPort());
  Server server(ConfigFor({dead, live.address()}, "",
                          "queue_points = 1000\nspool_max_bytes = 0\n"));
  ASSERT_TRUE(server.Start().ok());
  // Batches the live destination can keep up with; the dead one's queue
  // overflows.
  for (int b = 0; b < 5; ++b) {
    std::string batch;
    for (int i = 0; i < 1000; ++i)
      batch += StrCat("both.", b * 1000 + i, " 1 1700000000\n");
    SendTcp(PortOf(server.ingest_address()), batch);
    ASSERT_TRUE(live.WaitFor(
        [&](TestSink* s) { return s->Lines().size() == (b + 1) * 1000u; }));
  }
  StatsSnapshot s = server.Snapshot();
  ASSERT_EQ(s.destinations.size(), 2u);
  EXPECT_FALSE(s.destinations[0].up);
  EXPECT_EQ(s.destinations[0].queue_points, 1000);
  EXPECT_EQ(s.destinations[0]
                .points_dropped[static_cast<int>(DropReason::kQueueFull)],
            4000u);
  // Forwarded means confirmed: acknowledged, and the connection stayed up.
  EXPECT_TRUE(WaitUntil([&] {
    return server.Snapshot().destinations[1].points_forwarded == 5000u;
  }));
  server.Stop(std::chrono::milliseconds(200));
}

TEST(Server, ADeadDestinationsPointsWaitInItsSpoolAndArriveAfterARestart) {
  TestSink live;
  const uint16_t dead_port = testing::UnusedPort();
  const std::string dead = StrCat("127.0.0.1:", dead_port);
  auto config = ConfigFor({dead, live.address()}, "", "queue_points = 1000\n");
  std::string expected;
  {
    Server server(config);
    ASSERT_TRUE(server.Start().ok());
    for (int b = 0; b < 5; ++b) {
      std::string batch;
      for (int i = 0; i < 1000; ++i)
        batch += StrCat("both.", b * 1000 + i, " 1 1700000000\n");
      expected += batch;
      SendTcp(PortOf(server.ingest_address()), batch);
      ASSERT_TRUE(live.WaitFor(
          [&](TestSink* s) { return s->Lines().size() == (b + 1) * 1000u; }));
    }
    StatsSnapshot s = server.Snapshot();
    EXPECT_FALSE(s.destinations[0].up);
    EXPECT_EQ(s.destinations[0].queue_points, 0);
    EXPECT_GT(s.destinations[0].spool_bytes, 5000 * 20);
    for (uint64_t d : s.destinations[0].points_dropped) EXPECT_EQ(d, 0u);
    server.Stop(std::chrono::milliseconds(200));
  }
  // The next start finds the spool and, once the destination is up, sends it
  // all, in order.
  TestSink revived(dead_port);
  ASSERT_TRUE(revived.ok());
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(
      revived.WaitFor([](TestSink* s) { return s->Lines().size() >= 5000; }));
  EXPECT_EQ(revived.Data(), expected);
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return server.Snapshot().destinations[0].spool_bytes == 0; }));
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, ASeriesNoRuleMatchedIsEvaluatedOnceAReloadAddsOne) {
  TestSink sink;
  const std::string rules = StrCat(FreshStorePath(), ".rules.toml");
  auto write_rules = [&](const std::string& pattern) {
    std::ofstream(rules) << "[[rules]]\nid = \"r\"\npattern = \"" << pattern
                         << "\"\nthresholds = { warning = 10 }\n";
  };
  write_rules("other.*");
  const std::string files = "[rules]\nfiles = [\"" + rules + "\"]\n";
  // One loop: the unmatched-series cache to be invalidated is that loop's.
  auto config = ConfigFor({sink.address()}, "workers = 1\n", "", files);
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = PortOf(server.ingest_address());
  SendTcp(port, "fresh.series 99 1700000000\n");
  ASSERT_TRUE(sink.WaitFor([](TestSink* s) { return s->Lines().size() == 1; }));
  EXPECT_EQ(server.Snapshot().series_tracked, 0u);
  write_rules("fresh.*");
  server.Reload(config);
  SendTcp(port, "fresh.series 99 1700000010\n");
  ASSERT_TRUE(
      WaitUntil([&] { return server.Snapshot().alerts_active[1] == 1; }));
  EXPECT_EQ(server.Snapshot().series_tracked, 1u);
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, AReloadWhoseForwarderCannotBeBuiltChangesNothing) {
  TestSink sink;
  const std::string base = FreshStorePath();
  const std::string old_rules = StrCat(base, ".old.rules.toml");
  const std::string new_rules = StrCat(base, ".new.rules.toml");
  std::ofstream(old_rules) << "[[rules]]\nid = \"old\"\npattern = \"a.*\"\n"
                              "thresholds = { warning = 10 }\n";
  std::ofstream(new_rules) << "[[rules]]\nid = \"new\"\npattern = \"a.*\"\n"
                              "thresholds = { warning = 10 }\n";
  auto config = ConfigFor({sink.address()}, "", "",
                          StrCat("[rules]\nfiles = [\"", old_rules, "\"]\n"));
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  // The new config's spool directory lies under a regular file: its
  // forwarder cannot be built. Its rules load fine.
  const std::string file = StrCat(base, ".not-a-dir");
  std::ofstream(file) << "x";
  auto next = ConfigFor({sink.address()}, "",
                        StrCat("spool_dir = \"", file, "/spool\"\n"),
                        StrCat("[rules]\nfiles = [\"", new_rules, "\"]\n"));
  server.Reload(next);
  EXPECT_EQ(server.config(), config);
  const auto rules = server.engine()->rules();
  EXPECT_NE(rules->Find("old"), nullptr);
  EXPECT_EQ(rules->Find("new"), nullptr);
  // The running forwarder and rules go on as before.
  SendTcp(PortOf(server.ingest_address()), "a.b 50 1700000000\n");
  ASSERT_TRUE(sink.WaitFor([](TestSink* s) { return s->Lines().size() == 1; }));
  const auto active = server.engine()->ActiveAlerts();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].rule_id, "old");
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, StopReadsWhatClientsAlreadySentAndDeliversIt) {
  TestSink sink;
  Server server(ConfigFor({sink.address()}));
  ASSERT_TRUE(server.Start().ok());
  std::string stream;
  for (int i = 0; i < 20000; ++i) stream += StrCat("s.", i, " 1 1700000000\n");
  SendTcp(PortOf(server.ingest_address()), stream);
  server.Stop(std::chrono::seconds(5));
  EXPECT_EQ(sink.Lines().size(), 20000u);
  EXPECT_EQ(server.Snapshot().TotalForwarded(), 20000u);
}

TEST(Server, ReloadSwitchesDestinationsWithoutLosingPoints) {
  TestSink first, second;
  Server server(ConfigFor({first.address()}));
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = PortOf(server.ingest_address());
  SendTcp(port, "before 1 1700000000\n");
  ASSERT_TRUE(
      first.WaitFor([](TestSink* s) { return s->Lines().size() == 1; }));
  auto next = ConfigFor({second.address()});
  server.Reload(next);
  SendTcp(port, "after 2 1700000000\n");
  ASSERT_TRUE(
      second.WaitFor([](TestSink* s) { return s->Lines().size() == 1; }));
  EXPECT_EQ(second.Lines()[0], "after 2 1700000000");
  EXPECT_EQ(first.Lines().size(), 1u);
  // The retired destination's count is kept.
  EXPECT_TRUE(
      WaitUntil([&] { return server.Snapshot().TotalForwarded() == 2u; }));
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, SecondInstanceOnTheSamePortIsRefused) {
  TestSink sink;
  Server a(ConfigFor({sink.address()}));
  ASSERT_TRUE(a.Start().ok());
  auto cfg = ParseConfig(
      StrCat("[ingest]\nlisten = \"", a.ingest_address(),
             "\"\n[api]\nlisten = \"127.0.0.1:0\"\n[store]\npath = \"",
             FreshStorePath(),
             "\"\n"
             "[[forward.destinations]]\naddress = \"",
             sink.address(), "\"\n"),
      "t.toml");
  ASSERT_TRUE(cfg.ok());
  Server b(*cfg);
  absl::Status s = b.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("cannot listen on"),
            std::string::npos)
      << s;
  a.Stop(std::chrono::seconds(1));
}

TEST(Server, MaxConnectionsRefusesTheExtraOnesAndKeepsServing) {
  TestSink sink;
  Server server(ConfigFor({sink.address()}, "max_connections = 2\n"));
  ASSERT_TRUE(server.Start().ok());
  const uint16_t port = PortOf(server.ingest_address());
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = Loopback(port);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    held.push_back(fd);
  }
  EXPECT_TRUE(
      WaitUntil([&] { return server.Snapshot().connections_refused == 2; }));
  for (int fd : held) close(fd);
  EXPECT_TRUE(WaitUntil([&] { return server.Snapshot().connections[0] == 0; }));
  SendTcp(port, "still.serving 1 1700000000\n");
  EXPECT_TRUE(sink.WaitFor([](TestSink* s) { return s->Lines().size() == 1; }));
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, AnyOfFailsOverAlikeForIngestTheApiAndSelfMetrics) {
  TestSink live;
  const std::string dead = StrCat("127.0.0.1:", testing::UnusedPort());
  auto config = ParseConfig(
      StrCat("[ingest]\nlisten = \"127.0.0.1:0\"\nworkers = 2\n"
             "[api]\nlisten = \"127.0.0.1:0\"\n"
             "[self_metrics]\ncarbon_interval_s = 1\n"
             "carbon_prefix = \"selftest\"\n"
             "[store]\npath = \"",
             FreshStorePath(),
             "\"\n[forward]\nmethod = \"any_of\"\nreconnect_min_ms = 10\n"
             "reconnect_max_ms = 50\nspool_max_bytes = 0\n"
             "[[forward.destinations]]\naddress = \"",
             dead, "\"\n[[forward.destinations]]\naddress = \"", live.address(),
             "\"\n"),
      "test.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  // Names of ingest and of self-metrics, some of which hash to the dead
  // destination.
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) names.push_back(StrCat("m.", i));
  std::set<std::string> self_names;
  const std::string self_lines =
      CarbonSelfMetrics("selftest").Lines(StatsSnapshot(), 0);
  for (size_t at = 0; at < self_lines.size();) {
    const size_t end = self_lines.find('\n', at);
    self_names.insert(self_lines.substr(at, self_lines.find(' ', at) - at));
    at = end + 1;
  }
  auto router = Router::Create((*config)->forward);
  ASSERT_TRUE(router.ok());
  auto to_dead = [&](const auto& list) {
    int n = 0;
    for (const std::string& name : list) {
      int out[kMaxFanout];
      (*router)->Route(name, out);
      n += out[0] == 0;
    }
    return n;
  };
  ASSERT_GT(to_dead(names), 0);
  ASSERT_GT(to_dead(self_names), 0);

  Server server(*config);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return server.Snapshot().destinations[1].up; }));
  // The API's match.
  for (const std::string& name : names) {
    EXPECT_EQ(server.Route(name), std::vector<std::string>{live.address()})
        << name;
  }
  // Ingest.
  std::string batch;
  for (const std::string& name : names) batch += name + " 1 1700000000\n";
  SendTcp(PortOf(server.ingest_address()), batch);
  // Self-metrics: every name of a tick reaches the live destination.
  auto received = [&] {
    std::set<std::string> got;
    for (const std::string& line : live.Lines())
      got.insert(line.substr(0, line.find(' ')));
    return got;
  };
  EXPECT_TRUE(WaitUntil([&] {
    const std::set<std::string> got = received();
    for (const auto& list :
         {std::set<std::string>(names.begin(), names.end()), self_names}) {
      for (const std::string& name : list)
        if (!got.contains(name)) return false;
    }
    return true;
  }));
  server.Stop(std::chrono::seconds(5));
}

TEST(Server, NamesAnIpv6DestinationAlikeInMetricsTheApiAndMatch) {
  const uint16_t port = testing::UnusedPort();
  const std::string name = StrCat("[::1]:", port);
  auto config = ConfigFor({name});
  Server server(config);
  ASSERT_TRUE(server.Start().ok());
  const StatsSnapshot s = server.Snapshot();
  ASSERT_EQ(s.destinations.size(), 1u);
  EXPECT_EQ(s.destinations[0].name, name);
  EXPECT_EQ(server.Route("a.b"), std::vector<std::string>{name});
  EXPECT_EQ(DestinationName(config->forward.destinations[0]), name);
  EXPECT_NE(RenderPrometheus(s, "test").find(StrCat("\"", name, "\"")),
            std::string::npos);
  server.Stop(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace gralarm
