#include "expr/aggregate.h"

#include <algorithm>
#include <cmath>

namespace gralarm::expr {

std::optional<AggFunc> AggFuncByName(std::string_view name) {
  if (name == "average" || name == "avg") return AggFunc::kAverage;
  if (name == "avg_zero") return AggFunc::kAvgZero;
  if (name == "median") return AggFunc::kMedian;
  if (name == "sum" || name == "total") return AggFunc::kSum;
  if (name == "min") return AggFunc::kMin;
  if (name == "max") return AggFunc::kMax;
  if (name == "diff") return AggFunc::kDiff;
  if (name == "stddev") return AggFunc::kStddev;
  if (name == "count") return AggFunc::kCount;
  if (name == "range" || name == "rangeOf") return AggFunc::kRange;
  if (name == "multiply") return AggFunc::kMultiply;
  if (name == "last" || name == "current") return AggFunc::kLast;
  return std::nullopt;
}

namespace {

// Python's min()/max() over the non-missing values: the first value is kept
// unless a later one compares strictly smaller / larger.
Value SafeMin(const Value* row, size_t n) {
  Value best;
  for (size_t i = 0; i < n; ++i) {
    if (!row[i].ok) continue;
    if (!best.ok || row[i].v < best.v) best = row[i];
  }
  return best;
}
Value SafeMax(const Value* row, size_t n) {
  Value best;
  for (size_t i = 0; i < n; ++i) {
    if (!row[i].ok) continue;
    if (!best.ok || row[i].v > best.v) best = row[i];
  }
  return best;
}

}  // namespace

Value ApplyAggFunc(AggFunc f, const Value* row, size_t n,
                   std::vector<double>* scratch) {
  size_t count = 0;
  double sum = 0;  // Python's sum(): left to right from 0
  for (size_t i = 0; i < n; ++i) {
    if (row[i].ok) {
      ++count;
      sum += row[i].v;
    }
  }
  switch (f) {
    case AggFunc::kCount:
      return Value::Of(static_cast<double>(count));
    case AggFunc::kAvgZero:
      if (n == 0) return Value::None();
      return Value::Of(sum / static_cast<double>(n));
    case AggFunc::kMultiply: {
      if (n == 0) return Value::None();
      double product = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!row[i].ok) return Value::None();
        product = i == 0 ? row[i].v : product * row[i].v;
      }
      return Value::Of(product);
    }
    default:
      break;
  }
  if (count == 0) return Value::None();
  switch (f) {
    case AggFunc::kSum:
      return Value::Of(sum);
    case AggFunc::kAverage:
      return Value::Of(sum / static_cast<double>(count));
    case AggFunc::kMin:
      return SafeMin(row, n);
    case AggFunc::kMax:
      return SafeMax(row, n);
    case AggFunc::kRange:
      return Value::Of(SafeMax(row, n).v - SafeMin(row, n).v);
    case AggFunc::kLast:
      for (size_t i = n; i > 0; --i) {
        if (row[i - 1].ok) return row[i - 1];
      }
      return Value::None();
    case AggFunc::kDiff: {
      double d = 0;
      bool first = true;
      for (size_t i = 0; i < n; ++i) {
        if (!row[i].ok) continue;
        d += first ? row[i].v : -row[i].v;
        first = false;
      }
      return Value::Of(d);
    }
    case AggFunc::kStddev: {
      const double avg = sum / static_cast<double>(count);
      double squares = 0;
      for (size_t i = 0; i < n; ++i) {
        if (row[i].ok) squares += (row[i].v - avg) * (row[i].v - avg);
      }
      return Value::Of(std::sqrt(squares / static_cast<double>(count)));
    }
    case AggFunc::kMedian: {
      scratch->clear();
      for (size_t i = 0; i < n; ++i) {
        if (row[i].ok) scratch->push_back(row[i].v);
      }
      std::sort(scratch->begin(), scratch->end());
      const size_t mid = scratch->size() / 2;
      if (scratch->size() % 2 == 0) {
        return Value::Of(((*scratch)[mid - 1] + (*scratch)[mid]) / 2);
      }
      return Value::Of((*scratch)[mid]);
    }
    default:
      return Value::None();
  }
}

Value AggregateRow(AggFunc f, const Value* row, size_t n, double xff,
                   std::vector<double>* scratch) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) count += row[i].ok ? 1 : 0;
  if (count == 0 || n == 0) return Value::None();
  if (static_cast<double>(count) / static_cast<double>(n) < xff) {
    return Value::None();
  }
  return ApplyAggFunc(f, row, n, scratch);
}

}  // namespace gralarm::expr
