#include "gralarm/router.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "gralarm/strings.h"

namespace gralarm {
namespace {

ForwardOptions Cluster(ForwardMethod method, int n, int replication,
                       bool instances = false) {
  ForwardOptions o;
  o.method = method;
  o.replication = replication;
  for (int i = 0; i < n; ++i) {
    DestinationOptions d;
    d.host = StrCat("127.0.0.", i + 1);  // carbon_ch hashes hosts, not ports
    d.port = static_cast<uint16_t>(2103 + 100 * i);
    d.address = StrCat(d.host, ":", d.port);
    if (instances) d.instance = std::string(1, static_cast<char>('a' + i));
    o.destinations.push_back(d);
  }
  return o;
}

TEST(RouterHashes, KnownAnswers) {
  EXPECT_EQ(CarbonHashPos(""), 0xd41d);           // md5("") = d41d8cd9...
  EXPECT_EQ(CarbonHashPos("a.b.c"), 0x553f);      // md5("a.b.c") = 553f...
  EXPECT_EQ(Fnv1aHashPos("a"), 0xe40c ^ 0x292c);  // fnv1a32("a") = 0xe40c292c
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
}

TEST(RouterHashes, HighBytesAreSignExtendedLikeCarbonCRelay) {
  // carbon-c-relay XORs a (signed) char widened to the hash width.
  uint64_t want =
      (14695981039346656037ull ^ 0xffffffffffffffc3ull) * 1099511628211ull;
  EXPECT_EQ(Fnv1a64("\xc3"), want);
  uint32_t h32 = (2166136261u ^ 0xffffffc3u) * 16777619u;
  EXPECT_EQ(Fnv1aHashPos("\xc3"),
            static_cast<uint16_t>((h32 >> 16) ^ (h32 & 0xffff)));
}

TEST(RouterHashes, JumpBucketIsConsistentWhenBucketsGrow) {
  for (uint64_t key = 1; key < 5000; ++key) {
    uint64_t k = key * 0x9E3779B97F4A7C15ull;
    for (int n = 1; n < 20; ++n) {
      uint32_t a = JumpBucket(k, n);
      uint32_t b = JumpBucket(k, n + 1);
      ASSERT_LT(a, static_cast<uint32_t>(n));
      // Growing from n to n+1 buckets moves a key only into the new bucket.
      ASSERT_TRUE(b == a || b == static_cast<uint32_t>(n)) << key << " " << n;
    }
  }
}

TEST(Router, ForwardSendsEverywhereInConfigOrder) {
  auto r = Router::Create(Cluster(ForwardMethod::kForward, 3, 1));
  ASSERT_TRUE(r.ok());
  int out[kMaxFanout];
  ASSERT_EQ((*r)->Route("x", out), 3);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 1);
  EXPECT_EQ(out[2], 2);
}

TEST(Router, AnyOfPicksOneStableDestination) {
  auto r = Router::Create(Cluster(ForwardMethod::kAnyOf, 4, 1));
  ASSERT_TRUE(r.ok());
  std::set<int> used;
  for (int i = 0; i < 1000; ++i) {
    int out[kMaxFanout], again[kMaxFanout];
    std::string name = StrCat("m.", i);
    ASSERT_EQ((*r)->Route(name, out), 1);
    (*r)->Route(name, again);
    EXPECT_EQ(out[0], again[0]);
    used.insert(out[0]);
  }
  EXPECT_EQ(used.size(), 4u);
}

class HashedRouters : public ::testing::TestWithParam<ForwardMethod> {};

TEST_P(HashedRouters, ReplicasAreDistinctAndSpreadOverEveryDestination) {
  for (bool instances : {false, true}) {
    auto r = Router::Create(Cluster(GetParam(), 5, 3, instances));
    ASSERT_TRUE(r.ok()) << r.status();
    std::set<int> first;
    for (int i = 0; i < 5000; ++i) {
      int out[kMaxFanout];
      ASSERT_EQ((*r)->Route(StrCat("host", i, ".cpu.load"), out), 3);
      EXPECT_NE(out[0], out[1]);
      EXPECT_NE(out[0], out[2]);
      EXPECT_NE(out[1], out[2]);
      first.insert(out[0]);
    }
    EXPECT_EQ(first.size(), 5u);
  }
}

TEST_P(HashedRouters, ReplicationAboveDestinationsIsRefused) {
  EXPECT_FALSE(Router::Create(Cluster(GetParam(), 2, 3)).ok());
}

INSTANTIATE_TEST_SUITE_P(All, HashedRouters,
                         ::testing::Values(ForwardMethod::kCarbonCh,
                                           ForwardMethod::kCarbonChFixed,
                                           ForwardMethod::kFnv1aCh,
                                           ForwardMethod::kJumpFnv1aCh),
                         [](const auto& info) {
                           return std::string(ForwardMethodName(info.param));
                         });

TEST(Router, CarbonChFixedDiffersFromCarbonChOnlyWhereRingPositionsCollide) {
  // 12 destinations place 1200 positions on a 65536 ring: collisions are
  // certain, and Graphite's rule moves the later one up, which reroutes a few
  // names.
  auto plain = Router::Create(Cluster(ForwardMethod::kCarbonCh, 12, 1));
  auto fixed = Router::Create(Cluster(ForwardMethod::kCarbonChFixed, 12, 1));
  ASSERT_TRUE(plain.ok() && fixed.ok());
  int differ = 0;
  const int kNames = 50000;
  for (int i = 0; i < kNames; ++i) {
    int a[kMaxFanout], b[kMaxFanout];
    std::string name = StrCat("sys.host", i, ".if.octets");
    (*plain)->Route(name, a);
    (*fixed)->Route(name, b);
    if (a[0] != b[0]) ++differ;
  }
  EXPECT_GT(differ, 0);
  EXPECT_LT(differ, kNames / 50);
}

// `hosts` hosts with `per_host` carbon-cache instances each, in the usual
// carbon-relay order (h1:a, h1:b, h2:a, ...).
ForwardOptions HostsWithInstances(int hosts, int per_host, int replication,
                                  bool diverse) {
  ForwardOptions o;
  o.method = ForwardMethod::kCarbonChFixed;
  o.replication = replication;
  o.diverse_replicas = diverse;
  for (int h = 0; h < hosts; ++h) {
    for (int i = 0; i < per_host; ++i) {
      DestinationOptions d;
      d.host = StrCat("cache", h + 1, ".example");
      d.port = static_cast<uint16_t>(2004 + 100 * i);
      d.address = StrCat(d.host, ":", d.port);
      d.instance = std::string(1, static_cast<char>('a' + i));
      o.destinations.push_back(d);
    }
  }
  return o;
}

TEST(Router, CarbonChFixedDiverseReplicasGoToDistinctHosts) {
  const ForwardOptions diverse_options = HostsWithInstances(4, 3, 3, true);
  auto diverse = Router::Create(diverse_options);
  auto plain = Router::Create(HostsWithInstances(4, 3, 3, false));
  ASSERT_TRUE(diverse.ok() && plain.ok());
  int plain_on_one_host = 0;
  int differ = 0;
  for (int i = 0; i < 5000; ++i) {
    int a[kMaxFanout], b[kMaxFanout];
    const std::string name = StrCat("sys.host", i, ".cpu.user");
    ASSERT_EQ((*diverse)->Route(name, a), 3);
    ASSERT_EQ((*plain)->Route(name, b), 3);
    std::set<std::string> hosts;
    for (int k = 0; k < 3; ++k)
      hosts.insert(diverse_options.destinations[a[k]].host);
    EXPECT_EQ(hosts.size(), 3u) << name;
    // The first replica is the ring's pick either way.
    EXPECT_EQ(a[0], b[0]) << name;
    std::set<std::string> plain_hosts;
    for (int k = 0; k < 3; ++k)
      plain_hosts.insert(diverse_options.destinations[b[k]].host);
    if (plain_hosts.size() < 3) ++plain_on_one_host;
    if (a[1] != b[1] || a[2] != b[2]) ++differ;
  }
  // Without diversity, replicas share hosts for a good share of names.
  EXPECT_GT(plain_on_one_host, 500);
  EXPECT_EQ(differ, plain_on_one_host);
}

TEST(Router, CarbonChFixedDiverseGivesOneCopyPerHostWhenHostsAreFewer) {
  const ForwardOptions o = HostsWithInstances(2, 3, 3, true);
  auto r = Router::Create(o);
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    int out[kMaxFanout];
    ASSERT_EQ((*r)->Route(StrCat("m", i), out), 2);
    EXPECT_NE(o.destinations[out[0]].host, o.destinations[out[1]].host);
    seen.insert(out[0]);
    seen.insert(out[1]);
  }
  EXPECT_EQ(seen.size(), 6u);  // every instance still gets names

  auto one_host = Router::Create(HostsWithInstances(1, 3, 2, true));
  ASSERT_TRUE(one_host.ok());
  int out[kMaxFanout];
  EXPECT_EQ((*one_host)->Route("a.b.c", out), 1);
  auto one_host_plain = Router::Create(HostsWithInstances(1, 3, 2, false));
  ASSERT_TRUE(one_host_plain.ok());
  EXPECT_EQ((*one_host_plain)->Route("a.b.c", out), 2);
}

TEST(Router, DiverseReplicasLeavesCarbonCRelayMethodsAlone) {
  // carbon-c-relay's rings pick distinct destinations whatever their host.
  for (ForwardMethod m : {ForwardMethod::kCarbonCh, ForwardMethod::kFnv1aCh,
                          ForwardMethod::kJumpFnv1aCh}) {
    ForwardOptions o = HostsWithInstances(1, 3, 2, true);
    o.method = m;
    auto r = Router::Create(o);
    ASSERT_TRUE(r.ok());
    int out[kMaxFanout];
    EXPECT_EQ((*r)->Route("a.b.c", out), 2) << ForwardMethodName(m);
  }
}

// Liveness over flags the test sets.
struct Flags {
  explicit Flags(int n) : up(static_cast<size_t>(n)) {
    for (auto& f : up) f.store(true);
  }
  Liveness live() const {
    std::vector<const std::atomic<bool>*> p;
    for (const auto& f : up) p.push_back(&f);
    return Liveness(std::move(p));
  }
  std::vector<std::atomic<bool>> up;
};

TEST(Router, AnyOfFailsOverToTheNextLiveDestination) {
  auto r = Router::Create(Cluster(ForwardMethod::kAnyOf, 4, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)->fails_over());
  Flags flags(4);
  const Liveness live = flags.live();
  std::set<int> preferred_seen;
  for (int i = 0; i < 200; ++i) {
    const std::string name = StrCat("m.", i);
    int preferred[kMaxFanout], out[kMaxFanout];
    ASSERT_EQ((*r)->Route(name, preferred), 1);
    const int p = preferred[0];
    preferred_seen.insert(p);
    // Every destination up: the hashed one.
    ASSERT_EQ((*r)->Route(name, live, out), 1);
    EXPECT_EQ(out[0], p);
    // It is down: the next one in config order, wrapping.
    flags.up[p] = false;
    (*r)->Route(name, live, out);
    EXPECT_EQ(out[0], (p + 1) % 4);
    // So is the next: the one after.
    flags.up[(p + 1) % 4] = false;
    (*r)->Route(name, live, out);
    EXPECT_EQ(out[0], (p + 2) % 4);
    // All down: the hashed one, where its points wait.
    for (auto& f : flags.up) f = false;
    (*r)->Route(name, live, out);
    EXPECT_EQ(out[0], p);
    for (auto& f : flags.up) f = true;
  }
  EXPECT_EQ(preferred_seen.size(), 4u);
}

TEST(Router, HashedMethodsIgnoreLiveness) {
  for (ForwardMethod m :
       {ForwardMethod::kForward, ForwardMethod::kCarbonCh,
        ForwardMethod::kCarbonChFixed, ForwardMethod::kFnv1aCh,
        ForwardMethod::kJumpFnv1aCh}) {
    auto r =
        Router::Create(Cluster(m, 3, m == ForwardMethod::kForward ? 1 : 2));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE((*r)->fails_over());
    Flags flags(3);
    for (auto& f : flags.up) f = false;
    const Liveness live = flags.live();
    for (int i = 0; i < 50; ++i) {
      const std::string name = StrCat("m.", i);
      int a[kMaxFanout], b[kMaxFanout];
      const int n = (*r)->Route(name, a);
      ASSERT_EQ((*r)->Route(name, live, b), n) << ForwardMethodName(m);
      for (int j = 0; j < n; ++j) EXPECT_EQ(a[j], b[j]);
    }
  }
}

TEST(DestinationName, HostPortBracketedIpv6AndInstance) {
  DestinationOptions d;
  d.host = "10.0.0.1";
  d.port = 2003;
  EXPECT_EQ(DestinationName(d), "10.0.0.1:2003");
  d.host = "carbon.example";
  d.instance = "a";
  EXPECT_EQ(DestinationName(d), "carbon.example:2003=a");
  d.host = "::1";
  d.instance = "";
  EXPECT_EQ(DestinationName(d), "[::1]:2003");
  d.host = "fd00::7";
  d.instance = "b";
  EXPECT_EQ(DestinationName(d), "[fd00::7]:2003=b");
}

TEST(Router, NoDestinationsIsAnError) {
  ForwardOptions o;
  EXPECT_FALSE(Router::Create(o).ok());
}

}  // namespace
}  // namespace gralarm
