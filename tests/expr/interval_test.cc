#include "expr/interval.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gralarm::expr {
namespace {

using ::testing::HasSubstr;

int64_t Seconds(std::string_view s) {
  absl::StatusOr<int64_t> v = ParseIntervalSeconds(s);
  EXPECT_TRUE(v.ok()) << s << ": " << v.status();
  return v.ok() ? *v : -999;
}

std::string ErrorOf(std::string_view s) {
  absl::StatusOr<int64_t> v = ParseIntervalSeconds(s);
  return v.ok() ? "OK" : std::string(v.status().message());
}

TEST(IntervalTest, Units) {
  EXPECT_EQ(Seconds("30s"), 30);
  EXPECT_EQ(Seconds("30sec"), 30);
  EXPECT_EQ(Seconds("5min"), 300);
  EXPECT_EQ(Seconds("5minutes"), 300);
  EXPECT_EQ(Seconds("1h"), 3600);
  EXPECT_EQ(Seconds("1hour"), 3600);
  EXPECT_EQ(Seconds("1d"), 86400);
  EXPECT_EQ(Seconds("2w"), 14 * 86400);
  EXPECT_EQ(Seconds("1mon"), 30 * 86400);
  EXPECT_EQ(Seconds("1months"), 30 * 86400);
  EXPECT_EQ(Seconds("1y"), 365 * 86400);
  EXPECT_EQ(Seconds("1year"), 365 * 86400);
}

TEST(IntervalTest, SignsAndGroups) {
  EXPECT_EQ(Seconds("-1h"), -3600);
  EXPECT_EQ(Seconds("+1h"), 3600);
  EXPECT_EQ(Seconds("1h30min"), 5400);
  // The sign applies to every group, as in graphite.
  EXPECT_EQ(Seconds("-1h30min"), -5400);
  EXPECT_EQ(Seconds(""), 0);
  EXPECT_EQ(Seconds("-"), 0);
  EXPECT_EQ(Seconds("0min"), 0);
}

TEST(IntervalTest, Errors) {
  EXPECT_THAT(ErrorOf("5"), HasSubstr("unknown unit ''"));
  EXPECT_THAT(ErrorOf("5m"), HasSubstr("unknown unit 'm'"));
  EXPECT_THAT(ErrorOf("5mo"), HasSubstr("unknown unit 'mo'"));
  EXPECT_THAT(ErrorOf("5 min"), HasSubstr("unknown unit ''"));
  EXPECT_THAT(ErrorOf("min"), HasSubstr("starts with a digit, '+' or '-'"));
  EXPECT_THAT(ErrorOf("1h-1min"), HasSubstr("expected a number at '-1min'"));
  EXPECT_THAT(ErrorOf("5x"), HasSubstr("unknown unit 'x'"));
  EXPECT_THAT(ErrorOf("99999999999999999999s"), HasSubstr("too long"));
  EXPECT_THAT(ErrorOf("1000000000d"), HasSubstr("too long"));
  EXPECT_EQ(Seconds("999999999d"), int64_t{999999999} * 86400);
}

}  // namespace
}  // namespace gralarm::expr
