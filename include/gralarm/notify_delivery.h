#ifndef GRALARM_NOTIFY_DELIVERY_H_
#define GRALARM_NOTIFY_DELIVERY_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gralarm {

// How one delivery attempt ended.
enum class Delivery {
  kDelivered,
  // Worth trying again: no answer, a timeout, HTTP 5xx, 408 or 429, a command
  // that failed.
  kRetry,
  // The receiver refused this notification (any other HTTP status, 4xx
  // mostly): sending it again would be refused again, so it is dropped.
  kRejected,
};

struct DeliveryResult {
  Delivery outcome = Delivery::kRetry;
  std::string error;  // why, when not delivered
};

// Alertmanager's rule for its own receivers: 2xx is delivered, 5xx is retried
// and so are 408 (Request Timeout) and 429 (Too Many Requests); anything else
// is refused for good.
Delivery ClassifyHttpStatus(long status);

// POSTs `body` (application/json) to `url` within `timeout_ms`. The error of
// a refused POST holds the start of the receiver's answer (Alertmanager says
// there which label it refused). `cancel` (may be null) aborts the attempt
// when it turns true, as a retry.
DeliveryResult HttpPost(const std::string& url, std::string_view body,
                        int64_t timeout_ms, const std::atomic<bool>* cancel);

// Runs argv[0] (looked up in PATH) with `input` on its standard input; exit
// status 0 is delivered, anything else, a command that cannot be started, or
// one still running after `timeout_ms` (killed) is a retry. The command starts
// with every signal unblocked and SIGPIPE at its default action, whatever the
// calling thread's mask and the process' dispositions. The caller's thread
// must have SIGPIPE blocked or ignored (a command that does not read its
// input must not kill gralarm); a SIGPIPE raised here is taken back.
DeliveryResult RunCommand(const std::vector<std::string>& argv,
                          std::string_view input, int64_t timeout_ms);

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_DELIVERY_H_
