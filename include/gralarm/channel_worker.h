#ifndef GRALARM_CHANNEL_WORKER_H_
#define GRALARM_CHANNEL_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/notify_delivery.h"
#include "gralarm/notify_gate.h"
#include "gralarm/notify_groups.h"
#include "gralarm/notify_policy.h"
#include "gralarm/store.h"

namespace gralarm {

class Channel;  // src/notify/channel.h

// The alerts Alertmanager channels are re-sent (see ChannelWorker).
using ActiveAlertSource = std::function<std::vector<AlertEngine::Notifiable>()>;

// What a Notifier shares with its channel workers: the config in force, wake
// ups, the stop flag and the counters. Thread-safe. Lock order: its mutexes
// are leaves (nothing else is taken while one is held).
class NotifyHub {
 public:
  explicit NotifyHub(std::shared_ptr<const Config> config)
      : config_(std::move(config)) {}

  std::shared_ptr<const Config> config() const;
  // Replaces the config and wakes every worker.
  void SetConfig(std::shared_ptr<const Config> config);
  // New records may be waiting: wakes every worker.
  void Wake();
  // For good: workers return from Wait() and finish.
  void Stop();
  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  const std::atomic<bool>* stop_flag() const { return &stop_; }
  // Returns once Wake(), SetConfig() or Stop() was called after the previous
  // Wait() with the same `seen` returned, or after `timeout_ms`.
  void Wait(uint64_t* seen, int64_t timeout_ms);

  // gralarm_notifications_total{channel,result}.
  void Count(const std::string& channel, const char* result, uint64_t n = 1);
  std::map<std::pair<std::string, std::string>, uint64_t> Counts() const;

  // The gate of gated channels (notify_gate.h); null: this node sends them
  // all (no cluster). Set before any worker starts.
  void SetGate(const NotifyGate* gate) { gate_ = gate; }
  const NotifyGate* gate() const { return gate_; }

 private:
  const NotifyGate* gate_ = nullptr;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Config> config_ ABSL_GUARDED_BY(mu_);
  uint64_t wakes_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> stop_{false};  // written under mu_
  mutable absl::Mutex counts_mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_
      ABSL_GUARDED_BY(counts_mu_);
};

// Delivers the outbox records of one channel, on a thread of its own, so a
// slow or dead receiver delays only its own channel. It is the one owner of
// its channel's records: it alone reads them into memory, updates them after
// a failed attempt and removes them once delivered, refused or expired.
//
// The worker knows no transport: it drives the Channel that MakeChannel()
// builds from the config in force (a new one after each reload), which makes
// each attempt and says whether it was delivered, is worth a retry, or was
// refused for good. When a record or message is due, retried, given up or
// re-sent is NotifyPolicy's to say (notify_policy.h); grouping is the
// GroupBatcher's.
//
// Records go out in seq order; the head of the channel's queue is tried until
// it is delivered, refused for good (Delivery::kRejected: counted "rejected",
// logged, removed) or 24 h old, with exponential backoff (RetryBackoffMs: 1 s
// doubling to 5 min, with jitter) between attempts, and nothing behind it goes
// first. At most kWindow records are held in memory; the rest stay in the
// store until the queue has room. A channel that is no longer configured has
// its records dropped (counted "expired").
//
// A grouped channel (DeliversGrouped()) reads all its records into a
// GroupBatcher instead, and delivers one message per group (at most
// Channel::max_group_alerts() alerts a message) when the group is due, within
// the channel's max_per_minute; a message's records are removed once it is
// delivered or refused. After a failed message the channel waits (the same
// backoff) and the next message carries its alerts again, updated. Records
// stay in the store until then, so a group in progress survives a crash.
//
// A channel that re-sends active alerts (alertmanager) is sent every active
// alert of its rules once a kResendMs and at start, from this same thread, so
// a re-send never overtakes the notification that resolved an alert.
// Re-sends are not queued: a failed one waits for the next.
//
// In a cluster, a gated channel (all but alertmanager, see notify_gate.h) is
// sent only while the hub's NotifyGate says this node is active: Holds() is
// asked before every record and every grouped message, the one place the
// gate is applied. A standby reads nothing into memory (what it read while
// active is forgotten, as after a restart: the records stay in the store) and
// sweeps its held records instead: those whose NotifyGate::Fate() is kDrop
// are removed unsent, counted "left_to_peer". Once active again it reads and
// sends what it still holds, oldest first (grouped channels group it, digests
// and limits included).
class ChannelWorker {
 public:
  static constexpr int64_t kExpiryMs = NotifyPolicy::kExpiryMs;
  static constexpr int64_t kResendMs = NotifyPolicy::kResendMs;
  static constexpr size_t kResendBatch = 500;  // alerts a POST
  static constexpr size_t kWindow = 1000;      // records held in memory
  // Records a grouped channel reads at a time (they fold into their alerts).
  static constexpr size_t kGroupRead = 100000;
  // A standby sweeps its held records this often.
  static constexpr int64_t kSweepMs = 1000;

  // `active` may be empty (no re-sends).
  ChannelWorker(std::string channel, Store* store, const Clock* clock,
                NotifyHub* hub, ActiveAlertSource active);
  ~ChannelWorker();  // Join()s; call NotifyHub::Stop() first

  void Start();
  // Returns once the thread finished (after NotifyHub::Stop()).
  void Join();

 private:
  void Run();
  // The channel as `config` has it (made anew when the config changed); null
  // when it is not configured or cannot be made (channel_error_ says why).
  Channel* ChannelFor(const std::shared_ptr<const Config>& config);
  // One attempt through `channel`, or the reason it cannot be made (a retry).
  DeliveryResult Send(Channel* channel, const OutboxRecord& r);
  DeliveryResult SendGroup(Channel* channel, const GroupMessage& m);
  // Reads the channel's next records from the store into queue_.
  void Refill();
  // Delivers from the head of queue_ while records are due; returns when the
  // head's next attempt is due.
  int64_t Drain();
  void Resend(Channel& channel);
  // The grouped counterparts of Refill() and Drain().
  void RefillGroups(const ChannelOptions& c);
  int64_t DrainGroups(const ChannelOptions& c, Channel* channel);
  void RemoveSeqs(const GroupMessage& m);
  void RemoveSeqs(const std::vector<GroupedAlert>& alerts);
  // The channel is no longer configured: drops what its groups hold.
  void DropGroups();
  // Removes the head of queue_ from the store and from queue_.
  void Remove();
  // Whether `c`'s notifications are held now (a gated channel on a standby).
  bool Holds(const ChannelOptions* c) const;
  // Became standby: forgets what was read (the store keeps it).
  void ForgetRead();
  // A standby's sweep of its held records (see the class comment).
  void SweepHeld(const NotifyGate& gate);

  const std::string channel_;
  Store* const store_;
  const Clock* const clock_;
  NotifyHub* const hub_;
  const ActiveAlertSource active_;
  // The thread's own; nothing else touches them.
  std::shared_ptr<const Config> made_for_;  // the config channel_impl_ is of
  std::unique_ptr<Channel> channel_impl_;
  std::string channel_error_;  // why channel_impl_ could not be made
  std::deque<OutboxRecord> queue_;
  uint64_t cursor_ = 0;  // every record below it was read or is not ours
  ResendSchedule resend_;
  GroupBatcher groups_;
  GroupRetry group_retry_;
  bool holding_ = false;       // Holds() was true at the last round
  int64_t next_sweep_ms_ = 0;  // a standby's next SweepHeld()
  std::thread thread_;
};

}  // namespace gralarm

#endif  // GRALARM_CHANNEL_WORKER_H_
