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
inline constexpr size_t kForecastMaxPoints = 4096;  // a power of two, < 65536

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
//
// Layout: 16 bytes inline (a null pointer until the first point), and one
// block of whole cache lines from the forecast block pool, which lays blocks
// out in the order windows are created (docs/FORECAST.md "Cost"): a 64-byte
// header (the sums, the anchor, the last forecast), the ring, then the raise
// forecast. The ring's position is inline, so a point's slots are found
// without waiting for the header: the loads go out together. The ring grows
// one slot at a time up to 64 slots (in place while the block's lines hold
// it), so in a window whose number of points is steady (a series reporting at
// a steady interval) the ring holds exactly those points and the new point
// takes the slot of the one that left: a point touches the header and one
// ring slot.
class ForecastWindow {
 public:
  struct Point {
    uint32_t ts;
    double value;
  };

  ForecastWindow() = default;
  ForecastWindow(const ForecastWindow& other);
  ForecastWindow& operator=(const ForecastWindow& other);
  ForecastWindow(ForecastWindow&& other) noexcept;
  ForecastWindow& operator=(ForecastWindow&& other) noexcept;
  ~ForecastWindow() { Free(); }

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
  // restored window; the forecasts below are kept. False, and the window
  // emptied, when they are not so.
  bool Restore(const std::vector<Point>& points);
  // Frees everything: no points, no forecasts.
  void Clear() { Free(); }

  // The last forecast made (set by the evaluator), if any.
  std::optional<double> last_forecast() const;
  void set_last_forecast(std::optional<double> f);
  // The forecast that raised the alert of the (rule, series), kept here for
  // the AlertEngine (0 when never set).
  double raise_forecast() const { return block_ ? *raise_slot() : 0; }
  void set_raise_forecast(double f) {
    Ensure();
    *raise_slot() = f;
  }

 private:
  // Neumaier's compensated sum.
  struct Sum {
    double sum = 0;
    double c = 0;
    void Add(double x);
    double value() const { return sum + c; }
  };
  // The heap block: these fields (one cache line), then capacity_ Points,
  // then the raise forecast (a double).
  struct Block {
    int64_t sum_x = 0;   // exact
    int64_t sum_xx = 0;  // exact
    Sum sum_y, sum_xy;
    uint32_t anchor = 0;  // x = ts - anchor
    uint32_t popped = 0;  // points dropped since the last Rebuild()
    double last_forecast = 0;
  };
  static_assert(sizeof(Block) == 64);
  static_assert(sizeof(Block) % alignof(Point) == 0);

  static size_t BlockBytes(size_t capacity) {
    return sizeof(Block) + capacity * sizeof(Point) + sizeof(double);
  }
  Point* points() const { return reinterpret_cast<Point*>(block_ + 1); }
  double* raise_slot() const {
    return reinterpret_cast<double*>(points() + capacity_);
  }
  size_t capacity() const { return capacity_; }
  // The i-th point, oldest first (i < capacity_).
  Point& At(size_t i) const {
    size_t slot = head_ + i;
    if (slot >= capacity_) slot -= capacity_;
    return points()[slot];
  }
  // The capacity after `capacity` when the ring is full.
  static size_t NextCapacity(size_t capacity);
  // The block, allocated (empty) when missing.
  Block* Ensure();
  // Moves the points into a block of `slots` slots (oldest first).
  void Regrow(size_t slots);
  void Free();
  void PopOldest();
  void Rebuild();

  Block* block_ = nullptr;
  uint16_t head_ = 0;  // the oldest point's slot
  uint16_t size_ = 0;
  uint16_t capacity_ = 0;
  bool has_last_forecast_ = false;
};

}  // namespace gralarm

#endif  // GRALARM_FORECAST_H_
