#ifndef GRALARM_ROUTER_H_
#define GRALARM_ROUTER_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gralarm/config.h"

namespace gralarm {

// The most destinations one metric can be sent to.
inline constexpr int kMaxFanout = 64;

// Chooses the destinations of a metric. Immutable after Create(); safe to use
// from every loop at once.
class Router {
 public:
  virtual ~Router() = default;

  // Builds the router for options.method over options.destinations (config
  // order).
  static absl::StatusOr<std::unique_ptr<Router>> Create(
      const ForwardOptions& options);

  // Writes the indexes (into options.destinations) that `name` goes to, in
  // order of preference, into out[0..n) and returns n (1..kMaxFanout). `name`
  // is the metric path without tags. The hashing methods return
  // options.replication distinct destinations, except carbon_ch_fixed with
  // options.diverse_replicas, which returns destinations on distinct hosts and
  // so only one per host when there are fewer hosts than replication (as
  // Graphite carbon-relay does). For any_of the single index is the preferred
  // destination; the caller fails over to the next live one.
  virtual int Route(std::string_view name, int* out) const = 0;
};

// Hash primitives, exposed for tests and benchmarks. Bytes are hashed the way
// carbon-c-relay 3.7 does on x86 (as sign-extended chars for the FNV variants).
uint16_t CarbonHashPos(std::string_view key);  // first two bytes of MD5
uint16_t Fnv1aHashPos(std::string_view key);  // 32-bit FNV-1a folded to 16 bits
uint64_t Fnv1a64(std::string_view key);
uint32_t JumpBucket(uint64_t key, int buckets);  // Lamping & Veach

}  // namespace gralarm

#endif  // GRALARM_ROUTER_H_
