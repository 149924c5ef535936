#ifndef GRALARM_STATS_H_
#define GRALARM_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gralarm/alert_model.h"
#include "gralarm/line_parser.h"
#include "gralarm/pickle_decoder.h"

namespace gralarm {

// Ingest protocols, the `proto` label.
enum class Proto : int { kTcp = 0, kUdp = 1, kPickle = 2 };
inline constexpr int kNumProtos = 3;
std::string_view ProtoName(int proto);

// Why a point was dropped on its way to a destination, the `reason` label.
// kRejected: a line the destination closed the connection on twice (see
// Destination).
enum class DropReason : int {
  kQueueFull = 0,
  kShutdown = 1,
  kSpoolFull = 2,
  kRejected = 3
};
inline constexpr int kNumDropReasons = 4;
std::string_view DropReasonName(int reason);

// Counters one ingest loop writes (relaxed atomics, added once per read batch)
// and any thread reads.
struct alignas(64) IngestCounters {
  std::atomic<uint64_t> points_received[kNumProtos] = {};
  std::atomic<uint64_t> lines_invalid[kNumInvalidReasons] = {};
  std::atomic<int64_t> connections[kNumProtos] = {};
  std::atomic<uint64_t> connections_refused = 0;
  std::atomic<uint64_t> pickle_frames_invalid[kNumPickleErrors] = {};
};

// Counters of one destination; written by the ingest loops and the forward
// loop.
struct alignas(64) DestinationCounters {
  std::atomic<uint64_t> points_forwarded = 0;
  std::atomic<uint64_t> points_dropped[kNumDropReasons] = {};
  std::atomic<int64_t> queue_points = 0;
  std::atomic<int64_t> spool_bytes = 0;
  std::atomic<bool> up = false;
};

// A consistent-enough copy of every counter, taken at scrape time.
struct StatsSnapshot {
  uint64_t points_received[kNumProtos] = {};
  uint64_t lines_invalid[kNumInvalidReasons] = {};
  int64_t connections[kNumProtos] = {};
  uint64_t connections_refused = 0;
  uint64_t pickle_frames_invalid[kNumPickleErrors] = {};
  struct Destination {
    std::string name;  // "host:port" or "host:port=instance"
    uint64_t points_forwarded = 0;
    uint64_t points_dropped[kNumDropReasons] = {};
    int64_t queue_points = 0;
    int64_t spool_bytes = 0;
    bool up = false;
  };
  std::vector<Destination> destinations;
  // [cluster] copy links, named by their cluster.peers address
  // (points_forwarded: points copied).
  std::vector<Destination> peers;
  // Valid points and invalid lines read on cluster.listen.
  uint64_t peer_points_received = 0;
  uint64_t peer_lines_invalid = 0;
  // Alerting.
  uint64_t rules = 0;
  uint64_t rules_invalid = 0;  // stored rules left out of force
  uint64_t series_tracked = 0;
  // Points for a step of a target rule already completed (not applied).
  uint64_t target_points_late = 0;
  uint64_t target_outputs_duplicate = 0;
  uint64_t target_history_loads_ok = 0;
  uint64_t target_history_loads_error = 0;
  // By Index(AlertState): active alerts (kOk stays 0), and transitions by
  // the state entered.
  std::array<int64_t, kNumAlertStates> alerts_active{};
  std::array<uint64_t, kNumAlertStates> transitions{};
  // Notifications.
  uint64_t outbox_pending = 0;
  std::map<std::pair<std::string, std::string>, uint64_t>
      notifications;  // (channel, result) -> count
  // Replicated rules, templates and silences: records of peers applied,
  // ignored (not newer) and refused; per peer API, records queued and sent.
  uint64_t sync_applied = 0, sync_ignored = 0, sync_refused = 0;
  struct SyncPeer {
    std::string peer;
    uint64_t queued = 0;
    uint64_t sent = 0;
    bool up = false;
  };
  std::vector<SyncPeer> sync_peers;
  // Cluster (only when [cluster] is configured): whether this node sends the
  // gated notification channels, and each peer API's health.
  bool cluster = false;
  bool cluster_active = false;
  std::vector<std::pair<std::string, bool>> cluster_peers_up;  // (API, up)
  // Target-rule outputs a standby holds, and those it dropped: the active
  // node had time to forward them, or more than the bound were held.
  uint64_t target_outputs_held = 0;
  uint64_t target_outputs_left_to_peer = 0;
  uint64_t target_outputs_held_dropped = 0;

  void AddIngest(const IngestCounters& c);
  void AddDestination(std::string name, const DestinationCounters& c);
  void AddPeer(std::string name, const DestinationCounters& c);
  // The counters of the cluster.listen loop.
  void AddPeerIngest(const IngestCounters& c);

  uint64_t TotalReceived() const;
  uint64_t TotalInvalid() const;
  uint64_t TotalForwarded() const;
  uint64_t TotalDropped() const;
  int64_t TotalQueued() const;
  int64_t TotalAlertsActive() const;
};

// Prometheus text exposition (version 0.0.4) of a snapshot, with the names
// README "Monitoring gralarm" lists.
std::string RenderPrometheus(const StatsSnapshot& s, std::string_view version);

}  // namespace gralarm

#endif  // GRALARM_STATS_H_
