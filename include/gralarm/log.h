#ifndef GRALARM_LOG_H_
#define GRALARM_LOG_H_

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "gralarm/strings.h"

namespace gralarm {

// Sets up the process logger (stderr, with timestamps) at the given level name.
void InitLogging(std::string_view level);

// Lets at most `burst` events through per `period`; the rest are counted and
// the count is reported with the next allowed event. Safe to call from any
// thread.
class LogLimiter {
 public:
  LogLimiter(int burst, std::chrono::seconds period)
      : burst_(burst), period_(period) {}

  // Returns true when this event may be logged; *suppressed gets how many
  // events were held back since the last one that was.
  bool Allow(uint64_t* suppressed);

 private:
  const int burst_;
  const std::chrono::seconds period_;
  std::atomic<int64_t> window_start_ns_{0};
  std::atomic<int> in_window_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace gralarm

#endif  // GRALARM_LOG_H_
