// The channel of each transport: payloads, one attempt, and its verdict.
#include "notify/channel.h"

#include <sys/wait.h>

#include "absl/status/status.h"
#include "gralarm/notify_payload.h"
#include "gralarm/strings.h"

namespace gralarm {

DeliveryResult Channel::SendActive(const std::vector<AlertRecord>&) {
  return {Delivery::kRejected,
          StrCat("channel ", options_.name, " is not re-sent active alerts")};
}

DeliveryResult HttpChannel::Classify(const HttpAnswer& answer) {
  if (!answer.error.empty()) return {Delivery::kRetry, answer.error};
  const Delivery outcome = ClassifyHttpStatus(answer.status);
  if (outcome == Delivery::kDelivered) return {outcome, ""};
  return {outcome, StrCat("HTTP ", answer.status,
                          answer.said.empty() ? "" : ": ", answer.said)};
}

DeliveryResult HttpChannel::Post(const std::string& url,
                                 std::string_view body) const {
  return Classify(PostJson(url, body, options().timeout_ms, cancel_));
}

DeliveryResult WebhookChannel::Send(const OutboxRecord& r) {
  return Post(options().url, WebhookPayload(r, config()));
}

DeliveryResult WebhookChannel::SendGroup(const GroupMessage& m) {
  return Post(options().url, GroupWebhookPayload(m, options().name, config()));
}

namespace {

std::string AlertsUrl(const ChannelOptions& c) {
  std::string url = c.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v2/alerts";
}

std::string EventsUrl(const ChannelOptions& c) {
  std::string url = c.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/events/";
}

}  // namespace

AlertmanagerChannel::AlertmanagerChannel(std::shared_ptr<const Config> config,
                                         const ChannelOptions& options,
                                         const std::atomic<bool>* cancel)
    : HttpChannel(std::move(config), options, cancel),
      url_(AlertsUrl(options)) {}

DeliveryResult AlertmanagerChannel::Send(const OutboxRecord& r) {
  return Post(url_, AlertmanagerPayload(r, config()));
}

DeliveryResult AlertmanagerChannel::SendGroup(const GroupMessage& m) {
  return Post(url_, AlertmanagerPayload(m, config()));
}

DeliveryResult AlertmanagerChannel::SendActive(
    const std::vector<AlertRecord>& alerts) {
  return Post(url_, AlertmanagerPayload(alerts, config()));
}

GraphiteEventsChannel::GraphiteEventsChannel(
    std::shared_ptr<const Config> config, const ChannelOptions& options,
    const std::atomic<bool>* cancel)
    : HttpChannel(std::move(config), options, cancel),
      url_(EventsUrl(options)) {}

DeliveryResult GraphiteEventsChannel::Send(const OutboxRecord& r) {
  if (r.reminder) return {Delivery::kDelivered, ""};
  return Post(url_, GraphiteEventPayload(r));
}

DeliveryResult GraphiteEventsChannel::SendGroup(const GroupMessage& m) {
  for (const GroupedAlert& a : m.alerts) {
    DeliveryResult result = Send(a.record);
    if (result.outcome != Delivery::kDelivered) return result;
  }
  return {Delivery::kDelivered, ""};
}

DeliveryResult CommandChannel::Classify(const CommandExit& exit) {
  if (!exit.error.empty()) return {Delivery::kRetry, exit.error};
  const int status = exit.wait_status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return {Delivery::kDelivered, ""};
  }
  return {Delivery::kRetry,
          WIFEXITED(status)
              ? StrCat("exit status ", WEXITSTATUS(status))
              : StrCat("killed by signal ",
                       WIFSIGNALED(status) ? WTERMSIG(status) : 0)};
}

DeliveryResult CommandChannel::Send(const OutboxRecord& r) {
  // argv with placeholders; the alert JSON on stdin.
  return Classify(SpawnCommand(CommandArgs(options(), r),
                               WebhookPayload(r, config()),
                               options().timeout_ms));
}

DeliveryResult CommandChannel::SendGroup(const GroupMessage& m) {
  return Classify(SpawnCommand(GroupCommandArgs(options(), m),
                               GroupWebhookPayload(m, options().name, config()),
                               options().timeout_ms));
}

absl::StatusOr<std::unique_ptr<Channel>> MakeChannel(
    std::shared_ptr<const Config> config, std::string_view name,
    const std::atomic<bool>* cancel) {
  const ChannelOptions* c = config->FindChannel(name);
  if (c == nullptr) {
    return absl::NotFoundError(StrCat("no notification channel ", name));
  }
  if (c->type == "webhook") {
    return std::make_unique<WebhookChannel>(std::move(config), *c, cancel);
  }
  if (c->type == "alertmanager") {
    return std::make_unique<AlertmanagerChannel>(std::move(config), *c, cancel);
  }
  if (c->type == "command") {
    return std::make_unique<CommandChannel>(std::move(config), *c);
  }
  if (c->type == "graphite_events") {
    return std::make_unique<GraphiteEventsChannel>(std::move(config), *c,
                                                   cancel);
  }
  return absl::InvalidArgumentError(StrCat("notification channel ", name,
                                           ": unknown type \"", c->type, "\""));
}

// The transports' attempts, judged as their channels judge them.
DeliveryResult HttpPost(const std::string& url, std::string_view body,
                        int64_t timeout_ms, const std::atomic<bool>* cancel) {
  return HttpChannel::Classify(PostJson(url, body, timeout_ms, cancel));
}

DeliveryResult RunCommand(const std::vector<std::string>& argv,
                          std::string_view input, int64_t timeout_ms) {
  return CommandChannel::Classify(SpawnCommand(argv, input, timeout_ms));
}

}  // namespace gralarm
