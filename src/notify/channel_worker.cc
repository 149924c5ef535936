#include "gralarm/channel_worker.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <optional>
#include <random>

#include "absl/time/time.h"
#include "gralarm/log.h"
#include "gralarm/notify_policy.h"
#include "gralarm/strings.h"
#include "notify/channel.h"

namespace gralarm {
namespace {

// Jitter for the backoff; each worker thread has its own.
uint64_t Random() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return rng();
}

}  // namespace

std::shared_ptr<const Config> NotifyHub::config() const {
  absl::MutexLock lock(&mu_);
  return config_;
}

void NotifyHub::SetConfig(std::shared_ptr<const Config> config) {
  absl::MutexLock lock(&mu_);
  config_ = std::move(config);
  ++wakes_;
}

void NotifyHub::Wake() {
  absl::MutexLock lock(&mu_);
  ++wakes_;
}

void NotifyHub::Stop() {
  absl::MutexLock lock(&mu_);
  stop_.store(true, std::memory_order_release);
  ++wakes_;
}

void NotifyHub::Wait(uint64_t* seen, int64_t timeout_ms) {
  absl::MutexLock lock(&mu_);
  auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return wakes_ != *seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(timeout_ms));
  *seen = wakes_;
}

void NotifyHub::Count(const std::string& channel, const char* result,
                      uint64_t n) {
  absl::MutexLock lock(&counts_mu_);
  counts_[{channel, result}] += n;
}

std::map<std::pair<std::string, std::string>, uint64_t> NotifyHub::Counts()
    const {
  absl::MutexLock lock(&counts_mu_);
  return counts_;
}

ChannelWorker::ChannelWorker(std::string channel, Store* store,
                             const Clock* clock, NotifyHub* hub,
                             ActiveAlertSource active)
    : channel_(std::move(channel)),
      store_(store),
      clock_(clock),
      hub_(hub),
      active_(std::move(active)) {}

ChannelWorker::~ChannelWorker() { Join(); }

void ChannelWorker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ChannelWorker::Join() {
  if (thread_.joinable()) thread_.join();
}

void ChannelWorker::Run() {
  // A command that stops reading its input raises SIGPIPE on this thread:
  // blocked here once, never delivered (SpawnCommand takes it back). HTTP
  // raises none (CURLOPT_NOSIGNAL: MSG_NOSIGNAL writes).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  pthread_setname_np(pthread_self(),
                     StrCat("notify-", channel_).substr(0, 15).c_str());

  uint64_t seen = 0;
  while (!hub_->stopping()) {
    auto config = hub_->config();
    const ChannelOptions* c = config->FindChannel(channel_);
    Channel* channel = ChannelFor(config);
    int64_t next;
    if (c == nullptr && !groups_.empty()) DropGroups();
    const bool holds = Holds(c);
    if (holds && !holding_) ForgetRead();
    holding_ = holds;
    if (holds) {
      // Once a second, not on every wake (a storm wakes the worker often).
      if (clock_->NowMs() >= next_sweep_ms_) {
        SweepHeld(*hub_->gate());
        next_sweep_ms_ = clock_->NowMs() + kSweepMs;
      }
      next = next_sweep_ms_;
    } else if (DeliversGrouped(c, !groups_.empty())) {
      next = DrainGroups(*c, channel);
    } else {
      Refill();
      next = Drain();
    }
    channel = ChannelFor(hub_->config());
    if (channel != nullptr && channel->resends_active() && active_) {
      if (resend_.Due(clock_->NowMs()) && !hub_->stopping()) {
        Resend(*channel);
        resend_.Sent(clock_->NowMs());
      }
      next = std::min(next, resend_.next_ms());
    }
    hub_->Wait(&seen, std::clamp<int64_t>(next - clock_->NowMs(), 10, 1000));
  }
}

Channel* ChannelWorker::ChannelFor(
    const std::shared_ptr<const Config>& config) {
  if (config == made_for_) return channel_impl_.get();
  made_for_ = config;
  channel_impl_.reset();
  channel_error_.clear();
  if (config->FindChannel(channel_) == nullptr) return nullptr;
  absl::StatusOr<std::unique_ptr<Channel>> made =
      MakeChannel(config, channel_, hub_->stop_flag());
  if (!made.ok()) {
    channel_error_ = std::string(made.status().message());
    spdlog::error("{}", channel_error_);
    return nullptr;
  }
  channel_impl_ = *std::move(made);
  return channel_impl_.get();
}

DeliveryResult ChannelWorker::Send(Channel* channel, const OutboxRecord& r) {
  if (channel == nullptr) return {Delivery::kRetry, channel_error_};
  return channel->Send(r);
}

DeliveryResult ChannelWorker::SendGroup(Channel* channel,
                                        const GroupMessage& m) {
  if (channel == nullptr) return {Delivery::kRetry, channel_error_};
  return channel->SendGroup(m);
}

void ChannelWorker::Refill() {
  if (queue_.size() >= kWindow) return;
  // Records below `below` are all written; one above it may still appear
  // below a visible one, so the scan never passes it.
  const uint64_t below = store_->OutboxWrittenBelow();
  if (cursor_ >= below) return;
  uint64_t next = cursor_;
  bool full = false;
  absl::Status s = store_->ScanOutbox(
      [&](const OutboxRecord& r) {
        if (r.seq >= below) return false;
        if (r.channel == channel_) {
          if (queue_.size() >= kWindow) {
            full = true;
            return false;
          }
          queue_.push_back(r);
        }
        next = r.seq + 1;
        return true;
      },
      cursor_);
  if (!s.ok()) {
    spdlog::error("notification channel {}: {}", channel_, s.message());
    cursor_ = next;
    return;
  }
  cursor_ = full ? next : below;
}

bool ChannelWorker::Holds(const ChannelOptions* c) const {
  const NotifyGate* gate = hub_->gate();
  return gate != nullptr && c != nullptr && Gated(*c) && !gate->Active();
}

void ChannelWorker::ForgetRead() {
  queue_.clear();
  groups_ = GroupBatcher();
  group_retry_ = GroupRetry();
  cursor_ = 0;
}

void ChannelWorker::SweepHeld(const NotifyGate& gate) {
  const uint64_t below = store_->OutboxWrittenBelow();
  const int64_t now = clock_->NowMs();
  std::vector<uint64_t> drop;
  absl::Status s = store_->ScanOutbox([&](const OutboxRecord& r) {
    if (r.seq >= below || hub_->stopping()) return false;
    if (r.channel != channel_) return true;
    // Records are created in seq order: the first one held ends the sweep.
    if (gate.Fate(r.created_ms, now) != HeldFate::kDrop) return false;
    drop.push_back(r.seq);
    return drop.size() < kWindow;
  });
  if (!s.ok()) {
    spdlog::error("notification channel {}: {}", channel_, s.message());
  }
  for (uint64_t seq : drop) {
    if (absl::Status d = store_->RemoveOutbox(seq); !d.ok()) {
      spdlog::error("{}", d.message());
    }
  }
  if (!drop.empty()) {
    spdlog::info(
        "{} notifications to channel {} left to the active peer (it was alive "
        "long enough to send them): dropped here",
        drop.size(), channel_);
    hub_->Count(channel_, "left_to_peer", drop.size());
  }
}

void ChannelWorker::Remove() {
  if (absl::Status s = store_->RemoveOutbox(queue_.front().seq); !s.ok()) {
    spdlog::error("{}", s.message());
  }
  queue_.pop_front();
}

int64_t ChannelWorker::Drain() {
  while (!hub_->stopping()) {
    if (queue_.empty()) Refill();
    if (queue_.empty()) break;
    const auto config = hub_->config();
    Channel* channel = ChannelFor(config);
    OutboxRecord& r = queue_.front();
    const int64_t now = clock_->NowMs();
    if (Holds(config->FindChannel(channel_))) break;
    const RecordDue due =
        DueOf(r, config->FindChannel(channel_) != nullptr, now);
    if (due == RecordDue::kUnconfigured || due == RecordDue::kExpired) {
      spdlog::error("notification for {} {} to channel {} {}: dropped",
                    r.alert.rule_id, r.alert.series, r.channel,
                    due == RecordDue::kUnconfigured
                        ? "(channel no longer configured)"
                        : "expired after 24 h");
      hub_->Count(channel_, "expired");
      Remove();
      continue;
    }
    if (due == RecordDue::kWait) return r.next_attempt_ms;
    const DeliveryResult d = Send(channel, r);
    if (d.outcome == Delivery::kDelivered) {
      hub_->Count(channel_, "delivered");
      Remove();
      continue;
    }
    if (d.outcome == Delivery::kRejected) {
      spdlog::error(
          "notification for {} {} to channel {} refused ({}); dropped, not "
          "retried",
          r.alert.rule_id, r.alert.series, r.channel, d.error);
      hub_->Count(channel_, "rejected");
      Remove();
      continue;
    }
    if (hub_->stopping()) break;  // an attempt cut short by Stop()
    hub_->Count(channel_, "failed");
    ++r.attempts;
    r.next_attempt_ms = now + RetryBackoffMs(r.attempts, Random());
    if (LogsFailure(r.attempts)) {
      spdlog::warn(
          "notification for {} {} to channel {} failed ({}), attempt {}; "
          "retrying",
          r.alert.rule_id, r.alert.series, r.channel, d.error, r.attempts);
    }
    if (absl::Status u = store_->UpdateOutbox(r); !u.ok()) {
      spdlog::error("{}", u.message());
    }
    return r.next_attempt_ms;
  }
  return clock_->NowMs() + 1000;
}

void ChannelWorker::RefillGroups(const ChannelOptions& c) {
  // Records of the plain queue (the channel was just made grouped) first.
  const int64_t now = clock_->NowMs();
  for (const OutboxRecord& r : queue_) groups_.Add(r, c, now);
  queue_.clear();
  const uint64_t below = store_->OutboxWrittenBelow();
  if (cursor_ >= below) return;
  uint64_t next = cursor_;
  size_t read = 0;
  bool full = false;
  absl::Status s = store_->ScanOutbox(
      [&](const OutboxRecord& r) {
        if (r.seq >= below) return false;
        if (r.channel == channel_) {
          if (read >= kGroupRead) {
            full = true;
            return false;
          }
          ++read;
          groups_.Add(r, c, now);
        }
        next = r.seq + 1;
        return true;
      },
      cursor_);
  if (!s.ok())
    spdlog::error("notification channel {}: {}", channel_, s.message());
  cursor_ = full || !s.ok() ? next : below;
}

void ChannelWorker::RemoveSeqs(const std::vector<GroupedAlert>& alerts) {
  for (const GroupedAlert& a : alerts) {
    for (uint64_t seq : a.seqs) {
      if (absl::Status s = store_->RemoveOutbox(seq); !s.ok()) {
        spdlog::error("{}", s.message());
      }
    }
  }
}

void ChannelWorker::RemoveSeqs(const GroupMessage& m) { RemoveSeqs(m.alerts); }

void ChannelWorker::DropGroups() {
  const ChannelOptions none;  // every group due at once, no limit
  const int64_t now = clock_->NowMs();
  int64_t next = now;
  size_t dropped = 0;
  while (std::optional<GroupMessage> m = groups_.Take(none, now, 0, &next)) {
    for (const GroupedAlert& a : m->alerts) dropped += a.seqs.size();
    RemoveSeqs(*m);
    groups_.Done(*m, now);
  }
  spdlog::error(
      "{} notifications to channel {} dropped: channel no longer configured",
      dropped, channel_);
  hub_->Count(channel_, "expired", dropped);
}

int64_t ChannelWorker::DrainGroups(const ChannelOptions& configured,
                                   Channel* channel) {
  const ChannelOptions c = GroupingInForce(configured);
  const size_t max_alerts = channel != nullptr ? channel->max_group_alerts()
                                               : GroupBatcher::kMaxAlerts;
  while (!hub_->stopping()) {
    RefillGroups(configured);
    int64_t now = clock_->NowMs();
    if (group_retry_.Waiting(now)) return group_retry_.retry_ms();
    int64_t next = now + 1000;
    if (Holds(&configured)) return now;
    std::optional<GroupMessage> m = groups_.Take(c, now, max_alerts, &next);
    if (!m) return next;
    const DeliveryResult d = SendGroup(channel, *m);
    now = clock_->NowMs();
    if (d.outcome == Delivery::kDelivered) {
      hub_->Count(channel_, "delivered");
      RemoveSeqs(*m);
      groups_.Done(*m, now);
      group_retry_.Succeeded();
      continue;
    }
    if (d.outcome == Delivery::kRejected) {
      spdlog::error(
          "notification of {} alerts ({}) to channel {} refused ({}); dropped, "
          "not retried",
          m->alerts.size(), m->group_key, channel_, d.error);
      hub_->Count(channel_, "rejected");
      RemoveSeqs(*m);
      groups_.Done(*m, now);
      group_retry_.Succeeded();
      continue;
    }
    if (hub_->stopping()) break;  // an attempt cut short by Stop()
    hub_->Count(channel_, "failed");
    const int64_t retry_ms = group_retry_.Failed(now, Random());
    if (LogsFailure(group_retry_.attempts())) {
      spdlog::warn(
          "notification of {} alerts ({}) to channel {} failed ({}), attempt "
          "{}; retrying",
          m->alerts.size(), m->group_key, channel_, d.error,
          group_retry_.attempts());
    }
    const std::vector<GroupedAlert> expired =
        groups_.Failed(std::move(*m), now, kExpiryMs);
    if (!expired.empty()) {
      spdlog::error(
          "{} notifications to channel {} dropped: expired after 24 h",
          expired.size(), channel_);
      hub_->Count(channel_, "expired", expired.size());
      RemoveSeqs(expired);
    }
    return retry_ms;
  }
  return clock_->NowMs() + 1000;
}

void ChannelWorker::Resend(Channel& channel) {
  std::vector<AlertRecord> alerts;
  for (AlertEngine::Notifiable& n : active_()) {
    if (std::find(n.channels.begin(), n.channels.end(), channel_) !=
        n.channels.end()) {
      alerts.push_back(std::move(n.alert));
    }
  }
  for (size_t i = 0; i < alerts.size() && !hub_->stopping();
       i += kResendBatch) {
    const size_t n = std::min(kResendBatch, alerts.size() - i);
    const std::vector<AlertRecord> batch(alerts.begin() + i,
                                         alerts.begin() + i + n);
    const DeliveryResult d = channel.SendActive(batch);
    if (d.outcome == Delivery::kDelivered) {
      hub_->Count(channel_, "resent", n);
    } else if (d.outcome == Delivery::kRejected) {
      // Alertmanager keeps the valid alerts of a batch and refuses the rest.
      hub_->Count(channel_, "rejected", n);
      spdlog::error("re-sending {} active alerts to channel {}: refused ({})",
                    n, channel_, d.error);
    } else {
      if (hub_->stopping()) return;
      hub_->Count(channel_, "failed", n);
      spdlog::warn("re-sending {} active alerts to channel {} failed ({})",
                   alerts.size(), channel_, d.error);
      return;
    }
  }
}

}  // namespace gralarm
