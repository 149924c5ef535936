#ifndef GRALARM_SRC_NOTIFY_CHANNEL_H_
#define GRALARM_SRC_NOTIFY_CHANNEL_H_

// The transports a notification channel delivers over. Private to
// src/notify: a ChannelWorker drives a Channel without knowing its transport.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gralarm/config.h"
#include "gralarm/notify_delivery.h"
#include "gralarm/notify_groups.h"
#include "gralarm/store.h"

namespace gralarm {

// One configured channel, as its transport sees it: each implementation builds
// its own payloads, makes one delivery attempt, and says what the attempt came
// to (delivered, retry, or refused for good). An instance is bound to one
// config (the channel's options and the config its payloads name) and used by
// one thread at a time; a reload makes a new one.
class Channel {
 public:
  virtual ~Channel() = default;

  const ChannelOptions& options() const { return options_; }

  // One attempt at one outbox record.
  virtual DeliveryResult Send(const OutboxRecord& r) = 0;
  // One attempt at one message of a grouped channel.
  virtual DeliveryResult SendGroup(const GroupMessage& m) = 0;
  // The most alerts one grouped message may carry (0: no cap).
  virtual size_t max_group_alerts() const { return GroupBatcher::kMaxAlerts; }

  // Whether the channel is re-sent the active alerts of its rules (see
  // ResendSchedule); SendActive() is one attempt at a batch of them.
  virtual bool resends_active() const { return false; }
  virtual DeliveryResult SendActive(const std::vector<AlertRecord>& alerts);

 protected:
  Channel(std::shared_ptr<const Config> config, const ChannelOptions& options)
      : config_(std::move(config)), options_(options) {}

  const Config& config() const { return *config_; }

 private:
  const std::shared_ptr<const Config> config_;
  const ChannelOptions& options_;  // inside *config_
};

// A channel whose receiver answers an HTTP POST.
class HttpChannel : public Channel {
 public:
  // Alertmanager's rule for its receivers (ClassifyHttpStatus); no answer, a
  // timeout or a cancelled attempt is a retry. A refusal's error holds the
  // start of the receiver's answer.
  static DeliveryResult Classify(const HttpAnswer& answer);

 protected:
  HttpChannel(std::shared_ptr<const Config> config,
              const ChannelOptions& options, const std::atomic<bool>* cancel)
      : Channel(std::move(config), options), cancel_(cancel) {}

  // One POST of `body` to `url` within the channel's timeout_ms, cut short
  // when `cancel` turns true.
  DeliveryResult Post(const std::string& url, std::string_view body) const;

 private:
  const std::atomic<bool>* const cancel_;
};

// type = "webhook": Alertmanager's webhook format 4, POSTed to `url`.
class WebhookChannel final : public HttpChannel {
 public:
  WebhookChannel(std::shared_ptr<const Config> config,
                 const ChannelOptions& options, const std::atomic<bool>* cancel)
      : HttpChannel(std::move(config), options, cancel) {}

  DeliveryResult Send(const OutboxRecord& r) override;
  DeliveryResult SendGroup(const GroupMessage& m) override;
};

// type = "alertmanager": POST <url>/api/v2/alerts, and the active alerts
// re-sent.
class AlertmanagerChannel final : public HttpChannel {
 public:
  AlertmanagerChannel(std::shared_ptr<const Config> config,
                      const ChannelOptions& options,
                      const std::atomic<bool>* cancel);

  DeliveryResult Send(const OutboxRecord& r) override;
  // Such a channel is never grouped; this sends what a batcher still held
  // when a reload made a grouped channel an alertmanager one: every alert of
  // the message in one POST.
  DeliveryResult SendGroup(const GroupMessage& m) override;
  bool resends_active() const override { return true; }
  DeliveryResult SendActive(const std::vector<AlertRecord>& alerts) override;

 private:
  const std::string url_;  // <url>/api/v2/alerts
};

// type = "graphite_events": each transition POSTed to <url>/events/ as a
// graphite-web event (GraphiteEventPayload), which Grafana's Graphite
// annotation query shows on panels. `url` is the channel's, or [graphite]
// url (the config parser fills it in). Reminders are no transition: they are
// taken as delivered without a POST.
class GraphiteEventsChannel final : public HttpChannel {
 public:
  GraphiteEventsChannel(std::shared_ptr<const Config> config,
                        const ChannelOptions& options,
                        const std::atomic<bool>* cancel);

  DeliveryResult Send(const OutboxRecord& r) override;
  // Such a channel is never grouped (the config refuses it); this sends what
  // a batcher still held when a reload made a grouped channel a
  // graphite_events one: one event per alert, in order, stopping at the first
  // that is not delivered (a retry sends the whole message again).
  DeliveryResult SendGroup(const GroupMessage& m) override;

 private:
  const std::string url_;  // <url>/events/
};

// type = "command": argv with placeholders, the webhook body on its standard
// input; run once per record (or per grouped message, uncapped).
class CommandChannel final : public Channel {
 public:
  CommandChannel(std::shared_ptr<const Config> config,
                 const ChannelOptions& options)
      : Channel(std::move(config), options) {}

  // Exit status 0 is delivered; anything else, a command that cannot be
  // started, or one killed at its timeout_ms, is a retry (a command cannot
  // say it refuses a notification for good).
  static DeliveryResult Classify(const CommandExit& exit);

  DeliveryResult Send(const OutboxRecord& r) override;
  DeliveryResult SendGroup(const GroupMessage& m) override;
  size_t max_group_alerts() const override { return 0; }
};

// The channel `name` of `config`, of its configured type. NotFound when the
// config has no such channel, InvalidArgument for a type no transport serves
// (the config parser refuses those). `cancel` (may be null) cuts an HTTP
// attempt short; a command is waited for up to its timeout_ms.
absl::StatusOr<std::unique_ptr<Channel>> MakeChannel(
    std::shared_ptr<const Config> config, std::string_view name,
    const std::atomic<bool>* cancel);

}  // namespace gralarm

#endif  // GRALARM_SRC_NOTIFY_CHANNEL_H_
