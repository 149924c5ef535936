#include "gralarm/forwarder.h"

#include <map>

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

}  // namespace

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::Create(
    const Config& config) {
  auto router = Router::Create(config.forward);
  if (!router.ok()) return router.status();
  const std::string spool_root = config.forward.spool_dir.empty()
                                     ? StrCat(config.store.path, "/spool")
                                     : config.forward.spool_dir;
  std::vector<std::shared_ptr<Spool>> spools;
  for (const DestinationOptions& d : config.forward.destinations) {
    spools.emplace_back();
    if (config.forward.spool_max_bytes <= 0) continue;
    auto s =
        SharedSpool(StrCat(spool_root, "/", SpoolDirName(DestinationName(d))),
                    static_cast<uint64_t>(config.forward.spool_max_bytes));
    if (!s.ok()) return s.status();
    spools.back() = std::move(*s);
  }
  std::unique_ptr<Forwarder> f(new Forwarder());
  if (int rc = uv_loop_init(&f->loop_); rc != 0) {
    return absl::InternalError(StrCat("uv_loop_init: ", uv_strerror(rc)));
  }
  f->router_ = std::move(*router);
  for (size_t i = 0; i < config.forward.destinations.size(); ++i) {
    f->destinations_.push_back(std::make_unique<Destination>(
        config.forward.destinations[i], config.forward, &f->loop_,
        std::move(spools[i])));
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
    if (!d->drained()) {
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
  for (auto& d : destinations_) left += d->Abandon();
  if (left > 0) {
    spdlog::error("drain: timed out with {} points undelivered", left);
  } else if (timed_out) {
    spdlog::warn(
        "drain: every point was written, but not every destination confirmed "
        "it by closing its side in time");
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
