#ifndef GRALARM_CARBON_SELF_METRICS_H_
#define GRALARM_CARBON_SELF_METRICS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "gralarm/stats.h"

namespace gralarm {

// "{host}" in `prefix` replaced by `hostname` with its dots turned into
// underscores, as carbon-relay and carbon-c-relay name their own series.
std::string ExpandCarbonPrefix(std::string_view prefix,
                               std::string_view hostname);

// Turns successive snapshots into carbon.relays.<host>.* lines: counters as the
// increase since the previous call (what carbon-relay reports per interval),
// the queue as its current size.
class CarbonSelfMetrics {
 public:
  explicit CarbonSelfMetrics(std::string prefix) : prefix_(std::move(prefix)) {}

  // Plaintext lines ("name value timestamp\n"), one per metric.
  std::string Lines(const StatsSnapshot& now, uint32_t timestamp);

 private:
  std::string prefix_;
  StatsSnapshot last_;
};

}  // namespace gralarm

#endif  // GRALARM_CARBON_SELF_METRICS_H_
