#ifndef GRALARM_NOTIFY_GATE_H_
#define GRALARM_NOTIFY_GATE_H_

// Which node of an active-active pair sends the notifications of channels
// that nobody deduplicates downstream (webhook, command, graphite_events).
// Alertmanager channels are never gated: every node sends them, and an
// Alertmanager cluster deduplicates.

#include <cstdint>

#include "gralarm/config.h"

namespace gralarm {

// What becomes of a notification a standby node holds.
enum class HeldFate {
  kHold,  // keep it (durably, in the outbox) and do not send it yet
  kDrop,  // the active node had time to send it: remove it, unsent
};

// The one gate every gated channel's notifications (records and grouped
// messages alike) pass before they are sent. Thread-safe.
class NotifyGate {
 public:
  virtual ~NotifyGate() = default;
  // Whether this node sends the gated channels now.
  virtual bool Active() const = 0;
  // For a standby: the fate of a held notification created at `created_ms`,
  // at `now_ms`.
  virtual HeldFate Fate(int64_t created_ms, int64_t now_ms) const = 0;
};

// Whether `channel`'s notifications pass the gate (all but alertmanager).
inline bool Gated(const ChannelOptions& channel) {
  return channel.type != "alertmanager";
}

}  // namespace gralarm

#endif  // GRALARM_NOTIFY_GATE_H_
