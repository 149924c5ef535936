#ifndef GRALARM_FLAP_H_
#define GRALARM_FLAP_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "gralarm/alert_model.h"
#include "gralarm/rule.h"

namespace gralarm {

// Flap detection of one (rule, series): it is flapping once its state changed
// FlapOptions::changes times within window_s, and stops when it has not
// changed for window_s. Not thread-safe: it lives in the series' state, under
// its shard lock.
class FlapTracker {
 public:
  enum class Verdict {
    kNotify,           // notify the change as usual
    kStartedFlapping,  // notify it, saying the series is flapping
    kSuppressed,       // flapping: record it, notify nothing
  };
  // A change of state at `now_ms`.
  Verdict Change(const FlapOptions& o, int64_t now_ms);
  // True, once, when a flapping series has been stable for window_s; it is no
  // longer flapping from then on.
  bool BecameStable(const FlapOptions& o, int64_t now_ms);
  bool flapping() const { return flapping_; }
  int64_t since_ms() const { return since_ms_; }

  // What receivers were last told of the series: its state, and whether it
  // was firing (else resolved). None: nothing yet.
  void Told(AlertState state, bool firing) {
    told_ = state;
    told_firing_ = firing;
  }
  const std::optional<AlertState>& told() const { return told_; }
  bool told_firing() const { return told_firing_; }

 private:
  std::deque<int64_t> changes_;  // the last FlapOptions::changes, oldest first
  bool flapping_ = false;
  int64_t since_ms_ = 0;
  int64_t last_change_ms_ = 0;
  std::optional<AlertState> told_;
  bool told_firing_ = false;
};

}  // namespace gralarm

#endif  // GRALARM_FLAP_H_
