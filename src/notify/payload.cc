// What each kind of channel is sent: Alertmanager's webhook format, the body
// of Alertmanager's POST /api/v2/alerts, and a command's argv.
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>

#include "gralarm/log.h"
#include "gralarm/notify_payload.h"
#include "gralarm/record_json.h"
#include "gralarm/router.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

// What the annotations of one alert of a payload describe.
enum class Kind {
  kFiring,
  kResolved,  // the alert ended
  kReplaced,  // the label set of the level it left (it is still active)
};

// `severity` is the alert's own, or the one of a label set it replaced.
json Labels(const AlertRecord& a, const std::string& severity) {
  json labels = json::object();
  for (const auto& [k, v] : a.labels) labels[k] = v;
  labels["alertname"] = a.rule_id;
  labels["severity"] = severity;
  labels["series"] = a.series;
  return labels;
}

json Annotations(const AlertRecord& a, const std::string& severity, Kind kind) {
  std::string summary;
  switch (kind) {
    case Kind::kFiring:
      summary = StrCat(a.rule_name, ": ", a.series, " is ", severity, " (",
                       a.last_value, ")");
      break;
    case Kind::kResolved:
      summary = StrCat(a.rule_name, ": ", a.series, " resolved (was ", severity,
                       ", now ", a.last_value, ")");
      break;
    case Kind::kReplaced:
      summary = StrCat(a.rule_name, ": ", a.series, " is no longer ", severity,
                       " (now ", a.SeverityName(), ", ", a.last_value, ")");
      break;
  }
  return json{{"summary", summary}, {"value", StrCat(a.last_value)}};
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

json AlertmanagerAlert(const AlertRecord& a, const std::string& severity,
                       int64_t ends_ms, Kind kind, const Config& config) {
  json alert = {{"labels", Labels(a, severity)},
                {"annotations", Annotations(a, severity, kind)},
                {"startsAt", Rfc3339Millis(a.since_ms)},
                {"generatorURL", GeneratorUrl(config)}};
  if (ends_ms > 0) alert["endsAt"] = Rfc3339Millis(ends_ms);
  return alert;
}

}  // namespace

NotifiedLevels LevelsOf(const OutboxRecord& r) {
  const std::string now = r.alert.SeverityName();
  if (r.status == "resolved") return {now, "ok"};
  if (r.reminder) return {now, now};
  return {r.replaces.empty() ? "ok" : r.replaces, now};
}

std::string WebhookPayload(const OutboxRecord& r, const Config& config) {
  const std::string severity = r.alert.SeverityName();
  const Kind kind = r.status == "resolved" ? Kind::kResolved : Kind::kFiring;
  const json labels = Labels(r.alert, severity);
  auto alert = [&](const std::string& status, const std::string& sev,
                   int64_t ends_ms, Kind k) {
    const json l = Labels(r.alert, sev);
    return json{{"status", status},
                {"labels", l},
                {"annotations", Annotations(r.alert, sev, k)},
                {"startsAt", Rfc3339Millis(r.alert.since_ms)},
                {"endsAt",
                 ends_ms > 0 ? Rfc3339Millis(ends_ms) : "0001-01-01T00:00:00Z"},
                {"generatorURL", GeneratorUrl(config)},
                {"fingerprint", Fingerprint(l)}};
  };
  json alerts = json::array({alert(r.status, severity, r.ends_ms, kind)});
  json common_labels = labels;
  if (!r.replaces.empty()) {
    alerts.push_back(
        alert("resolved", r.replaces, r.created_ms, Kind::kReplaced));
    common_labels.erase("severity");
  }
  json group = {{"alertname", r.alert.rule_id}};
  return json{{"version", "4"},
              {"groupKey", StrCat("{}:{alertname=\"", r.alert.rule_id, "\"}")},
              {"truncatedAlerts", 0},
              {"status", r.status},
              {"receiver", r.channel},
              {"groupLabels", group},
              {"commonLabels", common_labels},
              {"commonAnnotations", r.replaces.empty()
                                        ? Annotations(r.alert, severity, kind)
                                        : json::object()},
              {"externalURL", GeneratorUrl(config)},
              {"alerts", std::move(alerts)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config) {
  json alerts = json::array({AlertmanagerAlert(
      r.alert, r.alert.SeverityName(), r.ends_ms,
      r.status == "resolved" ? Kind::kResolved : Kind::kFiring, config)});
  if (!r.replaces.empty()) {
    alerts.push_back(AlertmanagerAlert(r.alert, r.replaces, r.created_ms,
                                       Kind::kReplaced, config));
  }
  return JsonText(alerts);
}

std::string AlertmanagerPayload(const std::vector<AlertRecord>& active,
                                const Config& config) {
  json alerts = json::array();
  for (const AlertRecord& a : active) {
    alerts.push_back(
        AlertmanagerAlert(a, a.SeverityName(), 0, Kind::kFiring, config));
  }
  return JsonText(alerts);
}

std::vector<std::string> CommandArgs(const ChannelOptions& channel,
                                     const OutboxRecord& r) {
  std::string phones;
  for (const std::string& p : channel.phones) {
    phones += (phones.empty() ? "" : ",") + p;
  }
  const NotifiedLevels levels = LevelsOf(r);
  const std::map<std::string_view, std::string> values = {
      {"{phones}", phones},         {"{severity}", r.alert.SeverityName()},
      {"{series}", r.alert.series}, {"{value}", StrCat(r.alert.last_value)},
      {"{rule}", r.alert.rule_id},  {"{status}", r.status},
      {"{from}", levels.from},      {"{to}", levels.to}};
  std::vector<std::string> args;
  for (const std::string& a : channel.command) {
    std::string out;
    for (size_t i = 0; i < a.size();) {
      if (a[i] == '{') {
        const size_t close = a.find('}', i);
        if (close != std::string::npos) {
          auto it = values.find(std::string_view(a).substr(i, close - i + 1));
          if (it != values.end()) {
            out += it->second;
            i = close + 1;
            continue;
          }
        }
      }
      out += a[i++];
    }
    args.push_back(std::move(out));
  }
  return args;
}

}  // namespace gralarm
