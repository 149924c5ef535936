#ifndef GRALARM_NOTIFIER_H_
#define GRALARM_NOTIFIER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/store.h"

namespace gralarm {

// Payloads, exposed for tests.
// Alertmanager's webhook format, version "4", for one alert.
std::string WebhookPayload(const OutboxRecord& r, const Config& config);
// The body of POST <alertmanager>/api/v2/alerts for one alert.
std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config);

// Delivers the durable outbox on its own thread, never on an ingest loop.
// Records of one channel go out in the order they were written; a failed
// delivery is retried with exponential backoff (1 s doubling to 5 min, with
// jitter) until it succeeds or is 24 h old; a delivered record is removed. A
// record survives a restart until it is delivered.
class Notifier {
 public:
  static constexpr int64_t kExpiryMs = 24 * 3600 * 1000;

  Notifier(Store* store, std::shared_ptr<const Config> config,
           const Clock* clock);
  ~Notifier();

  void Start();
  void Stop();
  // Any thread: new records are waiting.
  void Wake();
  void SetConfig(std::shared_ptr<const Config> config);

  // gralarm_notifications_total{channel,result}: result is delivered, failed
  // (an attempt failed; it will be retried) or expired.
  std::map<std::pair<std::string, std::string>, uint64_t> Counts() const;

 private:
  void Run();
  // One pass over the outbox; returns when the next attempt is due.
  int64_t Pass();
  bool Deliver(const OutboxRecord& r, const Config& config,
               const ChannelOptions& c, std::string* error);
  void Count(const std::string& channel, const char* result);

  Store* const store_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Config> config_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::pair<std::string, std::string>, uint64_t> counts_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace gralarm

#endif  // GRALARM_NOTIFIER_H_
