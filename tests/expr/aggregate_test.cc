#include "expr/aggregate.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace gralarm::expr {
namespace {

Value Agg(AggFunc f, std::vector<Value> row) {
  std::vector<double> scratch;
  return AggregateRow(f, row.data(), row.size(), 0, &scratch);
}
const Value N = Value::None();
Value V(double x) { return Value::Of(x); }

TEST(Aggregate, SafeFunctionsSkipMissingValues) {
  EXPECT_EQ(Agg(AggFunc::kSum, {V(1), N, V(2)}).v, 3);
  EXPECT_EQ(Agg(AggFunc::kAverage, {V(1), N, V(2)}).v, 1.5);
  EXPECT_EQ(Agg(AggFunc::kAvgZero, {V(1), N, V(2)}).v, 1);
  EXPECT_EQ(Agg(AggFunc::kMin, {N, V(4), V(2)}).v, 2);
  EXPECT_EQ(Agg(AggFunc::kMax, {N, V(4), V(2)}).v, 4);
  EXPECT_EQ(Agg(AggFunc::kRange, {N, V(4), V(2)}).v, 2);
  EXPECT_EQ(Agg(AggFunc::kDiff, {N, V(10), V(2), V(3)}).v, 5);
  EXPECT_EQ(Agg(AggFunc::kCount, {N, V(10), V(2)}).v, 2);
  EXPECT_EQ(Agg(AggFunc::kLast, {V(1), V(7), N}).v, 7);
  EXPECT_EQ(Agg(AggFunc::kMedian, {V(5), V(1), N, V(3), V(10)}).v, 4);
  EXPECT_EQ(Agg(AggFunc::kMedian, {V(5), V(1), V(3)}).v, 3);
  EXPECT_DOUBLE_EQ(
      Agg(AggFunc::kStddev, {V(2), V(4), V(4), V(4), V(5), V(5), V(7), V(9)}).v,
      2);
  EXPECT_EQ(Agg(AggFunc::kMultiply, {V(2), V(3)}).v, 6);
}

TEST(Aggregate, AllMissingIsNone) {
  for (AggFunc f : {AggFunc::kSum, AggFunc::kAverage, AggFunc::kCount,
                    AggFunc::kMultiply, AggFunc::kMin, AggFunc::kAvgZero}) {
    EXPECT_FALSE(Agg(f, {N, N}).ok);
    EXPECT_FALSE(Agg(f, {}).ok);
  }
}

TEST(Aggregate, MultiplyWithAMissingValueIsNone) {
  EXPECT_FALSE(Agg(AggFunc::kMultiply, {V(2), N}).ok);
}

TEST(Aggregate, XFilesFactor) {
  std::vector<Value> row = {V(1), N, N, N};
  std::vector<double> scratch;
  EXPECT_TRUE(AggregateRow(AggFunc::kSum, row.data(), 4, 0.25, &scratch).ok);
  EXPECT_FALSE(AggregateRow(AggFunc::kSum, row.data(), 4, 0.3, &scratch).ok);
}

TEST(Aggregate, Names) {
  EXPECT_EQ(AggFuncByName("avg"), AggFunc::kAverage);
  EXPECT_EQ(AggFuncByName("total"), AggFunc::kSum);
  EXPECT_EQ(AggFuncByName("rangeOf"), AggFunc::kRange);
  EXPECT_EQ(AggFuncByName("current"), AggFunc::kLast);
  EXPECT_FALSE(AggFuncByName("sumSeries").has_value());
}

}  // namespace
}  // namespace gralarm::expr
