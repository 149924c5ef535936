#include "gralarm/record_sync.h"

#include <algorithm>
#include <chrono>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/sync_http.h"
#include "gralarm/http_client.h"
#include "gralarm/log.h"
#include "gralarm/record_json.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr int64_t kFirstBackoffMs = 500;
constexpr int64_t kMaxBackoffMs = 30000;
// How often the queues are looked at without a Notify() (a write queued by
// another process cannot happen; this only bounds a missed wake-up).
constexpr int64_t kPollMs = 1000;
constexpr char kPath[] = "/api/v1/cluster/records";
constexpr size_t kMaxBatchBytes = 512 << 10;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string Endpoint(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + kPath;
}

// cluster.peer_token, or the first line of cluster.peer_token_file (read at
// each request, so that a rotation takes effect at once).
absl::StatusOr<std::string> PeerToken(const ClusterOptions& c) {
  if (!c.peer_token_file.empty()) return ReadTokenFile(c.peer_token_file);
  return c.peer_token;
}

absl::Status StatusOf(const HttpClientResponse& r, std::string_view what) {
  if (r.status == 200) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat(what, ": HTTP ", r.status, " ", FirstLine(r.body)));
}

}  // namespace

RecordSync::RecordSync(Store* store, AlertService* service,
                       std::function<std::shared_ptr<const Config>()> config)
    : store_(store), service_(service), config_(std::move(config)) {}

RecordSync::~RecordSync() { Stop(); }

void RecordSync::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RecordSync::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RecordSync::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

std::vector<RecordSync::PeerStatus> RecordSync::Peers() {
  const auto config = config_();
  std::vector<PeerStatus> out;
  for (const std::string& url : config->cluster.peer_apis) {
    PeerStatus p;
    p.peer = RedactUrl(url);
    auto queued = store_->SyncQueued(url);
    p.queued = queued.ok() ? *queued : 0;
    absl::MutexLock lock(&mu_);
    auto it = peers_.find(url);
    p.up = it != peers_.end() && it->second.state == Peer::State::kUp;
    p.sent = sent_[url];
    out.push_back(std::move(p));
  }
  return out;
}

void RecordSync::Run() {
  {
    const auto config = config_();
    auto dropped = store_->DropSyncPeersExcept(config->cluster.peer_apis);
    if (!dropped.ok()) {
      spdlog::error("cluster: {}", dropped.status().message());
    } else if (*dropped > 0) {
      spdlog::info(
          "cluster: dropped {} queued records of peers no longer in "
          "cluster.peer_apis",
          *dropped);
    }
  }
  while (true) {
    const auto config = config_();
    const ClusterOptions& cluster = config->cluster;
    int64_t wake_ms = NowMs() + kPollMs;
    for (const std::string& url : cluster.peer_apis) {
      Peer peer;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        peer = peers_[url];
      }
      if (NowMs() >= peer.next_try_ms) {
        const Peer::State before = peer.state;
        if (absl::Status s = Step(url, cluster, &peer); !s.ok()) {
          if (before != Peer::State::kDown) {
            spdlog::warn(
                "cluster: peer {} is unreachable, its records wait in the "
                "sync queue (retrying with backoff): {}",
                RedactUrl(url), s.message());
          }
          peer.state = Peer::State::kDown;
          peer.need_pull = true;
          peer.backoff_ms =
              std::clamp(peer.backoff_ms * 2, kFirstBackoffMs, kMaxBackoffMs);
          peer.next_try_ms = NowMs() + peer.backoff_ms;
        } else {
          if (before != Peer::State::kUp) {
            spdlog::info(
                "cluster: peer {} is reachable and caught up ({} records "
                "sent)",
                RedactUrl(url), peer.sent_since_down);
          }
          peer.state = Peer::State::kUp;
          peer.backoff_ms = 0;
          peer.next_try_ms = 0;
          peer.sent_since_down = 0;
        }
      }
      if (peer.next_try_ms > 0) wake_ms = std::min(wake_ms, peer.next_try_ms);
      absl::MutexLock lock(&mu_);
      peers_[url] = peer;
    }
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || notified_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&wake),
                          absl::FromUnixMillis(wake_ms));
    if (stopping_) return;
    notified_ = false;
  }
}

absl::Status RecordSync::Step(const std::string& url,
                              const ClusterOptions& cluster, Peer* peer) {
  if (peer->need_pull) {
    if (absl::Status s = Pull(url, cluster); !s.ok()) return s;
    peer->need_pull = false;
  }
  return Push(url, cluster, peer);
}

absl::Status RecordSync::Pull(const std::string& url,
                              const ClusterOptions& cluster) {
  auto token = PeerToken(cluster);
  if (!token.ok()) return token.status();
  HttpClientRequest request;
  request.url = Endpoint(url);
  if (!token->empty())
    request.headers.emplace_back("Authorization", StrCat("Bearer ", *token));
  request.timeout_ms = cluster.timeout_ms;
  auto answer = HttpGet(request);
  if (!answer.ok()) return answer.status();
  if (absl::Status s =
          StatusOf(*answer, StrCat("GET ", RedactUrl(request.url)));
      !s.ok()) {
    return s;
  }
  auto records = ParseReplicatedRecords(answer->body);
  if (!records.ok()) {
    return absl::DataLossError(StrCat("GET ", RedactUrl(request.url), ": ",
                                      records.status().message()));
  }
  auto result = service_->ApplyReplicated(std::move(*records));
  if (!result.ok()) return result.status();
  if (result->applied > 0) {
    spdlog::info("cluster: took {} records from peer {} ({} already held)",
                 result->applied, RedactUrl(url), result->ignored);
  }
  return absl::OkStatus();
}

absl::Status RecordSync::Push(const std::string& url,
                              const ClusterOptions& cluster, Peer* peer) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::OkStatus();
    }
    auto entries = store_->SyncQueue(url, kBatchRecords);
    if (!entries.ok()) return entries.status();
    if (entries->empty()) return absl::OkStatus();
    nlohmann::json records = nlohmann::json::array();
    size_t bytes = 0, taken = 0;
    for (const Store::SyncEntry& e : *entries) {
      if (!e.id.empty()) {  // else it did not decode (logged): dropped
        auto r = store_->Record(e.kind, e.id);
        if (!r.ok()) return r.status();
        // None: erased (a first write undone), nothing to send.
        if (*r) {
          nlohmann::json j = ReplicatedRecordJson(**r);
          const size_t size = JsonText(j).size();
          // The peer's API takes bodies up to 1 MiB.
          if (!records.empty() && bytes + size > kMaxBatchBytes) break;
          bytes += size;
          records.push_back(std::move(j));
        }
      }
      ++taken;
    }
    entries->resize(taken);
    if (!records.empty()) {
      auto token = PeerToken(cluster);
      if (!token.ok()) return token.status();
      const std::string endpoint = Endpoint(url);
      auto answer =
          PostJsonWithToken(endpoint, JsonText({{"records", records}}), *token,
                            cluster.timeout_ms);
      if (!answer.ok()) return answer.status();
      if (absl::Status s =
              StatusOf(*answer, StrCat("POST ", RedactUrl(endpoint)));
          !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = store_->RemoveSyncEntries(url, *entries); !s.ok())
      return s;
    peer->sent_since_down += records.size();
    absl::MutexLock lock(&mu_);
    sent_[url] += records.size();
  }
}

}  // namespace gralarm
