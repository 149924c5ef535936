#include "gralarm/notifier.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "absl/time/time.h"
#include "gralarm/log.h"
#include "gralarm/record_json.h"
#include "gralarm/router.h"
#include "gralarm/strings.h"

extern char** environ;

namespace gralarm {
namespace {

using nlohmann::json;

// `severity` is the alert's own, or the one of a label set it replaced.
json Labels(const AlertRecord& a, const std::string& severity) {
  json labels = json::object();
  for (const auto& [k, v] : a.labels) labels[k] = v;
  labels["alertname"] = a.rule_id;
  labels["severity"] = severity;
  labels["series"] = a.series;
  return labels;
}

json Annotations(const AlertRecord& a, const std::string& severity) {
  return json{{"summary", StrCat(a.rule_name, ": ", a.series, " is ", severity,
                                 " (", a.last_value, ")")},
              {"value", StrCat(a.last_value)}};
}

std::string GeneratorUrl(const Config& c) {
  return StrCat("http://", c.api.listen, "/");
}

std::string Fingerprint(const json& labels) {
  std::string text;
  for (auto it = labels.begin(); it != labels.end(); ++it) {  // sorted by key
    text += it.key() + "=" + it.value().get<std::string>() + "\n";
  }
  return fmt::format("{:016x}", Fnv1a64(text));
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

std::string AlertmanagerUrl(const ChannelOptions& c) {
  std::string url = c.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/api/v2/alerts";
}

}  // namespace

std::string WebhookPayload(const OutboxRecord& r, const Config& config) {
  const std::string severity = r.alert.SeverityName();
  const json labels = Labels(r.alert, severity);
  auto alert = [&](const std::string& status, const std::string& sev,
                   int64_t ends_ms) {
    const json l = Labels(r.alert, sev);
    return json{{"status", status},
                {"labels", l},
                {"annotations", Annotations(r.alert, sev)},
                {"startsAt", Rfc3339Millis(r.alert.since_ms)},
                {"endsAt",
                 ends_ms > 0 ? Rfc3339Millis(ends_ms) : "0001-01-01T00:00:00Z"},
                {"generatorURL", GeneratorUrl(config)},
                {"fingerprint", Fingerprint(l)}};
  };
  json alerts = json::array({alert(r.status, severity, r.ends_ms)});
  json common_labels = labels;
  if (!r.replaces.empty()) {
    alerts.push_back(alert("resolved", r.replaces, r.created_ms));
    common_labels.erase("severity");
  }
  json group = {{"alertname", r.alert.rule_id}};
  return json{
      {"version", "4"},
      {"groupKey", StrCat("{}:{alertname=\"", r.alert.rule_id, "\"}")},
      {"truncatedAlerts", 0},
      {"status", r.status},
      {"receiver", r.channel},
      {"groupLabels", group},
      {"commonLabels", common_labels},
      {"commonAnnotations",
       r.replaces.empty() ? Annotations(r.alert, severity) : json::object()},
      {"externalURL", GeneratorUrl(config)},
      {"alerts", std::move(alerts)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

json AlertmanagerAlert(const AlertRecord& a, const std::string& severity,
                       int64_t ends_ms, const Config& config) {
  json alert = {{"labels", Labels(a, severity)},
                {"annotations", Annotations(a, severity)},
                {"startsAt", Rfc3339Millis(a.since_ms)},
                {"generatorURL", GeneratorUrl(config)}};
  if (ends_ms > 0) alert["endsAt"] = Rfc3339Millis(ends_ms);
  return alert;
}

}  // namespace

std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config) {
  json alerts = json::array(
      {AlertmanagerAlert(r.alert, r.alert.SeverityName(), r.ends_ms, config)});
  if (!r.replaces.empty()) {
    alerts.push_back(
        AlertmanagerAlert(r.alert, r.replaces, r.created_ms, config));
  }
  return JsonText(alerts);
}

std::string AlertmanagerPayload(const std::vector<AlertRecord>& active,
                                const Config& config) {
  json alerts = json::array();
  for (const AlertRecord& a : active) {
    alerts.push_back(AlertmanagerAlert(a, a.SeverityName(), 0, config));
  }
  return JsonText(alerts);
}

Notifier::Notifier(Store* store, std::shared_ptr<const Config> config,
                   const Clock* clock)
    : store_(store), clock_(clock), config_(std::move(config)) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_ = std::thread([this] { Run(); });
}

void Notifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Notifier::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Notifier::SetConfig(std::shared_ptr<const Config> config) {
  absl::MutexLock lock(&mu_);
  config_ = std::move(config);
  wake_ = true;
}

std::map<std::pair<std::string, std::string>, uint64_t> Notifier::Counts()
    const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

void Notifier::Count(const std::string& channel, const char* result,
                     uint64_t n) {
  absl::MutexLock lock(&mu_);
  counts_[{channel, result}] += n;
}

void Notifier::Run() {
  while (true) {
    int64_t next = Pass();
    if (active_ && clock_->NowMs() >= next_resend_ms_) {
      std::shared_ptr<const Config> config;
      {
        absl::MutexLock lock(&mu_);
        config = config_;
      }
      Resend(*config);
      next_resend_ms_ = clock_->NowMs() + kResendMs;
    }
    next = std::min(next, next_resend_ms_);
    const int64_t wait_ms =
        std::clamp<int64_t>(next - clock_->NowMs(), 10, 1000);
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return wake_ || stop_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(wait_ms));
    if (stop_) return;
    wake_ = false;
  }
}

int64_t Notifier::Pass() {
  std::shared_ptr<const Config> config;
  {
    absl::MutexLock lock(&mu_);
    config = config_;
  }
  const int64_t now = clock_->NowMs();
  int64_t next = now + 1000;
  std::set<std::string> blocked;  // channels whose earlier record still waits
  std::vector<OutboxRecord> todo;
  absl::Status s = store_->ScanOutbox([&](const OutboxRecord& r) {
    todo.push_back(r);
    return todo.size() < 10000;
  });
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return next;
  }
  thread_local std::minstd_rand rng(std::random_device{}());
  for (OutboxRecord& r : todo) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return next;
    }
    if (blocked.contains(r.channel)) continue;
    const ChannelOptions* channel = config->FindChannel(r.channel);
    if (channel == nullptr || now - r.created_ms > kExpiryMs) {
      spdlog::error("notification for {} {} to channel {} {}: dropped",
                    r.alert.rule_id, r.alert.series, r.channel,
                    channel == nullptr ? "(channel no longer configured)"
                                       : "expired after 24 h");
      Count(r.channel, "expired");
      if (absl::Status d = store_->RemoveOutbox(r.seq); !d.ok())
        spdlog::error("{}", d.message());
      continue;
    }
    if (r.next_attempt_ms > now) {
      blocked.insert(r.channel);
      next = std::min(next, r.next_attempt_ms);
      continue;
    }
    std::string error;
    if (Deliver(r, *config, *channel, &error)) {
      Count(r.channel, "delivered");
      if (absl::Status d = store_->RemoveOutbox(r.seq); !d.ok())
        spdlog::error("{}", d.message());
      continue;
    }
    Count(r.channel, "failed");
    ++r.attempts;
    int64_t backoff = 1000;
    for (int i = 1; i < r.attempts && backoff < 300000; ++i) backoff *= 2;
    backoff = std::min<int64_t>(backoff, 300000);
    r.next_attempt_ms =
        now + backoff / 2 + static_cast<int64_t>(rng() % (backoff / 2 + 1));
    if (r.attempts == 1 || r.attempts % 10 == 0) {
      spdlog::warn(
          "notification for {} {} to channel {} failed ({}), attempt {}; "
          "retrying",
          r.alert.rule_id, r.alert.series, r.channel, error, r.attempts);
    }
    if (absl::Status u = store_->UpdateOutbox(r); !u.ok())
      spdlog::error("{}", u.message());
    blocked.insert(r.channel);
    next = std::min(next, r.next_attempt_ms);
  }
  return next;
}

bool Notifier::Deliver(const OutboxRecord& r, const Config& config,
                       const ChannelOptions& c, std::string* error) {
  if (c.type == "command") {
    // argv with placeholders; the alert JSON on stdin; exit 0 = delivered.
    const std::string phones = [&] {
      std::string p;
      for (const std::string& x : c.phones) p += (p.empty() ? "" : ",") + x;
      return p;
    }();
    std::vector<std::string> args;
    for (std::string a : c.command) {
      for (auto [key, value] :
           {std::pair<std::string, std::string>{"{phones}", phones},
            {"{severity}", r.alert.SeverityName()},
            {"{series}", r.alert.series},
            {"{value}", StrCat(r.alert.last_value)},
            {"{rule}", r.alert.rule_id}}) {
        for (size_t pos = a.find(key); pos != std::string::npos;
             pos = a.find(key, pos)) {
          a.replace(pos, key.size(), value);
          pos += value.size();
        }
      }
      args.push_back(std::move(a));
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
      *error = "pipe failed";
      return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    pid_t pid;
    int rc =
        posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    if (rc != 0) {
      close(in[1]);
      *error = StrCat("cannot run ", args[0], ": ", strerror(rc));
      return false;
    }
    const std::string body = WebhookPayload(r, config);
    signal(SIGPIPE, SIG_IGN);
    (void)!write(in[1], body.data(), body.size());
    close(in[1]);
    const int64_t deadline = clock_->NowMs() + c.timeout_ms;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (clock_->NowMs() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        *error = StrCat("timed out after ", c.timeout_ms, " ms");
        return false;
      }
      usleep(5000);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    *error =
        StrCat("exit status ", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return false;
  }
  const bool am = c.type == "alertmanager";
  return Post(am ? AlertmanagerUrl(c) : c.url,
              am ? AlertmanagerPayload(r, config) : WebhookPayload(r, config),
              c.timeout_ms, error);
}

void Notifier::Resend(const Config& config) {
  bool any = false;
  for (const ChannelOptions& c : config.channels)
    any = any || c.type == "alertmanager";
  if (!any) return;
  std::map<std::string, std::vector<AlertRecord>> by_channel;
  for (AlertEngine::Notifiable& n : active_()) {
    for (const std::string& name : n.channels) {
      const ChannelOptions* c = config.FindChannel(name);
      if (c != nullptr && c->type == "alertmanager")
        by_channel[name].push_back(n.alert);
    }
  }
  for (const auto& [name, alerts] : by_channel) {
    const ChannelOptions& c = *config.FindChannel(name);
    for (size_t i = 0; i < alerts.size(); i += kResendBatch) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
      }
      const size_t n = std::min(kResendBatch, alerts.size() - i);
      std::vector<AlertRecord> batch(alerts.begin() + i,
                                     alerts.begin() + i + n);
      std::string error;
      if (Post(AlertmanagerUrl(c), AlertmanagerPayload(batch, config),
               c.timeout_ms, &error)) {
        Count(name, "resent", n);
      } else {
        Count(name, "failed", n);
        spdlog::warn("re-sending {} active alerts to channel {} failed ({})",
                     alerts.size(), name, error);
        break;
      }
    }
  }
}

bool Notifier::Post(const std::string& url, const std::string& body,
                    int64_t timeout_ms, std::string* error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *error = "curl_easy_init failed";
    return false;
  }
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  CURLcode res = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (res != CURLE_OK) {
    *error = curl_easy_strerror(res);
    return false;
  }
  if (code < 200 || code >= 300) {
    *error = StrCat("HTTP ", code);
    return false;
  }
  return true;
}

}  // namespace gralarm
