#include "gralarm/idle_priority.h"

#include <sched.h>

#include <thread>

namespace gralarm {

void RunAtIdlePriority(const std::function<void()>& fn) {
  std::thread worker([&fn] {
    sched_param param{};
    // Failure (no SCHED_IDLE) leaves the thread as it was: still correct.
    (void)sched_setscheduler(0, SCHED_IDLE, &param);
    fn();
  });
  worker.join();
}

}  // namespace gralarm
