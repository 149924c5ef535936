#include <gtest/gtest.h>

#include "gralarm/cluster_health.h"

namespace gralarm {
namespace {

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kFailover = 30000;
constexpr int64_t kHeld = kFailover + PeerRoles::kDropMarginMs;

TEST(PeerRolesTest, AlonePeerlessNodeIsActive) {
  PeerRoles roles("b", {}, kFailover, kT0);
  EXPECT_TRUE(roles.Active(kT0, nullptr));
}

TEST(PeerRolesTest, ANodeThatNeverAnsweredMayBeLowerUntilFailover) {
  PeerRoles roles("b", {"http://a:2080"}, kFailover, kT0);
  std::string reason;
  EXPECT_FALSE(roles.Active(kT0, &reason));
  EXPECT_NE(reason.find("not answered"), std::string::npos) << reason;
  roles.Unreachable(0, kT0 + 1000);
  EXPECT_FALSE(roles.Active(kT0 + kFailover - 1, nullptr));
  roles.Unreachable(0, kT0 + kFailover);
  EXPECT_TRUE(roles.Active(kT0 + kFailover, &reason));
  EXPECT_NE(reason.find("unreachable for 30 s"), std::string::npos) << reason;
}

TEST(PeerRolesTest, TheLowestLiveNodeIsActive) {
  PeerRoles a("a", {"http://b:2080"}, kFailover, kT0);
  PeerRoles b("b", {"http://a:2080"}, kFailover, kT0);
  a.Answered(0, "b", kT0 + 1000);
  b.Answered(0, "a", kT0 + 1000);
  std::string reason;
  EXPECT_TRUE(a.Active(kT0 + 1000, &reason));
  EXPECT_NE(reason.find("higher node_id"), std::string::npos) << reason;
  EXPECT_FALSE(b.Active(kT0 + 1000, &reason));
  EXPECT_NE(reason.find("is alive"), std::string::npos) << reason;
  // a stays active while b is gone.
  a.Unreachable(0, kT0 + 2000);
  EXPECT_TRUE(a.Active(kT0 + 100000, nullptr));
}

TEST(PeerRolesTest, TheLowerNodeIsDeadOnceUnreachableForFailover) {
  PeerRoles b("b", {"http://a:2080"}, kFailover, kT0);
  b.Answered(0, "a", kT0);
  b.Unreachable(0, kT0 + 5000);
  b.Unreachable(0, kT0 + 6000);
  EXPECT_FALSE(b.Active(kT0 + 5000 + kFailover - 1, nullptr));
  EXPECT_TRUE(b.Active(kT0 + 5000 + kFailover, nullptr));
  // One answer and it is alive again.
  b.Answered(0, "a", kT0 + 60000);
  EXPECT_FALSE(b.Active(kT0 + 60000, nullptr));
  // A failure shorter than failover_s changes nothing.
  b.Unreachable(0, kT0 + 61000);
  EXPECT_FALSE(b.Active(kT0 + 61000 + kFailover - 1, nullptr));
}

TEST(PeerRolesTest, AHeldNotificationIsDroppedOnceTheActiveNodeHadTime) {
  PeerRoles b("b", {"http://a:2080"}, kFailover, kT0);
  b.Answered(0, "a", kT0);
  const int64_t created = kT0 + 10000;
  EXPECT_EQ(b.Fate(created, created + kHeld - 1), HeldFate::kHold);
  EXPECT_EQ(b.Fate(created, created + kHeld), HeldFate::kDrop);
}

TEST(PeerRolesTest, AHeldNotificationIsKeptWhileTheActiveNodeIsAway) {
  PeerRoles b("b", {"http://a:2080"}, kFailover, kT0);
  b.Answered(0, "a", kT0);
  const int64_t created = kT0 + 10000;
  // a stops answering before the notification could be left to it...
  b.Unreachable(0, created + 1000);
  EXPECT_EQ(b.Fate(created, created + kHeld), HeldFate::kHold);
  // ... and comes back: it gets the full time again from its return (the
  // copies it missed are replayed to it then).
  b.Answered(0, "a", created + 20000);
  EXPECT_EQ(b.Fate(created, created + 20000 + kHeld - 1), HeldFate::kHold);
  EXPECT_EQ(b.Fate(created, created + 20000 + kHeld), HeldFate::kDrop);
}

TEST(PeerRolesTest, AnActiveNodeDropsNothing) {
  PeerRoles a("a", {"http://b:2080"}, kFailover, kT0);
  a.Answered(0, "b", kT0);
  EXPECT_EQ(a.Fate(kT0, kT0 + 10 * kHeld), HeldFate::kHold);
}

TEST(PeerRolesTest, WithThreeNodesTheLowestLiveOneIsActive) {
  PeerRoles c("c", {"http://a:2080", "http://b:2080"}, kFailover, kT0);
  c.Answered(0, "a", kT0);
  c.Answered(1, "b", kT0);
  EXPECT_FALSE(c.Active(kT0, nullptr));
  c.Unreachable(0, kT0 + 1000);
  EXPECT_FALSE(c.Active(kT0 + 1000 + kFailover, nullptr));  // b is alive
  // b is then the active one: held notifications are left to it.
  EXPECT_EQ(c.Fate(kT0, kT0 + 1000 + kFailover + kHeld), HeldFate::kDrop);
  c.Unreachable(1, kT0 + 2000);
  EXPECT_TRUE(c.Active(kT0 + 2000 + kFailover, nullptr));
}

}  // namespace
}  // namespace gralarm
