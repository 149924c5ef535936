#include "gralarm/ingest_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gralarm/alert_engine.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;

// A copy of what a sink was handed.
struct Seen {
  std::string name, path, forward_line;
  double value;
  uint32_t timestamp;
  uint64_t path_hash;
  bool operator==(const Seen&) const = default;
};

// Records every point and every flush; no forwarder, no engine.
class FakeSink final : public PointSink {
 public:
  void Accept(const Point& p) override {
    Seen s{std::string(p.parsed.name),
           std::string(p.parsed.path),
           "",
           p.parsed.value,
           p.parsed.timestamp,
           p.path_hash()};
    p.AppendForwardLine(&s.forward_line);
    points.push_back(std::move(s));
  }
  void Flush() override { ++flushes; }

  std::vector<Seen> points;
  int flushes = 0;
};

struct Fixture {
  IngestCounters counters;
  IngestPipeline pipeline{&counters};
  FakeSink* sink = nullptr;
  FakeSink* second = nullptr;

  explicit Fixture(IngestOptions options = {}) {
    std::vector<std::unique_ptr<PointSink>> sinks;
    sinks.push_back(std::make_unique<FakeSink>());
    sinks.push_back(std::make_unique<FakeSink>());
    sink = static_cast<FakeSink*>(sinks[0].get());
    second = static_cast<FakeSink*>(sinks[1].get());
    pipeline.Configure(options, std::move(sinks));
    pipeline.set_now(1800000000);
  }
  uint64_t Invalid(LineVerdict v) const {
    return counters.lines_invalid[InvalidReasonIndex(v)].load();
  }
  uint64_t Received(Proto p) const {
    return counters.points_received[static_cast<int>(p)].load();
  }
};

Seen Expect(std::string path, double value, uint32_t ts, std::string line) {
  std::string name = path.substr(0, path.find(';'));
  uint64_t hash = AlertEngine::PathHash(path);
  return Seen{name, path, line, value, ts, hash};
}

TEST(IngestPipeline, HandsEveryValidLineToEverySinkInOrder) {
  Fixture f;
  const std::string peer = "127.0.0.1:5000";
  f.pipeline.HandleLine("a.b 1.5 1700000000", Proto::kTcp, peer);
  f.pipeline.HandleLine("disk;host=h1 2 -1", Proto::kUdp, peer);
  f.pipeline.HandleLine("c.d\t3\t1700000001.5\r", Proto::kTcp, peer);
  const auto want = ElementsAre(
      Expect("a.b", 1.5, 1700000000, "a.b 1.5 1700000000\n"),
      // "-1" is the receive time.
      Expect("disk;host=h1", 2, 1800000000, "disk;host=h1 2 1800000000\n"),
      // Forwarded in the canonical form.
      Expect("c.d", 3, 1700000001, "c.d 3 1700000001\n"));
  EXPECT_THAT(f.sink->points, want);
  EXPECT_THAT(f.second->points, want);
}

TEST(IngestPipeline, CountsInvalidLinesByReasonAndHandsThemToNoSink) {
  IngestOptions options;
  options.max_line_bytes = 64;
  Fixture f(options);
  const std::string peer = "127.0.0.1:5000";
  for (const char* line :
       {"only.two 1", "x.y abc 1700000000", "x.y 1 never", "x.y nan 1700000000",
        "bad..path 1 1700000000", "caf\xe9 1 1700000000", "", "   ",
        "ok.one 1 1700000000"}) {
    f.pipeline.HandleLine(line, Proto::kTcp, peer);
  }
  f.pipeline.CountInvalid(LineVerdict::kTooLong, {}, peer);
  ASSERT_EQ(f.sink->points.size(), 1u);
  EXPECT_EQ(f.sink->points[0].path, "ok.one");
  // Counts reach the shared counters at the end of the loop iteration.
  EXPECT_EQ(f.Received(Proto::kTcp), 0u);
  EXPECT_EQ(f.Invalid(LineVerdict::kFields), 0u);
  f.pipeline.Flush();
  EXPECT_EQ(f.Received(Proto::kTcp), 1u);
  for (LineVerdict v :
       {LineVerdict::kFields, LineVerdict::kValue, LineVerdict::kTimestamp,
        LineVerdict::kNan, LineVerdict::kPath, LineVerdict::kNotUtf8,
        LineVerdict::kTooLong}) {
    EXPECT_EQ(f.Invalid(v), 1u) << static_cast<int>(v);
  }
}

TEST(IngestPipeline, FlushesTheSinksOncePerIterationThatReceivedSomething) {
  Fixture f;
  f.pipeline.Flush();
  EXPECT_EQ(f.sink->flushes, 0);
  f.pipeline.HandleLine("a 1 1700000000", Proto::kTcp, "p");
  f.pipeline.HandleLine("b 1 1700000000", Proto::kTcp, "p");
  f.pipeline.Flush();
  f.pipeline.Flush();
  EXPECT_EQ(f.sink->flushes, 1);
  EXPECT_EQ(f.second->flushes, 1);
  f.pipeline.HandleLine("c 1 1700000000", Proto::kUdp, "p");
  f.pipeline.Flush();
  EXPECT_EQ(f.sink->flushes, 2);
  EXPECT_EQ(f.Received(Proto::kTcp), 2u);
  EXPECT_EQ(f.Received(Proto::kUdp), 1u);
}

TEST(IngestPipeline, PickledPointsArePointsAndBadFramesAreCounted) {
  Fixture f;
  // pickle.dumps([('srv.a.cpu', (1700000000, 1.5)),
  //               ('srv.a.cpu', (1700000001.5, -2)),
  //               ('caf\u00e9.\u4e2d', (1700000002, 10**12))], protocol=2)
  const std::string frame = absl::HexStringToBytes(
      "80025d71002858090000007372762e612e63707571014a00f15365473ff8000000000000"
      "86710286710368014741d954fc406000004afeffffff8671048671055809000000636166"
      "c3a92ee4b8ad71064a02f153658a060010a5d4e800867107867108652e");
  f.pipeline.HandlePickleFrame(frame, "p");
  f.pipeline.HandlePickleFrame("\x80\x02garbage", "p");
  EXPECT_THAT(
      f.sink->points,
      ElementsAre(
          Expect("srv.a.cpu", 1.5, 1700000000, "srv.a.cpu 1.5 1700000000\n"),
          Expect("srv.a.cpu", -2, 1700000001, "srv.a.cpu -2 1700000001\n"),
          Expect("caf\xc3\xa9.\xe4\xb8\xad", 1e12, 1700000002,
                 "caf\xc3\xa9.\xe4\xb8\xad 1000000000000 1700000002\n")));
  f.pipeline.Flush();
  EXPECT_EQ(f.Received(Proto::kPickle), 3u);
  uint64_t bad = 0;
  for (const auto& c : f.counters.pickle_frames_invalid) bad += c.load();
  EXPECT_EQ(bad, 1u);
}

TEST(IngestPipeline, ReplacedSinksGetThePointsFromThenOn) {
  Fixture f;
  f.pipeline.HandleLine("a 1 1700000000", Proto::kTcp, "p");
  f.pipeline.Flush();
  std::vector<std::unique_ptr<PointSink>> sinks;
  sinks.push_back(std::make_unique<FakeSink>());
  auto* next = static_cast<FakeSink*>(sinks[0].get());
  f.pipeline.Configure({}, std::move(sinks));  // destroys the old sinks
  f.pipeline.HandleLine("b 1 1700000000", Proto::kTcp, "p");
  ASSERT_EQ(next->points.size(), 1u);
  EXPECT_EQ(next->points[0].path, "b");
}

}  // namespace
}  // namespace gralarm
