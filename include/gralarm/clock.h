#ifndef GRALARM_CLOCK_H_
#define GRALARM_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace gralarm {

// Wall-clock time in milliseconds since the epoch, behind an interface so tests
// can move time by hand. Safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

// The coarse wall clock: a read of the kernel's last tick (resolution a few
// milliseconds), without touching the clock source. It is read for every
// evaluated point.
class RealClock final : public Clock {
 public:
  int64_t NowMs() const override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }
  void Set(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace gralarm

#endif  // GRALARM_CLOCK_H_
