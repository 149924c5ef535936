#include "expr/catalog.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "expr/interval.h"
#include "expr/parser.h"
#include "gralarm/strings.h"

namespace gralarm::expr {
namespace {

using T = ParamType;

// ---- Parameters, as graphite-web 1.1.8 declares them ----

// A required parameter.
constexpr Param Req(std::string_view name, ParamType type) {
  return Param{name, type, true, false, ""};
}
// An optional parameter, with graphite's default if it declares one.
constexpr Param Opt(std::string_view name, ParamType type,
                    std::string_view default_value = "") {
  return Param{name, type, false, false, default_value};
}
// A last parameter taking any number of positional values.
constexpr Param Multi(std::string_view name, ParamType type, bool required) {
  return Param{name, type, required, true, ""};
}

constexpr Param kSeries = Req("seriesList", T::kSeriesList);

constexpr Param kAliasParams[] = {kSeries, Req("newName", T::kString)};
constexpr Param kAliasByNodeParams[] = {kSeries,
                                        Multi("nodes", T::kNodeOrTag, true)};
constexpr Param kSeriesOnly[] = {kSeries};
constexpr Param kAliasSubParams[] = {kSeries, Req("search", T::kString),
                                     Req("replace", T::kString)};
constexpr Param kFactorParams[] = {kSeries, Req("factor", T::kFloat)};
constexpr Param kScaleToSecondsParams[] = {kSeries, Req("seconds", T::kFloat)};
constexpr Param kTransformNullParams[] = {
    kSeries, Opt("default", T::kFloat, "0"),
    Opt("referenceSeries", T::kSeriesList)};
constexpr Param kKeepLastValueParams[] = {kSeries,
                                          Opt("limit", T::kIntOrInf, "inf")};
constexpr Param kDerivativeBoundsParams[] = {
    kSeries, Opt("maxValue", T::kFloat), Opt("minValue", T::kFloat)};
constexpr Param kDelayParams[] = {kSeries, Req("steps", T::kInteger)};
constexpr Param kMovingParams[] = {kSeries,
                                   Req("windowSize", T::kIntOrInterval),
                                   Opt("xFilesFactor", T::kFloat)};
constexpr Param kEmaParams[] = {kSeries, Req("windowSize", T::kIntOrInterval)};
constexpr Param kValueParams[] = {kSeries, Req("n", T::kFloat)};
constexpr Param kAggregateParams[] = {
    Multi("seriesLists", T::kSeriesList, true)};
constexpr Param kCountSeriesParams[] = {
    Multi("seriesLists", T::kSeriesList, false)};
constexpr Param kPercentileOfSeriesParams[] = {
    kSeries, Req("n", T::kFloat), Opt("interpolate", T::kBoolean, "false")};
constexpr Param kGroupByNodeParams[] = {
    kSeries, Req("nodeNum", T::kNodeOrTag),
    Opt("callback", T::kAggFunc, "'average'")};
constexpr Param kGroupByNodesParams[] = {kSeries, Req("callback", T::kAggFunc),
                                         Multi("nodes", T::kNodeOrTag, false)};
constexpr Param kWithWildcardsParams[] = {kSeries,
                                          Multi("position", T::kNode, false)};
constexpr Param kAsPercentParams[] = {kSeries, Opt("total", T::kAny),
                                      Multi("nodes", T::kNodeOrTag, false)};
// graphite declares timeShift's last parameter 'alignDst', but its function
// takes 'alignDST': only that keyword renders, so that is the name here.
constexpr Param kTimeShiftParams[] = {kSeries, Req("timeShift", T::kInterval),
                                      Opt("resetEnd", T::kBoolean, "true"),
                                      Opt("alignDST", T::kBoolean, "false")};
constexpr Param kHoltWintersForecastParams[] = {
    kSeries, Opt("bootstrapInterval", T::kInterval, "'7d'"),
    Opt("seasonality", T::kInterval, "'1d'")};
constexpr Param kHoltWintersBandsParams[] = {
    kSeries, Opt("delta", T::kInteger, "3"),
    Opt("bootstrapInterval", T::kInterval, "'7d'"),
    Opt("seasonality", T::kInterval, "'1d'")};
constexpr Param kDivideSeriesParams[] = {
    Req("dividendSeriesList", T::kSeriesList),
    Req("divisorSeries", T::kSeriesList)};
constexpr Param kDivideSeriesListsParams[] = {
    Req("dividendSeriesList", T::kSeriesList),
    Req("divisorSeriesList", T::kSeriesList)};

struct Supported {
  std::string_view name;
  std::string_view canonical;
  absl::Span<const Param> params;
};

const Supported kSupported[] = {
    {"alias", "alias", kAliasParams},
    {"aliasByNode", "aliasByNode", kAliasByNodeParams},
    {"aliasByMetric", "aliasByMetric", kSeriesOnly},
    {"aliasSub", "aliasSub", kAliasSubParams},
    {"scale", "scale", kFactorParams},
    {"scaleToSeconds", "scaleToSeconds", kScaleToSecondsParams},
    {"offset", "offset", kFactorParams},
    {"absolute", "absolute", kSeriesOnly},
    {"invert", "invert", kSeriesOnly},
    {"pow", "pow", kFactorParams},
    {"transformNull", "transformNull", kTransformNullParams},
    {"keepLastValue", "keepLastValue", kKeepLastValueParams},
    {"perSecond", "perSecond", kDerivativeBoundsParams},
    {"nonNegativeDerivative", "nonNegativeDerivative", kDerivativeBoundsParams},
    {"derivative", "derivative", kSeriesOnly},
    {"integral", "integral", kSeriesOnly},
    {"delay", "delay", kDelayParams},
    {"movingAverage", "movingAverage", kMovingParams},
    {"movingSum", "movingSum", kMovingParams},
    {"movingMin", "movingMin", kMovingParams},
    {"movingMax", "movingMax", kMovingParams},
    {"movingMedian", "movingMedian", kMovingParams},
    {"exponentialMovingAverage", "exponentialMovingAverage", kEmaParams},
    {"removeAboveValue", "removeAboveValue", kValueParams},
    {"removeBelowValue", "removeBelowValue", kValueParams},
    {"sumSeries", "sumSeries", kAggregateParams},
    {"sum", "sumSeries", kAggregateParams},
    {"averageSeries", "averageSeries", kAggregateParams},
    {"avg", "averageSeries", kAggregateParams},
    {"maxSeries", "maxSeries", kAggregateParams},
    {"minSeries", "minSeries", kAggregateParams},
    {"countSeries", "countSeries", kCountSeriesParams},
    {"diffSeries", "diffSeries", kAggregateParams},
    {"multiplySeries", "multiplySeries", kAggregateParams},
    {"rangeOfSeries", "rangeOfSeries", kAggregateParams},
    {"stddevSeries", "stddevSeries", kAggregateParams},
    {"percentileOfSeries", "percentileOfSeries", kPercentileOfSeriesParams},
    {"groupByNode", "groupByNode", kGroupByNodeParams},
    {"groupByNodes", "groupByNodes", kGroupByNodesParams},
    {"sumSeriesWithWildcards", "sumSeriesWithWildcards", kWithWildcardsParams},
    {"averageSeriesWithWildcards", "averageSeriesWithWildcards",
     kWithWildcardsParams},
    {"asPercent", "asPercent", kAsPercentParams},
    {"pct", "asPercent", kAsPercentParams},
    {"divideSeries", "divideSeries", kDivideSeriesParams},
    {"divideSeriesLists", "divideSeriesLists", kDivideSeriesListsParams},
    {"timeShift", "timeShift", kTimeShiftParams},
    {"holtWintersForecast", "holtWintersForecast", kHoltWintersForecastParams},
    {"holtWintersConfidenceBands", "holtWintersConfidenceBands",
     kHoltWintersBandsParams},
    {"holtWintersAberration", "holtWintersAberration", kHoltWintersBandsParams},
};

// Functions that keep or drop whole series by their values.
constexpr std::string_view kSelecting[] = {
    "averageAbove",
    "averageBelow",
    "averageOutsidePercentile",
    "currentAbove",
    "currentBelow",
    "filterSeries",
    "highest",
    "highestAverage",
    "highestCurrent",
    "highestMax",
    "limit",
    "lowest",
    "lowestAverage",
    "lowestCurrent",
    "maximumAbove",
    "maximumBelow",
    "minimumAbove",
    "minimumBelow",
    "mostDeviant",
    "removeBetweenPercentile",
    "removeEmptySeries",
    "useSeriesAbove",
};

// Every other function of graphite-web 1.1.8 (render/functions.py
// SeriesFunctions), and its template().
constexpr std::string_view kOtherGraphite[] = {"add",
                                               "aggregate",
                                               "aggregateLine",
                                               "aggregateSeriesLists",
                                               "aggregateWithWildcards",
                                               "aliasByTags",
                                               "aliasQuery",
                                               "alpha",
                                               "applyByNode",
                                               "areaBetween",
                                               "cactiStyle",
                                               "changed",
                                               "color",
                                               "consolidateBy",
                                               "constantLine",
                                               "cumulative",
                                               "dashed",
                                               "diffSeriesLists",
                                               "drawAsInfinite",
                                               "events",
                                               "exclude",
                                               "exp",
                                               "fallbackSeries",
                                               "grep",
                                               "group",
                                               "groupByTags",
                                               "hitcount",
                                               "holtWintersConfidenceArea",
                                               "identity",
                                               "integralByInterval",
                                               "interpolate",
                                               "isNonNull",
                                               "legendValue",
                                               "lineWidth",
                                               "linearRegression",
                                               "log",
                                               "logit",
                                               "map",
                                               "mapSeries",
                                               "minMax",
                                               "movingWindow",
                                               "multiplySeriesLists",
                                               "multiplySeriesWithWildcards",
                                               "nPercentile",
                                               "offsetToZero",
                                               "powSeries",
                                               "randomWalk",
                                               "randomWalkFunction",
                                               "reduce",
                                               "reduceSeries",
                                               "removeAbovePercentile",
                                               "removeBelowPercentile",
                                               "round",
                                               "secondYAxis",
                                               "seriesByTag",
                                               "setXFilesFactor",
                                               "sigmoid",
                                               "sin",
                                               "sinFunction",
                                               "smartSummarize",
                                               "sortBy",
                                               "sortByMaxima",
                                               "sortByMinima",
                                               "sortByName",
                                               "sortByTotal",
                                               "squareRoot",
                                               "stacked",
                                               "stdev",
                                               "substr",
                                               "sumSeriesLists",
                                               "summarize",
                                               "template",
                                               "threshold",
                                               "time",
                                               "timeFunction",
                                               "timeSlice",
                                               "timeStack",
                                               "unique",
                                               "verticalLine",
                                               "weightedAverage",
                                               "xFilesFactor"};

constexpr std::string_view kCallbacks[] = {
    "average",    "avg",           "avg_zero",      "median",
    "sum",        "total",         "min",           "max",
    "diff",       "stddev",        "count",         "range",
    "rangeOf",    "multiply",      "last",          "current",
    "sumSeries",  "averageSeries", "minSeries",     "maxSeries",
    "diffSeries", "stddevSeries",  "rangeOfSeries", "multiplySeries",
    "countSeries"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string Join(absl::Span<const std::string_view> items,
                 std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

struct Catalog {
  std::unordered_map<std::string_view, const Supported*> supported;
  std::unordered_map<std::string_view, Support> refused;
  // Lower-cased known name -> the name, for "did you mean".
  std::unordered_map<std::string, std::string_view> by_lower;
};

const Catalog& GetCatalog() {
  static const Catalog* const catalog = [] {
    auto* c = new Catalog;
    for (const Supported& s : kSupported) {
      c->supported[s.name] = &s;
      c->by_lower[Lower(s.name)] = s.name;
    }
    auto add = [&](absl::Span<const std::string_view> names, Support why) {
      for (std::string_view n : names) {
        c->refused[n] = why;
        c->by_lower[Lower(n)] = n;
      }
    };
    add(kSelecting, Support::kSelectsSeries);
    add(kOtherGraphite, Support::kNotSupported);
    return c;
  }();
  return *catalog;
}

// ---- Check ----

std::string Describe(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kPath:
      return "a metric path";
    case Node::Kind::kCall:
      return StrCat("a call of ", n.text);
    case Node::Kind::kString:
      return StrCat("the string '", n.text, "'");
    case Node::Kind::kInteger:
      return StrCat("the integer ", n.text);
    case Node::Kind::kFloat:
      return StrCat("the number ", n.text);
    case Node::Kind::kBool:
      return StrCat("the boolean ", n.text);
    case Node::Kind::kNone:
      return "none";
    case Node::Kind::kInfinity:
      return "inf";
  }
  return "?";
}

absl::Status CallError(const Node& at, std::string_view function,
                       std::string_view what) {
  return absl::InvalidArgumentError(
      StrCat("column ", at.column, ": ", function, ": ", what));
}

// Checks one value against its parameter.
absl::Status CheckValue(std::string_view function, const Param& p,
                        const Node& v) {
  using K = Node::Kind;
  if (v.kind == K::kNone) {
    // An optional parameter given none takes its default; a `multiple` one
    // has no default to take.
    if (!p.required && !p.multiple) return absl::OkStatus();
    return CallError(v, function,
                     StrCat("argument '", p.name, "' cannot be none"));
  }
  auto wrong = [&](std::string_view expected) {
    return CallError(v, function,
                     StrCat("argument '", p.name, "' must be ", expected,
                            ", not ", Describe(v)));
  };
  switch (p.type) {
    case T::kSeriesList:
      if (v.is_series()) return absl::OkStatus();
      return wrong("a series (a metric path or a function call)");
    case T::kInteger:
      if (v.kind == K::kInteger) return absl::OkStatus();
      return wrong("an integer");
    case T::kFloat:
      if (v.kind == K::kInteger || v.kind == K::kFloat ||
          v.kind == K::kInfinity) {
        return absl::OkStatus();
      }
      return wrong("a number");
    case T::kString:
      if (v.kind == K::kString) return absl::OkStatus();
      return wrong("a quoted string");
    case T::kBoolean:
      if (v.kind == K::kBool) return absl::OkStatus();
      return wrong("true or false");
    case T::kIntOrInf:
      if (v.kind == K::kInteger || v.kind == K::kInfinity ||
          (v.kind == K::kFloat && std::isinf(v.number) && v.number > 0)) {
        return absl::OkStatus();
      }
      return wrong("an integer or inf");
    case T::kIntOrInterval: {
      if (v.kind == K::kInteger) {
        if (v.integer >= 1) return absl::OkStatus();
        return CallError(v, function,
                         StrCat("argument '", p.name,
                                "' must be at least 1 point, not ", v.text));
      }
      if (v.kind == K::kString) {
        absl::StatusOr<int64_t> seconds = ParseIntervalSeconds(v.text);
        if (!seconds.ok()) {
          return CallError(
              v, function,
              StrCat("argument '", p.name, "': ", seconds.status().message()));
        }
        if (*seconds == 0) {
          return CallError(v, function,
                           StrCat("argument '", p.name, "': the interval '",
                                  v.text, "' is empty (0 s)"));
        }
        return absl::OkStatus();
      }
      return wrong(
          "a number of points (an integer) or an interval string like '5min'");
    }
    case T::kInterval: {
      if (v.kind != K::kString) return wrong("an interval string like '7d'");
      absl::StatusOr<int64_t> seconds = ParseIntervalSeconds(v.text);
      if (!seconds.ok()) {
        return CallError(
            v, function,
            StrCat("argument '", p.name, "': ", seconds.status().message()));
      }
      return absl::OkStatus();
    }
    case T::kNode:
      if (v.kind == K::kInteger) return absl::OkStatus();
      return wrong("an integer node index");
    case T::kNodeOrTag:
      if (v.kind == K::kInteger) return absl::OkStatus();
      if (v.kind == K::kString) {
        return wrong("an integer node index (tags are not supported)");
      }
      return wrong("an integer node index");
    case T::kAggFunc: {
      if (v.kind != K::kString) return wrong("a quoted aggregation name");
      if (std::find(std::begin(kCallbacks), std::end(kCallbacks), v.text) !=
          std::end(kCallbacks)) {
        return absl::OkStatus();
      }
      return CallError(v, function,
                       StrCat("argument '", p.name, "': '", v.text,
                              "' is not a supported aggregation (one of ",
                              Join(kCallbacks, ", "), ")"));
    }
    case T::kAny:
      if (v.is_series() || v.kind == K::kInteger || v.kind == K::kFloat ||
          v.kind == K::kInfinity) {
        return absl::OkStatus();
      }
      return wrong("a series or a number");
  }
  return absl::OkStatus();
}

absl::Status ValidateAt(const Node& node, int depth) {
  if (node.kind != Node::Kind::kCall) return absl::OkStatus();
  if (depth > kMaxDepth) {
    return absl::InvalidArgumentError(StrCat(
        "column ", node.column, ": calls nested deeper than ", kMaxDepth));
  }
  if (absl::Status st = Check(node); !st.ok()) return st;
  for (const Node& arg : node.args) {
    if (absl::Status st = ValidateAt(arg, depth + 1); !st.ok()) return st;
  }
  for (const auto& [name, value] : node.kwargs) {
    if (absl::Status st = ValidateAt(value, depth + 1); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case T::kSeriesList:
      return "seriesList";
    case T::kInteger:
      return "integer";
    case T::kFloat:
      return "float";
    case T::kString:
      return "string";
    case T::kBoolean:
      return "boolean";
    case T::kIntOrInf:
      return "intOrInf";
    case T::kIntOrInterval:
      return "intOrInterval";
    case T::kInterval:
      return "interval";
    case T::kNode:
      return "node";
    case T::kNodeOrTag:
      return "nodeOrTag";
    case T::kAggFunc:
      return "aggOrSeriesFunc";
    case T::kAny:
      return "any";
  }
  return "?";
}

FunctionInfo LookupFunction(std::string_view name) {
  const Catalog& c = GetCatalog();
  FunctionInfo info;
  info.canonical_name = name;
  if (auto it = c.supported.find(name); it != c.supported.end()) {
    info.support = Support::kSupported;
    info.canonical_name = it->second->canonical;
    info.params = it->second->params;
    return info;
  }
  if (auto it = c.refused.find(name); it != c.refused.end()) {
    info.support = it->second;
    switch (it->second) {
      case Support::kSelectsSeries:
        info.refusal = StrCat(
            "function '", name,
            "' is refused: it keeps or drops whole series by their values, so "
            "the set of series an alarm watches would change from one "
            "evaluation to the next, and alerts would appear and vanish "
            "without their values crossing a threshold");
        break;
      default:
        info.refusal =
            StrCat("Graphite function '", name, "' is not supported in rules");
        break;
    }
    return info;
  }
  info.support = Support::kUnknown;
  info.refusal = StrCat("unknown function '", name, "'");
  if (auto it = c.by_lower.find(Lower(name)); it != c.by_lower.end()) {
    info.refusal += StrCat(" (did you mean '", it->second,
                           "'? function names are case-sensitive)");
  }
  return info;
}

absl::Span<const std::string_view> AggregationCallbacks() { return kCallbacks; }

absl::Status Check(const Node& call) {
  if (call.kind != Node::Kind::kCall) {
    return absl::InvalidArgumentError(StrCat("column ", call.column,
                                             ": expected a function call, not ",
                                             Describe(call)));
  }
  const FunctionInfo info = LookupFunction(call.text);
  if (info.support != Support::kSupported) {
    return absl::InvalidArgumentError(
        StrCat("column ", call.column, ": ", info.refusal));
  }
  const std::string_view fn = call.text;
  const absl::Span<const Param> params = info.params;
  const size_t n_args = call.args.size();
  const size_t n_kwargs = call.kwargs.size();
  if (params.empty()) {
    if (n_args + n_kwargs == 0) return absl::OkStatus();
    return CallError(call, fn, "takes no arguments");
  }

  // graphite's validateParams: more values than parameters is only allowed
  // when the last one is `multiple`, and then every value is positional.
  if (n_args + n_kwargs > params.size()) {
    const bool all_positional =
        n_kwargs == 0 && !params.empty() && params.back().multiple;
    if (!all_positional) {
      const Node& extra = n_args > params.size() && !params.back().multiple
                              ? call.args[params.size()]
                          : call.kwargs.empty() ? call.args.back()
                                                : call.kwargs.front().second;
      return CallError(
          extra, fn,
          StrCat("too many arguments: it takes ",
                 params.back().multiple ? "" : "at most ", params.size(),
                 params.back().multiple ? " or more, all by position" : "",
                 ", given ", n_args + n_kwargs));
    }
  }
  for (size_t i = 0; i < n_args; ++i) {
    const Param& p = params[std::min(i, params.size() - 1)];
    if (absl::Status st = CheckValue(fn, p, call.args[i]); !st.ok()) return st;
  }
  // Keyword arguments name parameters not given by position, once each.
  std::vector<bool> named(params.size(), false);
  for (const auto& kwarg : call.kwargs) {
    const std::string& name = kwarg.first;
    const Node& value = kwarg.second;
    auto it = std::find_if(params.begin(), params.end(),
                           [&](const Param& p) { return p.name == name; });
    if (it == params.end()) {
      std::vector<std::string_view> names;
      for (const Param& p : params) names.push_back(p.name);
      return CallError(value, fn,
                       StrCat("unknown keyword argument '", name,
                              "' (its arguments: ", Join(names, ", "), ")"));
    }
    if (it->multiple) {
      return CallError(
          value, fn,
          StrCat("argument '", name, "' takes values by position only"));
    }
    const size_t index = static_cast<size_t>(it - params.begin());
    if (index < n_args) {
      return CallError(
          value, fn,
          StrCat("argument '", name, "' given both by position and by name"));
    }
    if (named[index]) {
      return CallError(value, fn, StrCat("argument '", name, "' given twice"));
    }
    named[index] = true;
  }
  for (size_t i = n_args; i < params.size(); ++i) {
    const Param& p = params[i];
    const Node* value = nullptr;
    for (const auto& [name, v] : call.kwargs) {
      if (name == p.name) value = &v;
    }
    if (value == nullptr || value->kind == Node::Kind::kNone) {
      if (p.required) {
        return CallError(call, fn,
                         StrCat("missing required argument '", p.name, "' (",
                                ParamTypeName(p.type), ")"));
      }
      continue;
    }
    if (absl::Status st = CheckValue(fn, p, *value); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status Validate(const Node& root) {
  if (!root.is_series()) {
    return absl::InvalidArgumentError(
        StrCat("column ", root.column,
               ": a target must be a metric path or a function call, not ",
               Describe(root)));
  }
  return ValidateAt(root, 1);
}

}  // namespace gralarm::expr
