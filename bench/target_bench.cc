// Target rules (README "Target rules"): the per-point cost of
// TargetEngine::Offer for a point that is an input of one target rule, with
// steps completing at the rate the points' timestamps give; the cost of one
// step completion alone; and the heap bytes per (rule, input series).
//
// Every benchmark uses a FakeClock (no wall time is read) and a fresh store
// under /tmp for the AlertEngine the outputs go to.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"
#include "gralarm/target_engine.h"

namespace gralarm {
namespace {

constexpr int64_t kStepS = 60;
constexpr int64_t kT0 = 1767225600;  // a multiple of kStepS

// A target rule `id` over `target` on a grid of kStepS seconds, lateness 0 (a
// step completes with the first point of the next one), a threshold no value
// reaches.
std::shared_ptr<const Rule> TargetRule(const std::string& id,
                                       const std::string& target,
                                       const Config& config) {
  RuleSpec spec;
  spec.id = id;
  spec.target = target;
  spec.step_s = kStepS;
  spec.lateness_s = 0;
  spec.fields.thresholds = std::array<std::optional<double>, 4>{
      std::nullopt, std::nullopt, 1e15, 1e16};
  auto rule = ResolveRule(spec, nullptr, config);
  if (!rule.ok()) {
    std::fprintf(stderr, "%s: %s\n", target.c_str(),
                 std::string(rule.status().message()).c_str());
    std::abort();
  }
  return std::make_shared<const Rule>(std::move(*rule));
}

// An AlertEngine on a fresh store and a TargetEngine feeding it, both on a
// fake clock, with `rules` in force.
class Engines {
 public:
  explicit Engines(std::vector<std::shared_ptr<const Rule>> rules = {})
      : dir_("/tmp/gralarm-target-bench-" + std::to_string(getpid()) + "-" +
             std::to_string(next_++)) {
    std::filesystem::remove_all(dir_);
    auto store = Store::Open(dir_);
    if (!store.ok()) std::abort();
    store_ = *std::move(store);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    targets_ = std::make_unique<TargetEngine>(engine_.get(), nullptr, &clock_);
    SetRules(std::move(rules));
  }
  ~Engines() {
    snapshot_.reset();
    targets_.reset();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void SetRules(std::vector<std::shared_ptr<const Rule>> rules) {
    auto set = RuleSet::Build(std::move(rules), ++generation_);
    engine_->SetRules(set);
    targets_->SetRules(set);
    snapshot_ = targets_->snapshot();
  }

  bool Offer(const std::string& name, int64_t ts, double value) {
    return targets_->Offer(*snapshot_, name, ts, value);
  }
  FakeClock& clock() { return clock_; }
  const Config& config() const { return *config_; }
  AlertEngine& engine() { return *engine_; }
  TargetEngine& targets() { return *targets_; }

 private:
  static inline std::atomic<int> next_{0};
  const std::string dir_;
  FakeClock clock_{kT0 * 1000};
  std::shared_ptr<const Config> config_ = std::make_shared<Config>();
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::unique_ptr<TargetEngine> targets_;
  std::shared_ptr<const TargetEngine::Snapshot> snapshot_;
  uint64_t generation_ = 0;
};

// The 50 series bench.s1000.value .. bench.s1049.value, which the glob
// bench.s10[0-4]?.value matches.
std::vector<std::string> FiftySeries() {
  std::vector<std::string> names;
  for (int k = 1000; k < 1050; ++k) {
    names.push_back("bench.s" + std::to_string(k) + ".value");
  }
  return names;
}

// The rule under test, by the benchmark's first argument.
struct Shape {
  const char* target;
  bool fifty;  // inputs: the 50 series (else bench.s1000.value alone)
};
constexpr Shape kShapes[] = {
    {"perSecond(bench.s1000.value)", false},
    {"movingAverage(bench.s1000.value,5)", false},
    {"sumSeries(bench.s10[0-4]?.value)", true},
};

// Per point: Offer() of points that are inputs of one target rule, every input
// series sending state.range(1) points per step (timestamps step_s / that
// apart), so that one step completes per step_s worth of points per series.
// The time per point includes the step completions (program run, the outputs
// into the AlertEngine), amortised over the points of a step.
void BM_TargetOffer(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const int64_t per_step = state.range(1);
  Config config;
  Engines e({TargetRule("t", shape.target, config)});
  const std::vector<std::string> names =
      shape.fifty ? FiftySeries()
                  : std::vector<std::string>{"bench.s1000.value"};
  const size_t n = names.size();
  const int64_t dt = kStepS / per_step;
  // Warm up: every input seen, a few steps completed.
  int64_t ts = kT0;
  for (int round = 0; round < 10 * per_step; ++round, ts += dt) {
    for (const std::string& name : names) e.Offer(name, ts, 1.0 * round);
  }
  size_t i = 0;
  double v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(e.Offer(names[i], ts, v));
    if (++i == n) {
      i = 0;
      ts += dt;
      v += 100;
      e.clock().Advance(dt * 1000);
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["inputs"] = static_cast<double>(n);
  state.counters["points_per_step"] =
      static_cast<double>(n) * static_cast<double>(per_step);
  state.counters["late"] = static_cast<double>(e.targets().points_late());
  state.SetLabel(shape.target);
}
BENCHMARK(BM_TargetOffer)
    ->ArgNames({"shape", "per_step"})
    ->Args({0, 1})
    ->Args({0, 6})
    ->Args({0, 60})
    ->Args({1, 6})
    ->Args({2, 1})
    ->Args({2, 6})
    ->Args({2, 60});

// A point of a series no target rule has as input: the match alone.
void BM_TargetOfferNoMatch(benchmark::State& state) {
  Config config;
  Engines e({TargetRule("t", "sumSeries(bench.s10[0-4]?.value)", config)});
  const std::string name = "bench.s2000.value";
  int64_t ts = kT0;
  for (auto _ : state) benchmark::DoNotOptimize(e.Offer(name, ++ts, 1.0));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TargetOfferNoMatch);

// One step completion alone: every input sends state.range(1) points of a
// step (not timed), then the time of the Offer() of the next step's first
// point, which completes it (that point's own Offer, about the per-point figure
// above, included): the program run over the step's points and the outputs
// into the AlertEngine.
void BM_TargetStepCompletion(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const int64_t per_step = state.range(1);
  Config config;
  Engines e({TargetRule("t", shape.target, config)});
  const std::vector<std::string> names =
      shape.fifty ? FiftySeries()
                  : std::vector<std::string>{"bench.s1000.value"};
  const int64_t dt = kStepS / per_step;
  int64_t step = kT0;
  double v = 0;
  // Every point of step `step`, but the first when `first_sent`.
  auto fill = [&](bool first_sent) {
    for (int64_t k = 0; k < per_step; ++k) {
      for (size_t i = 0; i < names.size(); ++i) {
        if (k == 0 && i == 0 && first_sent) continue;
        e.Offer(names[i], step + k * dt, v);
        v += 1;
      }
    }
  };
  for (int warm = 0; warm < 10; ++warm) {
    fill(false);
    step += kStepS;
  }
  for (auto _ : state) {
    // The first point of `step` completes step - kStepS (lateness 0).
    const auto t0 = std::chrono::steady_clock::now();
    e.Offer(names[0], step, v);
    const auto t1 = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    fill(true);
    step += kStepS;
  }
  state.counters["points_per_step"] =
      static_cast<double>(names.size()) * static_cast<double>(per_step);
  state.SetLabel(shape.target);
}
BENCHMARK(BM_TargetStepCompletion)
    ->ArgNames({"shape", "per_step"})
    ->UseManualTime()
    ->Iterations(3000)
    ->Args({0, 1})
    ->Args({0, 60})
    ->Args({2, 1})
    ->Args({2, 6})
    ->Args({2, 60});

// Heap bytes in use (malloc's own accounting, chunk headers included).
size_t HeapBytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// Heap bytes of `rules` rules, each over its own `inputs` series (target
// `func(bench.r<r>.s*.value)`): the rules resolved and put in force (no point
// yet), then what every input adds once it has sent a point in each of 3
// completed steps (the program's inputs and state, the outputs tracked by the
// AlertEngine).
struct MemoryFigure {
  double with_rules_bytes = 0;  // rules compiled, no input yet
  double inputs_bytes = 0;      // then every input fed, 3 steps completed
};
MemoryFigure Measure(const char* func, int rules, int inputs) {
  MemoryFigure f;
  {
    Config config;
    Engines e;
    std::vector<std::string> names;
    for (int r = 0; r < rules; ++r) {
      for (int k = 0; k < inputs; ++k) {
        names.push_back("bench.r" + std::to_string(r) + ".s" +
                        std::to_string(k) + ".value");
      }
    }
    const size_t base = HeapBytes();
    std::vector<std::shared_ptr<const Rule>> list;
    for (int r = 0; r < rules; ++r) {
      list.push_back(TargetRule(
          "t" + std::to_string(r),
          std::string(func) + "(bench.r" + std::to_string(r) + ".s*.value)",
          config));
    }
    e.SetRules(std::move(list));
    const size_t compiled = HeapBytes();
    // Steps kT0, +1, +2 complete when the first points of +3 arrive.
    for (int s = 0; s <= 3; ++s) {
      for (const std::string& name : names) {
        e.Offer(name, kT0 + s * kStepS, s);
      }
    }
    const size_t fed = HeapBytes();
    f.with_rules_bytes =
        static_cast<double>(compiled) - static_cast<double>(base);
    f.inputs_bytes = static_cast<double>(fed) - static_cast<double>(compiled);
  }
  return f;
}

// Memory per (rule, input series): the growth between 10 and 50 inputs a rule
// (what each input adds, the rule's own outputs apart) and per rule. For an
// aggregate (one output series a rule) and a per-series function (one output
// series, with its state in the function and in the AlertEngine, per input).
void BM_TargetMemory(benchmark::State& state) {
  static const char* const kFuncs[] = {"sumSeries", "perSecond"};
  const char* func = kFuncs[state.range(0)];
  constexpr int kRules = 1000;
  MemoryFigure ten, fifty;
  for (auto _ : state) {
    ten = Measure(func, kRules, 10);
    fifty = Measure(func, kRules, 50);
  }
  const double per_input =
      (fifty.inputs_bytes - ten.inputs_bytes) / (kRules * 40.0);
  state.counters["bytes_per_rule_input"] = per_input;
  state.counters["bytes_per_rule"] = fifty.with_rules_bytes / kRules;
  state.counters["bytes_per_rule_50_inputs"] =
      (fifty.with_rules_bytes + fifty.inputs_bytes) / kRules;
  state.SetLabel(std::string(func) + "(bench.r<r>.s*.value), 1000 rules");
}
BENCHMARK(BM_TargetMemory)
    ->ArgName("func")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gralarm
