#include "gralarm/notifier.h"

#include "gralarm/log.h"

namespace gralarm {

Notifier::Notifier(Store* store, std::shared_ptr<const Config> config,
                   const Clock* clock)
    : store_(store), clock_(clock), hub_(std::move(config)) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() {
  absl::MutexLock lock(&workers_mu_);
  if (started_ || hub_.stopping()) return;
  started_ = true;
  StartWorkers(*hub_.config());
  DropOrphans();
}

void Notifier::StartWorkers(const Config& config) {
  for (const ChannelOptions& c : config.channels) {
    if (workers_.contains(c.name)) continue;
    auto worker =
        std::make_unique<ChannelWorker>(c.name, store_, clock_, &hub_, active_);
    worker->Start();
    workers_.emplace(c.name, std::move(worker));
  }
}

void Notifier::DropOrphans() {
  constexpr size_t kBatch = 10000;
  std::map<std::string, uint64_t> dropped;
  while (true) {
    std::vector<uint64_t> seqs;
    absl::Status s = store_->ScanOutbox([&](const OutboxRecord& r) {
      if (workers_.contains(r.channel)) return true;
      seqs.push_back(r.seq);
      ++dropped[r.channel];
      return seqs.size() < kBatch;
    });
    for (uint64_t seq : seqs) {
      if (absl::Status d = store_->RemoveOutbox(seq); !d.ok()) {
        spdlog::error("{}", d.message());
        s = d;
      }
    }
    if (!s.ok()) {
      spdlog::error("{}", s.message());
      break;
    }
    if (seqs.size() < kBatch) break;
  }
  for (const auto& [channel, n] : dropped) {
    spdlog::error(
        "{} notifications to channel {} dropped: channel no longer configured",
        n, channel);
    hub_.Count(channel, "expired", n);
  }
}

void Notifier::Stop() {
  hub_.Stop();
  absl::MutexLock lock(&workers_mu_);
  for (auto& [name, worker] : workers_) worker->Join();
}

void Notifier::Wake() { hub_.Wake(); }

void Notifier::SetConfig(std::shared_ptr<const Config> config) {
  hub_.SetConfig(config);
  absl::MutexLock lock(&workers_mu_);
  if (started_ && !hub_.stopping()) StartWorkers(*config);
}

std::map<std::pair<std::string, std::string>, uint64_t> Notifier::Counts()
    const {
  return hub_.Counts();
}

}  // namespace gralarm
