// The program: inputs appearing over time, gaps, refusals, state round trips
// and EvaluatePoints.
#include "expr/program.h"

#include <string>

#include "expr/evaluate_points.h"
#include "expr/run_helper.h"
#include "expr/tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gralarm::expr::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Program> Compile(const Node& n, int64_t step = 10) {
  auto p = Program::Compile(n, step);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

// Sets `values` (name, value) and evaluates step t; returns the outputs.
std::vector<Series> Step(Program* p, int64_t t,
                         std::vector<std::pair<std::string, double>> values) {
  for (const auto& [name, v] : values) {
    const int32_t slot = p->Slot(name);
    if (slot >= 0) p->Set(slot, v);
  }
  auto out = p->Evaluate(t);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? **out : std::vector<Series>{};
}

TEST(Program, GlobsAndMatching) {
  auto p = Compile(Call("divideSeries", {Path("a.*"), Path("b.{x,y}")}));
  ASSERT_EQ(p->globs().size(), 2u);
  EXPECT_EQ(p->globs()[0]->pattern(), "a.*");
  EXPECT_EQ(p->globs()[1]->pattern(), "b.{x,y}");
  EXPECT_TRUE(p->Matches("b.y"));
  EXPECT_FALSE(p->Matches("b.z"));
  EXPECT_EQ(p->Slot("c.d"), -1);
  EXPECT_EQ(p->input_count(), 0u);
}

TEST(Program, SeriesAppearLaterAndStay) {
  auto p = Compile(Call("averageSeries", {Path("a.*")}));
  auto out = Step(p.get(), 0, {{"a.y", 4}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "averageSeries(a.*)");
  EXPECT_EQ(out[0].value.v, 4);
  out = Step(p.get(), 10, {{"a.x", 2}, {"a.y", 6}});
  EXPECT_EQ(out[0].value.v, 4);
  out = Step(p.get(), 20, {});
  EXPECT_FALSE(out[0].value.ok);
  out = Step(p.get(), 30, {{"a.y", 1}});
  EXPECT_EQ(out[0].value.v, 1);
  EXPECT_EQ(p->input_count(), 2u);
}

TEST(Program, EmaOfASeriesAppearingLaterStartsWithoutTheSeed) {
  auto p = Compile(Call("exponentialMovingAverage", {Path("a.*"), Int(1)}));
  auto out = Step(p.get(), 0, {{"a.x", 4}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value.v, 0);  // the seed, at the first step only
  out = Step(p.get(), 10, {{"a.y", 8}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].value.v, 4);   // C = 1: the previous input
  EXPECT_FALSE(out[1].value.ok);  // a.y: None before it appeared
  out = Step(p.get(), 20, {});
  EXPECT_EQ(out[1].value.v, 8);
}

TEST(Program, OutputOrderFollowsNames) {
  auto p = Compile(Call("scale", {Path("a.*"), Int(1)}));
  Step(p.get(), 0, {{"a.m", 1}});
  auto out = Step(p.get(), 10, {{"a.z", 2}, {"a.b", 3}, {"a.m", 4}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].name, "scale(a.b,1)");
  EXPECT_EQ(out[1].name, "scale(a.m,1)");
  EXPECT_EQ(out[2].name, "scale(a.z,1)");
  EXPECT_EQ(out[1].value.v, 4);
}

TEST(Program, StateFollowsItsSeriesWhenTheListReshapes) {
  auto p = Compile(Call("derivative", {Path("a.*")}));
  Step(p.get(), 0, {{"a.m", 1}});
  auto out = Step(p.get(), 10, {{"a.b", 5}, {"a.m", 4}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].value.ok);  // a.b: first value
  EXPECT_EQ(out[1].value.v, 3);   // a.m: 4 - 1
}

TEST(Program, StateFollowsSeriesOfTheSameNameByTheirInput) {
  // Every series is named "c"; a.y.c appears between a.x.c and a.z.c.
  const Node target =
      Call("derivative", {Call("aliasByNode", {Path("a.*.c"), Int(2)})});
  auto p = Compile(target);
  Step(p.get(), 0, {{"a.x.c", 1}, {"a.z.c", 100}});
  auto out = Step(p.get(), 10, {{"a.x.c", 2}, {"a.y.c", 50}, {"a.z.c", 103}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].value.v, 1);
  EXPECT_FALSE(out[1].value.ok);
  EXPECT_EQ(out[2].value.v, 3);
  auto q = Compile(target);
  ASSERT_TRUE(q->DecodeState(p->EncodeState()).ok());
  out = Step(q.get(), 20, {{"a.x.c", 4}, {"a.y.c", 55}, {"a.z.c", 113}});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].value.v, 2);
  EXPECT_EQ(out[1].value.v, 5);
  EXPECT_EQ(out[2].value.v, 10);
}

TEST(Program, LastValueInAStepWins) {
  auto p = Compile(Path("a"));
  const int32_t slot = p->Slot("a");
  p->Set(slot, 1);
  p->Set(slot, 2);
  auto out = p->Evaluate(0);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((**out)[0].value.v, 2);
  out = p->Evaluate(10);
  EXPECT_FALSE((**out)[0].value.ok);  // cleared
}

TEST(Program, StepsMustAdvanceOnTheGrid) {
  auto p = Compile(Path("a"));
  EXPECT_FALSE(p->Evaluate(5).ok());
  EXPECT_TRUE(p->Evaluate(10).ok());
  EXPECT_FALSE(p->Evaluate(10).ok());
  EXPECT_FALSE(p->Evaluate(0).ok());
}

TEST(Program, GapsAreMissingSteps) {
  auto p = Compile(Call("perSecond", {Path("c")}));
  Step(p.get(), 0, {{"c", 10}});
  auto out = Step(p.get(), 10, {{"c", 20}});
  EXPECT_EQ(out[0].value.v, 1);
  // Steps 20 and 30 skipped: None there, so no rate at 40.
  out = Step(p.get(), 40, {{"c", 30}});
  EXPECT_FALSE(out[0].value.ok);

  auto keep = Compile(Call("keepLastValue", {Path("c"), Int(2)}));
  Step(keep.get(), 0, {{"c", 7}});
  out = Step(keep.get(), 30, {});  // steps 10, 20 skipped: 3 Nones > 2
  EXPECT_FALSE(out[0].value.ok);
  auto keep2 = Compile(Call("keepLastValue", {Path("c"), Int(2)}));
  Step(keep2.get(), 0, {{"c", 7}});
  out = Step(keep2.get(), 20, {});  // 2 Nones
  EXPECT_EQ(out[0].value.v, 7);

  auto integral = Compile(Call("integral", {Path("c")}));
  Step(integral.get(), 0, {{"c", 7}});
  out = Step(integral.get(), 1000000, {{"c", 1}});
  EXPECT_EQ(out[0].value.v, 8);

  auto moving = Compile(Call("movingSum", {Path("c"), Int(3)}));
  Step(moving.get(), 0, {{"c", 1}});
  Step(moving.get(), 10, {{"c", 2}});
  out = Step(moving.get(), 30, {{"c", 4}});  // window: 1, 2, None
  EXPECT_EQ(out[0].value.v, 3);
  out = Step(moving.get(), 1000, {});
  EXPECT_FALSE(out[0].value.ok);
  EXPECT_EQ(moving->lookback_steps(), 3);
}

TEST(Program, RefusesWhatAStreamCannotDo) {
  auto p = Program::Compile(Call("highestCurrent", {Path("a.*"), Int(3)}), 10);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("appear and vanish"));
  p = Program::Compile(Call("timeShift", {Path("a.*"), Str("+1d")}), 10);
  EXPECT_THAT(p.status().message(), HasSubstr("cannot see the future"));
  p = Program::Compile(Call("frobnicate", {Path("a.*")}), 10);
  EXPECT_THAT(p.status().message(), HasSubstr("unknown function 'frobnicate'"));
  p = Program::Compile(Call("scale", {Path("a.*")}), 10);
  EXPECT_THAT(p.status().message(), HasSubstr("factor must be a number"));
  p = Program::Compile(Call("scale", {Path("a.*"), Int(1)}, {{"nope", Int(1)}}),
                       10);
  EXPECT_THAT(p.status().message(), HasSubstr("no argument named 'nope'"));
  p = Program::Compile(Call("movingAverage", {Path("a"), Str("5m")}), 10);
  EXPECT_THAT(p.status().message(), HasSubstr("invalid time offset unit"));
  p = Program::Compile(Call("groupByNode", {Path("a"), Int(1), Str("bogus")}),
                       10);
  EXPECT_THAT(p.status().message(), HasSubstr("unsupported callback 'bogus'"));
  p = Program::Compile(Call("asPercent", {Path("a"), Int(5), Int(1)}), 10);
  EXPECT_FALSE(p.ok());
  p = Program::Compile(Call("movingAverage", {Path("a"), Str("1y")}), 10);
  EXPECT_THAT(p.status().message(),
              HasSubstr("longer than the 100000 allowed"));
  p = Program::Compile(Call("delay", {Path("a"), Int(200000)}), 10);
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(
      Program::Compile(Call("movingAverage", {Path("a"), Str("1y")}), 3600)
          .ok());
  EXPECT_TRUE(
      Program::Compile(Call("exponentialMovingAverage", {Path("a"), Str("1y")}),
                       10)
          .ok());  // keeps no window
  p = Program::Compile(Path("a.[b"), 10);
  EXPECT_FALSE(p.ok());
  p = Program::Compile(Path("a"), 0);
  EXPECT_FALSE(p.ok());
}

// Runs steps 0..n-1 of `values` for "c" through a program, with a restart
// (EncodeState into a new program) before step `restart_at`.
std::vector<double> RunWithRestart(const Node& target,
                                   const std::vector<double>& values,
                                   size_t restart_at) {
  auto p = Compile(target);
  std::vector<double> got;
  for (size_t k = 0; k < values.size(); ++k) {
    if (k == restart_at) {
      const std::string state = p->EncodeState();
      p = Compile(target);
      const absl::Status s = p->DecodeState(state);
      EXPECT_TRUE(s.ok()) << s;
    }
    std::vector<std::pair<std::string, double>> in;
    if (!std::isnan(values[k])) in.push_back({"c.x", values[k]});
    auto out = Step(p.get(), static_cast<int64_t>(k) * 10, in);
    got.push_back(out.empty() || !out[0].value.ok ? kNa : out[0].value.v);
  }
  return got;
}

TEST(Program, StateRoundTripResumesWithoutAReset) {
  const std::vector<double> values = {1, 5, 2, kNa, 8, 3, 9, 4};
  for (const Node& target :
       {Call("perSecond", {Path("c.*")}),
        Call("nonNegativeDerivative", {Path("c.*"), Int(10)}),
        Call("derivative", {Path("c.*")}), Call("integral", {Path("c.*")}),
        Call("delay", {Path("c.*"), Int(2)}),
        Call("movingMedian", {Path("c.*"), Int(3)}),
        Call("movingAverage", {Path("c.*"), Str("30s")}),
        Call("exponentialMovingAverage", {Path("c.*"), Int(4)}),
        Call("keepLastValue", {Path("c.*"), Int(1)}),
        Call("sumSeries", {Call("perSecond", {Path("c.*")})})}) {
    const std::vector<double> straight = RunWithRestart(target, values, 99);
    for (size_t restart : {1u, 3u, 5u}) {
      ExpectValues(RunWithRestart(target, values, restart), straight,
                   target.text + " restarted at " + std::to_string(restart));
    }
  }
}

TEST(Program, DecodeStateRefusesOtherInput) {
  auto p = Compile(Call("perSecond", {Path("c.*")}));
  Step(p.get(), 0, {{"c.x", 1}});
  const std::string state = p->EncodeState();
  EXPECT_TRUE(
      Compile(Call("perSecond", {Path("c.*")}))->DecodeState(state).ok());
  EXPECT_FALSE(
      Compile(Call("perSecond", {Path("c.*")}), 60)->DecodeState(state).ok());
  EXPECT_FALSE(Compile(Call("perSecond", {Path("c.*")}))
                   ->DecodeState(state.substr(0, state.size() - 1))
                   .ok());
  std::string bad_version = state;
  bad_version[0] = 9;
  EXPECT_FALSE(
      Compile(Call("perSecond", {Path("c.*")}))->DecodeState(bad_version).ok());
  EXPECT_FALSE(Compile(Call("integral", {Call("perSecond", {Path("c.*")})}))
                   ->DecodeState(state)
                   .ok());
  // A program that has run already refuses.
  EXPECT_FALSE(p->DecodeState(state).ok());
}

TEST(Program, RestoredSeriesKeepTheirPlace) {
  auto p = Compile(Call("countSeries", {Path("c.*")}));
  Step(p.get(), 0, {{"c.x", 1}, {"c.y", 1}});
  auto q = Compile(Call("countSeries", {Path("c.*")}));
  ASSERT_TRUE(q->DecodeState(p->EncodeState()).ok());
  EXPECT_EQ(q->last_step(), 0);
  auto out = Step(q.get(), 10, {});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value.v, 2);
}

TEST(EvaluatePoints, GridsPointsAndFillsLateSeries) {
  std::vector<InputPoint> points = {
      {"a.x", 1, 1005},   {"a.x", 2, 1009},  // same step: the last wins
      {"a.y", 5, 1031},   {"a.x", 3, 1020},  // out of order
      {"other", 9, 1000},
  };
  auto result =
      EvaluatePoints(Call("scale", {Path("a.*"), Int(10)}), 10, points);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  const OutputSeries& x = (*result)[0];
  EXPECT_EQ(x.name, "scale(a.x,10)");
  ASSERT_EQ(x.datapoints.size(), 4u);
  EXPECT_EQ(x.datapoints[0].first, 20);
  EXPECT_EQ(x.datapoints[0].second, 1000);
  EXPECT_FALSE(x.datapoints[1].first.has_value());
  EXPECT_EQ(x.datapoints[2].first, 30);
  EXPECT_EQ(x.datapoints[3].second, 1030);
  const OutputSeries& y = (*result)[1];
  EXPECT_EQ(y.name, "scale(a.y,10)");
  EXPECT_FALSE(y.datapoints[0].first.has_value());
  EXPECT_EQ(y.datapoints[3].first, 50);
}

TEST(EvaluatePoints, FinalNamesCoverTheWholeRange) {
  // The divisor appears at the second step: a render names every step's
  // series after it ("divideSeries(a,b)"), None where b has no value.
  std::vector<InputPoint> points = {{"a", 4, 0}, {"a", 6, 10}, {"b", 2, 10}};
  auto result =
      EvaluatePoints(Call("divideSeries", {Path("a"), Path("b")}), 10, points);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->size(), 1u);
  EXPECT_EQ((*result)[0].name, "divideSeries(a,b)");
  EXPECT_FALSE((*result)[0].datapoints[0].first.has_value());
  EXPECT_EQ((*result)[0].datapoints[1].first, 3);
}

TEST(EvaluatePoints, ErrorsAndEmptyInput) {
  EXPECT_FALSE(EvaluatePoints(Call("nope", {Path("a")}), 10, {}).ok());
  auto result = EvaluatePoints(Path("a"), 10, {});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->empty());
  EXPECT_FALSE(
      EvaluatePoints(Path("a"), 1, {{"a", 1, 0}, {"a", 1, 100000000}}).ok());
}

}  // namespace
}  // namespace gralarm::expr::testing
