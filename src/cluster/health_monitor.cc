// Polls the peers' /healthz and puts this node's role in force.
#include <pthread.h>

#include <nlohmann/json.hpp>

#include "gralarm/cluster_health.h"
#include "gralarm/http_client.h"
#include "gralarm/log.h"

namespace gralarm {
namespace {

// The node_id a /healthz answer names: empty when the answer is not a
// healthy cluster node's ({"status":"ok","node_id":"..."}).
std::string NodeIdOf(const HttpClientResponse& r) {
  if (r.status != 200) return "";
  const nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return "";
  const auto status = j.find("status");
  const auto id = j.find("node_id");
  if (status == j.end() || *status != "ok") return "";
  if (id == j.end() || !id->is_string()) return "";
  return id->get<std::string>();
}

}  // namespace

PeerHealthMonitor::PeerHealthMonitor(const ClusterOptions& options,
                                     const Clock* clock)
    : options_(options),
      clock_(clock),
      roles_(options.node_id, options.peer_apis, options.failover_s * 1000,
             clock->NowMs()),
      warned_(options.peer_apis.size(), false) {
  absl::MutexLock lock(&mu_);
  active_.store(roles_.Active(clock_->NowMs(), nullptr),
                std::memory_order_release);
}

PeerHealthMonitor::~PeerHealthMonitor() { Stop(); }

void PeerHealthMonitor::Start() {
  std::string reason;
  {
    absl::MutexLock lock(&mu_);
    roles_.Active(clock_->NowMs(), &reason);
  }
  spdlog::info("cluster: node {} starts {} for notifications ({})",
               options_.node_id, Active() ? "active" : "standby", reason);
  thread_ = std::thread([this] { Run(); });
}

void PeerHealthMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PeerHealthMonitor::Run() {
  pthread_setname_np(pthread_self(), "peer-health");
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    mu_.Unlock();
    PollOnce();
    mu_.Lock();
    mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                         absl::Milliseconds(kPollMs));
  }
}

void PeerHealthMonitor::PollOnce() {
  for (size_t i = 0; i < options_.peer_apis.size(); ++i) {
    HttpClientRequest request;
    request.url = options_.peer_apis[i];
    while (!request.url.empty() && request.url.back() == '/')
      request.url.pop_back();
    request.url += "/healthz";
    request.timeout_ms = options_.timeout_ms;
    request.max_body_bytes = 4096;
    absl::StatusOr<HttpClientResponse> r = HttpGet(request);
    const std::string node_id = r.ok() ? NodeIdOf(*r) : "";
    const int64_t now = clock_->NowMs();
    absl::MutexLock lock(&mu_);
    if (!node_id.empty()) {
      if (node_id == options_.node_id && !warned_[i]) {
        spdlog::error(
            "cluster: peer {} has this node's node_id \"{}\": node_ids must "
            "differ, or both nodes send every notification",
            roles_.peers()[i].api, node_id);
        warned_[i] = true;
      }
      roles_.Answered(i, node_id, now);
      continue;
    }
    if (r.ok() && !warned_[i]) {
      spdlog::warn(
          "cluster: peer {} answers /healthz without a node_id (HTTP {}): "
          "not a gralarm node with [cluster]; counted unreachable",
          roles_.peers()[i].api, r->status);
      warned_[i] = true;
    }
    roles_.Unreachable(i, now);
  }
  std::string reason;
  bool active;
  {
    absl::MutexLock lock(&mu_);
    active = roles_.Active(clock_->NowMs(), &reason);
  }
  if (active_.exchange(active, std::memory_order_acq_rel) != active) {
    spdlog::warn("cluster: node {} is now {} for notifications ({})",
                 options_.node_id, active ? "active" : "standby", reason);
  }
}

HeldFate PeerHealthMonitor::Fate(int64_t created_ms, int64_t now_ms) const {
  absl::MutexLock lock(&mu_);
  return roles_.Fate(created_ms, now_ms);
}

std::vector<PeerHealthMonitor::PeerStatus> PeerHealthMonitor::Peers() const {
  absl::MutexLock lock(&mu_);
  std::vector<PeerStatus> out;
  for (const PeerRoles::Peer& p : roles_.peers())
    out.push_back({p.api, p.node_id, p.up});
  return out;
}

}  // namespace gralarm
