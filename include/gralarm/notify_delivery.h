#ifndef GRALARM_NOTIFY_DELIVERY_H_
#define GRALARM_NOTIFY_DELIVERY_H_

// One delivery attempt over a transport (HTTP, a child process). What an
// attempt means for a notification (delivered, retry, refused) is the
// channel's to say: see src/notify/channel.h.

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

// What one HTTP POST came to, before anyone judged it.
struct HttpAnswer {
  // Why no answer came (timeout, refused connection, cancelled...); empty
  // when the receiver answered.
  std::string error;
  long status = 0;   // the receiver's HTTP status, when it answered
  std::string said;  // the start of its answer, as one printable line
};

// POSTs `body` (application/json) to `url` within `timeout_ms`. `cancel` (may
// be null) aborts the attempt when it turns true (an error). No signal is
// raised: libcurl runs with CURLOPT_NOSIGNAL, so its socket writes use
// MSG_NOSIGNAL.
HttpAnswer PostJson(const std::string& url, std::string_view body,
                    int64_t timeout_ms, const std::atomic<bool>* cancel);

// How one run of a command ended, before anyone judged it.
struct CommandExit {
  // Why it did not run to its end: it could not be started, it was still
  // running after the timeout (killed), waitpid failed. Empty otherwise.
  std::string error;
  int wait_status = 0;  // waitpid's status, when `error` is empty
};

// Runs argv[0] (looked up in PATH) with `input` on its standard input, killed
// (SIGKILL) when still running after `timeout_ms`. The command starts with
// every signal unblocked and SIGPIPE at its default action, whatever the
// calling thread's mask and the process' dispositions. The caller's thread
// must have SIGPIPE blocked or ignored (a command that does not read its
// input must not kill gralarm); a SIGPIPE raised here is taken back.
CommandExit SpawnCommand(const std::vector<std::string>& argv,
                         std::string_view input, int64_t timeout_ms);

// PostJson judged as the HTTP channels judge it (HttpChannel::Classify in
// src/notify/channel.h): a refusal's error holds the start of the receiver's
// answer (Alertmanager says there which label it refused); a cancelled
// attempt is a retry.
DeliveryResult HttpPost(const std::string& url, std::string_view body,
                        int64_t timeout_ms, const std::atomic<bool>* cancel);

// SpawnCommand judged as command channels judge it (CommandChannel::Classify):
// exit status 0 is delivered, anything else, a command that cannot be
// started, or one still running after `timeout_ms` is a retry.
DeliveryResult RunCommand(const std::vector<std::string>& argv,
                          std::string_view input, int64_t timeout_ms);

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_DELIVERY_H_
