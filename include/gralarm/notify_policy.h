#ifndef GRALARM_NOTIFY_POLICY_H_
#define GRALARM_NOTIFY_POLICY_H_

// The delivery half of notification policy: when a channel's notifications
// are due, retried, given up, and re-sent. Pure decisions, no I/O and no
// clock of their own: a ChannelWorker asks them and acts.
//
// The other half decides what enters the outbox at all, and lives with the
// alert state: silences, schedules (held alerts), reminders
// (repeat_interval_s) and flapping are AlertEngine's (src/alert), which writes
// a record only for what is due to be told. Grouping, group timing and rate
// limits of grouped channels are GroupBatcher's (notify_groups.h).

#include <cstdint>

#include "gralarm/config.h"
#include "gralarm/store.h"

namespace gralarm {

struct NotifyPolicy {
  // A notification not delivered within 24 h of its creation is dropped.
  static constexpr int64_t kExpiryMs = 24 * 3600 * 1000;
  // Active alerts are re-sent to an Alertmanager channel this often.
  static constexpr int64_t kResendMs = 60 * 1000;
  // Backoff between failed attempts: this, doubling, up to kMaxBackoffMs.
  static constexpr int64_t kFirstBackoffMs = 1000;
  static constexpr int64_t kMaxBackoffMs = 300 * 1000;
};

// The wait after the `attempts`-th failed attempt in a row (attempts >= 1):
// 1 s doubling to 5 min, drawn from the upper half of that by `random` (any
// value; jitter, so receivers that come back are not hit all at once).
int64_t RetryBackoffMs(int attempts, uint64_t random);

// Whether the `attempts`-th failure in a row is worth a log line: the first
// and every tenth.
bool LogsFailure(int attempts);

// What is to become of the oldest waiting record of a channel at `now`.
enum class RecordDue {
  kSend,          // its next attempt is due
  kWait,          // not before r.next_attempt_ms
  kExpired,       // older than kExpiryMs: dropped
  kUnconfigured,  // its channel is no longer configured: dropped
};
RecordDue DueOf(const OutboxRecord& r, bool configured, int64_t now);

// Whether a channel's records go through its GroupBatcher: `channel` (null
// when no longer configured) is grouped, or its batcher still holds alerts
// (the channel was grouped before a reload: they go out, then it goes on
// ungrouped).
bool DeliversGrouped(const ChannelOptions* channel, bool batcher_holds_alerts);

// The grouping a batcher is driven with for `channel`: its own, or, once it
// is no longer grouped, none at all (every group due at once, no limit), so
// what the batcher still holds goes out at once.
ChannelOptions GroupingInForce(const ChannelOptions& channel);

// The retry state of a grouped channel, whose messages are retried as a
// whole (a record's own attempts live in the record).
class GroupRetry {
 public:
  // No message before then.
  bool Waiting(int64_t now) const { return retry_ms_ > now; }
  int64_t retry_ms() const { return retry_ms_; }
  int attempts() const { return attempts_; }
  // A message failed at `now`: returns when the next may go.
  int64_t Failed(int64_t now, uint64_t random);
  // A message was delivered or refused: the next goes without waiting.
  void Succeeded() { attempts_ = 0; }

 private:
  int attempts_ = 0;  // failed in a row
  int64_t retry_ms_ = 0;
};

// When an Alertmanager channel is re-sent its active alerts: at start (the
// first Due()), then kResendMs after the last re-send (Sent() when it ended).
class ResendSchedule {
 public:
  bool Due(int64_t now) const { return now >= next_ms_; }
  void Sent(int64_t now) { next_ms_ = now + NotifyPolicy::kResendMs; }
  int64_t next_ms() const { return next_ms_; }

 private:
  int64_t next_ms_ = 0;
};

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_POLICY_H_
