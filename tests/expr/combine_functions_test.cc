// Functions across series: values by hand from graphite-web 1.1.8's
// render/functions.py, and their names.
#include <string>

#include "expr/run_helper.h"
#include "expr/tree.h"
#include "gtest/gtest.h"

namespace gralarm::expr::testing {
namespace {

const Grid kA = {{"a.x", {1, kNa, kNa}}, {"a.y", {2, 3, kNa}}};

void Expect1(const Node& target, const Grid& grid, const std::string& name,
             const std::vector<double>& values) {
  std::string error;
  Out out = RunGrid(target, grid, 10, &error);
  ASSERT_EQ(out.size(), 1u) << error;
  EXPECT_EQ(out[0].first, name);
  ExpectValues(out[0].second, values, name);
}

TEST(CombineFunctions, Aggregates) {
  Expect1(Call("sumSeries", {Path("a.*")}), kA, "sumSeries(a.*)", {3, 3, kNa});
  Expect1(Call("sum", {Path("a.*")}), kA, "sumSeries(a.*)", {3, 3, kNa});
  Expect1(Call("averageSeries", {Path("a.*")}), kA, "averageSeries(a.*)",
          {1.5, 3, kNa});
  Expect1(Call("avg", {Path("a.*")}), kA, "averageSeries(a.*)", {1.5, 3, kNa});
  Expect1(Call("maxSeries", {Path("a.*")}), kA, "maxSeries(a.*)", {2, 3, kNa});
  Expect1(Call("minSeries", {Path("a.*")}), kA, "minSeries(a.*)", {1, 3, kNa});
  Expect1(Call("diffSeries", {Path("a.*")}), kA, "diffSeries(a.*)",
          {-1, 3, kNa});
  Expect1(Call("multiplySeries", {Path("a.*")}), kA, "multiplySeries(a.*)",
          {2, kNa, kNa});
  Expect1(Call("rangeOfSeries", {Path("a.*")}), kA, "rangeOfSeries(a.*)",
          {1, 0, kNa});
  Expect1(Call("stddevSeries", {Path("a.*")}), kA, "stddevSeries(a.*)",
          {0.5, 0, kNa});
  // countSeries counts series, missing values or not.
  Expect1(Call("countSeries", {Path("a.*")}), kA, "countSeries(a.*)",
          {2, 2, 2});
}

TEST(CombineFunctions, AggregateNamesJoinDistinctPathExpressions) {
  Expect1(Call("sumSeries", {Path("a.x"), Path("a.*")}), kA,
          "sumSeries(a.x,a.*)", {4, 3, kNa});
  Expect1(Call("sumSeries", {Path("a.*"), Path("a.*")}), kA, "sumSeries(a.*)",
          {6, 6, kNa});
  Expect1(Call("sumSeries", {Call("scale", {Path("a.*"), Int(2)})}), kA,
          "sumSeries(scale(a.x,2),scale(a.y,2))", {6, 6, kNa});
}

TEST(CombineFunctions, MultiplySeriesOfOneSeriesIsThatSeries) {
  Expect1(Call("multiplySeries", {Path("a.x")}), kA, "a.x", {1, kNa, kNa});
}

TEST(CombineFunctions, NothingMatchedGivesNoSeries) {
  EXPECT_TRUE(RunGrid(Call("sumSeries", {Path("none.*")}), kA).empty());
  EXPECT_TRUE(RunGrid(Call("countSeries", {Path("none.*")}), kA).empty());
}

TEST(CombineFunctions, PercentileOfSeries) {
  const Grid g = {{"p.a", {1}}, {"p.b", {4}}, {"p.c", {2}}, {"p.d", {kNa}}};
  Expect1(Call("percentileOfSeries", {Path("p.*"), Int(50)}), g,
          "percentileOfSeries(p.*,50)", {2});
  Expect1(Call("percentileOfSeries", {Path("p.*"), Int(75)}), g,
          "percentileOfSeries(p.*,75)", {4});
  Expect1(Call("percentileOfSeries", {Path("p.*"), Int(60)}), g,
          "percentileOfSeries(p.*,60)", {4});
  Expect1(Call("percentileOfSeries", {Path("p.*"), Int(60), Bool(true)}), g,
          "percentileOfSeries(p.*,60)", {2.8});
  Expect1(Call("percentileOfSeries", {Path("p.*"), Float(12.5)}), g,
          "percentileOfSeries(p.*,12.5)", {1});
}

const Grid kCpu = {{"s.h1.cpu.user", {1, 2}},
                   {"s.h1.cpu.sys", {3, kNa}},
                   {"s.h2.cpu.user", {5, 6}}};

TEST(CombineFunctions, GroupByNode) {
  Out out = RunGrid(
      Call("groupByNode", {Path("s.*.cpu.*"), Int(1), Str("sum")}), kCpu);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "h1");
  ExpectValues(out[0].second, {4, 2});
  EXPECT_EQ(out[1].first, "h2");
  ExpectValues(out[1].second, {5, 6});

  out = RunGrid(Call("groupByNode", {Path("s.*.cpu.*"), Int(1)}), kCpu);
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[0].second, {2, 2});  // the default callback: average

  out = RunGrid(
      Call("groupByNode", {Path("s.*.cpu.*"), Int(1), Str("countSeries")}),
      kCpu);
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[0].second, {2, 2});
}

TEST(CombineFunctions, GroupByNodes) {
  Out out = RunGrid(
      Call("groupByNodes", {Path("s.*.cpu.*"), Str("max"), Int(1), Int(-1)}),
      kCpu);
  ASSERT_EQ(out.size(), 3u);
  // Keys in order of first appearance over the name-sorted series.
  EXPECT_EQ(out[0].first, "h1.sys");
  EXPECT_EQ(out[1].first, "h1.user");
  EXPECT_EQ(out[2].first, "h2.user");
  ExpectValues(out[2].second, {5, 6});
}

TEST(CombineFunctions, GroupByNodeOfAFunctionReadsTheNameInside) {
  // "scale(s.h1.cpu.user,2)": the node is read from "s.h1.cpu.user".
  Out out = RunGrid(
      Call("groupByNode",
           {Call("scale", {Path("s.*.cpu.*"), Int(2)}), Int(1), Str("sum")}),
      kCpu);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "h1");
  ExpectValues(out[0].second, {8, 4});
  // "sumSeries(s.*.cpu.*)": the node is read from the glob.
  out = RunGrid(Call("groupByNode", {Call("sumSeries", {Path("s.*.cpu.*")}),
                                     Int(1), Str("sum")}),
                kCpu);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "*");
  ExpectValues(out[0].second, {9, 8});
}

TEST(CombineFunctions, GroupPathExpressionFeedsAnOuterAggregate) {
  Expect1(Call("sumSeries",
               {Call("groupByNode", {Path("s.*.cpu.*"), Int(1), Str("sum")})}),
          kCpu, "sumSeries(sumSeries(s.*.cpu.*))", {9, 8});
}

TEST(CombineFunctions, SeriesWithWildcards) {
  Out out = RunGrid(Call("sumSeriesWithWildcards", {Path("s.*.cpu.*"), Int(1)}),
                    kCpu);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "s.cpu.sys");
  ExpectValues(out[0].second, {3, kNa});
  EXPECT_EQ(out[1].first, "s.cpu.user");
  ExpectValues(out[1].second, {6, 8});
  out = RunGrid(
      Call("averageSeriesWithWildcards", {Path("s.*.cpu.*"), Int(1), Int(3)}),
      kCpu);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].first, "s.cpu");
  ExpectValues(out[0].second, {3, 4});
}

TEST(CombineFunctions, AsPercentOfTheSum) {
  Out out = RunGrid(Call("asPercent", {Path("a.*")}), kA);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "asPercent(a.x,sumSeries(a.*))");
  EXPECT_EQ(out[1].first, "asPercent(a.y,sumSeries(a.*))");
  ExpectValues(out[0].second, {1.0 / 3 * 100.0, kNa, kNa});
  ExpectValues(out[1].second, {2.0 / 3 * 100.0, 100, kNa});
}

TEST(CombineFunctions, AsPercentOfANumber) {
  Out out = RunGrid(Call("asPercent", {Path("a.*"), Int(10)}), kA);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "asPercent(a.x,10)");
  ExpectValues(out[1].second, {20, 30, kNa});
  out = RunGrid(Call("asPercent", {Path("a.*"), Float(10.0)}), kA);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "asPercent(a.x,10.0)");
  out = RunGrid(Call("asPercent", {Path("a.*"), Int(0)}), kA);
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[1].second, {kNa, kNa, kNa});
}

TEST(CombineFunctions, AsPercentOfOneSeries) {
  Grid g = kA;
  g.push_back({"t.all", {4, 0, 1}});
  Out out = RunGrid(Call("asPercent", {Path("a.*"), Path("t.all")}), g);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].first, "asPercent(a.y,t.all)");
  ExpectValues(out[1].second, {50, kNa, kNa});
}

TEST(CombineFunctions, AsPercentOfAListMatchedByName) {
  Grid g = kA;
  g.push_back({"t.2", {4, 4, 4}});
  g.push_back({"t.1", {8, 8, 8}});
  Out out = RunGrid(Call("asPercent", {Path("a.*"), Path("t.*")}), g);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "asPercent(a.x,t.1)");
  EXPECT_EQ(out[1].first, "asPercent(a.y,t.2)");
  ExpectValues(out[0].second, {12.5, kNa, kNa});
  ExpectValues(out[1].second, {50, 75, kNa});
  // Neither one series nor as many as the first list: no series.
  g.push_back({"t.3", {1, 1, 1}});
  EXPECT_TRUE(
      RunGrid(Call("asPercent", {Path("a.*"), Path("t.*")}), g).empty());
}

TEST(CombineFunctions, AsPercentByNodes) {
  Out out =
      RunGrid(Call("asPercent", {Path("s.*.cpu.*"), NoneArg(), Int(1)}), kCpu);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].first, "asPercent(s.h1.cpu.sys,sumSeries(s.*.cpu.*))");
  ExpectValues(out[0].second, {75, kNa});
  EXPECT_EQ(out[1].first, "asPercent(s.h1.cpu.user,sumSeries(s.*.cpu.*))");
  ExpectValues(out[1].second, {25, 100});
  // A group of one series is its own total.
  EXPECT_EQ(out[2].first, "asPercent(s.h2.cpu.user,s.h2.cpu.user)");
  ExpectValues(out[2].second, {100, 100});
}

TEST(CombineFunctions, AsPercentByNodesWithTotals) {
  Grid g = kCpu;
  g.push_back({"t.h1", {10, 10}});
  g.push_back({"t.h3", {10, 10}});
  Out out =
      RunGrid(Call("asPercent", {Path("s.*.cpu.*"), Path("t.*"), Int(1)}), g);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].first, "asPercent(s.h1.cpu.sys,t.h1)");
  ExpectValues(out[0].second, {30, kNa});
  EXPECT_EQ(out[1].first, "asPercent(s.h1.cpu.user,t.h1)");
  EXPECT_EQ(out[2].first, "asPercent(s.h2.cpu.user,MISSING)");
  ExpectValues(out[2].second, {kNa, kNa});
  EXPECT_EQ(out[3].first, "asPercent(MISSING,t.h3)");
  ExpectValues(out[3].second, {kNa, kNa});
}

TEST(CombineFunctions, DivideSeries) {
  Grid g = kA;
  g.push_back({"d.one", {2, 0, 2}});
  Out out = RunGrid(Call("divideSeries", {Path("a.*"), Path("d.one")}), g);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "divideSeries(a.x,d.one)");
  ExpectValues(out[0].second, {0.5, kNa, kNa});
  ExpectValues(out[1].second, {1, kNa, kNa});

  out = RunGrid(Call("divideSeries", {Path("a.*"), Path("d.none")}), g);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, "divideSeries(a.x,MISSING)");
  ExpectValues(out[0].second, {kNa, kNa, kNa});

  // More than one divisor: graphite refuses, no series.
  EXPECT_TRUE(
      RunGrid(Call("divideSeries", {Path("a.x"), Path("a.*")}), g).empty());
}

TEST(CombineFunctions, DivideSeriesLists) {
  Grid g = kA;
  g.push_back({"d.2", {4, 4, 4}});
  g.push_back({"d.1", {2, 2, 2}});
  Out out = RunGrid(Call("divideSeriesLists", {Path("a.*"), Path("d.*")}), g);
  ASSERT_EQ(out.size(), 2u);
  // Paired by position (both lists sorted by name).
  EXPECT_EQ(out[0].first, "divideSeries(a.x,d.1)");
  ExpectValues(out[0].second, {0.5, kNa, kNa});
  EXPECT_EQ(out[1].first, "divideSeries(a.y,d.2)");
  ExpectValues(out[1].second, {0.5, 0.75, kNa});
  EXPECT_TRUE(RunGrid(Call("divideSeriesLists", {Path("a.*"), Path("d.1")}), g)
                  .empty());
}

}  // namespace
}  // namespace gralarm::expr::testing
