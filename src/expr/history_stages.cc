// TimeShiftStage and HoltWintersStage (history_stages.h).
//
// The Holt-Winters arithmetic is written in the order of graphite-web 1.1.8's
// holtWintersIntercept / Slope / Seasonal / Deviation so that the doubles
// match Python's to the last bit (this file is built with
// -ffp-contract=off: no fused multiply-add).
#include "expr/history_stages.h"

#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "expr/interval.h"
#include "expr/pyformat.h"

namespace gralarm::expr {

namespace {

constexpr double kAlpha = 0.1;
constexpr double kGamma = 0.1;
constexpr double kBeta = 0.0035;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Continues FNV-1a over `text` from `key`: distinct keys for the several
// outputs one input series gives.
uint64_t MixKey(uint64_t key, std::string_view text) {
  for (char c : text) {
    key ^= static_cast<unsigned char>(c);
    key *= 1099511628211ull;
  }
  return key;
}

}  // namespace

absl::StatusOr<TimeShiftSpec> ParseTimeShift(std::string_view text,
                                             int64_t step_s) {
  if (text.empty()) {
    return absl::InvalidArgumentError("timeShift: the shift is empty");
  }
  TimeShiftSpec spec;
  // graphite: "Default to negative. parseTimeOffset defaults to +".
  spec.text =
      IsDigit(text[0]) ? absl::StrCat("-", Sv(text)) : std::string(text);
  absl::StatusOr<int64_t> seconds = ParseIntervalSeconds(spec.text);
  if (!seconds.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeShift: ", seconds.status().message()));
  }
  if (*seconds > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeShift: '", Sv(text),
        "' shifts forward in time: a rule's stream cannot see the future "
        "(shift back: '",
        Sv(text.substr(1)), "' or '-", Sv(text.substr(1)), "')"));
  }
  const int64_t back = -*seconds;
  spec.steps = back / step_s + (back % step_s != 0 ? 1 : 0);
  if (spec.steps > kMaxHistorySlots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timeShift: a shift of '", Sv(text), "' at step ", step_s, " s is ",
        spec.steps, " steps, more than the ", kMaxHistorySlots,
        " allowed (16 bytes a step per series)"));
  }
  return spec;
}

absl::StatusOr<HoltWintersSpec> ParseHoltWinters(std::string_view bootstrap,
                                                 std::string_view seasonality,
                                                 int64_t step_s) {
  absl::StatusOr<int64_t> boot = ParseIntervalSeconds(bootstrap);
  if (!boot.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bootstrapInterval: ", boot.status().message()));
  }
  if (*boot < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bootstrapInterval '", Sv(bootstrap), "' is negative: not supported"));
  }
  absl::StatusOr<int64_t> season = ParseIntervalSeconds(seasonality);
  if (!season.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seasonality: ", season.status().message()));
  }
  HoltWintersSpec spec;
  // Python's // floors; a negative season is refused below either way.
  spec.season_steps = *season >= 0 ? *season / step_s : -1;
  spec.bootstrap_steps = *boot / step_s + (*boot % step_s != 0 ? 1 : 0);
  if (spec.season_steps < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seasonality '", Sv(seasonality), "' at step ", step_s,
        " s is fewer than 2 steps (graphite-web fails such a render)"));
  }
  if (spec.season_steps > kMaxHistorySlots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seasonality '", Sv(seasonality), "' at step ", step_s, " s is ",
        spec.season_steps, " slots, more than the ", kMaxHistorySlots,
        " allowed (16 bytes a slot per series)"));
  }
  return spec;
}

// ---- timeShift ----

void TimeShiftStage::Reshape() {
  const std::vector<Series>& input = in(0);
  out_.resize(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    out_[i].name =
        absl::StrCat("timeShift(", input[i].name, ", \"", spec_.text, "\")");
    out_[i].path_expression = input[i].path_expression;
    out_[i].key = input[i].key;
  }
  states_.Remap(input);
  const size_t ring = static_cast<size_t>(spec_.steps);
  for (size_t i = 0; i < states_.size(); ++i) {
    State& s = states_[i];
    if (s.ring.size() != ring) {
      s.ring.assign(ring, Value::None());
      s.head = 0;
    }
  }
}

void TimeShiftStage::Compute(const StepContext&) {
  const std::vector<Series>& input = in(0);
  for (size_t i = 0; i < input.size(); ++i) {
    State& s = states_[i];
    if (s.ring.empty()) {
      out_[i].value = input[i].value;
      continue;
    }
    out_[i].value = s.ring[s.head];
    s.ring[s.head] = input[i].value;
    s.head = static_cast<uint32_t>((s.head + 1) % s.ring.size());
  }
}

void TimeShiftStage::EncodeState(std::string* out) const {
  states_.EncodeAll(out, [](const State& s, std::string* o) {
    PutValueRing(o, s.ring, s.head);
  });
}

bool TimeShiftStage::DecodeState(coding::Reader* in) {
  const uint32_t ring = static_cast<uint32_t>(spec_.steps);
  return states_.DecodeAll(in, [ring](coding::Reader* r, State* s) {
    return GetValueRing(r, ring, &s->ring, &s->head);
  });
}

// ---- Holt-Winters ----

void HoltWintersStage::Reshape() {
  const std::vector<Series>& input = in(0);
  const bool bands = output_ == Output::kBands;
  out_.resize(bands ? 2 * input.size() : input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const Series& s = input[i];
    switch (output_) {
      case Output::kForecast:
        // A new TimeSeries: its path expression is its name.
        out_[i].name = absl::StrCat("holtWintersForecast(", s.name, ")");
        out_[i].path_expression = out_[i].name;
        out_[i].key = s.key;
        break;
      case Output::kAberration:
        out_[i].name = absl::StrCat("holtWintersAberration(", s.name, ")");
        out_[i].path_expression = out_[i].name;
        out_[i].key = s.key;
        break;
      case Output::kBands: {
        // graphite appends the lower band, then the upper one, and gives both
        // the series' path expression.
        Series& lower = out_[2 * i];
        Series& upper = out_[2 * i + 1];
        lower.name = absl::StrCat("holtWintersConfidenceLower(", s.name, ")");
        upper.name = absl::StrCat("holtWintersConfidenceUpper(", s.name, ")");
        lower.path_expression = s.path_expression;
        upper.path_expression = s.path_expression;
        lower.key = MixKey(s.key, "/lower");
        upper.key = MixKey(s.key, "/upper");
        break;
      }
    }
  }
  states_.Remap(input);
  const size_t season = static_cast<size_t>(spec_.season_steps);
  for (size_t i = 0; i < states_.size(); ++i) {
    State& st = states_[i];
    if (st.seasonals.size() != season) {
      st = State{};
      st.seasonals.assign(season, 0.0);
      st.deviations.assign(season, 0.0);
    }
  }
}

HoltWintersStage::Step HoltWintersStage::Advance(const StepContext& ctx,
                                                 State* s, Value actual) const {
  const size_t season = s->seasonals.size();
  // getLastSeasonal(i), getLastSeasonal(i + 1), getLastDeviation(i): the
  // slots of i - L and i + 1 - L (0 before the recursion has run L steps: the
  // ring starts with zeros). L >= 2, so i + 1 - L is a past step.
  const size_t next = (s->head + 1) % season;
  const double last_seasonal = s->seasonals[s->head];
  const double next_last_seasonal = s->seasonals[next];
  const double last_seasonal_dev = s->deviations[s->head];
  Step step;
  if (!actual.ok) {
    // "missing input values break all the math": the prediction made at the
    // previous step is reported, everything else forgotten.
    step.prediction = s->next_pred;
    step.deviation = 0;
    s->intercept = Value::None();
    s->slope = 0;
    s->seasonals[s->head] = 0;
    s->deviations[s->head] = 0;
    s->next_pred = Value::None();
    s->head = static_cast<uint32_t>(next);
    return step;
  }
  const double a = actual.v;
  double last_intercept;
  double last_slope;
  if (ctx.first) {
    // i == 0: seed the first prediction as the first actual.
    last_intercept = a;
    last_slope = 0;
    step.prediction = actual;
  } else {
    last_intercept = s->intercept.ok ? s->intercept.v : a;
    last_slope = s->slope;
    step.prediction = s->next_pred;
  }
  const double intercept = kAlpha * (a - last_seasonal) +
                           (1 - kAlpha) * (last_intercept + last_slope);
  const double slope =
      kBeta * (intercept - last_intercept) + (1 - kBeta) * last_slope;
  const double seasonal =
      kGamma * (a - intercept) + (1 - kGamma) * last_seasonal;
  const double next_pred = intercept + slope + next_last_seasonal;
  const double prediction = step.prediction.ok ? step.prediction.v : 0;
  const double deviation =
      kGamma * std::fabs(a - prediction) + (1 - kGamma) * last_seasonal_dev;
  s->intercept = Value::Of(intercept);
  s->slope = slope;
  s->seasonals[s->head] = seasonal;
  s->deviations[s->head] = deviation;
  s->next_pred = Value::Of(next_pred);
  s->head = static_cast<uint32_t>(next);
  step.deviation = deviation;
  return step;
}

void HoltWintersStage::Compute(const StepContext& ctx) {
  const std::vector<Series>& input = in(0);
  for (size_t i = 0; i < input.size(); ++i) {
    const Value actual = input[i].value;
    const Step step = Advance(ctx, &states_[i], actual);
    if (output_ == Output::kForecast) {
      out_[i].value = step.prediction;
      continue;
    }
    Value lower, upper;
    if (step.prediction.ok) {
      const double scaled_deviation = delta_ * step.deviation;
      upper = Value::Of(step.prediction.v + scaled_deviation);
      lower = Value::Of(step.prediction.v - scaled_deviation);
    }
    if (output_ == Output::kBands) {
      out_[2 * i].value = lower;
      out_[2 * i + 1].value = upper;
      continue;
    }
    // holtWintersAberration: 0 for a missing value and inside the band.
    double aberration = 0;
    if (actual.ok) {
      if (upper.ok && actual.v > upper.v) {
        aberration = actual.v - upper.v;
      } else if (lower.ok && actual.v < lower.v) {
        aberration = actual.v - lower.v;
      }
    }
    out_[i].value = Value::Of(aberration);
  }
}

void HoltWintersStage::EncodeState(std::string* out) const {
  states_.EncodeAll(out, [](const State& s, std::string* o) {
    PutValue(o, s.intercept);
    coding::PutDouble(o, s.slope);
    PutValue(o, s.next_pred);
    coding::PutVarint32(o, static_cast<uint32_t>(s.seasonals.size()));
    coding::PutVarint32(o, s.head);
    for (double v : s.seasonals) coding::PutDouble(o, v);
    for (double v : s.deviations) coding::PutDouble(o, v);
  });
}

bool HoltWintersStage::DecodeState(coding::Reader* in) {
  const uint32_t season = static_cast<uint32_t>(spec_.season_steps);
  return states_.DecodeAll(in, [season](coding::Reader* r, State* s) {
    uint32_t n, head;
    if (!GetValue(r, &s->intercept) || !r->GetDouble(&s->slope) ||
        !GetValue(r, &s->next_pred) || !r->GetVarint32(&n) ||
        !r->GetVarint32(&head) || n != season || head >= n) {
      return false;
    }
    s->head = head;
    s->seasonals.resize(n);
    s->deviations.resize(n);
    for (double& v : s->seasonals) {
      if (!r->GetDouble(&v)) return false;
    }
    for (double& v : s->deviations) {
      if (!r->GetDouble(&v)) return false;
    }
    return true;
  });
}

}  // namespace gralarm::expr
