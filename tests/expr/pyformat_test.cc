#include "expr/pyformat.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <regex>

#include "gtest/gtest.h"

namespace gralarm::expr {
namespace {

TEST(PyFormat, FormatGIsPythonPercentG) {
  EXPECT_EQ(FormatG(2), "2");
  EXPECT_EQ(FormatG(0.5), "0.5");
  EXPECT_EQ(FormatG(-1), "-1");
  EXPECT_EQ(FormatG(123456789), "1.23457e+08");
  EXPECT_EQ(FormatG(1e20), "1e+20");
  EXPECT_EQ(FormatG(0.0001), "0.0001");
  EXPECT_EQ(FormatG(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatG(-std::numeric_limits<double>::quiet_NaN()), "nan");
}

TEST(PyFormat, PyReprIsPythonFloatRepr) {
  EXPECT_EQ(PyRepr(50.0), "50.0");
  EXPECT_EQ(PyRepr(0.1), "0.1");
  EXPECT_EQ(PyRepr(123.456), "123.456");
  EXPECT_EQ(PyRepr(-0.5), "-0.5");
  EXPECT_EQ(PyRepr(1e16), "1e+16");
  EXPECT_EQ(PyRepr(1.5e16), "1.5e+16");
  EXPECT_EQ(PyRepr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(PyRepr(1.5e-5), "1.5e-05");
  EXPECT_EQ(PyRepr(0.0001), "0.0001");
  EXPECT_EQ(PyRepr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PyRepr(0.0), "0.0");
}

TEST(PyFormat, FormatDTruncates) {
  EXPECT_EQ(FormatD(1.7), "1");
  EXPECT_EQ(FormatD(-1.7), "-1");
  EXPECT_EQ(FormatD(60), "60");
}

TEST(PyFormat, Round6IsPythonRound) {
  EXPECT_EQ(PyRound6(0.1234565), 0.123456);  // the binary value is below .5
  EXPECT_EQ(PyRound6(3 * 0.1), 0.3);
  EXPECT_EQ(PyRound6(1e300), 1e300);
  // Near a half: decided on the exact binary value, as Python does.
  EXPECT_EQ(PyRound6(2.5e-6), 3e-06);
  EXPECT_EQ(PyRound6(3.5e-6), 3e-06);
  EXPECT_EQ(PyRound6(-0.0000015), -2e-06);
  EXPECT_EQ(PyRound6(123456.7891234), 123456.789123);
  EXPECT_EQ(PyRound6(-7.25), -7.25);
  EXPECT_TRUE(std::isinf(PyRound6(std::numeric_limits<double>::infinity())));
}

TEST(PyFormat, Round6FastPathAgreesWithCorrectRounding) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    const int scale = static_cast<int>(rng() % 20) - 8;
    double x = std::ldexp(static_cast<double>(rng() >> 11), -53) *
               std::pow(10.0, scale);
    if (rng() % 2) x = -x;
    if (i % 3 == 0) x = std::round(x * 1e7) / 1e7 + 5e-7;  // near halves
    char buf[400];
    std::snprintf(buf, sizeof(buf), "%.6f", x);
    ASSERT_EQ(PyRound6(x), std::strtod(buf, nullptr)) << buf << " " << x;
  }
}

TEST(PyFormat, ParseTimeOffsetLikeGraphite) {
  EXPECT_EQ(*ParseTimeOffset("5min"), 300);
  EXPECT_EQ(*ParseTimeOffset("30s"), 30);
  EXPECT_EQ(*ParseTimeOffset("1h30min"), 5400);
  EXPECT_EQ(*ParseTimeOffset("-1d"), -86400);
  EXPECT_EQ(*ParseTimeOffset("+2w"), 1209600);
  EXPECT_EQ(*ParseTimeOffset("1mon"), 30 * 86400);
  EXPECT_EQ(*ParseTimeOffset("1y"), 365 * 86400);
  EXPECT_EQ(*ParseTimeOffset("10seconds"), 10);
  EXPECT_FALSE(ParseTimeOffset("5").ok());   // no unit
  EXPECT_FALSE(ParseTimeOffset("5m").ok());  // neither min nor mon
  EXPECT_FALSE(ParseTimeOffset("min").ok());
  EXPECT_FALSE(ParseTimeOffset("x5s").ok());
  EXPECT_FALSE(ParseTimeOffset("999999999y").ok());  // too large
  EXPECT_FALSE(ParseTimeOffset("9999999999999s").ok());
}

TEST(PyFormat, FirstPathExpression) {
  EXPECT_EQ(*FirstPathExpression("scale(sumSeries(a.*.b),2)"), "a.*.b");
  EXPECT_EQ(*FirstPathExpression("sumSeries(a.{b,c}.d)"), "a.{b,c}.d");
  EXPECT_EQ(*FirstPathExpression("asPercent(x.y,sumSeries(x.*))"), "x.y");
  EXPECT_EQ(*FirstPathExpression("removeAboveValue(a.b, 5)"), "a.b");
  EXPECT_FALSE(FirstPathExpression("countSeries()").has_value());
  EXPECT_FALSE(FirstPathExpression("f('text')").has_value());
}

TEST(PyFormat, NodeKeyLikeAggKey) {
  EXPECT_EQ(NodeKey("a.b.c", {1}), "b");
  EXPECT_EQ(NodeKey("a.b.c", {-1}), "c");
  EXPECT_EQ(NodeKey("a.b.c", {0, 2}), "a.c");
  EXPECT_EQ(NodeKey("a.b.c", {5}), "");
  EXPECT_EQ(NodeKey("a.b.c", {-4, 0}), ".a");
  EXPECT_EQ(NodeKey("a.b.c;tag=v", {-1}), "c");
  // A name ending with ')' is read through its first path expression.
  EXPECT_EQ(NodeKey("scale(a.b.c,2)", {-1}), "c");
  EXPECT_EQ(NodeKey("sumSeries(s.*.cpu)", {1}), "*");
  EXPECT_EQ(NodeKey("keep(a.b", {0}), "keep(a");  // no ')' at the end
}

TEST(PyFormat, AliasByMetricName) {
  EXPECT_EQ(AliasByMetricName("a.b.c"), "c");
  EXPECT_EQ(AliasByMetricName("scale(a.b.c,2)"), "c");
  EXPECT_EQ(AliasByMetricName("sumSeries(scale(a.b.c,2))"), "c");
}

TEST(PyFormat, RegexSubUsesPythonTemplates) {
  const std::regex re("^a\\.(\\w+)\\.(\\w+)$");
  EXPECT_EQ(RegexSub(re, "x.\\2.\\1", "a.b.c"), "x.c.b");
  EXPECT_EQ(RegexSub(re, "\\g<1>", "a.b.c"), "b");
  EXPECT_EQ(RegexSub(re, "x", "z.b.c"), "z.b.c");
  EXPECT_EQ(RegexSub(std::regex("b"), "_", "abcb"), "a_c_");
}

}  // namespace
}  // namespace gralarm::expr
