#include <gtest/gtest.h>

#include "gralarm/notify_policy.h"

namespace gralarm {
namespace {

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

TEST(NotifyPolicyTest, BackoffDoublesFromOneSecondToFiveMinutesWithJitter) {
  // The upper half of 1 s, 2 s, 4 s...: random 0 gives its start, and the
  // largest remainder its end.
  EXPECT_EQ(RetryBackoffMs(1, 0), 500);
  EXPECT_EQ(RetryBackoffMs(1, 500), 1000);
  EXPECT_EQ(RetryBackoffMs(1, 501), 500);  // wraps, never past the end
  EXPECT_EQ(RetryBackoffMs(2, 0), 1000);
  EXPECT_EQ(RetryBackoffMs(2, 1000), 2000);
  EXPECT_EQ(RetryBackoffMs(3, 0), 2000);
  EXPECT_EQ(RetryBackoffMs(9, 0), 128000);
  // 512 s would pass 5 min: capped from the 10th attempt on.
  for (int attempts : {10, 11, 50, 1000}) {
    EXPECT_EQ(RetryBackoffMs(attempts, 0), 150000) << attempts;
    EXPECT_EQ(RetryBackoffMs(attempts, 150000), 300000) << attempts;
  }
  for (uint64_t random = 0; random < 5000; random += 7) {
    const int64_t b = RetryBackoffMs(4, random);
    EXPECT_GE(b, 4000);
    EXPECT_LE(b, 8000);
  }
}

TEST(NotifyPolicyTest, FailuresAreLoggedFirstAndEveryTenth) {
  EXPECT_TRUE(LogsFailure(1));
  for (int attempts : {2, 3, 9, 11, 19}) EXPECT_FALSE(LogsFailure(attempts));
  for (int attempts : {10, 20, 100}) EXPECT_TRUE(LogsFailure(attempts));
}

TEST(NotifyPolicyTest, ARecordIsSentWaitsExpiresOrGoesWithItsChannel) {
  OutboxRecord r;
  r.created_ms = kStart;
  r.next_attempt_ms = kStart;
  EXPECT_EQ(DueOf(r, true, kStart), RecordDue::kSend);
  r.next_attempt_ms = kStart + 1000;
  EXPECT_EQ(DueOf(r, true, kStart + 999), RecordDue::kWait);
  EXPECT_EQ(DueOf(r, true, kStart + 1000), RecordDue::kSend);
  // 24 h is the last moment it is tried.
  EXPECT_EQ(DueOf(r, true, kStart + NotifyPolicy::kExpiryMs), RecordDue::kSend);
  EXPECT_EQ(DueOf(r, true, kStart + NotifyPolicy::kExpiryMs + 1),
            RecordDue::kExpired);
  r.next_attempt_ms = kStart + 2 * NotifyPolicy::kExpiryMs;  // waiting, but old
  EXPECT_EQ(DueOf(r, true, kStart + NotifyPolicy::kExpiryMs + 1),
            RecordDue::kExpired);
  // A channel no longer configured drops its records, due or not.
  EXPECT_EQ(DueOf(r, false, kStart), RecordDue::kUnconfigured);
  EXPECT_EQ(DueOf(r, false, kStart + NotifyPolicy::kExpiryMs + 1),
            RecordDue::kUnconfigured);
}

TEST(NotifyPolicyTest, WhatIsGroupedAndHow) {
  ChannelOptions plain;
  plain.type = "webhook";
  EXPECT_FALSE(DeliversGrouped(nullptr, false));
  EXPECT_FALSE(DeliversGrouped(nullptr, true));  // dropped, not delivered
  EXPECT_FALSE(DeliversGrouped(&plain, false));
  // Made ungrouped by a reload: what the batcher holds still goes through it.
  EXPECT_TRUE(DeliversGrouped(&plain, true));

  ChannelOptions grouped = plain;
  grouped.group_by = std::vector<std::string>{"rule_id"};
  grouped.group_wait_s = 10;
  grouped.group_interval_s = 300;
  grouped.max_per_minute = 5;
  EXPECT_TRUE(DeliversGrouped(&grouped, false));
  const ChannelOptions kept = GroupingInForce(grouped);
  EXPECT_EQ(kept.group_wait_s, 10);
  EXPECT_EQ(kept.group_interval_s, 300);
  EXPECT_EQ(kept.max_per_minute, 5);

  // No longer grouped: every group is due at once, with no limit.
  plain.group_wait_s = 0;
  const ChannelOptions now = GroupingInForce(plain);
  EXPECT_FALSE(now.grouped());
  EXPECT_EQ(now.group_wait_s, 0);
  EXPECT_EQ(now.group_interval_s, 0);
  EXPECT_EQ(now.max_per_minute, 0);
}

TEST(NotifyPolicyTest, AGroupedChannelBacksOffAfterFailedMessages) {
  GroupRetry retry;
  EXPECT_FALSE(retry.Waiting(kStart));
  EXPECT_EQ(retry.Failed(kStart, 0), kStart + 500);
  EXPECT_EQ(retry.attempts(), 1);
  EXPECT_TRUE(retry.Waiting(kStart + 499));
  EXPECT_FALSE(retry.Waiting(kStart + 500));
  EXPECT_EQ(retry.Failed(kStart + 500, 0), kStart + 1500);  // doubled
  EXPECT_EQ(retry.attempts(), 2);
  // A message that went resets the count: the next failure waits 1 s again.
  retry.Succeeded();
  EXPECT_EQ(retry.attempts(), 0);
  EXPECT_EQ(retry.Failed(kStart + 10000, 500), kStart + 11000);
}

TEST(NotifyPolicyTest, ActiveAlertsAreResentAtStartThenEveryMinute) {
  ResendSchedule resend;
  EXPECT_TRUE(resend.Due(kStart));
  resend.Sent(kStart + 200);  // the re-send ended then
  EXPECT_EQ(resend.next_ms(), kStart + 200 + NotifyPolicy::kResendMs);
  EXPECT_FALSE(resend.Due(kStart + 200 + NotifyPolicy::kResendMs - 1));
  EXPECT_TRUE(resend.Due(kStart + 200 + NotifyPolicy::kResendMs));
}

}  // namespace
}  // namespace gralarm
