// Cost of choosing destinations per point, for each routing method.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "gralarm/router.h"

namespace gralarm {
namespace {

void BM_Route(benchmark::State& state) {
  ForwardOptions o;
  o.method = static_cast<ForwardMethod>(state.range(0));
  const int destinations = static_cast<int>(state.range(1));
  o.replication =
      (o.method == ForwardMethod::kForward || o.method == ForwardMethod::kAnyOf)
          ? 1
          : 2;
  for (int i = 0; i < destinations; ++i) {
    DestinationOptions d;
    d.host = "10.0.0." + std::to_string(i + 1);
    d.port = 2003;
    d.instance = std::to_string(i);
    o.destinations.push_back(d);
  }
  auto router = Router::Create(o);
  if (!router.ok()) {
    state.SkipWithError("router");
    return;
  }
  std::vector<std::string> names;
  for (int i = 0; i < 4096; ++i) {
    names.push_back("cgnat" + std::to_string(i % 64) + ".ethtrunk" +
                    std::to_string(i) + ".output.util_pct");
  }
  int out[kMaxFanout];
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*router)->Route(names[i++ % names.size()], out));
  }
  state.SetLabel(std::string(ForwardMethodName(o.method)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Route)->ArgsProduct(
    {{static_cast<int>(ForwardMethod::kForward),
      static_cast<int>(ForwardMethod::kCarbonCh),
      static_cast<int>(ForwardMethod::kCarbonChFixed),
      static_cast<int>(ForwardMethod::kFnv1aCh),
      static_cast<int>(ForwardMethod::kJumpFnv1aCh),
      static_cast<int>(ForwardMethod::kAnyOf)},
     {4, 16}});

}  // namespace
}  // namespace gralarm
