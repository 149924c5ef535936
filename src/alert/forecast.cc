#include "gralarm/forecast.h"

#include <algorithm>
#include <cmath>

#include "absl/numeric/int128.h"

namespace gralarm {

void ForecastWindow::Sum::Add(double x) {
  const double t = sum + x;
  c += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
  sum = t;
}

void ForecastWindow::PopOldest() {
  const Point& p = ring_[head_];
  const int64_t x = static_cast<int64_t>(p.ts) - anchor_;
  sum_x_ -= x;
  sum_xx_ -= x * x;
  sum_y_.Add(-p.value);
  sum_xy_.Add(-static_cast<double>(x) * p.value);
  head_ = (head_ + 1) & (ring_.size() - 1);
  --size_;
  ++popped_;
}

void ForecastWindow::Rebuild() {
  popped_ = 0;
  sum_x_ = 0;
  sum_xx_ = 0;
  sum_y_ = Sum();
  sum_xy_ = Sum();
  if (size_ == 0) return;
  anchor_ = At(0).ts;
  for (size_t i = 0; i < size_; ++i) {
    const Point& p = At(i);
    const int64_t x = static_cast<int64_t>(p.ts) - anchor_;
    sum_x_ += x;
    sum_xx_ += x * x;
    sum_y_.Add(p.value);
    sum_xy_.Add(static_cast<double>(x) * p.value);
  }
}

void ForecastWindow::Add(uint32_t ts, double value, int64_t window_s) {
  if (size_ > 0 && ts <= At(size_ - 1).ts) return;
  while (size_ > 0 && static_cast<int64_t>(At(0).ts) <=
                          static_cast<int64_t>(ts) - window_s) {
    PopOldest();
  }
  if (size_ == kForecastMaxPoints) PopOldest();
  if (size_ == ring_.size()) {
    // Grow (doubling from 8, up to kForecastMaxPoints), oldest first again.
    std::vector<Point> grown(
        std::min(kForecastMaxPoints, std::max<size_t>(8, 2 * ring_.size())));
    for (size_t i = 0; i < size_; ++i) grown[i] = At(i);
    ring_ = std::move(grown);
    head_ = 0;
  }
  if (size_ == 0) {
    Rebuild();  // clears what rounding left in the sums
    anchor_ = ts;
  }
  ring_[(head_ + size_) & (ring_.size() - 1)] = Point{ts, value};
  ++size_;
  const int64_t x = static_cast<int64_t>(ts) - anchor_;
  // Recompute once as many points left as remain, or before x grows past two
  // windows (x * x summed over kForecastMaxPoints then fits an int64).
  if (popped_ >= size_ || x > 2 * window_s) {
    Rebuild();
    return;
  }
  sum_x_ += x;
  sum_xx_ += x * x;
  sum_y_.Add(value);
  sum_xy_.Add(static_cast<double>(x) * value);
}

std::optional<double> ForecastWindow::Predict(int64_t window_s,
                                              int64_t horizon_s) const {
  if (size_ < kForecastMinPoints) return std::nullopt;
  const int64_t newest = At(size_ - 1).ts;
  if (2 * (newest - static_cast<int64_t>(At(0).ts)) < window_s) {
    return std::nullopt;
  }
  const auto n = static_cast<int64_t>(size_);
  const absl::int128 var =
      absl::int128(n) * sum_xx_ - absl::int128(sum_x_) * absl::int128(sum_x_);
  if (var <= 0) return std::nullopt;  // not reached: timestamps differ
  const double dn = static_cast<double>(n);
  const double sy = sum_y_.value();
  const double cov = dn * sum_xy_.value() - static_cast<double>(sum_x_) * sy;
  const double slope = cov / static_cast<double>(var);
  const double mean_x = static_cast<double>(sum_x_) / dn;
  const double target = static_cast<double>(newest - anchor_ + horizon_s);
  return sy / dn + slope * (target - mean_x);
}

std::vector<ForecastWindow::Point> ForecastWindow::Points() const {
  std::vector<Point> out;
  out.reserve(size_);
  for (size_t i = 0; i < size_; ++i) out.push_back(At(i));
  return out;
}

bool ForecastWindow::Restore(const std::vector<Point>& points) {
  ring_.clear();
  head_ = 0;
  size_ = 0;
  bool ok = points.size() <= kForecastMaxPoints;
  for (size_t i = 1; ok && i < points.size(); ++i) {
    ok = points[i].ts > points[i - 1].ts;
  }
  // Longer than any window: x * x would overflow the sums.
  ok = ok && (points.empty() ||
              static_cast<int64_t>(points.back().ts) - points.front().ts <=
                  kForecastMaxWindowS);
  if (ok && !points.empty()) {
    size_t capacity = 8;
    while (capacity < points.size()) capacity *= 2;
    ring_.assign(capacity, Point{0, 0});
    std::copy(points.begin(), points.end(), ring_.begin());
    size_ = points.size();
  }
  Rebuild();
  return ok;
}

}  // namespace gralarm
