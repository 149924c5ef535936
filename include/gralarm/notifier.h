#ifndef GRALARM_NOTIFIER_H_
#define GRALARM_NOTIFIER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/store.h"

namespace gralarm {

// Payloads, exposed for tests.
// Alertmanager's webhook format, version "4", for one alert.
std::string WebhookPayload(const OutboxRecord& r, const Config& config);
// The body of POST <alertmanager>/api/v2/alerts for one alert. Both formats
// add the label set the record `replaces`, ended, when the severity changed.
std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config);
// The same for a re-send of alerts still active (no endsAt).
std::string AlertmanagerPayload(const std::vector<AlertRecord>& active,
                                const Config& config);

// Delivers the durable outbox on its own thread, never on an ingest loop.
// Records of one channel go out in the order they were written; a failed
// delivery is retried with exponential backoff (1 s doubling to 5 min, with
// jitter) until it succeeds or is 24 h old; a delivered record is removed. A
// record survives a restart until it is delivered.
//
// Alertmanager forgets an alert that is not re-sent within its
// resolve_timeout, so every alertmanager channel is also sent all the active
// alerts that may be notified (see SetActiveSource) once a minute, and at
// start. Those re-sends are not queued: a failed one waits for the next.
class Notifier {
 public:
  static constexpr int64_t kExpiryMs = 24 * 3600 * 1000;
  static constexpr int64_t kResendMs = 60 * 1000;
  static constexpr size_t kResendBatch = 500;  // alerts a POST
  using ActiveSource = std::function<std::vector<AlertEngine::Notifiable>()>;

  Notifier(Store* store, std::shared_ptr<const Config> config,
           const Clock* clock);
  ~Notifier();

  void Start();
  void Stop();
  // Any thread: new records are waiting.
  void Wake();
  void SetConfig(std::shared_ptr<const Config> config);
  // Where alertmanager re-sends come from. Call before Start().
  void SetActiveSource(ActiveSource source) { active_ = std::move(source); }

  // gralarm_notifications_total{channel,result}: result is delivered, failed
  // (an attempt failed; it will be retried), expired, or resent (an active
  // alert re-sent to Alertmanager).
  std::map<std::pair<std::string, std::string>, uint64_t> Counts() const;

 private:
  void Run();
  // One pass over the outbox; returns when the next attempt is due.
  int64_t Pass();
  bool Deliver(const OutboxRecord& r, const Config& config,
               const ChannelOptions& c, std::string* error);
  bool Post(const std::string& url, const std::string& body, int64_t timeout_ms,
            std::string* error);
  // Re-sends the active alerts to every alertmanager channel.
  void Resend(const Config& config);
  void Count(const std::string& channel, const char* result, uint64_t n = 1);

  Store* const store_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Config> config_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_
      ABSL_GUARDED_BY(mu_);
  ActiveSource active_;
  int64_t next_resend_ms_ = 0;  // Run() only
  std::thread thread_;
};

}  // namespace gralarm

#endif  // GRALARM_NOTIFIER_H_
