#include "gralarm/server.h"

#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cluster/held_outputs.h"
#include "gralarm/alert_sink.h"
#include "gralarm/carbon_self_metrics.h"
#include "gralarm/forward_sink.h"
#include "gralarm/peer_sink.h"
#include "gralarm/version.h"

namespace gralarm {
namespace {

// The target-rule output points a standby holds at most (about 35 s of them
// are held while the active node lives: cluster.failover_s + 5 s).
constexpr size_t kMaxHeldOutputs = 1000000;

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

int WorkerCount(const Config& c) {
  if (c.ingest.workers > 0) return static_cast<int>(c.ingest.workers);
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// What one client ingest loop hands its points to: the engine first (as the
// points arrive), then the forwarder's batches, then (with [cluster]) the
// peer copies.
std::vector<std::unique_ptr<PointSink>> LoopSinks(AlertEngine* engine,
                                                  TargetEngine* targets,
                                                  Forwarder* forwarder,
                                                  Forwarder* peer_links) {
  std::vector<std::unique_ptr<PointSink>> sinks;
  sinks.push_back(std::make_unique<AlertSink>(engine, targets));
  sinks.push_back(std::make_unique<ForwardSink>(forwarder));
  if (peer_links != nullptr)
    sinks.push_back(std::make_unique<PeerSink>(peer_links));
  return sinks;
}

// What the cluster.listen loop hands the peers' copies to: the engine only;
// they are neither forwarded to carbon nor copied again.
std::vector<std::unique_ptr<PointSink>> PeerLoopSinks(AlertEngine* engine,
                                                      TargetEngine* targets) {
  std::vector<std::unique_ptr<PointSink>> sinks;
  sinks.push_back(std::make_unique<AlertSink>(engine, targets));
  return sinks;
}

}  // namespace

Server::Server(std::shared_ptr<const Config> config, const Clock* clock)
    : config_(std::move(config)),
      clock_(clock != nullptr ? clock : &real_clock_) {}

std::shared_ptr<const Config> Server::config() {
  absl::MutexLock lock(&config_mu_);
  return config_;
}

absl::Status Server::ReloadRules() {
  absl::MutexLock lock(&config_mu_);
  // The rule files in force (they resolved against config_), not as they are
  // on disk now: a file being edited changes nothing before SIGHUP.
  auto rules =
      LoadRules(*config_, rule_files_, store_.get(), rules_generation_ + 1);
  if (!rules.ok()) return rules.status();
  ApplyRulesLocked(*rules);
  return absl::OkStatus();
}

void Server::Emit(std::vector<EmittedPoint> points) {
  // Under mu_: a reload swaps the forwarder under it, so a batch goes whole to
  // the forwarder in force (the old one drains what it got before the swap).
  absl::MutexLock lock(&mu_);
  if (!forwarder_) return;
  if (held_outputs_ != nullptr) {
    points = held_outputs_->Pass(std::move(points), *peer_health_,
                                 clock_->NowMs());
    if (points.empty()) return;
  }
  std::vector<std::string> lines(
      static_cast<size_t>(forwarder_->num_destinations()));
  std::vector<uint32_t> counts(lines.size(), 0);
  int targets[kMaxFanout];
  for (const EmittedPoint& p : points) {
    const int n = forwarder_->Route(p.name, targets);
    if (n == 0) continue;
    const std::string line = EmitLine(p);
    for (int i = 0; i < n; ++i) {
      lines[static_cast<size_t>(targets[i])] += line;
      ++counts[static_cast<size_t>(targets[i])];
    }
  }
  bool sent = false;
  for (size_t d = 0; d < lines.size(); ++d) {
    if (counts[d] == 0) continue;
    forwarder_->Send(static_cast<int>(d), std::move(lines[d]), counts[d]);
    sent = true;
  }
  if (sent) forwarder_->Wake();
}

std::optional<ClusterView> Server::cluster_view() {
  if (!peer_health_) return std::nullopt;
  ClusterView view;
  view.active = peer_health_->Active();
  for (const PeerHealthMonitor::PeerStatus& p : peer_health_->Peers()) {
    view.peers.push_back({p.api, p.up});
  }
  return view;
}

std::vector<std::string> Server::Route(std::string_view name) {
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  if (!forwarder_) return out;
  int targets[kMaxFanout];
  const int n = forwarder_->Route(name, targets);
  for (int i = 0; i < n; ++i)
    out.push_back(forwarder_->destination(targets[i]).name());
  return out;
}

absl::StatusOr<std::shared_ptr<const RuleSet>> Server::LoadAllRulesLocked(
    const Config& config, std::vector<RuleFile>* files) {
  auto read = LoadRuleFiles(config);
  if (!read.ok()) return read.status();
  auto rules = LoadRules(config, *read, store_.get(), rules_generation_ + 1);
  if (rules.ok()) *files = std::move(*read);
  return rules;
}

void Server::ApplyRulesLocked(std::shared_ptr<const RuleSet> rules) {
  ++rules_generation_;
  engine_->SetRules(rules);
  targets_->SetRules(rules);
  const RuleSet& set = *rules;
  // Problems that did not stop the load (a stored rule that no longer
  // resolves...) are logged when they change, not on every API write.
  if (set.warnings() != rule_warnings_) {
    for (const std::string& w : set.warnings()) spdlog::warn("{}", w);
    rule_warnings_ = set.warnings();
  }
  if (set.invalid().empty()) {
    spdlog::info("{} rules in force", set.rules().size());
  } else {
    spdlog::warn("{} rules in force, {} stored rules invalid (not in force)",
                 set.rules().size(), set.invalid().size());
  }
}

void Server::Maintain() {
  const int64_t flush_ms = config()->evaluation.state_flush_ms;
  int64_t last_flush = clock_->NowMs();
  int64_t last_prune = 0;
  absl::MutexLock lock(&maintenance_mu_);
  while (!maintenance_mu_.AwaitWithTimeout(
      absl::Condition(&stopping_),
      absl::Milliseconds(std::min<int64_t>(flush_ms, 1000)))) {
    maintenance_mu_.Unlock();
    const int64_t now = clock_->NowMs();
    targets_->Tick();
    engine_->Tick();
    // A standby's held target outputs: dropped once the active node had time
    // to forward them, forwarded once this node becomes active.
    if (peer_health_) Emit({});
    api_.CheckToken();  // logs a token file that became unreadable
    if (now - last_flush >= flush_ms) {
      if (absl::Status s = engine_->Flush(); !s.ok()) {
        spdlog::error("{}", s.message());
      }
      if (absl::Status s = targets_->Flush(); !s.ok()) {
        spdlog::error("{}", s.message());
      }
      last_flush = now;
    }
    if (now - last_prune >= 3600 * 1000) {
      const int64_t retention_days = config()->store.history_retention_days;
      const int64_t cutoff = now - retention_days * 86400 * 1000;
      auto pruned = store_->PruneHistory(cutoff);
      if (!pruned.ok()) {
        spdlog::error("{}", pruned.status().message());
      } else if (*pruned > 0) {
        spdlog::info("history: removed {} entries older than {} days", *pruned,
                     retention_days);
      }
      // Tombstones of deleted rules, templates and silences are kept as long
      // as history: a peer away for longer may bring a deleted record back.
      auto tombstones = store_->PruneTombstones(cutoff);
      if (!tombstones.ok()) {
        spdlog::error("{}", tombstones.status().message());
      } else if (*tombstones > 0) {
        spdlog::info("cluster: removed {} tombstones older than {} days",
                     *tombstones, retention_days);
      }
      last_prune = now;
    }
    maintenance_mu_.Lock();
  }
}

Server::~Server() {
  if (running_) Stop(std::chrono::milliseconds(0));
}

absl::StatusOr<std::unique_ptr<Forwarder>> Server::MakeForwarder(
    const std::shared_ptr<const Config>& config) {
  auto forwarder = Forwarder::Create(*config);
  if (!forwarder.ok()) return forwarder.status();
  const SelfMetricsOptions& sm = config->self_metrics;
  if (sm.carbon_interval_s > 0) {
    (*forwarder)
        ->SetTicker(
            std::chrono::seconds(sm.carbon_interval_s), [this](Forwarder* f) {
              std::string lines;
              {
                StatsSnapshot snapshot = Snapshot();
                absl::MutexLock lock(&self_metrics_mu_);
                if (self_metrics_ == nullptr) return;
                lines = self_metrics_->Lines(
                    snapshot, static_cast<uint32_t>(std::time(nullptr)));
              }
              // Each line is routed like any other point, failover
              // included.
              size_t start = 0;
              while (start < lines.size()) {
                size_t end = lines.find('\n', start);
                std::string_view line(lines.data() + start, end - start + 1);
                std::string_view name = line.substr(0, line.find(' '));
                int targets[kMaxFanout];
                int n = f->Route(name, targets);
                for (int i = 0; i < n; ++i)
                  f->Send(targets[i], std::string(line), 1);
                start = end + 1;
              }
            });
  }
  return forwarder;
}

void Server::SetSelfMetrics(const Config& config) {
  const SelfMetricsOptions& sm = config.self_metrics;
  absl::MutexLock lock(&self_metrics_mu_);
  self_metrics_ = sm.carbon_interval_s > 0
                      ? std::make_unique<CarbonSelfMetrics>(
                            ExpandCarbonPrefix(sm.carbon_prefix, HostName()))
                      : nullptr;
}

namespace {

// The graphite-web client of [graphite]; null when no url is set.
std::shared_ptr<const GraphiteWebClient> GraphiteClientOf(
    const Config& config) {
  if (config.graphite.url.empty()) return nullptr;
  return std::make_shared<const GraphiteWebClient>(config.graphite);
}

// The /healthz answer: the node_id too when [cluster] is configured (peers
// learn it from there).
std::string HealthzBody(const Config& config) {
  if (!config.cluster.enabled()) return R"({"status":"ok"})";
  return nlohmann::json{{"status", "ok"}, {"node_id", config.cluster.node_id}}
      .dump();
}

// Client connections, spool segments, RocksDB files and the API need file
// descriptors: the soft limit goes up to the hard one, and a limit too low for
// ingest.max_connections is said at start.
void RaiseFileLimit(int64_t max_connections) {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  const int64_t needed = max_connections + 1024;
  if (r.rlim_cur != RLIM_INFINITY &&
      static_cast<int64_t>(r.rlim_cur) < needed) {
    spdlog::warn(
        "file descriptor limit {} is below ingest.max_connections ({}) plus "
        "1024 for gralarm itself: connections past it will fail; raise it "
        "(LimitNOFILE= in the systemd unit, ulimit -n)",
        r.rlim_cur, max_connections);
  }
}

}  // namespace

absl::Status Server::Start() {
  const int workers = WorkerCount(*config_);
  RaiseFileLimit(config_->ingest.max_connections);
  std::error_code ec;
  std::filesystem::create_directories(config_->store.path, ec);
  auto store = Store::Open(config_->store.path);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  engine_ = std::make_unique<AlertEngine>(store_.get(), clock_, config_);
  notifier_ = std::make_unique<Notifier>(store_.get(), config_, clock_);
  engine_->SetNotifyHook([n = notifier_.get()] { n->Wake(); });
  if (config_->cluster.enabled()) {
    peer_health_ =
        std::make_unique<PeerHealthMonitor>(config_->cluster, clock_);
    notifier_->SetGate(peer_health_.get());
    absl::MutexLock lock(&mu_);
    held_outputs_ = std::make_unique<HeldOutputs>(kMaxHeldOutputs);
  }
  targets_ =
      std::make_unique<TargetEngine>(engine_.get(), store_.get(), clock_);
  targets_->SetEmitter(
      [this](std::vector<EmittedPoint> points) { Emit(std::move(points)); });
  // Before the rules: they know at once whether their history can be loaded.
  targets_->SetGraphite(GraphiteClientOf(*config_));
  notifier_->SetActiveSource(
      [e = engine_.get()] { return e->NotifiableAlerts(); });
  alert_service_ = std::make_unique<AlertService>(
      store_.get(), engine_.get(), [this] { return config(); },
      [this] { return ReloadRules(); });
  if (config_->cluster.enabled()) {
    record_sync_ = std::make_unique<RecordSync>(
        store_.get(), alert_service_.get(), [this] { return config(); });
    alert_service_->set_on_queued([s = record_sync_.get()] { s->Notify(); });
  }
  {
    absl::MutexLock lock(&config_mu_);
    auto rules = LoadAllRulesLocked(*config_, &rule_files_);
    if (!rules.ok()) return rules.status();
    ApplyRulesLocked(*rules);
  }
  if (absl::Status s = engine_->Restore(); !s.ok()) return s;
  if (absl::Status s = targets_->Restore(); !s.ok()) return s;
  targets_->StartHistoryLoader();
  if (absl::Status s = alert_service_->LoadSilences(); !s.ok()) return s;
  auto forwarder = MakeForwarder(config_);
  if (!forwarder.ok()) return forwarder.status();
  SetSelfMetrics(*config_);
  auto sockets =
      OpenListenSockets(config_->ingest.listen, workers, /*with_udp=*/true);
  if (!sockets.ok()) return sockets.status();
  ListenSockets pickle;
  if (!config_->ingest.pickle_listen.empty()) {
    auto p = OpenListenSockets(config_->ingest.pickle_listen, workers,
                               /*with_udp=*/false);
    if (!p.ok()) {
      CloseListenSockets(&*sockets);
      return p.status();
    }
    pickle = std::move(*p);
  }
  ListenSockets cluster;
  if (config_->cluster.enabled()) {
    auto links = Forwarder::CreatePeerLinks(*config_);
    auto c = links.ok() ? OpenListenSockets(config_->cluster.listen, 1,
                                            /*with_udp=*/false)
                        : absl::StatusOr<ListenSockets>(links.status());
    if (!c.ok()) {
      CloseListenSockets(&*sockets);
      CloseListenSockets(&pickle);
      return c.status();
    }
    peer_links_ = std::move(*links);
    cluster = std::move(*c);
    cluster_address_ = cluster.address;
    // Before the HTTP server, whose /metrics reads it (Snapshot).
    peer_worker_ = std::make_unique<IngestWorker>(
        workers, config_, PeerLoopSinks(engine_.get(), targets_.get()),
        &peer_connections_);
  }
  HttpServer::Options http_options;
  http_options.listen = config_->api.listen;
  http_options.allowed_hosts = config_->api.allowed_hosts;
  auto http = HttpServer::Start(
      http_options,
      {{"/healthz",
        [health = HealthzBody(*config_)](const HttpRequest&) {
          return HttpResponse{200, "application/json", health};
        }},
       {"/metrics", [this](const HttpRequest&) { return HandleMetrics(); }},
       {"/api/v1/", [this](const HttpRequest& r) { return api_.Handle(r); }},
       {"/assets/", [](const HttpRequest& r) { return WebAssetResponse(r); }},
       {"/", [](const HttpRequest&) { return WebPageResponse(); }}});
  if (!http.ok()) {
    CloseListenSockets(&*sockets);
    CloseListenSockets(&pickle);
    CloseListenSockets(&cluster);
    return http.status();
  }
  http_ = std::move(*http);
  api_port_ = http_->port();
  {
    absl::MutexLock lock(&mu_);
    forwarder_ = std::move(*forwarder);
    forwarder_->Start();
    for (int i = 0; i < workers; ++i) {
      workers_.push_back(std::make_unique<IngestWorker>(
          i, config_,
          LoopSinks(engine_.get(), targets_.get(), forwarder_.get(),
                    peer_links_.get()),
          &open_connections_));
    }
  }
  if (peer_links_) {
    peer_links_->Start();
    peer_worker_->Start(cluster.tcp_fds[0], -1);
  }
  for (int i = 0; i < workers; ++i) {
    workers_[i]->Start(sockets->tcp_fds[i], sockets->udp_fds[i],
                       pickle.tcp_fds.empty() ? -1 : pickle.tcp_fds[i]);
  }
  ingest_address_ = sockets->address;
  running_ = true;
  maintenance_ = std::thread([this] { Maintain(); });
  if (peer_health_) peer_health_->Start();
  notifier_->Start();
  // Once nothing can fail: Stop() stops it.
  if (record_sync_) record_sync_->Start();
  spdlog::info(
      "gralarm {} listening on {} (tcp+udp, {} loops){}, api on {} (port {})",
      kVersion, ingest_address_, workers,
      pickle.address.empty() ? "" : StrCat(", pickle on ", pickle.address),
      config_->api.listen, http_->port());
  if (peer_links_) {
    spdlog::info(
        "cluster: node {}, peer copies read on {}, client points copied to {}",
        config_->cluster.node_id, cluster_address_,
        absl::StrJoin(config_->cluster.peers, ", "));
  }
  return absl::OkStatus();
}

void Server::Reload(std::shared_ptr<const Config> config) {
  if (config->ingest.listen != config_->ingest.listen ||
      config->ingest.pickle_listen != config_->ingest.pickle_listen ||
      config->ingest.workers != config_->ingest.workers ||
      config->api.listen != config_->api.listen) {
    spdlog::warn(
        "reload: ingest.listen, ingest.pickle_listen, ingest.workers and "
        "api.listen changes take effect at the next restart");
  }
  const ClusterOptions& was = config_->cluster;
  const ClusterOptions& now = config->cluster;
  if (now.node_id != was.node_id || now.peer_apis != was.peer_apis ||
      now.failover_s != was.failover_s || now.timeout_ms != was.timeout_ms) {
    spdlog::warn(
        "reload: cluster.node_id, cluster.peer_apis, cluster.failover_s and "
        "cluster.timeout_ms changes take effect at the next restart");
  }
  if (config->cluster.enabled() != config_->cluster.enabled() ||
      config->cluster.listen != config_->cluster.listen ||
      config->cluster.peers != config_->cluster.peers) {
    spdlog::warn(
        "reload: [cluster] listen and peers changes take effect at the next "
        "restart");
  }
  // Everything that can fail is built or checked first, then all is applied:
  // a reload that fails changes nothing. The forwarder is built (not started)
  // outside config_mu_: it opens spool directories.
  auto next = MakeForwarder(config);
  if (!next.ok()) {
    spdlog::error(
        "reload: {}; the running configuration and the rules in force stay",
        next.status().message());
    return;
  }
  {
    // The config and its rule files are one: when the rule files do not load
    // with the new config (an error in them, or a rule naming a schedule,
    // template or channel it drops), nothing of it is applied, as
    // carbon-c-relay and Alertmanager refuse such a reload. API rules it
    // orphans do not stop it: they become invalid and are reported. The
    // rules are read and applied under one hold of config_mu_, so no API
    // write falls between.
    absl::MutexLock lock(&config_mu_);
    std::vector<RuleFile> files;
    auto rules = LoadAllRulesLocked(*config, &files);
    if (!rules.ok()) {
      for (absl::string_view line :
           absl::StrSplit(rules.status().message(), '\n')) {
        spdlog::error("{}", line);
      }
      spdlog::error(
          "reload: rules not reloaded; the running configuration and the "
          "rules in force stay");
      return;  // `next` was never started: destroying it sends nothing
    }
    engine_->SetConfig(config);
    notifier_->SetConfig(config);
    if (config->graphite.url != config_->graphite.url ||
        config->graphite.timeout_ms != config_->graphite.timeout_ms) {
      targets_->SetGraphite(GraphiteClientOf(*config));
    }
    if (http_) http_->SetAllowedHosts(config->api.allowed_hosts);
    config_ = config;
    rule_files_ = std::move(files);
    ApplyRulesLocked(*rules);
  }
  SetSelfMetrics(*config);
  (*next)->Start();
  for (auto& w : workers_) {
    w->SwapSinks(config, LoopSinks(engine_.get(), targets_.get(), next->get(),
                                   peer_links_.get()));
  }
  if (peer_worker_) {
    peer_worker_->SwapSinks(config,
                            PeerLoopSinks(engine_.get(), targets_.get()));
  }
  std::unique_ptr<Forwarder> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::move(forwarder_);
    forwarder_ = std::move(*next);
  }
  // The old forwarder gets no new points now; deliver what it holds.
  old->Drain(std::chrono::seconds(30));
  StatsSnapshot s;
  old->AddToSnapshot(&s);
  {
    absl::MutexLock lock(&mu_);
    for (auto& d : s.destinations) {
      auto same = std::find_if(retired_.begin(), retired_.end(),
                               [&](const auto& r) { return r.name == d.name; });
      if (same == retired_.end()) {
        retired_.push_back(std::move(d));
        continue;
      }
      same->points_forwarded += d.points_forwarded;
      for (int i = 0; i < kNumDropReasons; ++i)
        same->points_dropped[i] += d.points_dropped[i];
    }
  }
  spdlog::info(
      "reload: configuration from {} in force ({} destinations, method {})",
      config->source_path, config->forward.destinations.size(),
      ForwardMethodName(config->forward.method));
}

void Server::Stop(std::chrono::milliseconds drain_timeout) {
  if (!running_) return;
  running_ = false;
  // civetweb takes a moment to stop its threads: let it do so beside the drain.
  std::thread http_stop([this] { http_.reset(); });
  for (auto& w : workers_) w->Stop();
  if (peer_worker_) peer_worker_->Stop();
  spdlog::info("shutdown: ingest closed; delivering {} queued points",
               Snapshot().TotalQueued());
  Forwarder* forwarder;
  {
    absl::MutexLock lock(&mu_);
    forwarder = forwarder_.get();
  }
  // Not under mu_: a self-metrics tick on the forward loop takes mu_ for
  // Snapshot(). The peer links drain beside it, within the same timeout.
  std::thread peer_drain;
  if (peer_links_) {
    peer_drain = std::thread([this, drain_timeout] {
      peer_links_->Drain(drain_timeout, /*include_spool=*/true);
    });
  }
  forwarder->Drain(drain_timeout, /*include_spool=*/true);
  if (peer_drain.joinable()) peer_drain.join();
  {
    absl::MutexLock lock(&maintenance_mu_);
    stopping_ = true;
  }
  maintenance_.join();
  if (record_sync_) record_sync_->Stop();
  targets_->StopHistoryLoader();
  notifier_->Stop();
  if (peer_health_) peer_health_->Stop();
  if (absl::Status s = engine_->Flush(); !s.ok()) {
    spdlog::error("{}", s.message());
  }
  // Open steps are saved, not completed: they complete after the restart.
  if (absl::Status s = targets_->Flush(); !s.ok()) {
    spdlog::error("{}", s.message());
  }
  http_stop.join();
}

StatsSnapshot Server::Snapshot() {
  StatsSnapshot s;
  if (engine_) {
    const EngineCounters c = engine_->Counters();
    const auto rules = engine_->rules();
    s.rules = rules->rules().size();
    s.rules_invalid = rules->invalid().size();
    s.series_tracked = c.series_tracked;
    s.target_points_late = targets_->points_late();
    s.target_outputs_duplicate = targets_->outputs_duplicate();
    s.target_history_loads_ok = targets_->history_loads_ok();
    s.target_history_loads_error = targets_->history_loads_error();
    s.alerts_active = c.alerts_active;
    s.transitions = c.transitions;
    s.outbox_pending = store_->OutboxPending();
    for (const auto& [key, n] : notifier_->Counts()) s.notifications[key] = n;
    const auto counts = alert_service_->replication_counts();
    s.sync_applied = counts.applied;
    s.sync_ignored = counts.ignored;
    s.sync_refused = counts.refused;
    if (record_sync_) {
      for (const auto& p : record_sync_->Peers())
        s.sync_peers.push_back({p.peer, p.queued, p.sent, p.up});
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (held_outputs_) {
      s.target_outputs_held = held_outputs_->held();
      s.target_outputs_left_to_peer = held_outputs_->left_to_peer();
      s.target_outputs_held_dropped = held_outputs_->dropped_full();
    }
  }
  if (peer_health_) {
    s.cluster = true;
    s.cluster_active = peer_health_->Active();
    for (const PeerHealthMonitor::PeerStatus& p : peer_health_->Peers())
      s.cluster_peers_up.emplace_back(p.api, p.up);
  }
  if (peer_worker_) s.AddPeerIngest(peer_worker_->counters());
  if (peer_links_) {
    for (int i = 0; i < peer_links_->num_destinations(); ++i) {
      Destination& d = peer_links_->destination(i);
      s.AddPeer(d.options().address, d.counters());
    }
  }
  absl::MutexLock lock(&mu_);
  for (auto& w : workers_) s.AddIngest(w->counters());
  if (forwarder_) forwarder_->AddToSnapshot(&s);
  // Counters stay monotonic across reloads: a retired destination's counts are
  // added to the live one of the same name, or listed on their own.
  for (const auto& r : retired_) {
    auto live = std::find_if(s.destinations.begin(), s.destinations.end(),
                             [&](const auto& d) { return d.name == r.name; });
    if (live == s.destinations.end()) {
      s.destinations.push_back(r);
      s.destinations.back().queue_points = 0;
      s.destinations.back().up = false;
      continue;
    }
    live->points_forwarded += r.points_forwarded;
    for (int i = 0; i < kNumDropReasons; ++i)
      live->points_dropped[i] += r.points_dropped[i];
  }
  return s;
}

HttpResponse Server::HandleMetrics() {
  return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                      RenderPrometheus(Snapshot(), kVersion)};
}

}  // namespace gralarm
