// Per-series functions: values computed by hand from graphite-web 1.1.8's
// render/functions.py on small grids (step 10 s), and their names.
#include <string>

#include "expr/run_helper.h"
#include "expr/tree.h"
#include "gtest/gtest.h"

namespace gralarm::expr::testing {
namespace {

const Grid kAb = {{"a.b", {1, 3, kNa, 10, 4}}};

void Expect(const Node& target, const Grid& grid, const std::string& name,
            const std::vector<double>& values) {
  std::string error;
  Out out = RunGrid(target, grid, 10, &error);
  ASSERT_EQ(out.size(), 1u) << error;
  EXPECT_EQ(out[0].first, name);
  ExpectValues(out[0].second, values, name);
}

TEST(SeriesFunctions, ScaleOffsetAndFriends) {
  Expect(Call("scale", {Path("a.b"), Int(2)}), kAb, "scale(a.b,2)",
         {2, 6, kNa, 20, 8});
  Expect(Call("scale", {Path("a.b"), Float(0.5)}), kAb, "scale(a.b,0.5)",
         {0.5, 1.5, kNa, 5, 2});
  Expect(Call("offset", {Path("a.b"), Int(-1)}), kAb, "offset(a.b,-1)",
         {0, 2, kNa, 9, 3});
  Expect(Call("absolute", {Path("a.b")}), {{"a.b", {-1, 2, kNa}}},
         "absolute(a.b)", {1, 2, kNa});
  // safePow: None where Python's math.pow raises.
  Expect(Call("pow", {Path("a.b"), Float(0.5)}), {{"a.b", {4, -4, kNa}}},
         "pow(a.b,0.5)", {2, kNa, kNa});
  Expect(Call("invert", {Path("a.b")}), {{"a.b", {4, 0, kNa}}}, "invert(a.b)",
         {0.25, kNa, kNa});
  // scaleToSeconds: value * seconds / step, rounded to 6 decimals.
  Expect(Call("scaleToSeconds", {Path("a.b"), Int(1)}), kAb,
         "scaleToSeconds(a.b,1)", {0.1, 0.3, kNa, 1, 0.4});
  Expect(Call("scaleToSeconds", {Path("a.b"), Float(60.9)}), kAb,
         "scaleToSeconds(a.b,60)", {6.09, 18.27, kNa, 60.9, 24.36});
}

TEST(SeriesFunctions, TransformNullAndRemoveValues) {
  Expect(Call("transformNull", {Path("a.b")}), kAb, "transformNull(a.b,0)",
         {1, 3, 0, 10, 4});
  Expect(Call("transformNull", {Path("a.b"), Int(-1)}), kAb,
         "transformNull(a.b,-1)", {1, 3, -1, 10, 4});
  Expect(Call("removeAboveValue", {Path("a.b"), Int(3)}), kAb,
         "removeAboveValue(a.b, 3)", {1, 3, kNa, kNa, kNa});
  Expect(Call("removeBelowValue", {Path("a.b"), Int(3)}), kAb,
         "removeBelowValue(a.b, 3)", {kNa, 3, kNa, 10, 4});
}

TEST(SeriesFunctions, TransformNullWithReferenceSeries) {
  Out out = RunGrid(Call("transformNull", {Path("a.b"), Int(5)},
                         {{"referenceSeries", Path("r.*")}}),
                    {{"a.b", {kNa, kNa, 1}}, {"r.x", {kNa, 2, kNa}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "transformNull(a.b,5,referenceSeries)");
  ExpectValues(out[0].second, {kNa, 5, 1});
}

TEST(SeriesFunctions, Derivatives) {
  Expect(Call("derivative", {Path("a.b")}), kAb, "derivative(a.b)",
         {kNa, 2, kNa, kNa, -6});
  Expect(Call("nonNegativeDerivative", {Path("a.b")}), kAb,
         "nonNegativeDerivative(a.b)", {kNa, 2, kNa, kNa, kNa});
  Expect(Call("perSecond", {Path("a.b")}), kAb, "perSecond(a.b)",
         {kNa, 0.2, kNa, kNa, kNa});
  Expect(Call("integral", {Path("a.b")}), kAb, "integral(a.b)",
         {1, 4, kNa, 14, 18});
}

TEST(SeriesFunctions, CounterWrapWithMaxAndMinValue) {
  // maxValue + 1 + val - prev - minValue.
  Expect(Call("nonNegativeDerivative", {Path("c"), Int(255)}),
         {{"c", {250, 5, 300, 7}}}, "nonNegativeDerivative(c)",
         {kNa, 11, kNa, kNa});
  Expect(Call("nonNegativeDerivative", {Path("c"), Int(255), Int(10)}),
         {{"c", {250, 15}}}, "nonNegativeDerivative(c)", {kNa, 11});
  Expect(Call("nonNegativeDerivative", {Path("c")}, {{"minValue", Int(10)}}),
         {{"c", {100, 50, 5, 20}}}, "nonNegativeDerivative(c)",
         {kNa, 40, kNa, kNa});
  Expect(Call("perSecond", {Path("c")}, {{"maxValue", Int(15)}}),
         {{"c", {10, 14, 2, 3}}}, "perSecond(c)", {kNa, 0.4, 0.4, 0.1});
}

TEST(SeriesFunctions, KeepLastValue) {
  const Grid g = {{"a", {kNa, 1, kNa, kNa, kNa, 5, kNa}}};
  Expect(Call("keepLastValue", {Path("a")}), g, "keepLastValue(a)",
         {kNa, 1, 1, 1, 1, 5, 5});
  // Streaming: each step is what a render ending at that step shows.
  Expect(Call("keepLastValue", {Path("a"), Int(2)}), g, "keepLastValue(a)",
         {kNa, 1, 1, 1, kNa, 5, 5});
}

TEST(SeriesFunctions, Delay) {
  Expect(Call("delay", {Path("a.b"), Int(2)}), kAb, "delay(a.b,2)",
         {kNa, kNa, 1, 3, kNa});
  std::string error;
  RunGrid(Call("delay", {Path("a.b"), Int(-1)}), kAb, 10, &error);
  EXPECT_NE(error.find("negative delay"), std::string::npos) << error;
}

TEST(SeriesFunctions, MovingWindowByPointsExcludesTheCurrentPoint) {
  // graphite 1.1.8: the value at i is over series[i - n : i].
  Expect(Call("movingAverage", {Path("a.b"), Int(2)}), kAb,
         "movingAverage(a.b,2)", {kNa, 1, 2, 3, 10});
  Expect(Call("movingSum", {Path("a.b"), Int(3)}), kAb, "movingSum(a.b,3)",
         {kNa, 1, 4, 4, 13});
  Expect(Call("movingMin", {Path("a.b"), Int(3)}), kAb, "movingMin(a.b,3)",
         {kNa, 1, 1, 1, 3});
  Expect(Call("movingMax", {Path("a.b"), Int(3)}), kAb, "movingMax(a.b,3)",
         {kNa, 1, 3, 3, 10});
  Expect(Call("movingMedian", {Path("a.b"), Int(3)}), kAb,
         "movingMedian(a.b,3)", {kNa, 1, 2, 2, 6.5});
}

TEST(SeriesFunctions, MovingWindowByTime) {
  Expect(Call("movingSum", {Path("a.b"), Str("20s")}), kAb,
         "movingSum(a.b,\"20s\")", {kNa, 1, 4, 3, 10});
  Expect(Call("movingAverage", {Path("a.b"), Str("1min")}),
         {{"a.b", {6, 6, 6, 6, 6, 6, 6, 0}}}, "movingAverage(a.b,\"1min\")",
         {kNa, 6, 6, 6, 6, 6, 6, 6});
}

TEST(SeriesFunctions, MovingWindowXFilesFactor) {
  Expect(Call("movingAverage", {Path("a.b"), Int(2)},
              {{"xFilesFactor", Float(0.6)}}),
         kAb, "movingAverage(a.b,2)", {kNa, kNa, 2, kNa, kNa});
  Expect(Call("movingAverage", {Path("a.b"), Int(2), Float(0.5)}), kAb,
         "movingAverage(a.b,2)", {kNa, 1, 2, 3, 10});
}

TEST(SeriesFunctions, ExponentialMovingAverage) {
  // C = 2 / (3 + 1); the first value is the seed (no bootstrap data: 0), then
  // each EMA lags its input by one step, as graphite emits it.
  Expect(Call("exponentialMovingAverage", {Path("a.b"), Int(3)}), kAb,
         "exponentialMovingAverage(a.b,3)", {0, 0.5, 1.75, kNa, 5.875});
  // A time string: C = 2 / (seconds + 1).
  const double c = 2.0 / 31;
  const double e1 = c * 1;
  const double e2 = c * 3 + (1 - c) * e1;
  Expect(Call("exponentialMovingAverage", {Path("a.b"), Str("30s")}), kAb,
         "exponentialMovingAverage(a.b,\"30s\")",
         {0, std::round(e1 * 1e6) / 1e6, std::round(e2 * 1e6) / 1e6, kNa,
          std::round((c * 10 + (1 - c) * e2) * 1e6) / 1e6});
}

TEST(SeriesFunctions, Naming) {
  const Grid g = {{"a.b.c", {1}}};
  Expect(Call("alias", {Path("a.b.c"), Str("x y")}), g, "x y", {1});
  Expect(Call("aliasByNode", {Path("a.b.c"), Int(1)}), g, "b", {1});
  Expect(Call("aliasByNode", {Path("a.b.c"), Int(0), Int(-1)}), g, "a.c", {1});
  // Read through the first path expression of the name "scale(a.b.c,2)".
  Expect(Call("aliasByNode", {Call("scale", {Path("a.b.*"), Int(2)}), Int(-1)}),
         g, "c", {2});
  // ... which for an aggregate is the glob of its name.
  Expect(Call("aliasByNode", {Call("sumSeries", {Path("a.*.c")}), Int(1)}), g,
         "*", {1});
  Expect(Call("aliasByNode", {Call("sumSeries", {Path("a.b.c")}), Int(1)}), g,
         "b", {1});
  Expect(Call("aliasByMetric", {Call("scale", {Path("a.b.c"), Int(2)})}), g,
         "c", {2});
  Expect(Call("aliasSub", {Path("a.b.c"), Str("^a\\.(\\w+)"), Str("z.\\1")}), g,
         "z.b.c", {1});
}

TEST(SeriesFunctions, AliasKeepsThePathExpressionForAggregates) {
  Out out =
      RunGrid(Call("sumSeries", {Call("aliasByNode", {Path("a.*.c"), Int(1)})}),
              {{"a.b.c", {1}}, {"a.d.c", {2}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "sumSeries(a.*.c)");
  ExpectValues(out[0].second, {3});
}

}  // namespace
}  // namespace gralarm::expr::testing
