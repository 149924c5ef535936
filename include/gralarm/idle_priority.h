#ifndef GRALARM_IDLE_PRIORITY_H_
#define GRALARM_IDLE_PRIORITY_H_

#include <functional>

namespace gralarm {

// Runs `fn` to completion on a thread of its own scheduled SCHED_IDLE (it gets
// CPU only when no normal thread wants it), and waits for it. For long scans
// answering operators (history, events), so that they never take CPU from
// ingest; on a machine with idle CPU they run at full speed.
void RunAtIdlePriority(const std::function<void()>& fn);

}  // namespace gralarm

#endif  // GRALARM_IDLE_PRIORITY_H_
