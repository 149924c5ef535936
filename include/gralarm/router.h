#ifndef GRALARM_ROUTER_H_
#define GRALARM_ROUTER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gralarm/config.h"

namespace gralarm {

// The most destinations one metric can be sent to.
inline constexpr int kMaxFanout = 64;

// Which destinations (by index, config order) are up, as the routing policy
// sees them. Default-constructed, every destination is up: what `gralarm
// match`, which runs no forwarder, routes with.
class Liveness {
 public:
  Liveness() = default;
  // flags[i] tells whether destination i is up; the flags must outlive this.
  explicit Liveness(std::vector<const std::atomic<bool>*> flags)
      : flags_(std::move(flags)) {}

  bool up(int i) const {
    return flags_.empty() ||
           flags_[static_cast<size_t>(i)]->load(std::memory_order_relaxed);
  }
  // True when every destination is taken as up, whatever its state.
  bool assumes_all_up() const { return flags_.empty(); }

 private:
  std::vector<const std::atomic<bool>*> flags_;
};

// Chooses the destinations of a metric. Immutable after Create(); safe to use
// from every loop at once.
class Router {
 public:
  virtual ~Router() = default;

  // Builds the router for options.method over options.destinations (config
  // order).
  static absl::StatusOr<std::unique_ptr<Router>> Create(
      const ForwardOptions& options);

  // The routing policy, the one function ingest, self-metrics, the API and
  // `gralarm match` route by. Writes the indexes (into options.destinations)
  // that `name` goes to, in order of preference, into out[0..n) and returns n
  // (1..kMaxFanout). `name` is the metric path without tags. The hashing
  // methods return options.replication distinct destinations, except
  // carbon_ch_fixed with options.diverse_replicas, which returns destinations
  // on distinct hosts and so only one per host when there are fewer hosts than
  // replication (as Graphite carbon-relay does); they never look at `live`
  // (a down destination's points wait in its queue or spool). any_of returns
  // one destination: the one the name hashes to when `live` has it up, else
  // the next live one after it in config order (wrapping), else the hashed one
  // still.
  int Route(std::string_view name, const Liveness& live, int* out) const {
    const int n = Place(name, out);
    if (fails_over_ && !live.up(out[0])) FailOver(live, out);
    return n;
  }
  // Route() with every destination up.
  int Route(std::string_view name, int* out) const { return Place(name, out); }
  // True when Route() depends on liveness (any_of).
  bool fails_over() const { return fails_over_; }

 protected:
  // Where `name` goes with every destination up; see Route().
  virtual int Place(std::string_view name, int* out) const = 0;

 private:
  // any_of: replaces out[0], which `live` has down, by the next live
  // destination; leaves it when none is.
  void FailOver(const Liveness& live, int* out) const;

  int count_ = 0;
  bool fails_over_ = false;
};

// The one name of a destination, in logs, /metrics, `gralarm match`, the API
// and the spool: "host:port", "[v6]:port" for an IPv6 address, with
// "=instance" appended when it has one.
std::string DestinationName(const DestinationOptions& d);

// Hash primitives, exposed for tests and benchmarks. Bytes are hashed the way
// carbon-c-relay 3.7 does on x86 (as sign-extended chars for the FNV variants).
uint16_t CarbonHashPos(std::string_view key);  // first two bytes of MD5
uint16_t Fnv1aHashPos(std::string_view key);  // 32-bit FNV-1a folded to 16 bits
uint64_t Fnv1a64(std::string_view key);
uint32_t JumpBucket(uint64_t key, int buckets);  // Lamping & Veach

}  // namespace gralarm

#endif  // GRALARM_ROUTER_H_
