#include "gralarm/flap.h"

namespace gralarm {

FlapTracker::Verdict FlapTracker::Change(const FlapOptions& o, int64_t now_ms) {
  last_change_ms_ = now_ms;
  if (flapping_) return Verdict::kSuppressed;
  changes_.push_back(now_ms);
  while (!changes_.empty() &&
         (changes_.front() <= now_ms - o.window_s * 1000 ||
          static_cast<int64_t>(changes_.size()) > o.changes)) {
    changes_.pop_front();
  }
  if (static_cast<int64_t>(changes_.size()) < o.changes) {
    return Verdict::kNotify;
  }
  flapping_ = true;
  since_ms_ = now_ms;
  changes_.clear();
  return Verdict::kStartedFlapping;
}

bool FlapTracker::BecameStable(const FlapOptions& o, int64_t now_ms) {
  if (!flapping_ || now_ms - last_change_ms_ < o.window_s * 1000) return false;
  flapping_ = false;
  since_ms_ = 0;
  return true;
}

}  // namespace gralarm
