// When a channel's notifications are due, retried, dropped and re-sent.
#include <algorithm>

#include "gralarm/notify_policy.h"

namespace gralarm {

int64_t RetryBackoffMs(int attempts, uint64_t random) {
  int64_t backoff = NotifyPolicy::kFirstBackoffMs;
  for (int i = 1; i < attempts && backoff < NotifyPolicy::kMaxBackoffMs; ++i) {
    backoff *= 2;
  }
  backoff = std::min(backoff, NotifyPolicy::kMaxBackoffMs);
  const uint64_t half = static_cast<uint64_t>(backoff / 2);
  return backoff / 2 + static_cast<int64_t>(random % (half + 1));
}

bool LogsFailure(int attempts) { return attempts == 1 || attempts % 10 == 0; }

RecordDue DueOf(const OutboxRecord& r, bool configured, int64_t now) {
  if (!configured) return RecordDue::kUnconfigured;
  if (now - r.created_ms > NotifyPolicy::kExpiryMs) return RecordDue::kExpired;
  if (r.next_attempt_ms > now) return RecordDue::kWait;
  return RecordDue::kSend;
}

bool DeliversGrouped(const ChannelOptions* channel, bool batcher_holds_alerts) {
  return channel != nullptr && (channel->grouped() || batcher_holds_alerts);
}

ChannelOptions GroupingInForce(const ChannelOptions& channel) {
  ChannelOptions c = channel;
  if (!c.grouped()) c.group_wait_s = c.group_interval_s = c.max_per_minute = 0;
  return c;
}

int64_t GroupRetry::Failed(int64_t now, uint64_t random) {
  ++attempts_;
  retry_ms_ = now + RetryBackoffMs(attempts_, random);
  return retry_ms_;
}

}  // namespace gralarm
