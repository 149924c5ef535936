#include <spdlog/sinks/stdout_sinks.h>

#include "gralarm/log.h"

namespace gralarm {

void InitLogging(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("gralarm");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool LogLimiter::Allow(uint64_t* suppressed) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  const int64_t period_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(period_).count();
  int64_t start = window_start_ns_.load(std::memory_order_relaxed);
  if (now - start >= period_ns && window_start_ns_.compare_exchange_strong(
                                      start, now, std::memory_order_relaxed)) {
    in_window_.store(0, std::memory_order_relaxed);
  }
  if (in_window_.fetch_add(1, std::memory_order_relaxed) < burst_) {
    *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace gralarm
