#include "gralarm/alert_model.h"

#include <gtest/gtest.h>

namespace gralarm {
namespace {

TEST(AlertModelTest, NamesRoundTrip) {
  for (AlertState state : kAllAlertStates) {
    AlertState parsed = AlertState::kOk;
    ASSERT_TRUE(ParseAlertState(AlertStateName(state), &parsed));
    EXPECT_EQ(parsed, state);
  }
  EXPECT_EQ(AlertStateName(AlertState::kNoData), "nodata");
  EXPECT_EQ(AlertStateName(AlertState::kCritical), "critical");
  AlertState unused;
  EXPECT_FALSE(ParseAlertState("due", &unused));
  EXPECT_FALSE(ParseAlertState("", &unused));
}

TEST(AlertModelTest, NoDataOutranksTheLevelUnderneath) {
  EXPECT_EQ(StateOf(Level::kMajor, /*nodata=*/false), AlertState::kMajor);
  EXPECT_EQ(StateOf(Level::kMajor, /*nodata=*/true), AlertState::kNoData);
  EXPECT_EQ(LevelOf(AlertState::kNoData), Level::kOk);
  EXPECT_EQ(LevelOf(AlertState::kWarning), Level::kWarning);
}

TEST(AlertModelTest, RecordsSayWhatTheyAreRaisedAs) {
  AlertRecord a;
  a.severity = Level::kWarning;
  EXPECT_EQ(a.state(), AlertState::kWarning);
  EXPECT_EQ(a.SeverityName(), "warning");
  a.nodata = true;
  EXPECT_EQ(a.SeverityName(), "nodata");
  HistoryRecord h;
  h.severity = Level::kCritical;
  EXPECT_EQ(h.state(), AlertState::kCritical);
}

TEST(AlertModelTest, IndexesAreStableForCounterArrays) {
  // Counter arrays and /metrics rely on these slots.
  EXPECT_EQ(Index(AlertState::kOk), 0u);
  EXPECT_EQ(Index(AlertState::kCritical), 3u);
  EXPECT_EQ(Index(AlertState::kNoData), 4u);
  EXPECT_EQ(kAllAlertStates.size(), static_cast<size_t>(kNumAlertStates));
}

}  // namespace
}  // namespace gralarm
