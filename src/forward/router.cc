#include "gralarm/router.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "gralarm/strings.h"

namespace gralarm {

uint16_t Fnv1aHashPos(std::string_view key) {
  uint32_t hash = 2166136261u;
  for (char c : key) {
    hash = (hash ^ static_cast<uint32_t>(static_cast<int32_t>(c))) * 16777619u;
  }
  return static_cast<uint16_t>((hash >> 16) ^ (hash & 0xFFFFu));
}

uint64_t Fnv1a64(std::string_view key) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : key) {
    hash = (hash ^ static_cast<uint64_t>(static_cast<int64_t>(c))) *
           1099511628211ull;
  }
  return hash;
}

uint32_t JumpBucket(uint64_t key, int buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ull + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(int64_t{1} << 31) /
                              static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

namespace {

// Python's repr of the (server, instance) tuple Graphite hashes ring replicas
// by.
std::string CarbonNodeKey(const DestinationOptions& d, int replica) {
  return absl::StrFormat("('%s', %s):%d", d.host,
                         d.instance.empty() ? "None" : "'" + d.instance + "'",
                         replica);
}

// Every destination, in config order.
class ForwardAllRouter final : public Router {
 public:
  explicit ForwardAllRouter(int count) : count_(std::min(count, kMaxFanout)) {}
  int Place(std::string_view, int* out) const override {
    for (int i = 0; i < count_; ++i) out[i] = i;
    return count_;
  }

 private:
  int count_;
};

// One destination chosen by FNV-1a of the name; Router::Route() fails over.
class AnyOfRouter final : public Router {
 public:
  explicit AnyOfRouter(int count) : count_(count) {}
  int Place(std::string_view name, int* out) const override {
    uint32_t hash = 2166136261u;
    for (char c : name)
      hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
    out[0] = static_cast<int>(hash % static_cast<uint32_t>(count_));
    return 1;
  }

 private:
  int count_;
};

// A sorted ring of positions. A name goes to the first entry at or after its
// own position (wrapping), then onwards to further distinct destinations for
// replication. With host diversity, a destination on a host that an earlier
// replica already went to is skipped, and a name gets at most one destination
// per distinct host.
class RingRouter final : public Router {
 public:
  struct Entry {
    uint32_t pos;
    int dest;
  };
  // Up to `replicas` destinations a name. `host_of` numbers each
  // destination's host (0..63); empty = no host diversity.
  RingRouter(std::vector<Entry> entries, int replicas, bool md5,
             std::vector<int> host_of = {})
      : entries_(std::move(entries)),
        host_of_(std::move(host_of)),
        replicas_(replicas),
        md5_(md5) {}

  int Place(std::string_view name, int* out) const override {
    uint32_t pos = md5_ ? CarbonHashPos(name) : Fnv1aHashPos(name);
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), pos,
                         [](const Entry& e, uint32_t p) { return e.pos < p; });
    size_t t = static_cast<size_t>(it - entries_.begin());
    uint64_t used_hosts = 0;
    int n = 0;
    for (size_t step = 0; step < entries_.size() && n < replicas_;
         ++step, ++t) {
      if (t >= entries_.size()) t = 0;
      const int dest = entries_[t].dest;
      if (std::find(out, out + n, dest) != out + n) continue;
      if (!host_of_.empty()) {
        const uint64_t host = uint64_t{1} << host_of_[dest];
        if ((used_hosts & host) != 0) continue;
        used_hosts |= host;
      }
      out[n++] = dest;
    }
    return n;
  }

 private:
  std::vector<Entry> entries_;
  std::vector<int> host_of_;
  int replicas_;
  bool md5_;
};

// A carbon-c-relay ring: 100 positions a destination, `position(dest,
// replica)`, ordered by position and then by `tie_less` on the destinations; a
// run of equal positions all belongs to its first entry (carbon-c-relay
// overwrites the rest).
template <typename Position, typename TieLess>
std::unique_ptr<Router> MakeRelayRing(const ForwardOptions& o, bool md5,
                                      Position position, TieLess tie_less) {
  std::vector<RingRouter::Entry> entries;
  for (int d = 0; d < static_cast<int>(o.destinations.size()); ++d) {
    for (int i = 0; i < 100; ++i) entries.push_back({position(d, i), d});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [&](const RingRouter::Entry& l, const RingRouter::Entry& r) {
                     if (l.pos != r.pos) return l.pos < r.pos;
                     return tie_less(o.destinations[l.dest],
                                     o.destinations[r.dest]);
                   });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].pos == entries[i - 1].pos) {
      entries[i].dest = entries[i - 1].dest;
    }
  }
  return std::make_unique<RingRouter>(std::move(entries),
                                      static_cast<int>(o.replication), md5);
}

// carbon-c-relay's carbon_ch: positions from md5 of the Python tuple repr of
// (host, instance); ties ordered by host, then instance (none last).
std::unique_ptr<Router> MakeCarbonCh(const ForwardOptions& o) {
  return MakeRelayRing(
      o, /*md5=*/true,
      [&](int d, int i) -> uint32_t {
        return CarbonHashPos(CarbonNodeKey(o.destinations[d], i));
      },
      [](const DestinationOptions& a, const DestinationOptions& b) {
        int c = std::strcmp(a.host.c_str(), b.host.c_str());
        if (c != 0) return c < 0;
        if (a.instance.empty() != b.instance.empty())
          return !a.instance.empty();
        return std::strcmp(a.instance.c_str(), b.instance.c_str()) < 0;
      });
}

// Numbers the distinct hosts of the destinations in config order: out[d] is
// the number of destinations[d].host. Hosts are compared as written, as carbon
// compares the server part of its DESTINATIONS.
std::vector<int> HostNumbers(const std::vector<DestinationOptions>& dests) {
  std::vector<int> out;
  std::vector<std::string_view> hosts;
  for (const DestinationOptions& d : dests) {
    auto it = std::find(hosts.begin(), hosts.end(), d.host);
    out.push_back(static_cast<int>(it - hosts.begin()));
    if (it == hosts.end()) hosts.push_back(d.host);
  }
  return out;
}

// Graphite carbon-relay >= 0.9.13: destinations join the ring in config order
// and a replica whose position is taken moves up by one until it is free.
// Replicas skip hosts already used when o.diverse_replicas, as carbon-relay's
// ConsistentHashingRouter does with DIVERSE_REPLICAS.
std::unique_ptr<Router> MakeCarbonChFixed(const ForwardOptions& o) {
  std::vector<RingRouter::Entry> entries;
  std::vector<bool> taken(65536 + 100 * o.destinations.size(), false);
  for (int d = 0; d < static_cast<int>(o.destinations.size()); ++d) {
    for (int i = 0; i < 100; ++i) {
      uint32_t pos = CarbonHashPos(CarbonNodeKey(o.destinations[d], i));
      while (taken[pos]) ++pos;
      taken[pos] = true;
      entries.push_back({pos, d});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& l, const auto& r) { return l.pos < r.pos; });
  int replicas = static_cast<int>(o.replication);
  std::vector<int> host_of;
  if (o.diverse_replicas) {
    host_of = HostNumbers(o.destinations);
    replicas = std::min(replicas,
                        *std::max_element(host_of.begin(), host_of.end()) + 1);
  }
  return std::make_unique<RingRouter>(std::move(entries), replicas, true,
                                      std::move(host_of));
}

// carbon-c-relay's fnv1a_ch: positions from "i-host:port", or "i-instance" when
// an instance is set; ties ordered by host, then port.
std::unique_ptr<Router> MakeFnv1aCh(const ForwardOptions& o) {
  return MakeRelayRing(
      o, /*md5=*/false,
      [&](int d, int i) -> uint32_t {
        const DestinationOptions& dst = o.destinations[d];
        return Fnv1aHashPos(dst.instance.empty()
                                ? StrCat(i, "-", dst.host, ":", dst.port)
                                : StrCat(i, "-", dst.instance));
      },
      [](const DestinationOptions& a, const DestinationOptions& b) {
        int c = std::strcmp(a.host.c_str(), b.host.c_str());
        if (c != 0) return c < 0;
        return a.port < b.port;
      });
}

// carbon-c-relay's jump_fnv1a_ch: buckets are the destinations with an
// instance, sorted by it (numerically when both are numbers), then the others
// in config order.
class JumpRouter final : public Router {
 public:
  JumpRouter(std::vector<int> buckets, int replication)
      : buckets_(std::move(buckets)), replication_(replication) {}

  int Place(std::string_view name, int* out) const override {
    int list[kMaxFanout];
    int n = static_cast<int>(buckets_.size());
    std::copy(buckets_.begin(), buckets_.end(), list);
    uint64_t hash = Fnv1a64(name);
    int produced = 0;
    while (n > 0) {
      int j = static_cast<int>(JumpBucket(hash, n));
      out[produced++] = list[j];
      if (produced == replication_) break;
      hash ^= hash >> 12;
      hash ^= hash << 25;
      hash ^= hash >> 27;
      hash *= 2685821657736338717ull;
      list[j] = list[--n];
    }
    return produced;
  }

 private:
  std::vector<int> buckets_;
  int replication_;
};

bool ParseWholeLong(const std::string& s, long* out) {
  char* end = nullptr;
  *out = std::strtol(s.c_str(), &end, 10);
  return *end == '\0';
}

std::unique_ptr<Router> MakeJump(const ForwardOptions& o) {
  std::vector<int> order(o.destinations.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int l, int r) {
    const std::string& a = o.destinations[l].instance;
    const std::string& b = o.destinations[r].instance;
    if (a.empty() && b.empty()) return l < r;
    if (a.empty() != b.empty()) return !a.empty();
    long la = 0, lb = 0;
    if (ParseWholeLong(a, &la) && ParseWholeLong(b, &lb)) return la < lb;
    return std::strcmp(a.c_str(), b.c_str()) < 0;
  });
  return std::make_unique<JumpRouter>(std::move(order),
                                      static_cast<int>(o.replication));
}

std::unique_ptr<Router> MakeRouter(const ForwardOptions& o, int n) {
  switch (o.method) {
    case ForwardMethod::kForward:
      return std::make_unique<ForwardAllRouter>(n);
    case ForwardMethod::kAnyOf:
      return std::make_unique<AnyOfRouter>(n);
    case ForwardMethod::kCarbonCh:
      return MakeCarbonCh(o);
    case ForwardMethod::kCarbonChFixed:
      return MakeCarbonChFixed(o);
    case ForwardMethod::kFnv1aCh:
      return MakeFnv1aCh(o);
    case ForwardMethod::kJumpFnv1aCh:
      return MakeJump(o);
  }
  return nullptr;
}

}  // namespace

std::string DestinationName(const DestinationOptions& d) {
  const bool v6 = d.host.find(':') != std::string::npos;
  std::string name =
      v6 ? StrCat("[", d.host, "]:", d.port) : StrCat(d.host, ":", d.port);
  if (!d.instance.empty()) name += StrCat("=", d.instance);
  return name;
}

void Router::FailOver(const Liveness& live, int* out) const {
  for (int i = 1; i < count_; ++i) {
    const int candidate = (out[0] + i) % count_;
    if (live.up(candidate)) {
      out[0] = candidate;
      return;
    }
  }
}

absl::StatusOr<std::unique_ptr<Router>> Router::Create(
    const ForwardOptions& o) {
  const int n = static_cast<int>(o.destinations.size());
  if (n == 0)
    return absl::InvalidArgumentError("no forward destinations configured");
  if (n > kMaxFanout) {
    return absl::InvalidArgumentError(
        StrCat("at most ", kMaxFanout, " destinations are supported"));
  }
  const bool hashed =
      o.method != ForwardMethod::kForward && o.method != ForwardMethod::kAnyOf;
  if (hashed && (o.replication < 1 || o.replication > n)) {
    return absl::InvalidArgumentError(
        StrCat("forward.replication must be between 1 and the number of "
               "destinations (",
               n, ")"));
  }
  std::unique_ptr<Router> router = MakeRouter(o, n);
  if (router == nullptr) return absl::InternalError("unknown forward method");
  router->count_ = n;
  router->fails_over_ = o.method == ForwardMethod::kAnyOf;
  return router;
}

}  // namespace gralarm
