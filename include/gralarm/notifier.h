#ifndef GRALARM_NOTIFIER_H_
#define GRALARM_NOTIFIER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "gralarm/channel_worker.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/notify_payload.h"
#include "gralarm/store.h"

namespace gralarm {

// Delivers the durable outbox, never on an ingest loop: one ChannelWorker
// thread per configured channel, so each channel has its own order and its
// own retries, and a slow or dead receiver delays no other channel (see
// ChannelWorker for the delivery rules).
//
// A record belongs to the worker of its channel from the moment it is
// written. Records of a channel that has no worker when the Notifier starts
// (removed from the config while gralarm was stopped) are dropped then,
// counted "expired". A channel added by SetConfig() gets its worker then; a
// channel removed keeps its worker, which drops the channel's records.
class Notifier {
 public:
  static constexpr int64_t kExpiryMs = ChannelWorker::kExpiryMs;
  static constexpr int64_t kResendMs = ChannelWorker::kResendMs;
  static constexpr size_t kResendBatch = ChannelWorker::kResendBatch;
  using ActiveSource = ActiveAlertSource;

  Notifier(Store* store, std::shared_ptr<const Config> config,
           const Clock* clock);
  ~Notifier();

  void Start();
  // Stops every worker: an HTTP attempt in flight is cut short (its record is
  // kept for the next start), a command is waited for up to its timeout_ms.
  void Stop();
  // Any thread: new records are waiting.
  void Wake();
  void SetConfig(std::shared_ptr<const Config> config);
  // Where alertmanager re-sends come from; called on the workers' threads.
  // Call before Start().
  void SetActiveSource(ActiveSource source) { active_ = std::move(source); }
  // The gate of gated channels in a cluster (not owned; outlives the
  // Notifier). Call before Start().
  void SetGate(const NotifyGate* gate) { hub_.SetGate(gate); }

  // gralarm_notifications_total{channel,result}: result is delivered, failed
  // (an attempt failed; it will be retried), rejected (the receiver refused
  // it for good: dropped), expired, resent (an active alert re-sent to
  // Alertmanager), or left_to_peer (held by a standby while the active node
  // had time to send it: dropped unsent).
  std::map<std::pair<std::string, std::string>, uint64_t> Counts() const;

 private:
  // Starts a worker for each configured channel that has none.
  void StartWorkers(const Config& config)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(workers_mu_);
  // Drops the records of channels that have no worker.
  void DropOrphans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(workers_mu_);

  Store* const store_;
  const Clock* const clock_;
  NotifyHub hub_;
  ActiveSource active_;
  // Held while workers are created or joined, and while orphans are dropped,
  // so no worker appears for a channel whose records are being dropped.
  absl::Mutex workers_mu_;
  bool started_ ABSL_GUARDED_BY(workers_mu_) = false;
  std::map<std::string, std::unique_ptr<ChannelWorker>> workers_
      ABSL_GUARDED_BY(workers_mu_);
};

}  // namespace gralarm

#endif  // GRALARM_NOTIFIER_H_
