#ifndef GRALARM_RECORD_SYNC_H_
#define GRALARM_RECORD_SYNC_H_

// Rules, templates and silences replicated between the nodes of a pair
// (README "Rules, templates and silences"): the wire format of the cluster
// endpoints, and the sync thread that delivers this node's writes to its
// peers and takes what it is missing from them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_service.h"
#include "gralarm/config.h"
#include "gralarm/record_version.h"
#include "gralarm/store.h"

namespace gralarm {

// One record as the cluster endpoints carry it:
// {"kind": "rule"|"template"|"silence", "id", "updated_ms", "node_id",
//  "deleted", "value"}; "value" (absent for a tombstone) is the rule or
// template as the API's JSON, or the silence as {"rule", "series",
// "starts_at_ms", "ends_at_ms", "created_by", "comment"}.
nlohmann::json ReplicatedRecordJson(const ReplicatedRecord& record);
// {"records": [...]} of ReplicatedRecordJson; InvalidArgument (naming the
// record's index and field) for anything else.
absl::StatusOr<std::vector<ReplicatedRecord>> ParseReplicatedRecords(
    std::string_view body);

// The sync thread. For each peer of cluster.peer_apis: while the peer is
// unknown or was unreachable, takes its records (GET
// /api/v1/cluster/records) and applies the newer ones; then sends the
// records queued for it (POST /api/v1/cluster/records, in queue order, in
// batches of at most kBatchRecords and 512 KiB of JSON), removing them from
// the queue once the peer answered 200. A failed request is retried after a
// backoff doubling from 0.5 s to 30 s. Logs when a peer becomes unreachable and
// when it has caught up. Requests carry "Authorization: Bearer
// <cluster.peer_token>" when set and last at most cluster.timeout_ms.
//
// Blocks only on its own requests and on the store; takes AlertService's
// lock (through ApplyReplicated) while applying a peer's records, and its own
// mu_ only to wait and to read its counters. Thread-safe.
class RecordSync {
 public:
  static constexpr size_t kBatchRecords = 100;

  RecordSync(Store* store, AlertService* service,
             std::function<std::shared_ptr<const Config>()> config);
  ~RecordSync();  // Stop()s

  void Start();
  // Returns once the thread has ended (after its request in flight, bounded
  // by cluster.timeout_ms).
  void Stop();
  // A record was queued: send it now rather than at the next poll.
  void Notify();

  struct PeerStatus {
    std::string peer;
    bool up = false;
    uint64_t queued = 0;
    uint64_t sent = 0;  // records delivered to it
  };
  std::vector<PeerStatus> Peers();

 private:
  struct Peer {
    enum class State { kUnknown, kUp, kDown };
    State state = State::kUnknown;
    bool need_pull = true;
    int64_t next_try_ms = 0;
    int64_t backoff_ms = 0;
    uint64_t sent_since_down = 0;
  };
  void Run();
  // One round with `url`: pull if needed, then send its queue.
  absl::Status Step(const std::string& url, const ClusterOptions& cluster,
                    Peer* peer);
  absl::Status Pull(const std::string& url, const ClusterOptions& cluster);
  absl::Status Push(const std::string& url, const ClusterOptions& cluster,
                    Peer* peer);

  Store* const store_;
  AlertService* const service_;
  const std::function<std::shared_ptr<const Config>()> config_;
  std::thread thread_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> sent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gralarm

#endif  // GRALARM_RECORD_SYNC_H_
