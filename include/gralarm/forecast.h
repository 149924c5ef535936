#ifndef GRALARM_FORECAST_H_
#define GRALARM_FORECAST_H_

// The least-squares forecast of a rule's `forecast` (README "Forecast
// rules"): Prometheus predict_linear semantics over a sliding time window.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace gralarm {

// A rule's `forecast`: thresholds are compared with the value the
// least-squares line over the last window_s seconds of the series predicts
// horizon_s after the point. Off when window_s is 0.
struct ForecastOptions {
  int64_t window_s = 0;
  int64_t horizon_s = 0;
  bool on() const { return window_s > 0; }
};

// Bounds of the fields (rule validation).
inline constexpr int64_t kForecastMinWindowS = 10;
inline constexpr int64_t kForecastMaxWindowS = 7 * 86400;
inline constexpr int64_t kForecastMaxHorizonS = 30 * 86400;
// A forecast is made only from this many points or more ...
inline constexpr size_t kForecastMinPoints = 3;
// ... at most this many: beyond, the oldest point is dropped, and the window
// then covers less than window_s (the span condition still applies).
inline constexpr size_t kForecastMaxPoints = 4096;  // a power of two

// The points of one (rule, series) within the window, and running sums of
// the regression over them. A least-squares line over a sliding window needs
// the points that leave it, so they are kept (a ring, 16 bytes a point).
//
// Exactness: x is the point's timestamp minus an anchor (an integer), so the
// sums of x and x*x are exact integers; the sums of y and x*y are Neumaier-
// compensated, and every sum is recomputed from the ring (re-anchored at the
// oldest point) once as many points have left as the window holds, so the
// error of subtractions never accumulates over more than two windows of
// updates. Adding a point is O(1) amortised.
class ForecastWindow {
 public:
  struct Point {
    uint32_t ts;
    double value;
  };

  // Appends a point whose ts is after the newest point's (others are
  // ignored: the evaluator only offers points after the last evaluated one),
  // then drops the points at or before ts - window_s, and the oldest one
  // beyond kForecastMaxPoints.
  void Add(uint32_t ts, double value, int64_t window_s);

  // The value the least-squares line over the points predicts at the newest
  // point's ts + horizon_s; none unless the window holds at least
  // kForecastMinPoints points spanning at least window_s / 2 seconds.
  std::optional<double> Predict(int64_t window_s, int64_t horizon_s) const;

  size_t size() const { return size_; }
  // The points, oldest first.
  std::vector<Point> Points() const;
  // Replaces the points (oldest first, timestamps strictly increasing; at
  // most kForecastMaxPoints, spanning at most kForecastMaxWindowS): a
  // restored window. False, and the window emptied, when they are not so.
  bool Restore(const std::vector<Point>& points);

  // The last forecast made (by the evaluator), if any.
  std::optional<double> last_forecast;

 private:
  // Neumaier's compensated sum.
  struct Sum {
    double sum = 0;
    double c = 0;
    void Add(double x);
    double value() const { return sum + c; }
  };
  // The i-th point, oldest first (the ring's size is a power of two).
  const Point& At(size_t i) const {
    return ring_[(head_ + i) & (ring_.size() - 1)];
  }
  void PopOldest();
  void Rebuild();

  // 0 or a power of two of slots, doubling from 8 to kForecastMaxPoints.
  std::vector<Point> ring_;
  size_t head_ = 0;  // the oldest point
  size_t size_ = 0;
  uint32_t anchor_ = 0;  // x = ts - anchor_
  size_t popped_ = 0;    // points dropped since the last Rebuild()
  int64_t sum_x_ = 0;    // exact
  int64_t sum_xx_ = 0;   // exact
  Sum sum_y_, sum_xy_;
};

}  // namespace gralarm

#endif  // GRALARM_FORECAST_H_
