#include "expr/catalog.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "expr/parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gralarm::expr {
namespace {

using ::testing::HasSubstr;

// "OK" or the message of validating `target` (which must parse).
std::string ValidateText(std::string_view target) {
  absl::StatusOr<Node> node = Parse(target);
  EXPECT_TRUE(node.ok()) << target << ": " << node.status();
  if (!node.ok()) return "parse error";
  absl::Status st = Validate(*node);
  if (st.ok()) return "OK";
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  return std::string(st.message());
}

TEST(CatalogTest, SupportedAndAliases) {
  FunctionInfo sum = LookupFunction("sum");
  EXPECT_EQ(sum.support, Support::kSupported);
  EXPECT_EQ(sum.canonical_name, "sumSeries");
  FunctionInfo avg = LookupFunction("avg");
  EXPECT_EQ(avg.canonical_name, "averageSeries");
  for (std::string_view name : {"alias",
                                "aliasByNode",
                                "aliasByMetric",
                                "aliasSub",
                                "scale",
                                "scaleToSeconds",
                                "offset",
                                "absolute",
                                "invert",
                                "pow",
                                "transformNull",
                                "keepLastValue",
                                "perSecond",
                                "nonNegativeDerivative",
                                "derivative",
                                "integral",
                                "delay",
                                "movingAverage",
                                "movingSum",
                                "movingMin",
                                "movingMax",
                                "movingMedian",
                                "exponentialMovingAverage",
                                "removeAboveValue",
                                "removeBelowValue",
                                "sumSeries",
                                "averageSeries",
                                "maxSeries",
                                "minSeries",
                                "countSeries",
                                "diffSeries",
                                "multiplySeries",
                                "rangeOfSeries",
                                "stddevSeries",
                                "percentileOfSeries",
                                "groupByNode",
                                "groupByNodes",
                                "sumSeriesWithWildcards",
                                "averageSeriesWithWildcards",
                                "asPercent",
                                "divideSeries",
                                "divideSeriesLists"}) {
    FunctionInfo info = LookupFunction(name);
    EXPECT_EQ(info.support, Support::kSupported) << name;
    EXPECT_EQ(info.canonical_name, name);
    EXPECT_FALSE(info.params.empty()) << name;
    EXPECT_EQ(info.params[0].type, ParamType::kSeriesList) << name;
  }
}

TEST(CatalogTest, ParamsAsGraphiteDeclaresThem) {
  FunctionInfo m = LookupFunction("movingAverage");
  ASSERT_EQ(m.params.size(), 3u);
  EXPECT_EQ(m.params[1].name, "windowSize");
  EXPECT_EQ(ParamTypeName(m.params[1].type), "intOrInterval");
  EXPECT_TRUE(m.params[1].required);
  EXPECT_EQ(m.params[2].name, "xFilesFactor");
  EXPECT_FALSE(m.params[2].required);

  FunctionInfo g = LookupFunction("groupByNode");
  ASSERT_EQ(g.params.size(), 3u);
  EXPECT_EQ(ParamTypeName(g.params[1].type), "nodeOrTag");
  EXPECT_EQ(g.params[2].name, "callback");
  EXPECT_EQ(g.params[2].default_value, "'average'");
  EXPECT_EQ(ParamTypeName(g.params[2].type), "aggOrSeriesFunc");

  FunctionInfo a = LookupFunction("aliasByNode");
  ASSERT_EQ(a.params.size(), 2u);
  EXPECT_TRUE(a.params[1].multiple);
  EXPECT_TRUE(a.params[1].required);

  FunctionInfo k = LookupFunction("keepLastValue");
  ASSERT_EQ(k.params.size(), 2u);
  EXPECT_EQ(ParamTypeName(k.params[1].type), "intOrInf");
  EXPECT_EQ(k.params[1].default_value, "inf");

  FunctionInfo c = LookupFunction("countSeries");
  ASSERT_EQ(c.params.size(), 1u);
  EXPECT_FALSE(c.params[0].required);
  EXPECT_TRUE(c.params[0].multiple);
}

TEST(CatalogTest, Refusals) {
  FunctionInfo unknown = LookupFunction("fooBar");
  EXPECT_EQ(unknown.support, Support::kUnknown);
  EXPECT_EQ(unknown.refusal, "unknown function 'fooBar'");

  // Names are case-sensitive, as in graphite.
  FunctionInfo wrong_case = LookupFunction("SumSeries");
  EXPECT_EQ(wrong_case.support, Support::kUnknown);
  EXPECT_THAT(wrong_case.refusal,
              HasSubstr("unknown function 'SumSeries' (did you mean "
                        "'sumSeries'?"));

  FunctionInfo summarize = LookupFunction("summarize");
  EXPECT_EQ(summarize.support, Support::kNotSupported);
  EXPECT_THAT(summarize.refusal, HasSubstr("'summarize'"));
  EXPECT_THAT(summarize.refusal, HasSubstr("not supported"));

  for (std::string_view name :
       {"highestCurrent", "highestMax", "highestAverage", "lowestCurrent",
        "currentAbove", "averageAbove", "maximumAbove", "minimumBelow", "limit",
        "mostDeviant", "removeEmptySeries", "filterSeries"}) {
    FunctionInfo info = LookupFunction(name);
    EXPECT_EQ(info.support, Support::kSelectsSeries) << name;
    EXPECT_THAT(info.refusal, HasSubstr(std::string(name)));
    EXPECT_THAT(info.refusal,
                HasSubstr("the set of series an alarm watches would change"));
    EXPECT_THAT(info.refusal, HasSubstr("crossing a threshold"));
  }
  FunctionInfo area = LookupFunction("holtWintersConfidenceArea");
  EXPECT_EQ(area.support, Support::kNotSupported);
}

TEST(CatalogTest, HistoryFunctions) {
  FunctionInfo t = LookupFunction("timeShift");
  ASSERT_EQ(t.support, Support::kSupported);
  ASSERT_EQ(t.params.size(), 4u);
  EXPECT_EQ(ParamTypeName(t.params[1].type), "interval");
  EXPECT_TRUE(t.params[1].required);
  EXPECT_EQ(t.params[2].default_value, "true");
  EXPECT_EQ(t.params[3].name, "alignDST");
  FunctionInfo f = LookupFunction("holtWintersForecast");
  ASSERT_EQ(f.support, Support::kSupported);
  ASSERT_EQ(f.params.size(), 3u);
  EXPECT_EQ(f.params[1].default_value, "'7d'");
  EXPECT_EQ(f.params[2].default_value, "'1d'");
  for (std::string_view name :
       {"holtWintersConfidenceBands", "holtWintersAberration"}) {
    FunctionInfo info = LookupFunction(name);
    ASSERT_EQ(info.support, Support::kSupported) << name;
    ASSERT_EQ(info.params.size(), 4u) << name;
    EXPECT_EQ(info.params[1].name, "delta");
    EXPECT_EQ(info.params[1].default_value, "3");
  }
  EXPECT_EQ(ValidateText("timeShift(a.b, '7d')"), "OK");
  EXPECT_EQ(ValidateText("a.b|timeShift('1d', resetEnd=false)"), "OK");
  EXPECT_EQ(ValidateText("holtWintersConfidenceBands(a.*, 2, '1d', '10min')"),
            "OK");
  EXPECT_EQ(ValidateText("holtWintersAberration(a.*, seasonality='1h')"), "OK");
  EXPECT_EQ(ValidateText("timeShift(a.b, 7)"),
            "column 16: timeShift: argument 'timeShift' must be an interval "
            "string like '7d', not the integer 7");
  EXPECT_THAT(ValidateText("holtWintersForecast(a.b, '7x')"),
              HasSubstr("argument 'bootstrapInterval': invalid interval"));
  EXPECT_THAT(ValidateText("timeShift(a.b, '1d', alignDst=true)"),
              HasSubstr("unknown keyword argument 'alignDst'"));
}

TEST(CatalogTest, ValidTargets) {
  for (std::string_view target : {
           "a.b.c",
           "aliasByNode(perSecond(cgnat.*.ethtrunk3.in_octets), 1)",
           "aliasByNode(a.*.b, 1, -1, 3)",
           "sumSeries(mme.*.enodeb.disconnected)",
           "sum(a.*, b.*)",
           "avg(a.*)",
           "asPercent(sumSeries(a.*.x), sumSeries(a.*.y))",
           "asPercent(a.*, 100)",
           "asPercent(a.*, none, 1)",
           "asPercent(a.*)",
           "groupByNode(a.*.b, 1, 'sum')",
           "groupByNode(a.*.b, 1)",
           "groupByNode(a.*.b, 1, callback='maxSeries')",
           "groupByNodes(a.*.b, 'average', 1, 2)",
           "groupByNodes(a.*.b, 'sum')",
           "a.*|scale(2)|alias('x')",
           "scale(a, 1e3)",
           "scale(a, -0.5)",
           "offset(a, factor=-3)",
           "movingAverage(a.*, 10)",
           "movingAverage(a.*, '5min')",
           "movingMedian(a.*, windowSize='1h', xFilesFactor=0.5)",
           "exponentialMovingAverage(a, '-30s')",
           "keepLastValue(a)",
           "keepLastValue(a, 3)",
           "keepLastValue(a, inf)",
           "keepLastValue(a, limit=none)",
           "transformNull(a, 0, referenceSeries=b.*)",
           "perSecond(a, maxValue=4294967295)",
           "nonNegativeDerivative(a, 4294967295, 0)",
           "percentileOfSeries(a.*, 95, true)",
           "delay(a, -2)",
           "countSeries()",
           "countSeries(a.*, b.*)",
           "sumSeriesWithWildcards(a.*.b, 1, 2)",
           "averageSeriesWithWildcards(a.*.b)",
           "divideSeries(a, sumSeries(b.*))",
           "divideSeriesLists(a.*, b.*)",
           "aliasSub(a.*, '^a\\.', 'b')",
           "aliasByMetric(a.*)",
           "removeAboveValue(a, inf)",
       }) {
    EXPECT_EQ(ValidateText(target), "OK") << target;
  }
}

TEST(CatalogTest, RefusedFunctionsInTrees) {
  EXPECT_EQ(ValidateText("sumSeries(fooBar(a.b))"),
            "column 11: unknown function 'fooBar'");
  EXPECT_THAT(ValidateText("aliasByNode(highestCurrent(a.*, 3), 1)"),
              HasSubstr("column 13: function 'highestCurrent' is refused"));
  EXPECT_EQ(ValidateText("a.b|holtWintersConfidenceArea()"),
            "column 5: Graphite function 'holtWintersConfidenceArea' is not "
            "supported in rules");
  EXPECT_EQ(ValidateText("summarize(a, '1h')"),
            "column 1: Graphite function 'summarize' is not supported in "
            "rules");
  EXPECT_THAT(ValidateText("seriesByTag('name=a')"),
              HasSubstr("column 1: Graphite function 'seriesByTag'"));
  // The keyword argument's value is validated too.
  EXPECT_EQ(ValidateText("transformNull(a, referenceSeries=limit(b, 1))"),
            "column 34: function 'limit' is refused: it keeps or drops whole "
            "series by their values, so the set of series an alarm watches "
            "would change from one evaluation to the next, and alerts would "
            "appear and vanish without their values crossing a threshold");
}

TEST(CatalogTest, ArgumentErrors) {
  EXPECT_EQ(ValidateText("scale(a.b)"),
            "column 1: scale: missing required argument 'factor' (float)");
  EXPECT_EQ(ValidateText("scale(a.b, '2')"),
            "column 12: scale: argument 'factor' must be a number, not the "
            "string '2'");
  EXPECT_EQ(
      ValidateText("scale(a.b, 2, 3)"),
      "column 15: scale: too many arguments: it takes at most 2, given 3");
  EXPECT_EQ(ValidateText("scale(a.b, none)"),
            "column 12: scale: argument 'factor' cannot be none");
  EXPECT_EQ(ValidateText("countSeries(a, none)"),
            "column 16: countSeries: argument 'seriesLists' cannot be none");
  EXPECT_EQ(ValidateText("scale(2, a.b)"),
            "column 7: scale: argument 'seriesList' must be a series (a "
            "metric path or a function call), not the integer 2");
  EXPECT_EQ(ValidateText("aliasByNode(a.*, 1.5)"),
            "column 18: aliasByNode: argument 'nodes' must be an integer node "
            "index, not the number 1.5");
  EXPECT_EQ(ValidateText("aliasByNode(a.*, 'host')"),
            "column 18: aliasByNode: argument 'nodes' must be an integer node "
            "index (tags are not supported), not the string 'host'");
  EXPECT_EQ(ValidateText("aliasByNode(a.*)"),
            "column 1: aliasByNode: missing required argument 'nodes' "
            "(nodeOrTag)");
  EXPECT_EQ(ValidateText("aliasByNode(a.*, nodes=1)"),
            "column 24: aliasByNode: argument 'nodes' takes values by "
            "position only");
  EXPECT_EQ(ValidateText("sumSeriesWithWildcards(a.*, 'x')"),
            "column 29: sumSeriesWithWildcards: argument 'position' must be an "
            "integer node index, not the string 'x'");
  EXPECT_EQ(ValidateText("sumSeries()"),
            "column 1: sumSeries: missing required argument 'seriesLists' "
            "(seriesList)");
  EXPECT_EQ(ValidateText("alias(a, newname='x')"),
            "column 18: alias: unknown keyword argument 'newname' (its "
            "arguments: seriesList, newName)");
  EXPECT_EQ(ValidateText("alias(a, 'x', newName='y')"),
            "column 23: alias: too many arguments: it takes at most 2, given "
            "3");
  EXPECT_EQ(ValidateText("movingAverage(a, 5, windowSize=3)"),
            "column 32: movingAverage: argument 'windowSize' given both by "
            "position and by name");
  EXPECT_EQ(ValidateText("movingAverage(a, xFilesFactor=1, xFilesFactor=2)"),
            "column 47: movingAverage: argument 'xFilesFactor' given twice");
  EXPECT_EQ(ValidateText("alias(a, 5)"),
            "column 10: alias: argument 'newName' must be a quoted string, "
            "not the integer 5");
  EXPECT_EQ(ValidateText("delay(a, 1.0)"),
            "column 10: delay: argument 'steps' must be an integer, not the "
            "number 1.0");
  EXPECT_EQ(ValidateText("percentileOfSeries(a, 50, 1)"),
            "column 27: percentileOfSeries: argument 'interpolate' must be "
            "true or false, not the integer 1");
  EXPECT_EQ(ValidateText("keepLastValue(a, 2.5)"),
            "column 18: keepLastValue: argument 'limit' must be an integer or "
            "inf, not the number 2.5");
  EXPECT_EQ(ValidateText("asPercent(a, 'x')"),
            "column 14: asPercent: argument 'total' must be a series or a "
            "number, not the string 'x'");
}

TEST(CatalogTest, Windows) {
  EXPECT_EQ(ValidateText("movingAverage(a, '5mins')"), "OK");
  EXPECT_EQ(ValidateText("movingAverage(a, '5m')"),
            "column 18: movingAverage: argument 'windowSize': invalid "
            "interval '5m': unknown unit 'm' (s, min, h, d, w, mon, y)");
  EXPECT_EQ(ValidateText("movingSum(a, 0)"),
            "column 14: movingSum: argument 'windowSize' must be at least 1 "
            "point, not 0");
  EXPECT_EQ(ValidateText("movingMax(a, '0h')"),
            "column 14: movingMax: argument 'windowSize': the interval '0h' is "
            "empty (0 s)");
  EXPECT_EQ(ValidateText("movingMin(a, 1.5)"),
            "column 14: movingMin: argument 'windowSize' must be a number of "
            "points (an integer) or an interval string like '5min', not the "
            "number 1.5");
}

TEST(CatalogTest, Callbacks) {
  for (std::string_view cb : AggregationCallbacks()) {
    EXPECT_EQ(ValidateText("groupByNode(a.*, 1, '" + std::string(cb) + "')"),
              "OK")
        << cb;
  }
  EXPECT_THAT(ValidateText("groupByNode(a.*, 1, 'pct')"),
              HasSubstr("column 21: groupByNode: argument 'callback': 'pct' "
                        "is not a supported aggregation"));
  EXPECT_THAT(ValidateText("groupByNodes(a.*, 'asPercent', 1)"),
              HasSubstr("'asPercent' is not a supported aggregation"));
  EXPECT_EQ(ValidateText("groupByNode(a.*, 1, sum)"),
            "column 21: groupByNode: argument 'callback' must be a quoted "
            "aggregation name, not a metric path");
}

TEST(CatalogTest, CheckOneCall) {
  absl::StatusOr<Node> node = Parse("scale(fooBar(x), 2)");
  ASSERT_TRUE(node.ok());
  // Check looks at one call only.
  EXPECT_TRUE(Check(*node).ok());
  EXPECT_FALSE(Validate(*node).ok());
  EXPECT_FALSE(Check(node->args[1]).ok());
}

}  // namespace
}  // namespace gralarm::expr
