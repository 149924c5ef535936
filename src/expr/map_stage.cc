// PathStage, MapStage and TransformNullRefStage (stages.h).
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "expr/pyformat.h"
#include "expr/stages.h"

namespace gralarm::expr {

void PathStage::Insert(const std::string& name, int32_t slot) {
  auto it = std::lower_bound(
      members_.begin(), members_.end(), name,
      [](const auto& m, const std::string& n) { return m.first < n; });
  members_.insert(it, {name, slot});
  MarkShapeChanged();
}

void PathStage::Reshape() {
  out_.resize(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    out_[i].name = members_[i].first;
    out_[i].path_expression = glob_.pattern();
    out_[i].key = SeriesKey(members_[i].first);
  }
}

void PathStage::Compute(const StepContext& ctx) {
  for (size_t i = 0; i < members_.size(); ++i) {
    out_[i].value =
        ctx.inputs_missing ? Value::None() : (*slots_)[members_[i].second];
  }
}

namespace {

// graphite's safePow (math.pow): None when Python raises (a domain or pole
// error gives NaN or an infinity from finite operands).
Value SafePow(Value a, double b) {
  if (!a.ok) return a;
  const double r = std::pow(a.v, b);
  if (std::isnan(r) && !std::isnan(a.v) && !std::isnan(b)) return {};
  if (std::isinf(r) && std::isfinite(a.v) && std::isfinite(b)) return {};
  return Value::Of(r);
}

// graphite's _nonNegativeDelta: (delta, new prev). A missing value (which
// graphite 1.1.8 only reaches without maxValue/minValue: with them, Python 3
// raises on comparing None) gives no delta and forgets the previous value.
std::pair<Value, Value> NonNegativeDelta(Value val, Value prev,
                                         const std::optional<double>& max,
                                         const std::optional<double>& min) {
  if (!val.ok) return {Value::None(), Value::None()};
  if (max && val.v > *max) return {Value::None(), Value::None()};
  if (min && val.v < *min) return {Value::None(), Value::None()};
  if (!prev.ok) return {Value::None(), val};
  if (val.v >= prev.v) return {Value::Of(val.v - prev.v), val};
  if (max)
    return {Value::Of(*max + 1 + val.v - prev.v - (min ? *min : 0)), val};
  if (min) return {Value::Of(val.v - *min), val};
  return {Value::None(), val};
}

}  // namespace

std::string MapStage::Name(const Series& in) const {
  const std::string& n = in.name;
  switch (kind_) {
    case Kind::kScale:
      return absl::StrCat("scale(", n, ",", p_.number_text, ")");
    case Kind::kScaleToSeconds:
      return absl::StrCat("scaleToSeconds(", n, ",", p_.number_text, ")");
    case Kind::kOffset:
      return absl::StrCat("offset(", n, ",", p_.number_text, ")");
    case Kind::kAbsolute:
      return absl::StrCat("absolute(", n, ")");
    case Kind::kInvert:
      return absl::StrCat("invert(", n, ")");
    case Kind::kPow:
      return absl::StrCat("pow(", n, ",", p_.number_text, ")");
    case Kind::kTransformNull:
      return absl::StrCat("transformNull(", n, ",", p_.number_text, ")");
    case Kind::kKeepLastValue:
      return absl::StrCat("keepLastValue(", n, ")");
    case Kind::kPerSecond:
      return absl::StrCat("perSecond(", n, ")");
    case Kind::kNonNegativeDerivative:
      return absl::StrCat("nonNegativeDerivative(", n, ")");
    case Kind::kDerivative:
      return absl::StrCat("derivative(", n, ")");
    case Kind::kIntegral:
      return absl::StrCat("integral(", n, ")");
    case Kind::kDelay:
      return absl::StrCat("delay(", n, ",", p_.window, ")");
    case Kind::kMoving:
      return absl::StrCat(p_.func_name, "(", n, ",", p_.window_text, ")");
    case Kind::kEma:
      return absl::StrCat("exponentialMovingAverage(", n, ",", p_.window_text,
                          ")");
    case Kind::kRemoveAbove:
      return absl::StrCat("removeAboveValue(", n, ", ", p_.number_text, ")");
    case Kind::kRemoveBelow:
      return absl::StrCat("removeBelowValue(", n, ", ", p_.number_text, ")");
    case Kind::kAlias:
      return p_.text;
    case Kind::kAliasByNode:
      return NodeKey(n, p_.nodes);
    case Kind::kAliasByMetric:
      return AliasByMetricName(n);
    case Kind::kAliasSub:
      return RegexSub(*p_.search, p_.text, n);
  }
  return n;
}

void MapStage::Reshape() {
  const std::vector<Series>& input = in(0);
  out_.resize(input.size());
  const bool keeps_path =
      kind_ == Kind::kAlias || kind_ == Kind::kAliasByNode ||
      kind_ == Kind::kAliasByMetric || kind_ == Kind::kAliasSub;
  for (size_t i = 0; i < input.size(); ++i) {
    out_[i].name = Name(input[i]);
    out_[i].path_expression =
        keeps_path ? input[i].path_expression : out_[i].name;
    out_[i].key = input[i].key;
  }
  stateful_ =
      OwnLookback() > 0 || kind_ == Kind::kIntegral || kind_ == Kind::kEma;
  if (stateful_) {
    states_.Remap(input);
    for (size_t i = 0; i < states_.size(); ++i) {
      State& s = states_[i];
      const size_t ring = (kind_ == Kind::kMoving || kind_ == Kind::kDelay)
                              ? static_cast<size_t>(p_.window)
                              : 0;
      if (s.ring.size() != ring) {
        s.ring.assign(ring, Value::None());
        s.head = 0;
      }
    }
  }
}

int64_t MapStage::OwnLookback() const {
  switch (kind_) {
    case Kind::kKeepLastValue:
      return std::isfinite(p_.limit)
                 ? static_cast<int64_t>(std::max(0.0, p_.limit)) + 1
                 : 1;
    case Kind::kPerSecond:
    case Kind::kNonNegativeDerivative:
    case Kind::kDerivative:
    case Kind::kEma:
      return 1;
    case Kind::kDelay:
    case Kind::kMoving:
      return p_.window;
    default:
      return 0;
  }
}

Value MapStage::Apply(const StepContext& ctx, State* s, Value v) {
  switch (kind_) {
    case Kind::kScale:
      return v.ok ? Value::Of(v.v * p_.number) : v;
    case Kind::kScaleToSeconds:
      return v.ok ? Value::Of(PyRound6(
                        v.v * (p_.number / static_cast<double>(ctx.step_s))))
                  : v;
    case Kind::kOffset:
      return v.ok ? Value::Of(v.v + p_.number) : v;
    case Kind::kAbsolute:
      return v.ok ? Value::Of(std::fabs(v.v)) : v;
    case Kind::kInvert:
      return SafePow(v, -1);
    case Kind::kPow:
      return SafePow(v, p_.number);
    case Kind::kTransformNull:
      return v.ok ? v : Value::Of(p_.number);
    case Kind::kRemoveAbove:
      return v.ok && v.v > p_.number ? Value::None() : v;
    case Kind::kRemoveBelow:
      return !v.ok || v.v < p_.number ? Value::None() : v;
    case Kind::kAlias:
    case Kind::kAliasByNode:
    case Kind::kAliasByMetric:
    case Kind::kAliasSub:
      return v;
    case Kind::kKeepLastValue:
      // Streaming: a run of Nones is filled while it is at most `limit` long
      // (a render ending at this step fills a trailing run the same way; a
      // later render would not fill a middle run that grew past the limit).
      if (v.ok) {
        s->nones = 0;
        s->prev = v;
        return v;
      }
      if (s->nones <= p_.limit) s->nones += 1;  // saturates past the limit
      return s->nones <= p_.limit && s->prev.ok ? s->prev : Value::None();
    case Kind::kPerSecond: {
      auto [delta, prev] =
          NonNegativeDelta(v, s->prev, p_.max_value, p_.min_value);
      s->prev = prev;
      if (!delta.ok) return delta;
      return Value::Of(PyRound6(delta.v / static_cast<double>(ctx.step_s)));
    }
    case Kind::kNonNegativeDerivative: {
      auto [delta, prev] =
          NonNegativeDelta(v, s->prev, p_.max_value, p_.min_value);
      s->prev = prev;
      return delta;
    }
    case Kind::kDerivative: {
      Value out =
          v.ok && s->prev.ok ? Value::Of(v.v - s->prev.v) : Value::None();
      s->prev = v;
      return out;
    }
    case Kind::kIntegral:
      if (!v.ok) return v;
      s->acc += v.v;
      return Value::Of(s->acc);
    case Kind::kDelay: {
      if (p_.window == 0) return Value::None();
      Value out = s->ring[s->head];
      s->ring[s->head] = v;
      s->head = (s->head + 1) % static_cast<uint32_t>(p_.window);
      return out;
    }
    case Kind::kMoving: {
      // graphite 1.1.8 averages the `window` points BEFORE this one
      // (series[i - windowPoints:i]); the ring holds exactly those.
      if (p_.window == 0) return Value::None();
      window_.clear();
      size_t non_null = 0;
      const size_t w = static_cast<size_t>(p_.window);
      for (size_t k = 0; k < w; ++k) {
        const Value& x = s->ring[(s->head + k) % w];
        if (x.ok) {
          window_.push_back(x);
          ++non_null;
        }
      }
      Value out = Value::None();
      if (non_null > 0 &&
          static_cast<double>(non_null) / static_cast<double>(w) >= p_.xff) {
        out = ApplyAggFunc(p_.func, window_.data(), window_.size(), &scratch_);
      }
      s->ring[s->head] = v;
      s->head = (s->head + 1) % static_cast<uint32_t>(w);
      return out;
    }
    case Kind::kEma: {
      // Output at t is the EMA after the input at t - step (graphite emits the
      // seed first, then one EMA per input point, shifted by one step). The
      // seed is the average of the bootstrap window before the first step,
      // which a stream does not have: 0, as graphite gives for no data.
      Value out;
      if (ctx.first) {
        out = Value::Of(PyRound6(s->acc));
      } else if (s->prev.ok) {
        s->acc = p_.ema_constant * s->prev.v + (1 - p_.ema_constant) * s->acc;
        out = Value::Of(PyRound6(s->acc));
      }
      s->prev = v;
      return out;
    }
  }
  return v;
}

void MapStage::Compute(const StepContext& ctx) {
  const std::vector<Series>& input = in(0);
  for (size_t i = 0; i < input.size(); ++i) {
    out_[i].value =
        Apply(ctx, stateful_ ? &states_[i] : nullptr, input[i].value);
  }
}

void MapStage::EncodeState(std::string* out) const {
  if (!stateful_) {
    coding::PutVarint32(out, 0);
    return;
  }
  states_.EncodeAll(out, [](const State& s, std::string* o) {
    PutValue(o, s.prev);
    coding::PutDouble(o, s.acc);
    coding::PutDouble(o, s.nones);
    PutValueRing(o, s.ring, s.head);
  });
}

bool MapStage::DecodeState(coding::Reader* in) {
  const size_t ring = (kind_ == Kind::kMoving || kind_ == Kind::kDelay)
                          ? static_cast<size_t>(p_.window)
                          : 0;
  return states_.DecodeAll(in, [ring](coding::Reader* r, State* s) {
    return GetValue(r, &s->prev) && r->GetDouble(&s->acc) &&
           r->GetDouble(&s->nones) && GetValueRing(r, ring, &s->ring, &s->head);
  });
}

void TransformNullRefStage::Reshape() {
  const std::vector<Series>& input = in(0);
  out_.resize(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    // An empty reference list is no reference in graphite (`if
    // referenceSeries`).
    out_[i].name = in(1).empty()
                       ? absl::StrCat("transformNull(", input[i].name, ",",
                                      FormatG(default_), ")")
                       : absl::StrCat("transformNull(", input[i].name, ",",
                                      FormatG(default_), ",referenceSeries)");
    out_[i].path_expression = out_[i].name;
    out_[i].key = input[i].key;
  }
}

void TransformNullRefStage::Compute(const StepContext&) {
  const std::vector<Series>& input = in(0);
  const std::vector<Series>& ref = in(1);
  bool any = ref.empty();
  for (const Series& r : ref) any = any || r.value.ok;
  for (size_t i = 0; i < input.size(); ++i) {
    const Value v = input[i].value;
    out_[i].value = v.ok ? v : (any ? Value::Of(default_) : Value::None());
  }
}

}  // namespace gralarm::expr
