#ifndef GRALARM_EXPR_AGGREGATE_H_
#define GRALARM_EXPR_AGGREGATE_H_

// graphite-web 1.1.8's aggregation functions (functions/aggfuncs.py over
// functions/safe.py) applied to one row of values, with aggregate()'s
// xFilesFactor rule.

#include <optional>
#include <string_view>
#include <vector>

#include "expr/series.h"

namespace gralarm::expr {

enum class AggFunc {
  kAverage,
  kAvgZero,
  kMedian,
  kSum,
  kMin,
  kMax,
  kDiff,
  kStddev,
  kCount,
  kRange,
  kMultiply,
  kLast,
};

// getAggFunc: "average"/"avg", "avg_zero", "median", "sum"/"total", "min",
// "max", "diff", "stddev", "count", "range"/"rangeOf", "multiply",
// "last"/"current". nullopt for any other name.
std::optional<AggFunc> AggFuncByName(std::string_view name);

// The function over the non-missing values of `row` (graphite's safe*): None
// when every value is missing; multiply is None when any value is missing.
// `scratch` is reused by median to avoid an allocation per call.
Value ApplyAggFunc(AggFunc f, const Value* row, size_t n,
                   std::vector<double>* scratch);

// aggregate()'s row rule: the function when the share of non-missing values
// reaches `xff` (and at least one value is there), else None.
Value AggregateRow(AggFunc f, const Value* row, size_t n, double xff,
                   std::vector<double>* scratch);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_AGGREGATE_H_
