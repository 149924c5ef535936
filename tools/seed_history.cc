// gralarm-seed-history: fills a store with ended alerts, for benchmarks of the
// history API. Run it on a store no server has open.
//   gralarm-seed-history --store DIR --entries 1000000 [--series 10000]
#include <cstdio>
#include <ctime>

#include "gralarm/store.h"
#include "tool_util.h"

int main(int argc, char** argv) {
  const char* path = nullptr;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string_view(argv[i]) == "--store") path = argv[i + 1];
  }
  const long entries = gralarm::tools::Arg(argc, argv, "--entries", 1000000);
  const long series = gralarm::tools::Arg(argc, argv, "--series", 10000);
  if (path == nullptr || entries <= 0 || series <= 0) {
    std::fprintf(
        stderr,
        "usage: gralarm-seed-history --store DIR --entries N [--series S]\n");
    return 2;
  }
  auto store = gralarm::Store::Open(path);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", std::string(store.status().message()).c_str());
    return 1;
  }
  const int64_t now_ms = static_cast<int64_t>(time(nullptr)) * 1000;
  for (long i = 0; i < entries; ++i) {
    gralarm::TransitionWrite w;
    const std::string name = "seed.s" + std::to_string(i % series) + ".value";
    const int64_t end = now_ms - (entries - i) * 10;
    w.event.rule_id = "seed";
    w.event.series = name;
    w.event.from = "critical";
    w.event.to = "ok";
    w.event.value = 1.0;
    w.event.ts = static_cast<uint32_t>(end / 1000);
    w.event.at_ms = end;
    w.delete_alert = true;
    gralarm::HistoryRecord h;
    h.rule_id = "seed";
    h.rule_name = "seeded history";
    h.series = name;
    h.peak = gralarm::Level::kCritical;
    h.severity = gralarm::Level::kCritical;
    h.start_ms = end - 60000;
    h.end_ms = end;
    h.last_value = 1.0;
    w.history = h;
    if (absl::Status s = (*store)->Commit(std::move(w)); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  std::printf("{\"entries\": %ld}\n", entries);
  return 0;
}
