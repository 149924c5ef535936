#ifndef GRALARM_EVALUATOR_H_
#define GRALARM_EVALUATOR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "gralarm/forecast.h"

namespace gralarm {

// Alert levels, ordered (README "Threshold rules").
enum class Level : int8_t { kOk = 0, kWarning = 1, kMajor = 2, kCritical = 3 };
inline constexpr int kNumLevels = 4;
std::string_view LevelName(Level level);
// "ok", "warning", "major", "critical" -> level; false for anything else.
bool ParseLevel(std::string_view name, Level* out);

enum class Direction : int8_t { kAbove, kBelow };
enum class Transform : int8_t { kNone, kRate, kDelta };

// What the state machine needs of a rule (template already applied).
struct EvalParams {
  Direction direction = Direction::kAbove;
  // thresholds[1..3] for warning, major, critical; [0] is unused.
  std::array<std::optional<double>, kNumLevels> thresholds;
  int checks_alert = 1;
  int checks_ok = 1;
  double ok_margin_pct = 0;
  Transform transform = Transform::kNone;
  // On: the compared value is the forecast of the (transformed) values.
  ForecastOptions forecast;
};

// Highest level whose threshold the value reaches (>= above, <= below).
Level BreachLevel(const EvalParams& p, double v);
// The same with every threshold relaxed by ok_margin_pct % of its absolute
// value.
Level HoldLevel(const EvalParams& p, double v);

// The state of one (rule, series) pair. Plain data: persisted as it is.
struct SeriesState {
  Level level = Level::kOk;
  Level up_min = Level::kOk;    // lowest breach level in the current run up
  Level down_max = Level::kOk;  // highest hold level in the current run down
  bool has_last_ts = false;
  bool has_prev = false;
  uint16_t up_count = 0;    // consecutive points breaching above `level`
  uint16_t down_count = 0;  // consecutive points no longer holding `level`
  uint32_t last_ts = 0;     // timestamp of the last evaluated point
  uint32_t prev_ts = 0;     // last point seen by the transform
  double prev_value = 0;
  double last_value = 0;  // the last evaluated (transformed) value
};

struct Transition {
  Level from;
  Level to;
};

// Feeds one point, exactly as spec/alert_model.py's Series.offer: a point not
// after the last evaluated timestamp, or NaN/Inf, is skipped; rate/delta skip
// the first point and counter decreases. Returns the transition, if any.
//
// With p.forecast on, `window` (required then) receives the (transformed)
// value, and the thresholds are compared with its Predict() instead, stored
// in window->last_forecast; while it makes no forecast (too few points, too
// short a span) the point changes no level nor count.
std::optional<Transition> Offer(const EvalParams& p, SeriesState* s,
                                uint32_t ts, double v,
                                ForecastWindow* window = nullptr);

}  // namespace gralarm

#endif  // GRALARM_EVALUATOR_H_
