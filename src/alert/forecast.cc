#include "gralarm/forecast.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "absl/numeric/int128.h"
#include "alert/forecast_block_pool.h"

namespace gralarm {
namespace {

constexpr size_t kMinCapacity = 4;
// Up to here the ring grows a slot at a time; beyond, by a quarter.
constexpr size_t kExactCapacity = 64;
static_assert(kForecastMaxPoints <= UINT16_MAX);

}  // namespace

void ForecastWindow::Sum::Add(double x) {
  const double t = sum + x;
  c += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
  sum = t;
}

ForecastWindow::ForecastWindow(const ForecastWindow& other) { *this = other; }

ForecastWindow& ForecastWindow::operator=(const ForecastWindow& other) {
  if (this == &other) return *this;
  Free();
  if (other.block_ == nullptr) return *this;
  const size_t bytes = BlockBytes(other.capacity_);
  block_ = static_cast<Block*>(forecast_pool::Allocate(bytes));
  std::memcpy(static_cast<void*>(block_), other.block_, bytes);
  head_ = other.head_;
  size_ = other.size_;
  capacity_ = other.capacity_;
  has_last_forecast_ = other.has_last_forecast_;
  return *this;
}

ForecastWindow::ForecastWindow(ForecastWindow&& other) noexcept {
  *this = std::move(other);
}

ForecastWindow& ForecastWindow::operator=(ForecastWindow&& other) noexcept {
  if (this == &other) return *this;
  Free();
  block_ = std::exchange(other.block_, nullptr);
  head_ = std::exchange(other.head_, 0);
  size_ = std::exchange(other.size_, 0);
  capacity_ = std::exchange(other.capacity_, 0);
  has_last_forecast_ = std::exchange(other.has_last_forecast_, false);
  return *this;
}

void ForecastWindow::Free() {
  forecast_pool::Free(block_, BlockBytes(capacity_));
  block_ = nullptr;
  head_ = 0;
  size_ = 0;
  capacity_ = 0;
  has_last_forecast_ = false;
}

size_t ForecastWindow::NextCapacity(size_t capacity) {
  if (capacity < kMinCapacity) return kMinCapacity;
  const size_t next =
      capacity < kExactCapacity ? capacity + 1 : capacity + capacity / 4;
  return std::min(next, kForecastMaxPoints);
}

ForecastWindow::Block* ForecastWindow::Ensure() {
  if (block_ == nullptr) Regrow(kMinCapacity);
  return block_;
}

void ForecastWindow::Regrow(size_t slots) {
  if (block_ != nullptr &&
      forecast_pool::BlockSize(BlockBytes(slots)) ==
          forecast_pool::BlockSize(BlockBytes(capacity_))) {
    // The block's lines hold the new ring too: the points move to the front,
    // oldest first, and the raise forecast after the new ring.
    const double raise = *raise_slot();
    std::rotate(points(), points() + head_, points() + capacity_);
    head_ = 0;
    capacity_ = static_cast<uint16_t>(slots);
    *raise_slot() = raise;
    return;
  }
  auto* grown = static_cast<Block*>(forecast_pool::Allocate(BlockBytes(slots)));
  new (grown) Block(block_ != nullptr ? *block_ : Block());
  auto* to = reinterpret_cast<Point*>(grown + 1);
  for (size_t i = 0; i < size_; ++i) to[i] = At(i);
  const double raise = block_ != nullptr ? *raise_slot() : 0;
  forecast_pool::Free(block_, BlockBytes(capacity_));
  block_ = grown;
  head_ = 0;
  capacity_ = static_cast<uint16_t>(slots);
  *raise_slot() = raise;
}

std::optional<double> ForecastWindow::last_forecast() const {
  if (!has_last_forecast_) return std::nullopt;
  return block_->last_forecast;
}

void ForecastWindow::set_last_forecast(std::optional<double> f) {
  if (!f && block_ == nullptr) return;
  Block* b = Ensure();
  has_last_forecast_ = f.has_value();
  b->last_forecast = f.value_or(0);
}

void ForecastWindow::PopOldest() {
  Block& b = *block_;
  const Point& p = At(0);
  const int64_t x = static_cast<int64_t>(p.ts) - b.anchor;
  b.sum_x -= x;
  b.sum_xx -= x * x;
  b.sum_y.Add(-p.value);
  b.sum_xy.Add(-static_cast<double>(x) * p.value);
  head_ = static_cast<uint16_t>(head_ + 1 == capacity_ ? 0 : head_ + 1);
  --size_;
  ++b.popped;
}

void ForecastWindow::Rebuild() {
  Block& b = *block_;
  b.popped = 0;
  b.sum_x = 0;
  b.sum_xx = 0;
  b.sum_y = Sum();
  b.sum_xy = Sum();
  if (size_ == 0) return;
  b.anchor = At(0).ts;
  for (size_t i = 0; i < size_; ++i) {
    const Point& p = At(i);
    const int64_t x = static_cast<int64_t>(p.ts) - b.anchor;
    b.sum_x += x;
    b.sum_xx += x * x;
    b.sum_y.Add(p.value);
    b.sum_xy.Add(static_cast<double>(x) * p.value);
  }
}

void ForecastWindow::Add(uint32_t ts, double value, int64_t window_s) {
  if (size_ > 0 && ts <= At(size_ - 1).ts) return;
  Ensure();
  while (size_ > 0 && static_cast<int64_t>(At(0).ts) <=
                          static_cast<int64_t>(ts) - window_s) {
    PopOldest();
  }
  if (size_ == kForecastMaxPoints) PopOldest();
  if (size_ == capacity_) Regrow(NextCapacity(capacity_));
  Block& b = *block_;
  if (size_ == 0) {
    Rebuild();  // clears what rounding left in the sums
    b.anchor = ts;
  }
  At(size_) = Point{ts, value};
  ++size_;
  const int64_t x = static_cast<int64_t>(ts) - b.anchor;
  // Recompute once as many points left as remain, or before x grows past two
  // windows (x * x summed over kForecastMaxPoints then fits an int64).
  if (b.popped >= size_ || x > 2 * window_s) {
    Rebuild();
    return;
  }
  b.sum_x += x;
  b.sum_xx += x * x;
  b.sum_y.Add(value);
  b.sum_xy.Add(static_cast<double>(x) * value);
}

std::optional<double> ForecastWindow::Predict(int64_t window_s,
                                              int64_t horizon_s) const {
  if (size_ < kForecastMinPoints) return std::nullopt;
  const int64_t newest = At(size_ - 1).ts;
  if (2 * (newest - static_cast<int64_t>(At(0).ts)) < window_s) {
    return std::nullopt;
  }
  const Block& b = *block_;
  const auto n = static_cast<int64_t>(size_);
  const absl::int128 var = absl::int128(n) * b.sum_xx -
                           absl::int128(b.sum_x) * absl::int128(b.sum_x);
  if (var <= 0) return std::nullopt;  // not reached: timestamps differ
  const double dn = static_cast<double>(n);
  const double sy = b.sum_y.value();
  const double cov = dn * b.sum_xy.value() - static_cast<double>(b.sum_x) * sy;
  const double slope = cov / static_cast<double>(var);
  const double mean_x = static_cast<double>(b.sum_x) / dn;
  const double target = static_cast<double>(newest - b.anchor + horizon_s);
  return sy / dn + slope * (target - mean_x);
}

std::vector<ForecastWindow::Point> ForecastWindow::Points() const {
  std::vector<Point> out;
  out.reserve(size_);
  for (size_t i = 0; i < size_; ++i) out.push_back(At(i));
  return out;
}

bool ForecastWindow::Restore(const std::vector<Point>& points) {
  size_ = 0;
  head_ = 0;
  bool ok = points.size() <= kForecastMaxPoints;
  for (size_t i = 1; ok && i < points.size(); ++i) {
    ok = points[i].ts > points[i - 1].ts;
  }
  // Longer than any window: x * x would overflow the sums.
  ok = ok && (points.empty() ||
              static_cast<int64_t>(points.back().ts) - points.front().ts <=
                  kForecastMaxWindowS);
  if (!ok || points.empty()) {
    if (block_ != nullptr) Rebuild();
    return ok;
  }
  Regrow(std::max(points.size(), kMinCapacity));
  std::copy(points.begin(), points.end(), this->points());
  size_ = static_cast<uint16_t>(points.size());
  Rebuild();
  return true;
}

}  // namespace gralarm
