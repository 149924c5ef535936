#include "gralarm/evaluator.h"

#include <algorithm>
#include <cmath>

namespace gralarm {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarning:
      return "warning";
    case Level::kMajor:
      return "major";
    case Level::kCritical:
      return "critical";
  }
  return "ok";
}

bool ParseLevel(std::string_view name, Level* out) {
  for (int i = 0; i < kNumLevels; ++i) {
    if (LevelName(static_cast<Level>(i)) == name) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

Level BreachLevel(const EvalParams& p, double v) {
  const bool above = p.direction == Direction::kAbove;
  int level = 0;
  for (int i = 1; i < kNumLevels; ++i) {
    if (!p.thresholds[i]) continue;
    const double t = *p.thresholds[i];
    if (above ? v >= t : v <= t) level = i;
  }
  return static_cast<Level>(level);
}

Level HoldLevel(const EvalParams& p, double v) {
  const bool above = p.direction == Direction::kAbove;
  const double margin = p.ok_margin_pct / 100.0;
  int level = 0;
  for (int i = 1; i < kNumLevels; ++i) {
    if (!p.thresholds[i]) continue;
    const double t = *p.thresholds[i];
    const double slack = margin * std::fabs(t);
    if (above ? v >= t - slack : v <= t + slack) level = i;
  }
  return static_cast<Level>(level);
}

namespace {

std::optional<Transition> Move(SeriesState* s, Level to) {
  Transition t{s->level, to};
  s->level = to;
  s->up_count = 0;
  s->down_count = 0;
  return t;
}

}  // namespace

std::optional<Transition> Offer(const EvalParams& p, SeriesState* s,
                                uint32_t ts, double v, ForecastWindow* window) {
  if (s->has_last_ts && ts <= s->last_ts)
    return std::nullopt;  // forwarded, not evaluated
  if (!std::isfinite(v)) return std::nullopt;
  s->has_last_ts = true;
  s->last_ts = ts;
  if (p.transform != Transform::kNone) {
    const bool had_prev = s->has_prev;
    const uint32_t prev_ts = s->prev_ts;
    const double prev_value = s->prev_value;
    s->has_prev = true;
    s->prev_ts = ts;
    s->prev_value = v;
    if (!had_prev || v < prev_value)
      return std::nullopt;  // first point or counter reset
    v = p.transform == Transform::kDelta
            ? v - prev_value
            : (v - prev_value) / static_cast<double>(ts - prev_ts);
  }
  s->last_value = v;
  if (p.forecast.on() && window != nullptr) {
    window->Add(ts, v, p.forecast.window_s);
    const std::optional<double> f =
        window->Predict(p.forecast.window_s, p.forecast.horizon_s);
    window->set_last_forecast(f);
    if (!f) return std::nullopt;  // not evaluated yet
    v = *f;
  }
  const Level b = BreachLevel(p, v);
  const Level h = HoldLevel(p, v);
  if (b > s->level) {
    s->down_count = 0;
    s->up_min = s->up_count == 0 ? b : std::min(s->up_min, b);
    if (s->up_count < UINT16_MAX) ++s->up_count;
    if (s->up_count >= p.checks_alert) return Move(s, s->up_min);
  } else if (h < s->level) {
    s->up_count = 0;
    s->down_max = s->down_count == 0 ? h : std::max(s->down_max, h);
    if (s->down_count < UINT16_MAX) ++s->down_count;
    if (s->down_count >= p.checks_ok) return Move(s, s->down_max);
  } else {
    s->up_count = 0;
    s->down_count = 0;
  }
  return std::nullopt;
}

}  // namespace gralarm
