#include "gralarm/forwarder.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "gralarm/strings.h"
#include "testing/test_sink.h"

namespace gralarm {
namespace {

using testing::TestSink;
using testing::UnusedPort;
using testing::WaitUntil;

Config OneDestination(uint16_t port, int64_t queue_points = 1000000) {
  Config c;
  DestinationOptions d;
  d.host = "127.0.0.1";
  d.port = port;
  d.address = StrCat("127.0.0.1:", port);
  c.forward.destinations.push_back(d);
  c.forward.queue_points = queue_points;
  c.forward.reconnect_min_ms = 10;
  c.forward.reconnect_max_ms = 50;
  c.forward.spool_max_bytes = 0;  // memory queue only; see the spool tests
  return c;
}

// Lines "m.<i> <i> 1700000000\n" for i in [from, to), as one chunk.
std::string Lines(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += StrCat("m.", i, " ", i, " 1700000000\n");
  return s;
}

TEST(Forwarder, DeliversEveryLineInOrder) {
  TestSink sink;
  ASSERT_TRUE(sink.ok());
  auto f = Forwarder::Create(OneDestination(sink.port()));
  ASSERT_TRUE(f.ok()) << f.status();
  (*f)->Start();
  for (int i = 0; i < 100; ++i) {
    (*f)->Send(0, Lines(i * 100, i * 100 + 100), 100);
    (*f)->Wake();
  }
  ASSERT_TRUE(
      sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 10000; }));
  EXPECT_EQ(sink.Data(), Lines(0, 10000));
  (*f)->Drain(std::chrono::seconds(5));
  EXPECT_EQ((*f)->destination(0).counters().points_forwarded.load(), 10000u);
}

TEST(Forwarder, ALineTheDestinationClosesOnIsDroppedAndDeliveryGoesOn) {
  TestSink sink(0, 0, /*close_on=*/"poison");
  ASSERT_TRUE(sink.ok());
  auto f = Forwarder::Create(OneDestination(sink.port()));
  ASSERT_TRUE(f.ok()) << f.status();
  (*f)->Start();
  for (int i = 0; i < 100; ++i) {
    std::string chunk = Lines(i * 100, i * 100 + 100);
    if (i == 37) chunk.insert(chunk.size() / 2, "poison.\xff 1 1700000000\n");
    (*f)->Send(0, std::move(chunk), i == 37 ? 101 : 100);
    (*f)->Wake();
  }
  Destination& d = (*f)->destination(0);
  ASSERT_TRUE(WaitUntil([&] {
    return d.counters().points_forwarded.load() == 10000u &&
           d.counters()
                   .points_dropped[static_cast<int>(DropReason::kRejected)]
                   .load() == 1u;
  }));
  // Every good line arrived (some twice, as replays), the bad one never did.
  std::set<std::string> lines;
  for (const std::string& l : sink.Lines()) lines.insert(l);
  EXPECT_EQ(lines.size(), 10000u);
  EXPECT_EQ(lines.count("m.5000 5000 1700000000"), 1u);
  // Found by halving: a few dozen connections, not a reconnect loop.
  EXPECT_LT(sink.Connections(), 40u);
  (*f)->Send(0, Lines(10000, 10001), 1);
  (*f)->Wake();
  ASSERT_TRUE(WaitUntil(
      [&] { return d.counters().points_forwarded.load() == 10001u; }));
  (*f)->Drain(std::chrono::seconds(5));
}

TEST(Forwarder, FullQueueDropsTheOldestPointsAndCountsThem) {
  const uint16_t port = UnusedPort();
  auto f = Forwarder::Create(OneDestination(port, /*queue_points=*/250));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  for (int i = 0; i < 10; ++i)
    (*f)->Send(0, Lines(i * 100, i * 100 + 100), 100);
  DestinationCounters& c = (*f)->destination(0).counters();
  EXPECT_EQ(c.points_dropped[static_cast<int>(DropReason::kQueueFull)].load(),
            800u);
  EXPECT_EQ(c.queue_points.load(), 200);
  // The newest points are the ones kept: bring the destination up and see them.
  TestSink sink(port);
  ASSERT_TRUE(sink.ok());
  (*f)->Wake();
  ASSERT_TRUE(
      sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 200; }));
  EXPECT_EQ(sink.Data(), Lines(800, 1000));
  (*f)->Drain(std::chrono::seconds(5));
}

TEST(Forwarder, OneChunkOverTheBoundLosesItsOldestLinesOnly) {
  const uint16_t port = UnusedPort();
  auto f = Forwarder::Create(OneDestination(port, /*queue_points=*/250));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  (*f)->Send(0, Lines(0, 300), 300);
  DestinationCounters& c = (*f)->destination(0).counters();
  EXPECT_EQ(c.points_dropped[static_cast<int>(DropReason::kQueueFull)].load(),
            50u);
  EXPECT_EQ(c.queue_points.load(), 250);
  TestSink sink(port);
  ASSERT_TRUE(sink.ok());
  (*f)->Wake();
  ASSERT_TRUE(
      sink.WaitFor([](TestSink* s) { return s->Lines().size() >= 250; }));
  EXPECT_EQ(sink.Data(), Lines(50, 300));
  (*f)->Drain(std::chrono::seconds(5));
}

TEST(Forwarder, ResendsWhatABrokenConnectionMayHaveLost) {
  // The first connection is aborted after 50 kB: whatever the sink had not read
  // is gone, so gralarm must send the recent bytes again on the next
  // connection.
  TestSink sink(0, /*reset_after_bytes=*/50000);
  ASSERT_TRUE(sink.ok());
  auto f = Forwarder::Create(OneDestination(sink.port()));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  for (int i = 0; i < 200; ++i) {
    (*f)->Send(0, Lines(i * 100, i * 100 + 100), 100);
    (*f)->Wake();
  }
  std::set<std::string> want;
  for (int i = 0; i < 20000; ++i)
    want.insert(StrCat("m.", i, " ", i, " 1700000000"));
  ASSERT_TRUE(sink.WaitFor([&](TestSink* s) {
    auto lines = s->Lines();
    std::set<std::string> got(lines.begin(), lines.end());
    return s->Connections() >= 2 && got.size() >= want.size();
  })) << "connections: "
      << sink.Connections();
  auto lines = sink.Lines();
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()), want);
  (*f)->Drain(std::chrono::seconds(5));
  // Replayed points are not counted twice.
  EXPECT_EQ((*f)->destination(0).counters().points_forwarded.load(), 20000u);
}

TEST(Forwarder, DrainDeliversQueuedPointsOnceTheDestinationComesUp) {
  const uint16_t port = UnusedPort();
  auto f = Forwarder::Create(OneDestination(port));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  (*f)->Send(0, Lines(0, 500), 500);
  (*f)->Wake();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  TestSink sink(port);
  ASSERT_TRUE(sink.ok());
  (*f)->Drain(std::chrono::seconds(10));
  EXPECT_EQ(sink.Data(), Lines(0, 500));
  EXPECT_EQ((*f)->destination(0).counters().points_dropped[1].load(), 0u);
}

TEST(Forwarder, DrainTimeoutCountsWhatIsLeftAsDropped) {
  auto f = Forwarder::Create(OneDestination(UnusedPort()));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  (*f)->Send(0, Lines(0, 300), 300);
  (*f)->Drain(std::chrono::milliseconds(200));
  DestinationCounters& c = (*f)->destination(0).counters();
  EXPECT_EQ(c.points_dropped[static_cast<int>(DropReason::kShutdown)].load(),
            300u);
  EXPECT_EQ(c.queue_points.load(), 0);
}

TEST(Forwarder, ReconnectsAfterTheDestinationRestarts) {
  const uint16_t port = UnusedPort();
  auto f = Forwarder::Create(OneDestination(port));
  ASSERT_TRUE(f.ok());
  (*f)->Start();
  {
    TestSink first(port);
    ASSERT_TRUE(first.ok());
    (*f)->Send(0, Lines(0, 10), 10);
    (*f)->Wake();
    ASSERT_TRUE(
        first.WaitFor([](TestSink* s) { return s->Lines().size() >= 10; }));
  }
  EXPECT_TRUE(testing::WaitUntil([&] { return !(*f)->destination(0).up(); }));
  TestSink second(port);
  ASSERT_TRUE(second.ok());
  (*f)->Send(0, Lines(10, 20), 10);
  (*f)->Wake();
  ASSERT_TRUE(second.WaitFor([](TestSink* s) {
    auto l = s->Lines();
    return !l.empty() && l.back() == "m.19 19 1700000000";
  }));
  (*f)->Drain(std::chrono::seconds(5));
}

TEST(Forwarder, RoutesAnyOfAroundTheDestinationsThatAreDown) {
  Config c = OneDestination(UnusedPort());
  c.forward.destinations.push_back(
      OneDestination(UnusedPort()).forward.destinations[0]);
  c.forward.method = ForwardMethod::kAnyOf;
  auto f = Forwarder::Create(c);
  ASSERT_TRUE(f.ok()) << f.status();
  for (int live = 0; live < 2; ++live) {
    (*f)->destination(live).counters().up = true;
    (*f)->destination(1 - live).counters().up = false;
    for (int i = 0; i < 100; ++i) {
      int out[kMaxFanout];
      ASSERT_EQ((*f)->Route(StrCat("m.", i), out), 1);
      EXPECT_EQ(out[0], live);
    }
  }
}

TEST(Forwarder, NamesAnIpv6DestinationBracketedAndSpoolsWhereItAlwaysHas) {
  Config c = OneDestination(UnusedPort());
  DestinationOptions& d = c.forward.destinations[0];
  d.host = "::1";
  d.address = StrCat("[::1]:", d.port);
  c.forward.spool_max_bytes = 1 << 20;
  c.forward.spool_dir =
      StrCat(::testing::TempDir(), "/gralarm-forwarder-test-", getpid());
  std::filesystem::remove_all(c.forward.spool_dir);
  auto f = Forwarder::Create(c);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->destination(0).name(), StrCat("[::1]:", d.port));
  EXPECT_TRUE(std::filesystem::is_directory(
      StrCat(c.forward.spool_dir, "/__1_", d.port)));
  f->reset();
  std::filesystem::remove_all(c.forward.spool_dir);
}

}  // namespace
}  // namespace gralarm
