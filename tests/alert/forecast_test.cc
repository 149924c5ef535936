// The least-squares forecast (README "Forecast rules") against a two-pass
// reference, and its use by the evaluator.
#include "gralarm/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>
#include <random>

#include "gralarm/evaluator.h"

namespace gralarm {
namespace {

struct Ref {
  uint32_t ts;
  double value;
};

// A straightforward two-pass least-squares fit over the points in
// (newest - window_s, newest], evaluated at newest + horizon_s.
std::optional<double> Reference(const std::deque<Ref>& all, int64_t window_s,
                                int64_t horizon_s) {
  if (all.empty()) return std::nullopt;
  const int64_t newest = all.back().ts;
  std::vector<Ref> pts;
  for (const Ref& p : all) {
    if (static_cast<int64_t>(p.ts) > newest - window_s) pts.push_back(p);
  }
  if (pts.size() < 3 || 2 * (newest - pts.front().ts) < window_s) {
    return std::nullopt;
  }
  double mx = 0, my = 0;
  for (const Ref& p : pts) {
    mx += static_cast<double>(static_cast<int64_t>(p.ts) - newest);
    my += p.value;
  }
  mx /= static_cast<double>(pts.size());
  my /= static_cast<double>(pts.size());
  double sxy = 0, sxx = 0;
  for (const Ref& p : pts) {
    const double dx =
        static_cast<double>(static_cast<int64_t>(p.ts) - newest) - mx;
    sxy += dx * (p.value - my);
    sxx += dx * dx;
  }
  return my + sxy / sxx * (static_cast<double>(horizon_s) - mx);
}

void ExpectClose(double got, double want) {
  EXPECT_LE(std::fabs(got - want), 1e-9 * std::fabs(want))
      << "got " << got << " want " << want;
}

TEST(ForecastWindowTest, LinearSeriesIsExact) {
  ForecastWindow w;
  // y = 3 + 0.5 t, every 10 s.
  for (uint32_t t = 1000; t <= 4600; t += 10) {
    w.Add(t, 3 + 0.5 * t, 3600);
  }
  auto f = w.Predict(3600, 7200);
  ASSERT_TRUE(f);
  ExpectClose(*f, 3 + 0.5 * (4600 + 7200));
  // Horizon: the same line further on.
  ExpectClose(*w.Predict(3600, 60), 3 + 0.5 * 4660);
}

TEST(ForecastWindowTest, NoisySeriesMatchesTheTwoPassReference) {
  for (double level : {0.0, 95.0, 1e6}) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> noise(0, 3);
    std::uniform_int_distribution<int> gap(1, 40);
    ForecastWindow w;
    std::deque<Ref> all;
    uint32_t t = 1700000000;
    int compared = 0;
    // Many windows' worth of points: sums are subtracted and rebuilt many
    // times over.
    for (int i = 0; i < 50000; ++i) {
      t += static_cast<uint32_t>(gap(rng));
      const double v = level + 0.01 * (t - 1700000000.0) + noise(rng);
      w.Add(t, v, 3600);
      all.push_back({t, v});
      while (all.front().ts + 3600 <= t) all.pop_front();
      auto want = Reference(all, 3600, 7200);
      auto got = w.Predict(3600, 7200);
      ASSERT_EQ(got.has_value(), want.has_value()) << i;
      if (got) {
        ExpectClose(*got, *want);
        ++compared;
      }
    }
    EXPECT_GT(compared, 49000);
  }
}

TEST(ForecastWindowTest, NeedsThreePointsOverHalfTheWindow) {
  ForecastWindow w;
  w.Add(1000, 1, 600);
  w.Add(1400, 2, 600);  // two points: none, however far apart
  EXPECT_FALSE(w.Predict(600, 60));
  ForecastWindow x;
  x.Add(1000, 1, 600);
  x.Add(1100, 2, 600);
  x.Add(1299, 3, 600);  // three points over 299 s < 300 s
  EXPECT_FALSE(x.Predict(600, 60));
  x.Add(1300, 4, 600);  // 300 s
  EXPECT_TRUE(x.Predict(600, 60));
}

TEST(ForecastWindowTest, SlidesOutOldPoints) {
  ForecastWindow w;
  // A flat past, then a rise: once the flat points leave the window, the
  // forecast is the rise's line alone.
  for (uint32_t t = 0; t < 600; t += 60) w.Add(1000 + t, 5, 600);
  for (uint32_t t = 600; t <= 1200; t += 60) w.Add(1000 + t, t - 595.0, 600);
  // The window (1600, 2200] holds ts 1660..2200: 10 points.
  EXPECT_EQ(w.size(), 10u);
  ExpectClose(*w.Predict(600, 600), 1800 - 595.0);
  // A gap longer than the window empties it.
  w.Add(5000, 1, 600);
  EXPECT_EQ(w.size(), 1u);
  EXPECT_FALSE(w.Predict(600, 600));
}

TEST(ForecastWindowTest, IgnoresPointsNotAfterTheNewest) {
  ForecastWindow w;
  w.Add(100, 1, 600);
  w.Add(100, 50, 600);
  w.Add(90, 50, 600);
  EXPECT_EQ(w.size(), 1u);
}

TEST(ForecastWindowTest, CapsThePoints) {
  ForecastWindow w;
  for (uint32_t t = 1; t <= 5000; ++t) w.Add(t, 2.0 * t, 7200);
  EXPECT_EQ(w.size(), kForecastMaxPoints);
  EXPECT_EQ(w.Points().front().ts, 5001 - kForecastMaxPoints);
  ExpectClose(*w.Predict(7200, 10), 2.0 * 5010);
}

TEST(ForecastWindowTest, RestoresPoints) {
  ForecastWindow w;
  for (uint32_t t = 0; t <= 300; t += 30) w.Add(t, t * 0.25, 600);
  ForecastWindow r;
  ASSERT_TRUE(r.Restore(w.Points()));
  EXPECT_EQ(*r.Predict(600, 100), *w.Predict(600, 100));
  r.Add(330, 330 * 0.25, 600);
  ExpectClose(*r.Predict(600, 100), 430 * 0.25);
  // Out of order, or spanning more than any window: refused, emptied.
  EXPECT_FALSE(r.Restore({{10, 1}, {10, 2}}));
  EXPECT_EQ(r.size(), 0u);
  EXPECT_FALSE(r.Restore({{1, 1}, {1 + 8 * 86400, 2}}));
  EXPECT_EQ(r.size(), 0u);
}

TEST(ForecastWindowTest, ForecastsSurviveTheRingGrowingAndWrapping) {
  ForecastWindow w;
  w.Add(0, 0, 100000);
  w.set_raise_forecast(42);
  w.set_last_forecast(-3);
  // 3..100 slots: every growth step, the exact ones and the quarter ones.
  for (uint32_t t = 10; t < 1000; t += 10) w.Add(t, t * 2.0, 100000);
  EXPECT_EQ(w.size(), 100u);
  EXPECT_EQ(w.raise_forecast(), 42);
  EXPECT_EQ(w.last_forecast(), -3);
  // A steady window of 7 points slides around its ring many times.
  ForecastWindow s;
  for (uint32_t t = 0; t < 10000; t += 10) {
    s.Add(t, 1.5 * t, 70);
    ASSERT_EQ(s.size(), std::min<size_t>(t / 10 + 1, 7));
  }
  s.set_raise_forecast(5);
  s.Add(10000, 15000, 70);
  ExpectClose(*s.Predict(70, 30), 1.5 * 10030);
  EXPECT_EQ(s.Points().front().ts, 9940u);
  EXPECT_EQ(s.raise_forecast(), 5);
}

TEST(ForecastWindowTest, CopiesAreDeepAndMovesEmptyTheSource) {
  ForecastWindow w;
  for (uint32_t t = 0; t <= 300; t += 30) w.Add(t, t * 0.5, 600);
  w.set_last_forecast(7);
  w.set_raise_forecast(9);
  ForecastWindow copy = w;
  w.Add(330, 1000, 600);  // changes w only
  EXPECT_EQ(copy.size(), 11u);
  ExpectClose(*copy.Predict(600, 100), 400 * 0.5);
  EXPECT_EQ(copy.last_forecast(), 7);
  EXPECT_EQ(copy.raise_forecast(), 9);
  ForecastWindow moved = std::move(copy);
  EXPECT_EQ(moved.size(), 11u);
  EXPECT_EQ(copy.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(copy.last_forecast());
  copy = moved;
  EXPECT_EQ(copy.Points().back().ts, 300u);
  moved.Clear();
  EXPECT_EQ(moved.size(), 0u);
  EXPECT_FALSE(moved.Predict(600, 100));
  EXPECT_EQ(moved.raise_forecast(), 0);
}

TEST(ForecastEvaluatorTest, ComparesTheForecast) {
  EvalParams p;
  p.thresholds[static_cast<int>(Level::kCritical)] = 99.99;
  p.forecast = {600, 1200};
  SeriesState s;
  ForecastWindow w;
  // 10 + 0.05 t: reaches 99.99 at t = 1800; predicted 1200 s ahead, the
  // forecast crosses at t = 600 (100 there).
  std::optional<uint32_t> raised;
  for (uint32_t t = 0; t <= 1800 && !raised; t += 30) {
    if (Offer(p, &s, t, 10 + 0.05 * t, &w)) raised = t;
  }
  ASSERT_TRUE(raised);
  EXPECT_EQ(*raised, 600u);
  EXPECT_EQ(s.level, Level::kCritical);
  EXPECT_EQ(s.last_value, 10 + 0.05 * 600);  // the actual value
  ExpectClose(*w.last_forecast(), 100);
}

TEST(ForecastEvaluatorTest, TwoNoisyPointsDoNotPage) {
  EvalParams p;
  p.thresholds[static_cast<int>(Level::kCritical)] = 100;
  p.forecast = {600, 7200};
  SeriesState s;
  ForecastWindow w;
  EXPECT_FALSE(Offer(p, &s, 1000, 0, &w));
  EXPECT_FALSE(Offer(p, &s, 1300, 90, &w));  // a steep line: not evaluated
  EXPECT_EQ(s.level, Level::kOk);
  EXPECT_EQ(s.up_count, 0);
  EXPECT_FALSE(w.last_forecast());
}

TEST(ForecastEvaluatorTest, ForecastsTheTransformedValue) {
  EvalParams p;
  p.thresholds[static_cast<int>(Level::kWarning)] = 10;
  p.transform = Transform::kRate;
  p.forecast = {600, 600};
  SeriesState s;
  ForecastWindow w;
  // A counter whose rate rises by 0.01/s every 60 s step.
  double counter = 0;
  std::optional<uint32_t> raised;
  for (uint32_t t = 0; t <= 3600 && !raised; t += 60) {
    counter += 60 * (0.01 * t);
    if (Offer(p, &s, t, counter, &w)) raised = t;
  }
  // rate(t) = 0.01 t (from t = 60: the first point has no rate); predicted
  // 600 s ahead it reaches 10 at t = 400, so at the step of t = 420.
  ASSERT_TRUE(raised);
  EXPECT_EQ(*raised, 420u);
  ExpectClose(*w.last_forecast(), 0.01 * (420 + 600));
}

}  // namespace
}  // namespace gralarm
