// What each kind of channel is sent: Alertmanager's webhook format, the body
// of Alertmanager's POST /api/v2/alerts, and a command's argv.
#include <algorithm>
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
  json annotations = {{"summary", summary}, {"value", StrCat(a.last_value)}};
  if (a.forecast && kind == Kind::kFiring && !a.flapping) {
    // A forecast rule's alert: its thresholds were compared with the forecast.
    annotations["summary"] =
        StrCat(a.rule_name, ": ", a.series, " is forecast ", severity, " (",
               *a.forecast, " predicted; now ", a.last_value, ")");
  }
  if (a.forecast) annotations["forecast"] = StrCat(*a.forecast);
  if (a.flapping && kind != Kind::kReplaced) {
    annotations["summary"] =
        StrCat(a.rule_name, ": ", a.series, " is flapping (now ",
               kind == Kind::kResolved ? "ok" : a.SeverityName(), ", ",
               a.last_value, "); told again once it is stable");
    annotations["flapping"] = "true";
  }
  return annotations;
}

std::string GeneratorUrl(const Config& c) {
  return StrCat("http://", c.api.listen, "/");
}

// The generatorURL of one alert: its rule's Grafana panel when it has one.
std::string GeneratorUrl(const AlertRecord& a, const Config& c) {
  return a.generator_url.empty() ? GeneratorUrl(c) : a.generator_url;
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
                {"generatorURL", GeneratorUrl(a, config)}};
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

namespace {

// The webhook alerts of one record: the alert, and the label set it replaces.
void AppendWebhookAlerts(const OutboxRecord& r, const Config& config,
                         json* alerts) {
  const std::string severity = r.alert.SeverityName();
  const Kind kind = r.status == "resolved" ? Kind::kResolved : Kind::kFiring;
  auto alert = [&](const std::string& status, const std::string& sev,
                   int64_t ends_ms, Kind k) {
    const json l = Labels(r.alert, sev);
    return json{{"status", status},
                {"labels", l},
                {"annotations", Annotations(r.alert, sev, k)},
                {"startsAt", Rfc3339Millis(r.alert.since_ms)},
                {"endsAt",
                 ends_ms > 0 ? Rfc3339Millis(ends_ms) : "0001-01-01T00:00:00Z"},
                {"generatorURL", GeneratorUrl(r.alert, config)},
                {"fingerprint", Fingerprint(l)}};
  };
  alerts->push_back(alert(r.status, severity, r.ends_ms, kind));
  if (!r.replaces.empty()) {
    alerts->push_back(
        alert("resolved", r.replaces, r.created_ms, Kind::kReplaced));
  }
}

// The entries of `key` that every alert has with the same value.
json Common(const json& alerts, const char* key) {
  json common = json::object();
  bool first = true;
  for (const json& a : alerts) {
    const json& m = a[key];
    if (first) {
      common = m;
      first = false;
      continue;
    }
    for (auto it = common.begin(); it != common.end();) {
      auto found = m.find(it.key());
      if (found == m.end() || *found != it.value()) {
        it = common.erase(it);
      } else {
        ++it;
      }
    }
  }
  return common;
}

std::string WebhookBody(const json& alerts, const std::string& group_key,
                        const json& group_labels, size_t truncated,
                        const std::string& receiver, const Config& config) {
  bool firing = false;
  for (const json& a : alerts) firing = firing || a["status"] == "firing";
  return json{{"version", "4"},
              {"groupKey", group_key},
              {"truncatedAlerts", truncated},
              {"status", firing ? "firing" : "resolved"},
              {"receiver", receiver},
              {"groupLabels", group_labels},
              {"commonLabels", Common(alerts, "labels")},
              {"commonAnnotations", Common(alerts, "annotations")},
              {"externalURL", GeneratorUrl(config)},
              {"alerts", alerts}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

// Firing alerts first, the most severe first, then the resolved ones.
std::vector<const OutboxRecord*> Ordered(const GroupMessage& m) {
  std::vector<const OutboxRecord*> out;
  for (const GroupedAlert& a : m.alerts) out.push_back(&a.record);
  std::stable_sort(
      out.begin(), out.end(), [](const OutboxRecord* a, const OutboxRecord* b) {
        auto rank = [](const OutboxRecord* r) {
          if (r->status == "resolved") return 0;
          return r->alert.nodata ? 1 : 2 + static_cast<int>(r->alert.severity);
        };
        return rank(a) > rank(b);
      });
  return out;
}

// Replaces each {placeholder} of `channel.command` found in `values`.
std::vector<std::string> Substitute(
    const ChannelOptions& channel,
    const std::map<std::string_view, std::string>& values) {
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

std::string Phones(const ChannelOptions& channel) {
  std::string phones;
  for (const std::string& p : channel.phones) {
    phones += (phones.empty() ? "" : ",") + p;
  }
  return phones;
}

std::map<std::string_view, std::string> AlertValues(
    const ChannelOptions& channel, const OutboxRecord& r) {
  const NotifiedLevels levels = LevelsOf(r);
  return {{"{phones}", Phones(channel)},
          {"{severity}", r.alert.SeverityName()},
          {"{series}", r.alert.series},
          {"{value}", StrCat(r.alert.last_value)},
          {"{rule}", r.alert.rule_id},
          {"{status}", r.status},
          {"{from}", levels.from},
          {"{to}", levels.to},
          {"{flapping}", r.alert.flapping ? "flapping" : ""},
          {"{forecast}",
           r.alert.forecast ? StrCat(*r.alert.forecast) : std::string()}};
}

}  // namespace

std::string WebhookPayload(const OutboxRecord& r, const Config& config) {
  json alerts = json::array();
  AppendWebhookAlerts(r, config, &alerts);
  return WebhookBody(alerts, StrCat("{}:{alertname=\"", r.alert.rule_id, "\"}"),
                     json{{"alertname", r.alert.rule_id}}, 0, r.channel,
                     config);
}

std::string GroupWebhookPayload(const GroupMessage& m,
                                const std::string& channel,
                                const Config& config) {
  json alerts = json::array();
  for (const OutboxRecord* r : Ordered(m)) {
    AppendWebhookAlerts(*r, config, &alerts);
  }
  json labels = json::object();
  for (const auto& [k, v] : m.group_labels) labels[k] = v;
  return WebhookBody(alerts, m.group_key, labels, m.truncated, channel, config);
}

std::string GroupSummary(const GroupMessage& m) {
  static constexpr size_t kNamed = 3;
  const std::vector<const OutboxRecord*> ordered = Ordered(m);
  std::map<int, size_t> firing;  // by rank, most severe first
  size_t resolved = 0;
  std::map<int, std::string> names;
  for (const OutboxRecord* r : ordered) {
    if (r->status == "resolved") {
      ++resolved;
      continue;
    }
    const int rank =
        r->alert.nodata ? 0 : 1 + static_cast<int>(r->alert.severity);
    ++firing[-rank];
    names[-rank] = r->alert.SeverityName();
  }
  std::string text;
  for (const auto& [rank, n] : firing) {
    text += StrCat(text.empty() ? "" : ", ", n, " ", names[rank]);
  }
  if (resolved > 0) {
    text += StrCat(text.empty() ? "" : ", ", resolved, " resolved");
  }
  for (size_t i = 0; i < ordered.size() && i < kNamed; ++i) {
    text += StrCat(i == 0 ? ": " : ", ", ordered[i]->alert.rule_id, " on ",
                   ordered[i]->alert.series,
                   ordered[i]->alert.flapping ? " (flapping)" : "");
  }
  if (ordered.size() > kNamed || m.truncated > 0) text += ", ...";
  return text;
}

std::vector<std::string> GroupCommandArgs(const ChannelOptions& channel,
                                          const GroupMessage& m) {
  const std::vector<const OutboxRecord*> ordered = Ordered(m);
  std::map<std::string_view, std::string> values;
  if (!ordered.empty()) values = AlertValues(channel, *ordered.front());
  size_t firing = 0;
  for (const OutboxRecord* r : ordered) firing += r->status != "resolved";
  values["{phones}"] = Phones(channel);
  values["{count}"] = StrCat(ordered.size() + m.truncated);
  values["{firing}"] = StrCat(firing);
  values["{resolved}"] = StrCat(ordered.size() - firing);
  values["{summary}"] = GroupSummary(m);
  values["{status}"] = firing > 0 ? "firing" : "resolved";
  return Substitute(channel, values);
}

namespace {

// The Alertmanager alerts of one record: the alert, and the label set it
// replaces.
void AppendAlertmanagerAlerts(const OutboxRecord& r, const Config& config,
                              json* alerts) {
  alerts->push_back(AlertmanagerAlert(
      r.alert, r.alert.SeverityName(), r.ends_ms,
      r.status == "resolved" ? Kind::kResolved : Kind::kFiring, config));
  if (!r.replaces.empty()) {
    alerts->push_back(AlertmanagerAlert(r.alert, r.replaces, r.created_ms,
                                        Kind::kReplaced, config));
  }
}

}  // namespace

std::string AlertmanagerPayload(const OutboxRecord& r, const Config& config) {
  json alerts = json::array();
  AppendAlertmanagerAlerts(r, config, &alerts);
  return JsonText(alerts);
}

std::string AlertmanagerPayload(const GroupMessage& m, const Config& config) {
  json alerts = json::array();
  for (const OutboxRecord* r : Ordered(m)) {
    AppendAlertmanagerAlerts(*r, config, &alerts);
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
  return Substitute(channel, AlertValues(channel, r));
}

std::string GraphiteEventPayload(const OutboxRecord& r) {
  // graphite-web's Event.what is a CharField(max_length=255).
  constexpr size_t kMaxWhat = 255;
  const NotifiedLevels levels = LevelsOf(r);
  std::string what = ValidUtf8(
      StrCat(r.alert.rule_name, ": ", levels.from, " -> ", levels.to));
  if (what.size() > kMaxWhat) {
    size_t cut = kMaxWhat;
    // Not inside a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(what[cut]) & 0xc0) == 0x80) {
      --cut;
    }
    what.resize(cut);
  }
  const int64_t at_ms =
      r.status == "resolved" && r.ends_ms > 0 ? r.ends_ms : r.created_ms;
  json event = {
      {"what", what},
      {"tags",
       json::array({"gralarm", r.alert.rule_id, r.alert.SeverityName()})},
      {"data", ValidUtf8(StrCat(r.alert.series, " = ", r.alert.last_value,
                                r.alert.forecast
                                    ? StrCat(", forecast ", *r.alert.forecast)
                                    : std::string()))},
      {"when", at_ms / 1000}};
  return JsonText(event);
}

}  // namespace gralarm
