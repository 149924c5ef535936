#ifndef GRALARM_SERVER_H_
#define GRALARM_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/alert_service.h"
#include "gralarm/api.h"
#include "gralarm/carbon_self_metrics.h"
#include "gralarm/clock.h"
#include "gralarm/cluster_health.h"
#include "gralarm/config.h"
#include "gralarm/forwarder.h"
#include "gralarm/http_server.h"
#include "gralarm/ingest_worker.h"
#include "gralarm/listener.h"
#include "gralarm/notifier.h"
#include "gralarm/record_sync.h"
#include "gralarm/rule.h"
#include "gralarm/stats.h"
#include "gralarm/store.h"
#include "gralarm/target_engine.h"

namespace gralarm {

class HeldOutputs;

// The running proxy: ingest loops, the forwarder and the HTTP endpoint.
// Start(), Reload() and Stop() are called from one control thread (main's
// signal loop).
class Server final : public ApiBackend {
 public:
  // `clock` (not owned; null = the real clock) times alerts and no-data checks.
  explicit Server(std::shared_ptr<const Config> config,
                  const Clock* clock = nullptr);
  ~Server();

  // Binds every listener and starts all loops. Errors name the address at
  // fault.
  absl::Status Start();

  // Applies a new config (forwarding, parser limits, self-metrics) without
  // dropping a point: the new forwarder takes over, the old one drains.
  // Listener addresses and the worker count need a restart; a change there is
  // logged and ignored. A config whose forwarder cannot be built (a spool
  // directory that cannot be created...) or whose rule files do not load with
  // it is refused whole (logged): nothing of it is applied. API rules it
  // orphans become invalid.
  void Reload(std::shared_ptr<const Config> config);

  // Stops accepting, reads what clients sent, delivers queued points within
  // `drain_timeout`, then returns.
  void Stop(std::chrono::milliseconds drain_timeout);

  // Every counter, summed over loops and destinations.
  StatsSnapshot Snapshot();

  const std::string& ingest_address() const { return ingest_address_; }
  // The bound cluster.listen address; empty without [cluster].
  const std::string& cluster_address() const { return cluster_address_; }
  Store* store() { return store_.get(); }
  AlertEngine* engine() { return engine_.get(); }
  TargetEngine* target_engine() { return targets_.get(); }
  // Rebuilds the rules in force from the rule files in force and the store.
  // Called by the AlertService after each rule or template write.
  absl::Status ReloadRules();

  // ApiBackend; safe from any thread.
  std::shared_ptr<const Config> config() override;
  const AlertEngine& alert_engine() override { return *engine_; }
  AlertService& alert_service() override { return *alert_service_; }
  absl::Status ScanHistory(
      int64_t from_ms, int64_t to_ms, std::string_view after_key,
      const std::function<bool(std::string_view key, const HistoryRecord&)>& fn,
      const std::function<bool(std::string_view rule_id,
                               std::string_view series)>& key_filter) override {
    return store_->ScanHistory(from_ms, to_ms, after_key, fn, key_filter);
  }
  absl::Status ScanEvents(
      uint64_t after_seq,
      const std::function<bool(const EventRecord&)>& fn) override {
    return store_->ScanEvents(after_seq, fn);
  }
  absl::Status Checkpoint(const std::string& dir) override {
    return store_->Checkpoint(dir);
  }
  std::vector<std::string> Route(std::string_view name) override;
  std::optional<TargetHistoryStatus> TargetHistory(
      std::string_view rule_id) override {
    return targets_->HistoryStatus(rule_id);
  }
  std::optional<ClusterView> cluster_view() override;
  int api_port() const { return api_port_; }

 private:
  // Builds (does not start) a forwarder for `config`, with the self-metrics
  // ticker; changes nothing in force.
  absl::StatusOr<std::unique_ptr<Forwarder>> MakeForwarder(
      const std::shared_ptr<const Config>& config);
  // Puts the self-metrics settings of `config` in force for the ticker.
  void SetSelfMetrics(const Config& config);
  HttpResponse HandleMetrics();
  // Reads the rule files of `config` and resolves them with the stored rules;
  // on success `*files` holds what was read. Changes nothing in force.
  absl::StatusOr<std::shared_ptr<const RuleSet>> LoadAllRulesLocked(
      const Config& config, std::vector<RuleFile>* files)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(config_mu_);
  // Puts `rules` in force and logs what changed.
  void ApplyRulesLocked(std::shared_ptr<const RuleSet> rules)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(config_mu_);
  // Forwards points computed by target rules (emit_prefix) through the
  // current forwarder, as their own lines; they are never offered to rules.
  void Emit(std::vector<EmittedPoint> points);
  void Maintain();  // the maintenance thread: ticks, flushes, history retention

  // Guards config_ and rules_generation_, and serializes rule reloads (SIGHUP
  // on the control thread, API writes on HTTP threads).
  absl::Mutex config_mu_;
  std::shared_ptr<const Config> config_;
  RealClock real_clock_;
  const Clock* clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::unique_ptr<TargetEngine> targets_;
  // [cluster]: the peers' health and this node's notification role (the
  // notifier's gate, so it is declared first and outlives it); null without a
  // cluster. Started before the notifier, stopped after it.
  std::unique_ptr<PeerHealthMonitor> peer_health_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<AlertService> alert_service_;
  // Replicates API rules, templates and silences to cluster.peer_apis; set
  // when a [cluster] is configured at start.
  std::unique_ptr<RecordSync> record_sync_;
  uint64_t rules_generation_ = 0;
  // The rule files in force, as read at the last start or reload.
  std::vector<RuleFile> rule_files_ ABSL_GUARDED_BY(config_mu_);
  // The RuleSet::warnings() last logged.
  std::vector<std::string> rule_warnings_ ABSL_GUARDED_BY(config_mu_);
  std::thread maintenance_;
  absl::Mutex maintenance_mu_;
  bool stopping_ ABSL_GUARDED_BY(maintenance_mu_) = false;
  std::atomic<int64_t> open_connections_{0};
  std::vector<std::unique_ptr<IngestWorker>> workers_;
  // The current forwarder; counters of retired ones are folded into retired_.
  absl::Mutex mu_;
  std::unique_ptr<Forwarder> forwarder_ ABSL_GUARDED_BY(mu_);
  // [cluster]: the target-rule outputs a standby holds (Emit); null without
  // a cluster.
  std::unique_ptr<HeldOutputs> held_outputs_ ABSL_GUARDED_BY(mu_);
  std::vector<StatsSnapshot::Destination> retired_ ABSL_GUARDED_BY(mu_);
  absl::Mutex self_metrics_mu_;
  std::unique_ptr<CarbonSelfMetrics> self_metrics_
      ABSL_GUARDED_BY(self_metrics_mu_);
  // [cluster] point copies (README "Point copies"): the links to the peers,
  // fed by every client ingest loop, and the loop that reads the peers'
  // copies on cluster.listen (evaluated only). Built at Start() before the
  // HTTP server and any thread that reads them (Snapshot), and kept to
  // the end: [cluster] changes take effect at the next restart. Null without
  // [cluster].
  std::unique_ptr<Forwarder> peer_links_;
  std::unique_ptr<IngestWorker> peer_worker_;
  std::atomic<int64_t> peer_connections_{0};
  std::string cluster_address_;
  Api api_{this};
  std::unique_ptr<HttpServer> http_;
  std::string ingest_address_;
  int api_port_ = 0;
  bool running_ = false;
};

}  // namespace gralarm

#endif  // GRALARM_SERVER_H_
