#include "gralarm/forwarder.h"

#include <map>

#include "gralarm/net_address.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

// One Spool per directory in the process, shared by the forwarders of
// successive configurations (SIGHUP builds a new forwarder beside the old).
absl::StatusOr<std::shared_ptr<Spool>> SharedSpool(const std::string& dir,
                                                   uint64_t max_bytes) {
  static absl::Mutex mu;
  static auto* spools = new std::map<std::string, std::weak_ptr<Spool>>();
  absl::MutexLock lock(&mu);
  if (auto open = (*spools)[dir].lock()) return open;
  auto spool = Spool::Open(dir, max_bytes);
  if (!spool.ok()) return spool.status();
  std::shared_ptr<Spool> shared = std::move(*spool);
  (*spools)[dir] = shared;
  return shared;
}

// A destination's spool directory name: its DestinationName() without the
// brackets of an IPv6 address and with anything else but [A-Za-z0-9.-] made
// '_' ("[::1]:2003" spools in "__1_2003", where it always has).
std::string SpoolDirName(const std::string& destination) {
  std::string out;
  for (char c : destination) {
    if (c == '[' || c == ']') continue;
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    out += keep ? c : '_';
  }
  return out;
}

// The root of every spool directory: forward.spool_dir, or store.path/spool.
std::string SpoolRoot(const Config& config) {
  return config.forward.spool_dir.empty() ? StrCat(config.store.path, "/spool")
                                          : config.forward.spool_dir;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::Create(
    const Config& config) {
  return Build(config.forward, SpoolRoot(config), "");
}

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::CreatePeerLinks(
    const Config& config) {
  ForwardOptions forward = config.forward;
  forward.method = ForwardMethod::kForward;
  forward.replication = 1;
  forward.destinations.clear();
  for (const std::string& peer : config.cluster.peers) {
    auto hp = ParseHostPort(peer);
    if (!hp.ok()) return hp.status();
    DestinationOptions d;
    d.address = peer;
    d.host = hp->host;
    d.port = hp->port;
    forward.destinations.push_back(std::move(d));
  }
  // A carbon destination's spool directory always ends in "_<port>", so
  // "peers" never is one.
  auto links = Build(forward, StrCat(SpoolRoot(config), "/peers"), "peer:");
  if (links.ok()) (*links)->drain_waits_for_down_ = false;
  return links;
}

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::Build(
    const ForwardOptions& forward, const std::string& spool_dir,
    const std::string& name_prefix) {
  auto router = Router::Create(forward);
  if (!router.ok()) return router.status();
  std::vector<std::shared_ptr<Spool>> spools;
  for (const DestinationOptions& d : forward.destinations) {
    spools.emplace_back();
    if (forward.spool_max_bytes <= 0 || spool_dir.empty()) continue;
    auto s =
        SharedSpool(StrCat(spool_dir, "/", SpoolDirName(DestinationName(d))),
                    static_cast<uint64_t>(forward.spool_max_bytes));
    if (!s.ok()) return s.status();
    spools.back() = std::move(*s);
  }
  std::unique_ptr<Forwarder> f(new Forwarder());
  if (int rc = uv_loop_init(&f->loop_); rc != 0) {
    return absl::InternalError(StrCat("uv_loop_init: ", uv_strerror(rc)));
  }
  f->router_ = std::move(*router);
  for (size_t i = 0; i < forward.destinations.size(); ++i) {
    const DestinationOptions& d = forward.destinations[i];
    f->destinations_.push_back(std::make_unique<Destination>(
        d, forward, &f->loop_, std::move(spools[i]),
        name_prefix.empty() ? "" : StrCat(name_prefix, DestinationName(d))));
  }
  std::vector<const std::atomic<bool>*> up;
  for (auto& d : f->destinations_) up.push_back(&d->counters().up);
  f->liveness_ = Liveness(std::move(up));
  uv_async_init(&f->loop_, &f->wake_, &Forwarder::OnWake);
  f->wake_.data = f.get();
  uv_async_init(&f->loop_, &f->stop_, &Forwarder::OnStop);
  f->stop_.data = f.get();
  uv_timer_init(&f->loop_, &f->drain_timer_);
  f->drain_timer_.data = f.get();
  uv_timer_init(&f->loop_, &f->tick_timer_);
  f->tick_timer_.data = f.get();
  return f;
}

Forwarder::~Forwarder() {
  if (started_) {
    Drain(std::chrono::milliseconds(0));
  } else if (!ran_) {
    // Never ran: close the handles on a loop that was never started.
    uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop_);
}

void Forwarder::SetTicker(std::chrono::milliseconds interval, Ticker ticker) {
  tick_interval_ = interval;
  ticker_ = std::move(ticker);
}

void Forwarder::Start() {
  started_ = true;
  ran_ = true;
  thread_ = std::thread([this] {
    for (auto& d : destinations_) d->Start();
    if (ticker_ && tick_interval_.count() > 0) {
      uv_timer_start(&tick_timer_, &Forwarder::OnTick,
                     static_cast<uint64_t>(tick_interval_.count()),
                     static_cast<uint64_t>(tick_interval_.count()));
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
}

void Forwarder::Wake() { uv_async_send(&wake_); }

void Forwarder::OnWake(uv_async_t* async) {
  auto* self = static_cast<Forwarder*>(async->data);
  for (auto& d : self->destinations_) d->Pump();
}

void Forwarder::OnTick(uv_timer_t* timer) {
  auto* self = static_cast<Forwarder*>(timer->data);
  self->ticker_(self);
  for (auto& d : self->destinations_) d->Pump();
}

void Forwarder::Drain(std::chrono::milliseconds timeout, bool include_spool) {
  if (!started_) return;
  drain_deadline_ = std::chrono::steady_clock::now() + timeout;
  drain_spool_ = include_spool;
  uv_async_send(&stop_);
  thread_.join();
  started_ = false;
}

void Forwarder::OnStop(uv_async_t* async) {
  auto* self = static_cast<Forwarder*>(async->data);
  uv_timer_stop(&self->tick_timer_);
  for (auto& d : self->destinations_) d->BeginDrain(self->drain_spool_);
  uv_timer_start(&self->drain_timer_, &Forwarder::OnCheckDrain, 0, 20);
}

void Forwarder::OnCheckDrain(uv_timer_t* timer) {
  auto* self = static_cast<Forwarder*>(timer->data);
  // Lines enqueued after the drain began (late self-metrics) still get pumped.
  bool all = true;
  for (auto& d : self->destinations_) {
    if (!d->drained() && (self->drain_waits_for_down_ || d->up())) {
      d->Pump();
      all = false;
    }
  }
  const bool timed_out =
      std::chrono::steady_clock::now() >= self->drain_deadline_;
  if (all || timed_out) self->FinishDrain(timed_out && !all);
}

void Forwarder::FinishDrain(bool timed_out) {
  uint64_t left = 0;
  bool skipped = false;  // a peer link that was down
  for (auto& d : destinations_) {
    skipped = skipped || !d->drained();
    left += d->Abandon();
  }
  if (left > 0) {
    spdlog::error("drain: timed out with {} points undelivered", left);
  } else if (timed_out) {
    spdlog::warn(
        "drain: every point was written, but not every destination confirmed "
        "it by closing its side in time");
  } else if (skipped) {
    spdlog::info(
        "drain: every peer link that is up confirmed delivery; the copies for "
        "the others wait in their spools");
  } else {
    spdlog::info("drain: every destination confirmed delivery");
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  // uv_run returns once the handles above finish closing.
}

void Forwarder::AddToSnapshot(StatsSnapshot* s) {
  for (auto& d : destinations_) s->AddDestination(d->name(), d->counters());
}

}  // namespace gralarm
