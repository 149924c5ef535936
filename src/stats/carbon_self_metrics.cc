#include "gralarm/carbon_self_metrics.h"

#include "absl/strings/str_replace.h"
#include "gralarm/strings.h"

namespace gralarm {

std::string ExpandCarbonPrefix(std::string_view prefix,
                               std::string_view hostname) {
  std::string host = absl::StrReplaceAll(AbslView(hostname), {{".", "_"}});
  return absl::StrReplaceAll(AbslView(prefix), {{"{host}", host}});
}

std::string CarbonSelfMetrics::Lines(const StatsSnapshot& now,
                                     uint32_t timestamp) {
  auto line = [&](std::string_view name, int64_t value) {
    return StrCat(prefix_, ".", name, " ", value, " ", timestamp, "\n");
  };
  auto delta = [](uint64_t a, uint64_t b) {
    return static_cast<int64_t>(a >= b ? a - b : a);
  };
  std::string out;
  out += line("metricsReceived",
              delta(now.TotalReceived(), last_.TotalReceived()));
  out +=
      line("metricsSent", delta(now.TotalForwarded(), last_.TotalForwarded()));
  out +=
      line("metricsDropped", delta(now.TotalDropped(), last_.TotalDropped()));
  out +=
      line("metricsInvalid", delta(now.TotalInvalid(), last_.TotalInvalid()));
  out += line("metricsQueued", now.TotalQueued());
  out += line("alertsActive", now.TotalAlertsActive());
  last_ = now;
  return out;
}

}  // namespace gralarm
