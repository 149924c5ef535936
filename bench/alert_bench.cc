// Match + evaluate per point: the cost the alerting adds to every point.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/forecast.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"

namespace gralarm {
namespace {

constexpr int kSeries = 100000;

// Series k is "dc<d>.r<r>.if<i>.util" with d = k / 10000, r = k / 100 % 100, i
// = k % 100.
std::string SeriesName(int k) {
  return "dc" + std::to_string(k / 10000) + ".r" +
         std::to_string(k / 100 % 100) + ".if" + std::to_string(k % 100) +
         ".util";
}

// `count` rules, 70% exact series names and 30% globs of four shapes; with
// `forecast`, every rule has forecast = {600, 1200}.
std::shared_ptr<const RuleSet> MakeRules(const Config& config, int count,
                                         bool forecast = false) {
  std::mt19937 rng(42);
  std::vector<std::shared_ptr<const Rule>> rules;
  for (int n = 0; n < count; ++n) {
    RuleSpec spec;
    spec.id = "r" + std::to_string(n);
    const int d = static_cast<int>(rng() % 10),
              r = static_cast<int>(rng() % 100),
              i = static_cast<int>(rng() % 100);
    if (n % 10 < 7) {
      spec.pattern = SeriesName(static_cast<int>(rng() % kSeries));
    } else {
      const std::string ds = std::to_string(d), rs = std::to_string(r),
                        is = std::to_string(i);
      switch (rng() % 4) {
        case 0:
          spec.pattern = "dc" + ds + ".r" + rs + ".if*.util";
          break;
        case 1:
          spec.pattern = "dc" + ds + ".r*.if" + is + ".util";
          break;
        case 2:
          spec.pattern = "dc*.r" + rs + ".if" + is + ".{util,errors}";
          break;
        default:
          spec.pattern =
              "dc" + ds + ".r" + rs + ".if" + std::to_string(i % 10) + "?.util";
      }
    }
    spec.fields.thresholds =
        std::array<std::optional<double>, 4>{std::nullopt, 70.0, 85.0, 95.0};
    spec.fields.checks_alert = 3;
    if (forecast) spec.fields.forecast = ForecastOptions{600, 1200};
    auto rule = ResolveRule(spec, nullptr, config);
    if (!rule.ok()) abort();
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  return RuleSet::Build(std::move(rules), 1);
}

void BM_Match(benchmark::State& state) {
  Config config;
  auto rules = MakeRules(config, static_cast<int>(state.range(0)));
  std::vector<std::string> names;
  for (int k = 0; k < kSeries; ++k) names.push_back(SeriesName(k));
  RuleSet::Matches m;
  size_t i = 0, matched = 0;
  for (auto _ : state) {
    rules->Match(names[i++ % names.size()], &m);
    matched += m.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["rules_per_point"] =
      static_cast<double>(matched) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Match)->Arg(10000)->Arg(100000);

// An AlertEngine over a store of its own (removed at the end) with `n` rules
// (forecasting or not), and the kSeries series names.
class EngineBench {
 public:
  EngineBench(benchmark::State& state, int n, bool forecast)
      : dir_("/tmp/gralarm-alert-bench-" + std::to_string(getpid())),
        config_(std::make_shared<Config>()) {
    std::filesystem::remove_all(dir_);
    auto store = Store::Open(dir_);
    if (!store.ok()) {
      state.SkipWithError("store");
      return;
    }
    store_ = std::move(*store);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    engine_->SetRules(MakeRules(*config_, n, forecast));
    rules_ = engine_->rules();
    for (int k = 0; k < kSeries; ++k) names_.push_back(SeriesName(k));
  }
  ~EngineBench() {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  bool ok() const { return engine_ != nullptr; }
  void Offer(const std::string& name, uint32_t ts, double value) {
    engine_->Offer(*rules_, name, name, ts, value);
  }
  const std::vector<std::string>& names() const { return names_; }
  EngineCounters counters() const { return engine_->Counters(); }

 private:
  const std::string dir_;
  const std::shared_ptr<Config> config_;
  RealClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::shared_ptr<const RuleSet> rules_;
  std::vector<std::string> names_;
};

void BM_MatchAndEvaluate(benchmark::State& state) {
  EngineBench bench(state, static_cast<int>(state.range(0)), false);
  if (!bench.ok()) return;
  const std::vector<std::string>& names = bench.names();
  uint32_t ts = 1700000000;
  for (const std::string& n : names) bench.Offer(n, ts, 1.0);  // warm up
  size_t i = 0;
  for (auto _ : state) {
    const std::string& n = names[i % names.size()];
    if (++i % names.size() == 0) ++ts;
    bench.Offer(n, ts + 1, 1.0);
  }
  state.SetItemsProcessed(state.iterations());
  const EngineCounters c = bench.counters();
  state.counters["series_tracked"] = static_cast<double>(c.series_tracked);
  state.counters["rule_series"] = static_cast<double>(c.rule_series);
}
BENCHMARK(BM_MatchAndEvaluate)->Arg(10000)->Arg(100000);

// The same rules without (range(1) = 0) and with (1) a forecast of 600 s: a
// series' point every 60 s (ts advances 60 a round of all series), after 10
// warm-up rounds, so every forecast window holds 10 points and predicts.
// range(2) = 0: the rounds offer the series in the order they were created;
// 1: in another (random, fixed) order, as when collectors change the order
// they send in, so that the states and windows are no longer read in the
// order they lie in memory.
void BM_MatchAndEvaluateForecast(benchmark::State& state) {
  EngineBench bench(state, static_cast<int>(state.range(0)),
                    state.range(1) != 0);
  if (!bench.ok()) return;
  const std::vector<std::string>& names = bench.names();
  uint32_t ts = 1700000000;
  for (int round = 0; round < 10; ++round, ts += 60) {
    for (const std::string& n : names) bench.Offer(n, ts, 1.0);
  }
  std::vector<const std::string*> order;
  for (const std::string& n : names) order.push_back(&n);
  if (state.range(2) != 0) {
    std::shuffle(order.begin(), order.end(), std::mt19937(3));
  }
  size_t i = 0;
  uint32_t round = 0;
  for (auto _ : state) {
    const std::string& n = *order[i % order.size()];
    if (++i % order.size() == 0) {
      ts += 60;
      ++round;
    }
    // Not a constant, and far from the thresholds: no transitions.
    bench.Offer(n, ts, 1.0 + 0.25 * (round % 4));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["rule_series"] =
      static_cast<double>(bench.counters().rule_series);
}
BENCHMARK(BM_MatchAndEvaluateForecast)
    ->Args({10000, 0, 0})
    ->Args({10000, 1, 0})
    ->Args({100000, 0, 0})
    ->Args({100000, 1, 0})
    ->Args({10000, 0, 1})
    ->Args({10000, 1, 1});

// One forecast window alone (cache-hot): the arithmetic of a point of a
// forecast rule, without the engine. A point every 60 s, a 3600 s window (60
// points), a 7200 s horizon.
void BM_ForecastWindow(benchmark::State& state) {
  ForecastWindow w;
  uint32_t ts = 1700000000;
  double v = 0, sum = 0;
  for (auto _ : state) {
    ts += 60;
    v = v < 100 ? v + 0.25 : 0;
    w.Add(ts, v, 3600);
    sum += w.Predict(3600, 7200).value_or(0);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForecastWindow);

}  // namespace
}  // namespace gralarm
