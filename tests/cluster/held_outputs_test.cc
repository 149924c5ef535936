// A standby's target-rule outputs: held, dropped once the active node had
// time to forward them, forwarded oldest first once this node is active.
#include "cluster/held_outputs.h"

#include <gtest/gtest.h>

namespace gralarm {
namespace {

class FakeGate final : public NotifyGate {
 public:
  bool Active() const override { return active; }
  HeldFate Fate(int64_t created_ms, int64_t) const override {
    return created_ms < drop_before_ms ? HeldFate::kDrop : HeldFate::kHold;
  }
  bool active = false;
  int64_t drop_before_ms = 0;
};

std::vector<EmittedPoint> Points(std::initializer_list<int64_t> ts) {
  std::vector<EmittedPoint> out;
  for (int64_t t : ts) out.push_back({"out.x", static_cast<double>(t), t});
  return out;
}

std::vector<int64_t> Times(const std::vector<EmittedPoint>& points) {
  std::vector<int64_t> out;
  for (const EmittedPoint& p : points) out.push_back(p.ts);
  return out;
}

TEST(HeldOutputs, AnActiveNodeForwardsAtOnce) {
  HeldOutputs h(10);
  FakeGate gate;
  gate.active = true;
  EXPECT_EQ(Times(h.Pass(Points({1, 2}), gate, 1000)),
            (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(h.held(), 0u);
}

TEST(HeldOutputs, AStandbyHoldsDropsWhatThePeerSentAndForwardsTheRest) {
  HeldOutputs h(10);
  FakeGate gate;
  EXPECT_TRUE(h.Pass(Points({1, 2}), gate, 1000).empty());
  EXPECT_TRUE(h.Pass(Points({3}), gate, 2000).empty());
  EXPECT_EQ(h.held(), 3u);
  // The active node had time to forward what was held before 1500.
  gate.drop_before_ms = 1500;
  EXPECT_TRUE(h.Pass({}, gate, 40000).empty());
  EXPECT_EQ(h.held(), 1u);
  EXPECT_EQ(h.left_to_peer(), 2u);
  // The active node dies: this one forwards what it holds, then the new.
  gate.active = true;
  EXPECT_EQ(Times(h.Pass(Points({4}), gate, 41000)),
            (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(h.held(), 0u);
  EXPECT_TRUE(h.Pass({}, gate, 42000).empty());
}

TEST(HeldOutputs, KeepsTheNewestWithinTheBound) {
  HeldOutputs h(3);
  FakeGate gate;
  EXPECT_TRUE(h.Pass(Points({1, 2, 3, 4, 5}), gate, 1000).empty());
  EXPECT_EQ(h.held(), 3u);
  EXPECT_EQ(h.dropped_full(), 2u);
  gate.active = true;
  EXPECT_EQ(Times(h.Pass({}, gate, 2000)), (std::vector<int64_t>{3, 4, 5}));
}

}  // namespace
}  // namespace gralarm
