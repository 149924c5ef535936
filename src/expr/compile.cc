// Program::Compile: the stages of a target's syntax tree, with graphite-web
// 1.1.8's argument forms (docs/TARGETS.md "Functions").
#include <algorithm>
#include <cmath>
#include <regex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "expr/catalog.h"
#include "expr/history_stages.h"
#include "expr/program.h"
#include "expr/pyformat.h"
#include "expr/stages.h"

namespace gralarm::expr {

namespace {

// The longest window (moving*, delay) a target may keep per series: 16 bytes
// a point, 1.6 MB a series.
constexpr int64_t kMaxWindowPoints = 100'000;

absl::Status ArgError(const Node& call, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(call.text, " (column ", call.column, "): ", Sv(what)));
}

bool IsNumber(const Node& n) {
  return n.kind == Node::Kind::kInteger || n.kind == Node::Kind::kFloat ||
         n.kind == Node::Kind::kInfinity;
}

// Python's str() of a numeric literal.
std::string PyStr(const Node& n) {
  if (n.kind == Node::Kind::kInteger) return absl::StrCat(n.integer);
  return PyRepr(n.number);
}

}  // namespace

// Builds the stages of a Program from the syntax tree.
class Compiler {
 public:
  explicit Compiler(Program* p) : p_(p) {}

  absl::StatusOr<Stage*> Build(const Node& n) {
    if (n.kind == Node::Kind::kPath) return BuildPath(n);
    if (n.kind != Node::Kind::kCall) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column ", n.column, ": a series (a path or a call) is expected"));
    }
    return BuildCall(n);
  }

 private:
  // Positional and keyword arguments bound to graphite's parameter names.
  class Args {
   public:
    Args(const Node& call, std::vector<std::string_view> names)
        : call_(call), names_(std::move(names)) {}
    absl::Status Check(bool variadic) const {
      if (!variadic && call_.args.size() > names_.size()) {
        return ArgError(
            call_, absl::StrCat("takes at most ", names_.size(), " arguments"));
      }
      for (const auto& [key, value] : call_.kwargs) {
        auto it = std::find(names_.begin(), names_.end(), key);
        if (it == names_.end()) {
          return ArgError(call_, absl::StrCat("no argument named '", key, "'"));
        }
        if (static_cast<size_t>(it - names_.begin()) < call_.args.size()) {
          return ArgError(call_,
                          absl::StrCat("argument '", key, "' given twice"));
        }
      }
      return absl::OkStatus();
    }
    // The argument for parameter i, or nullptr when absent (or None).
    const Node* Get(size_t i) const {
      const Node* n = nullptr;
      if (i < call_.args.size()) {
        n = &call_.args[i];
      } else if (i < names_.size()) {
        for (const auto& [key, value] : call_.kwargs) {
          if (key == names_[i]) n = &value;
        }
      }
      if (n != nullptr && n->kind == Node::Kind::kNone) return nullptr;
      return n;
    }
    std::string_view name(size_t i) const { return names_[i]; }

   private:
    const Node& call_;
    std::vector<std::string_view> names_;
  };

  absl::StatusOr<Stage*> BuildPath(const Node& n) {
    auto glob = Glob::Compile(n.text);
    if (!glob.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("path '", n.text, "' (column ", n.column,
                       "): ", glob.status().message()));
    }
    auto stage =
        std::make_unique<PathStage>(*std::move(glob), &p_->slot_values_);
    PathStage* raw = stage.get();
    p_->paths_.push_back(raw);
    p_->stages_.push_back(std::move(stage));
    return raw;
  }

  template <typename T>
  T* Own(std::unique_ptr<T> stage) {
    T* raw = stage.get();
    p_->stages_.push_back(std::move(stage));
    return raw;
  }

  absl::Status AddSeriesArg(const Node& call, Stage* stage, const Node* arg,
                            std::string_view what) {
    if (arg == nullptr || !arg->is_series()) {
      return ArgError(call, absl::StrCat(Sv(what), " must be a series list"));
    }
    auto child = Build(*arg);
    if (!child.ok()) return child.status();
    stage->AddChild(*child);
    return absl::OkStatus();
  }

  absl::StatusOr<double> Number(const Node& call, const Node* arg,
                                std::string_view what) {
    if (arg == nullptr || !IsNumber(*arg)) {
      return ArgError(call, absl::StrCat(Sv(what), " must be a number"));
    }
    return arg->number;
  }

  absl::StatusOr<int64_t> Integer(const Node& call, const Node* arg,
                                  std::string_view what) {
    if (arg != nullptr && arg->kind == Node::Kind::kInteger) {
      return arg->integer;
    }
    if (arg != nullptr && arg->kind == Node::Kind::kFloat &&
        arg->number == std::floor(arg->number) &&
        std::fabs(arg->number) < 1e15) {
      return static_cast<int64_t>(arg->number);
    }
    return ArgError(call, absl::StrCat(Sv(what), " must be an integer"));
  }

  absl::StatusOr<std::vector<int64_t>> Nodes(const Node& call, size_t from) {
    std::vector<int64_t> nodes;
    for (size_t i = from; i < call.args.size(); ++i) {
      auto n = Integer(call, &call.args[i], "a node");
      if (!n.ok()) {
        return ArgError(call,
                        "nodes must be integers (tags are not supported)");
      }
      nodes.push_back(*n);
    }
    return nodes;
  }

  // `stage` over the call's first argument (graphite's seriesList).
  template <typename T>
  absl::StatusOr<Stage*> OverFirstSeries(const Node& call,
                                         std::unique_ptr<T> stage) {
    if (auto s = AddSeriesArg(call, stage.get(),
                              call.args.empty() ? nullptr : &call.args[0],
                              "seriesList");
        !s.ok()) {
      return s;
    }
    return Own(std::move(stage));
  }

  absl::StatusOr<Stage*> Map(const Node& call, MapStage::Kind kind,
                             MapStage::Params params) {
    return OverFirstSeries(call,
                           std::make_unique<MapStage>(kind, std::move(params)));
  }

  // A window argument: a point count or a time string.
  absl::Status Window(const Node& call, const Node* arg, MapStage::Params* p,
                      int64_t* seconds) {
    if (arg != nullptr && arg->kind == Node::Kind::kString) {
      auto offset = ParseTimeOffset(arg->text);
      if (!offset.ok()) {
        return ArgError(call, std::string(offset.status().message()));
      }
      *seconds = std::abs(*offset);
      p->window = *seconds / p_->step_s_;
      p->window_text = absl::StrCat("\"", arg->text, "\"");
      return absl::OkStatus();
    }
    auto n = Integer(call, arg, "windowSize");
    if (!n.ok()) {
      return ArgError(call,
                      "windowSize must be a point count or a time string");
    }
    if (*n < 0) return ArgError(call, "windowSize must not be negative");
    p->window = *n;
    p->window_text = absl::StrCat(*n);
    *seconds = -1;
    return absl::OkStatus();
  }

  static absl::Status CheckWindow(const Node& call, int64_t points) {
    if (points > kMaxWindowPoints) {
      return ArgError(call, absl::StrCat("a window of ", points,
                                         " points is longer than the ",
                                         kMaxWindowPoints, " allowed"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Stage*> BuildCall(const Node& call) {
    // The catalogue decides what runs inline (and the short names).
    const FunctionInfo info = LookupFunction(call.text);
    if (info.support != Support::kSupported)
      return ArgError(call, info.refusal);
    const std::string_view name = info.canonical_name;
    using K = MapStage::Kind;
    MapStage::Params p;

    // Aggregates over every argument list.
    struct Agg {
      std::string_view fn;
      AggFunc func;
      std::string_view stem;
    };
    static constexpr Agg kAggs[] = {
        {"sumSeries", AggFunc::kSum, "sum"},
        {"averageSeries", AggFunc::kAverage, "average"},
        {"maxSeries", AggFunc::kMax, "max"},
        {"minSeries", AggFunc::kMin, "min"},
        {"diffSeries", AggFunc::kDiff, "diff"},
        {"multiplySeries", AggFunc::kMultiply, "multiply"},
        {"rangeOfSeries", AggFunc::kRange, "rangeOf"},
        {"stddevSeries", AggFunc::kStddev, "stddev"},
        {"countSeries", AggFunc::kCount, "count"},
    };
    for (const Agg& a : kAggs) {
      if (name != a.fn) continue;
      if (!call.kwargs.empty()) return ArgError(call, "takes no keywords");
      if (call.args.empty()) {
        return ArgError(call, "needs at least one series list");
      }
      auto stage = std::make_unique<AggregateStage>(a.func, std::string(a.stem),
                                                    name == "countSeries");
      for (const Node& arg : call.args) {
        if (auto s = AddSeriesArg(call, stage.get(), &arg, "each argument");
            !s.ok()) {
          return s;
        }
      }
      return Own(std::move(stage));
    }

    if (name == "scale" || name == "offset" || name == "pow" ||
        name == "removeAboveValue" || name == "removeBelowValue" ||
        name == "scaleToSeconds") {
      const std::string_view param =
          name == "scale" || name == "offset" || name == "pow"
              ? "factor"
              : (name == "scaleToSeconds" ? "seconds" : "n");
      Args args(call, {"seriesList", param});
      if (auto s = args.Check(false); !s.ok()) return s;
      auto v = Number(call, args.Get(1), param);
      if (!v.ok()) return v.status();
      p.number = *v;
      p.number_text = name == "scaleToSeconds" ? FormatD(*v) : FormatG(*v);
      const K kind = name == "scale"              ? K::kScale
                     : name == "offset"           ? K::kOffset
                     : name == "pow"              ? K::kPow
                     : name == "scaleToSeconds"   ? K::kScaleToSeconds
                     : name == "removeAboveValue" ? K::kRemoveAbove
                                                  : K::kRemoveBelow;
      return Map(call, kind, std::move(p));
    }
    if (name == "absolute" || name == "invert" || name == "derivative" ||
        name == "integral" || name == "aliasByMetric") {
      Args args(call, {"seriesList"});
      if (auto s = args.Check(false); !s.ok()) return s;
      const K kind = name == "absolute"     ? K::kAbsolute
                     : name == "invert"     ? K::kInvert
                     : name == "derivative" ? K::kDerivative
                     : name == "integral"   ? K::kIntegral
                                            : K::kAliasByMetric;
      return Map(call, kind, std::move(p));
    }
    if (name == "transformNull") {
      Args args(call, {"seriesList", "default", "referenceSeries"});
      if (auto s = args.Check(false); !s.ok()) return s;
      if (args.Get(1) != nullptr) {
        auto v = Number(call, args.Get(1), "default");
        if (!v.ok()) return v.status();
        p.number = *v;
      }
      p.number_text = FormatG(p.number);
      if (const Node* ref = args.Get(2)) {
        auto stage = std::make_unique<TransformNullRefStage>(p.number);
        if (auto s = AddSeriesArg(call, stage.get(), args.Get(0), "seriesList");
            !s.ok()) {
          return s;
        }
        if (auto s = AddSeriesArg(call, stage.get(), ref, "referenceSeries");
            !s.ok()) {
          return s;
        }
        return Own(std::move(stage));
      }
      return Map(call, K::kTransformNull, std::move(p));
    }
    if (name == "keepLastValue") {
      Args args(call, {"seriesList", "limit"});
      if (auto s = args.Check(false); !s.ok()) return s;
      if (args.Get(1) != nullptr) {
        auto v = Number(call, args.Get(1), "limit");
        if (!v.ok()) return v.status();
        p.limit = *v;
      }
      return Map(call, K::kKeepLastValue, std::move(p));
    }
    if (name == "perSecond" || name == "nonNegativeDerivative") {
      Args args(call, {"seriesList", "maxValue", "minValue"});
      if (auto s = args.Check(false); !s.ok()) return s;
      if (args.Get(1) != nullptr) {
        auto v = Number(call, args.Get(1), "maxValue");
        if (!v.ok()) return v.status();
        p.max_value = *v;
      }
      if (args.Get(2) != nullptr) {
        auto v = Number(call, args.Get(2), "minValue");
        if (!v.ok()) return v.status();
        p.min_value = *v;
      }
      return Map(
          call, name == "perSecond" ? K::kPerSecond : K::kNonNegativeDerivative,
          std::move(p));
    }
    if (name == "delay") {
      Args args(call, {"seriesList", "steps"});
      if (auto s = args.Check(false); !s.ok()) return s;
      auto n = Integer(call, args.Get(1), "steps");
      if (!n.ok()) return n.status();
      if (*n < 0) {
        return ArgError(call,
                        "a negative delay needs future points: not supported");
      }
      if (auto s = CheckWindow(call, *n); !s.ok()) return s;
      p.window = *n;
      return Map(call, K::kDelay, std::move(p));
    }
    if (name == "movingAverage" || name == "movingSum" || name == "movingMin" ||
        name == "movingMax" || name == "movingMedian") {
      Args args(call, {"seriesList", "windowSize", "xFilesFactor"});
      if (auto s = args.Check(false); !s.ok()) return s;
      int64_t seconds;
      if (auto s = Window(call, args.Get(1), &p, &seconds); !s.ok()) return s;
      if (auto s = CheckWindow(call, p.window); !s.ok()) return s;
      if (args.Get(2) != nullptr) {
        auto v = Number(call, args.Get(2), "xFilesFactor");
        if (!v.ok()) return v.status();
        p.xff = *v;
      }
      p.func = name == "movingAverage" ? AggFunc::kAverage
               : name == "movingSum"   ? AggFunc::kSum
               : name == "movingMin"   ? AggFunc::kMin
               : name == "movingMax"   ? AggFunc::kMax
                                       : AggFunc::kMedian;
      p.func_name = std::string(name);
      return Map(call, K::kMoving, std::move(p));
    }
    if (name == "exponentialMovingAverage") {
      Args args(call, {"seriesList", "windowSize"});
      if (auto s = args.Check(false); !s.ok()) return s;
      int64_t seconds;
      if (auto s = Window(call, args.Get(1), &p, &seconds); !s.ok()) return s;
      // graphite uses the seconds of a time string, the count of a number.
      p.ema_constant =
          2.0 / (static_cast<double>(seconds >= 0 ? seconds : p.window) + 1);
      return Map(call, K::kEma, std::move(p));
    }
    if (name == "timeShift") {
      Args args(call, {"seriesList", "timeShift", "resetEnd", "alignDST"});
      if (auto s = args.Check(false); !s.ok()) return s;
      const Node* shift = args.Get(1);
      if (shift == nullptr || shift->kind != Node::Kind::kString) {
        return ArgError(call, "timeShift must be a time string like '7d'");
      }
      for (size_t i : {2, 3}) {
        const Node* flag = args.Get(i);
        if (flag != nullptr && flag->kind != Node::Kind::kBool) {
          return ArgError(
              call, absl::StrCat(Sv(args.name(i)), " must be true or false"));
        }
      }
      if (const Node* dst = args.Get(3); dst != nullptr && dst->boolean) {
        return ArgError(call, "alignDST=true is not supported");
      }
      auto spec = ParseTimeShift(shift->text, p_->step_s_);
      if (!spec.ok())
        return ArgError(call, std::string(spec.status().message()));
      return OverFirstSeries(
          call, std::make_unique<TimeShiftStage>(*std::move(spec)));
    }
    if (name == "holtWintersForecast" || name == "holtWintersConfidenceBands" ||
        name == "holtWintersAberration") {
      const bool forecast = name == "holtWintersForecast";
      Args args(
          call,
          forecast
              ? std::vector<std::string_view>{"seriesList", "bootstrapInterval",
                                              "seasonality"}
              : std::vector<std::string_view>{
                    "seriesList", "delta", "bootstrapInterval", "seasonality"});
      if (auto s = args.Check(false); !s.ok()) return s;
      const size_t first_interval = forecast ? 1 : 2;
      std::string_view intervals[2] = {"7d", "1d"};
      for (size_t k = 0; k < 2; ++k) {
        const Node* v = args.Get(first_interval + k);
        if (v == nullptr) continue;
        if (v->kind != Node::Kind::kString) {
          return ArgError(call, absl::StrCat(Sv(args.name(first_interval + k)),
                                             " must be a time string like '",
                                             Sv(intervals[k]), "'"));
        }
        intervals[k] = v->text;
      }
      double delta = 3;
      if (!forecast && args.Get(1) != nullptr) {
        auto v = Number(call, args.Get(1), "delta");
        if (!v.ok()) return v.status();
        delta = *v;
      }
      auto spec = ParseHoltWinters(intervals[0], intervals[1], p_->step_s_);
      if (!spec.ok())
        return ArgError(call, std::string(spec.status().message()));
      const auto output = forecast ? HoltWintersStage::Output::kForecast
                          : name == "holtWintersConfidenceBands"
                              ? HoltWintersStage::Output::kBands
                              : HoltWintersStage::Output::kAberration;
      return OverFirstSeries(
          call, std::make_unique<HoltWintersStage>(output, *spec, delta));
    }
    if (name == "alias") {
      Args args(call, {"seriesList", "newName"});
      if (auto s = args.Check(false); !s.ok()) return s;
      const Node* n = args.Get(1);
      if (n == nullptr || n->kind != Node::Kind::kString) {
        return ArgError(call, "newName must be a string");
      }
      p.text = n->text;
      return Map(call, K::kAlias, std::move(p));
    }
    if (name == "aliasSub") {
      Args args(call, {"seriesList", "search", "replace"});
      if (auto s = args.Check(false); !s.ok()) return s;
      const Node* search = args.Get(1);
      const Node* replace = args.Get(2);
      if (search == nullptr || search->kind != Node::Kind::kString ||
          replace == nullptr || replace->kind != Node::Kind::kString) {
        return ArgError(call, "search and replace must be strings");
      }
      try {
        p.search.emplace(search->text, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return ArgError(call, absl::StrCat("bad regular expression '",
                                           search->text, "': ", e.what()));
      }
      p.text = replace->text;
      return Map(call, K::kAliasSub, std::move(p));
    }
    if (name == "aliasByNode") {
      if (!call.kwargs.empty()) return ArgError(call, "takes no keywords");
      auto nodes = Nodes(call, 1);
      if (!nodes.ok()) return nodes.status();
      p.nodes = *std::move(nodes);
      return Map(call, K::kAliasByNode, std::move(p));
    }
    if (name == "percentileOfSeries") {
      Args args(call, {"seriesList", "n", "interpolate"});
      if (auto s = args.Check(false); !s.ok()) return s;
      auto n = Number(call, args.Get(1), "n");
      if (!n.ok()) return n.status();
      if (*n <= 0 || *n > 100) {
        return ArgError(call, "n must be above 0 and at most 100");
      }
      bool interpolate = false;
      if (const Node* i = args.Get(2)) {
        if (i->kind != Node::Kind::kBool) {
          return ArgError(call, "interpolate must be true or false");
        }
        interpolate = i->boolean;
      }
      auto stage =
          std::make_unique<PercentileStage>(*n, FormatG(*n), interpolate);
      if (auto s = AddSeriesArg(call, stage.get(), args.Get(0), "seriesList");
          !s.ok()) {
        return s;
      }
      return Own(std::move(stage));
    }
    if (name == "groupByNode" || name == "groupByNodes") {
      const bool one = name == "groupByNode";
      Args args(call,
                one ? std::vector<std::string_view>{"seriesList", "nodeNum",
                                                    "callback"}
                    : std::vector<std::string_view>{"seriesList", "callback"});
      if (auto s = args.Check(!one); !s.ok()) return s;
      std::vector<int64_t> nodes;
      const Node* cb_node = args.Get(one ? 2 : 1);
      if (one) {
        auto n = Integer(call, args.Get(1), "nodeNum");
        if (!n.ok()) return n.status();
        nodes.push_back(*n);
      } else {
        auto n = Nodes(call, 2);
        if (!n.ok()) return n.status();
        nodes = *std::move(n);
      }
      std::string cb_name = "average";
      if (cb_node != nullptr) {
        if (cb_node->kind != Node::Kind::kString) {
          return ArgError(call, "callback must be a string");
        }
        cb_name = cb_node->text;
      }
      auto cb = GroupStage::CallbackByName(cb_name);
      if (!cb) {
        return ArgError(call,
                        absl::StrCat("unsupported callback '", cb_name, "'"));
      }
      auto stage = std::make_unique<GroupStage>(*cb, std::move(nodes), false);
      if (auto s = AddSeriesArg(call, stage.get(), args.Get(0), "seriesList");
          !s.ok()) {
        return s;
      }
      return Own(std::move(stage));
    }
    if (name == "sumSeriesWithWildcards" ||
        name == "averageSeriesWithWildcards") {
      if (!call.kwargs.empty()) return ArgError(call, "takes no keywords");
      auto nodes = Nodes(call, 1);
      if (!nodes.ok()) return nodes.status();
      GroupStage::Callback cb;
      cb.func =
          name == "sumSeriesWithWildcards" ? AggFunc::kSum : AggFunc::kAverage;
      cb.series_name =
          name == "sumSeriesWithWildcards" ? "sumSeries" : "averageSeries";
      return OverFirstSeries(
          call, std::make_unique<GroupStage>(cb, *std::move(nodes), true));
    }
    if (name == "asPercent") {
      Args args(call, {"seriesList", "total"});
      if (auto s = args.Check(true); !s.ok()) return s;
      const Node* total = args.Get(1);
      auto nodes = Nodes(call, 2);
      if (!nodes.ok()) return nodes.status();
      std::optional<double> number;
      std::string text;
      if (total != nullptr && !total->is_series()) {
        if (!IsNumber(*total)) {
          return ArgError(call, "total must be a number or a series list");
        }
        if (!nodes->empty()) {
          return ArgError(call, "total must be None or a seriesList");
        }
        number = total->number;
        text = PyStr(*total);
      }
      const bool total_list = total != nullptr && total->is_series();
      auto stage = std::make_unique<AsPercentStage>(total_list, number, text,
                                                    *std::move(nodes));
      if (auto s = AddSeriesArg(call, stage.get(), args.Get(0), "seriesList");
          !s.ok()) {
        return s;
      }
      if (total_list) {
        if (auto s = AddSeriesArg(call, stage.get(), total, "total"); !s.ok()) {
          return s;
        }
      }
      return Own(std::move(stage));
    }
    if (name == "divideSeries" || name == "divideSeriesLists") {
      const bool lists = name == "divideSeriesLists";
      Args args(call, lists
                          ? std::vector<std::string_view>{"dividendSeriesList",
                                                          "divisorSeriesList"}
                          : std::vector<std::string_view>{"dividendSeriesList",
                                                          "divisorSeries"});
      if (auto s = args.Check(false); !s.ok()) return s;
      auto stage = std::make_unique<DivideStage>(lists);
      for (size_t i = 0; i < 2; ++i) {
        if (auto s = AddSeriesArg(call, stage.get(), args.Get(i), args.name(i));
            !s.ok()) {
          return s;
        }
      }
      return Own(std::move(stage));
    }
    return ArgError(call, absl::StrCat("unsupported function '", call.text,
                                       "' (see docs/TARGETS.md)"));
  }

  Program* p_;
};

absl::StatusOr<std::unique_ptr<Program>> Program::Compile(const Node& target,
                                                          int64_t step_s) {
  if (step_s <= 0) return absl::InvalidArgumentError("step_s must be positive");
  std::unique_ptr<Program> p(new Program());
  p->step_s_ = step_s;
  Compiler compiler(p.get());
  auto root = compiler.Build(target);
  if (!root.ok()) return root.status();
  p->root_ = *root;
  return p;
}

}  // namespace gralarm::expr
