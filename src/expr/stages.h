#ifndef GRALARM_EXPR_STAGES_H_
#define GRALARM_EXPR_STAGES_H_

// The stages of graphite-web 1.1.8's functions (render/functions.py). Each
// class comment names the functions it implements; the values and names are
// graphite's, the differences a stream must have from a render are stated
// where they arise (and in docs/TARGETS.md).

#include <cstdint>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "expr/aggregate.h"
#include "expr/stage.h"
#include "gralarm/glob.h"

namespace gralarm::expr {

// A path expression: every known input series matching the glob, sorted by
// name (graphite lists every whisper file matching, sorted). Values come from
// the program's slots; a series is None in steps without a point.
class PathStage : public Stage {
 public:
  PathStage(Glob glob, const std::vector<Value>* slots)
      : glob_(std::move(glob)), slots_(slots) {}
  const Glob& glob() const { return glob_; }
  // Adds an input series (in name order). Names must be new.
  void Insert(const std::string& name, int32_t slot);

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  Glob glob_;
  const std::vector<Value>* slots_;
  std::vector<std::pair<std::string, int32_t>> members_;  // sorted by name
};

// Functions that map each series to one series: the per-series transforms,
// the naming functions and the per-series stateful ones.
class MapStage : public Stage {
 public:
  enum class Kind {
    kScale,                  // scale(s, factor)
    kScaleToSeconds,         // scaleToSeconds(s, seconds)
    kOffset,                 // offset(s, factor)
    kAbsolute,               // absolute(s)
    kInvert,                 // invert(s)
    kPow,                    // pow(s, factor)
    kTransformNull,          // transformNull(s, default)
    kKeepLastValue,          // keepLastValue(s, limit)
    kPerSecond,              // perSecond(s, maxValue, minValue)
    kNonNegativeDerivative,  // nonNegativeDerivative(s, maxValue, minValue)
    kDerivative,             // derivative(s)
    kIntegral,               // integral(s)
    kDelay,                  // delay(s, steps)
    kMoving,                 // movingAverage/Sum/Min/Max/Median(s, window, xff)
    kEma,                    // exponentialMovingAverage(s, window)
    kRemoveAbove,            // removeAboveValue(s, n)
    kRemoveBelow,            // removeBelowValue(s, n)
    kAlias,                  // alias(s, newName)
    kAliasByNode,            // aliasByNode(s, *nodes)
    kAliasByMetric,          // aliasByMetric(s)
    kAliasSub,               // aliasSub(s, search, replace)
  };

  struct Params {
    double number = 0;        // factor, default, n, seconds
    std::string number_text;  // the name's rendering of `number` where needed
    std::optional<double> max_value;
    std::optional<double> min_value;
    double limit = std::numeric_limits<double>::infinity();
    int64_t window = 0;       // points (moving*, ema, delay)
    std::string window_text;  // "5" or "\"5min\"" as the name shows it
    double ema_constant = 0;  // 2 / (windowSize + 1) (seconds for a string)
    AggFunc func = AggFunc::kAverage;  // moving*
    std::string func_name;             // "movingAverage", ...
    double xff = 0;
    std::string text;                  // alias name, aliasSub replacement
    std::optional<std::regex> search;  // aliasSub
    std::vector<int64_t> nodes;        // aliasByNode
  };

  MapStage(Kind kind, Params params) : kind_(kind), p_(std::move(params)) {}

  void EncodeState(std::string* out) const override;
  bool DecodeState(coding::Reader* in) override;

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;
  int64_t OwnLookback() const override;

 private:
  struct State {
    Value prev;        // the previous input, or keepLastValue's last value
    double acc = 0;    // integral's running sum, the EMA
    double nones = 0;  // keepLastValue: Nones in a row
    std::vector<Value> ring;  // moving*/delay: the last `window` inputs
    uint32_t head = 0;        // the oldest entry of `ring`
  };
  Value Apply(const StepContext& ctx, State* s, Value v);
  std::string Name(const Series& in) const;

  Kind kind_;
  Params p_;
  KeyedStates<State> states_;
  bool stateful_ = true;
  std::vector<double> scratch_;
  std::vector<Value> window_;
};

// transformNull(s, default, referenceSeries=r): a missing value becomes
// `default` only in steps where some series of r has a value.
class TransformNullRefStage : public Stage {
 public:
  TransformNullRefStage(double def) : default_(def) {}

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  double default_;
};

// sumSeries/sum, averageSeries/avg, maxSeries, minSeries, diffSeries,
// multiplySeries, rangeOfSeries, stddevSeries (aggregate() with its
// xFilesFactor 0) and countSeries over the concatenated argument lists: one
// series "<func>Series(<path expressions>)", none when there is no series.
class AggregateStage : public Stage {
 public:
  // `func_name` is graphite's name stem ("sum", "average", "rangeOf", ...);
  // `count_series` makes countSeries (the number of series, missing or not).
  AggregateStage(AggFunc func, std::string func_name, bool count_series)
      : func_(func),
        func_name_(std::move(func_name)),
        count_series_(count_series) {}

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  AggFunc func_;
  std::string func_name_;
  bool count_series_;
  bool identity_ = false;  // multiplySeries of one list of one series
  std::vector<Value> row_;
  std::vector<double> scratch_;
};

// percentileOfSeries(s, n, interpolate).
class PercentileStage : public Stage {
 public:
  PercentileStage(double n, std::string n_text, bool interpolate)
      : n_(n), n_text_(std::move(n_text)), interpolate_(interpolate) {}

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  double n_;
  std::string n_text_;
  bool interpolate_;
  std::vector<double> sorted_;
};

// groupByNode(s, node, callback), groupByNodes(s, callback, *nodes) and
// sumSeriesWithWildcards / averageSeriesWithWildcards(s, *positions): the
// series grouped by a key (in order of first appearance), each group
// aggregated into one series named by the key.
class GroupStage : public Stage {
 public:
  struct Callback {
    AggFunc func = AggFunc::kAverage;
    std::string series_name;    // the aggregate's name stem, e.g. "sumSeries"
    bool count_series = false;  // countSeries
    bool multiply_series = false;  // multiplySeries (one series: itself)
  };
  // By nodes (aggKey) or, with `wildcards`, by dropping the positions.
  GroupStage(Callback callback, std::vector<int64_t> nodes, bool wildcards)
      : cb_(std::move(callback)),
        nodes_(std::move(nodes)),
        wildcards_(wildcards) {}
  // The callback of groupByNode(s) by graphite's name, or nullopt.
  static std::optional<Callback> CallbackByName(std::string_view name);

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  Callback cb_;
  std::vector<int64_t> nodes_;
  bool wildcards_;
  std::vector<std::vector<size_t>> groups_;
  std::vector<Value> row_;
  std::vector<double> scratch_;
};

// asPercent(s), asPercent(s, total number), asPercent(s, total series list),
// asPercent(s, total or None, *nodes).
class AsPercentStage : public Stage {
 public:
  // Children: the series list, then the total list when `total_is_list`.
  AsPercentStage(bool total_is_list, std::optional<double> total_number,
                 std::string total_text, std::vector<int64_t> nodes)
      : total_is_list_(total_is_list),
        total_number_(total_number),
        total_text_(std::move(total_text)),
        nodes_(std::move(nodes)) {}

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  // Where a total comes from: one series, the safeSum of several, None.
  struct Total {
    std::vector<std::pair<int, size_t>> members;  // (child, index)
    bool missing = false;
  };
  struct Output {
    std::optional<std::pair<int, size_t>> series;  // none: MISSING
    size_t total = 0;                              // index into totals_
    bool no_total = false;
  };
  Value TotalValue(const Total& t) const;

  bool total_is_list_;
  std::optional<double> total_number_;
  std::string total_text_;
  std::vector<int64_t> nodes_;
  std::vector<Total> totals_;
  std::vector<Output> outputs_;
  std::vector<Value> total_values_;
};

// divideSeries(dividends, divisor) and divideSeriesLists(dividends, divisors).
class DivideStage : public Stage {
 public:
  explicit DivideStage(bool lists) : lists_(lists) {}

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;

 private:
  bool lists_;
  bool missing_divisor_ = false;
};

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_STAGES_H_
