#ifndef GRALARM_CLOCK_H_
#define GRALARM_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace gralarm {

// Wall-clock time in milliseconds since the epoch, behind an interface so tests
// can move time by hand. Safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

class RealClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
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
