#ifndef GRALARM_CLUSTER_HEALTH_H_
#define GRALARM_CLUSTER_HEALTH_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/notify_gate.h"

namespace gralarm {

// What this node knows of its peers' health, and the role it takes from
// that: pure decisions over observations and times, no I/O and no clock of
// its own. Not thread-safe (PeerHealthMonitor guards it).
//
// A peer is "lower" when its node_id sorts before this node's, or when it
// never answered (its node_id is unknown: it may be lower). A peer is dead
// once it has been unreachable for failover_ms (a peer that never answered:
// since the start). This node is active (sends the gated channels) when no
// lower peer is alive.
//
// A standby drops a held notification once the active peer (the lowest live
// one) has been answering without a break for failover_ms + kDropMarginMs
// since the notification was created (or since the peer came back, if
// later): the active node had that long to send it. Otherwise it holds it.
class PeerRoles {
 public:
  static constexpr int64_t kDropMarginMs = 5000;

  struct Peer {
    std::string api;            // the peer's API base URL, redacted
    std::string node_id;        // "" until it answered
    bool up = false;            // its last poll answered
    int64_t up_since_ms = 0;    // first answer of the current run of answers
    int64_t down_since_ms = 0;  // first failure of the current run (or start)
  };

  PeerRoles(std::string self_id, const std::vector<std::string>& peer_apis,
            int64_t failover_ms, int64_t start_ms);

  // Peer `i` answered its poll at `now` as `node_id`.
  void Answered(size_t i, std::string node_id, int64_t now);
  // Peer `i` did not answer its poll at `now`.
  void Unreachable(size_t i, int64_t now);

  bool Lower(size_t i) const;
  bool Dead(size_t i, int64_t now) const;
  // Whether this node sends the gated channels at `now`; `reason` (may be
  // null) says why, for the log.
  bool Active(int64_t now, std::string* reason) const;
  // What a standby does with a notification created at `created_ms`.
  HeldFate Fate(int64_t created_ms, int64_t now) const;

  const std::vector<Peer>& peers() const { return peers_; }
  const std::string& self_id() const { return self_id_; }

 private:
  // The lowest live lower peer (the active node), or -1.
  int ActivePeer(int64_t now) const;

  const std::string self_id_;
  const int64_t failover_ms_;
  std::vector<Peer> peers_;
};

// Polls each peer API's /healthz every kPollMs (each request bounded by
// cluster.timeout_ms) on a thread of its own, learns the peers' node_ids,
// and decides this node's role (PeerRoles): the NotifyGate of the channel
// workers. Logs each change of role with its reason. Lock order: mu_ is a
// leaf; no poll is made while it is held.
class PeerHealthMonitor final : public NotifyGate {
 public:
  static constexpr int64_t kPollMs = 1000;

  struct PeerStatus {
    std::string api;
    std::string node_id;
    bool up = false;
  };

  PeerHealthMonitor(const ClusterOptions& options, const Clock* clock);
  ~PeerHealthMonitor() override;  // Stop()s

  void Start();
  void Stop();
  // One round: polls every peer, then decides the role. The thread calls it;
  // tests call it without Start().
  void PollOnce();

  // NotifyGate: the role decided by the last round.
  bool Active() const override {
    return active_.load(std::memory_order_acquire);
  }
  HeldFate Fate(int64_t created_ms, int64_t now_ms) const override;

  std::vector<PeerStatus> Peers() const;

 private:
  void Run();

  const ClusterOptions options_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  PeerRoles roles_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Peers whose answer carried no node_id (logged once each).
  std::vector<bool> warned_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> active_{false};
  std::thread thread_;
};

}  // namespace gralarm

#endif  // GRALARM_CLUSTER_HEALTH_H_
