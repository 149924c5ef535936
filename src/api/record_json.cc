#include "gralarm/record_json.h"

#include "absl/time/time.h"

namespace gralarm {

using nlohmann::json;

std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ValidUtf8(std::string_view text) {
  // JsonText() applies exactly this rule; reuse it on a string value.
  const std::string quoted = JsonText(nlohmann::json(std::string(text)));
  return nlohmann::json::parse(quoted).get<std::string>();
}

std::string Rfc3339Millis(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

json AlertJson(const AlertRecord& a) {
  json j{{"rule_id", a.rule_id},
         {"rule_name", a.rule_name},
         {"series", a.series},
         {"severity", a.SeverityName()},
         {"value", a.value},
         {"since", Rfc3339Millis(a.since_ms)},
         {"last_value", a.last_value},
         {"last_seen", Rfc3339Millis(a.last_seen_ms)},
         {"labels", a.labels},
         {"silenced", a.silenced},
         {"flapping", a.flapping}};
  if (a.forecast) j["forecast"] = *a.forecast;  // a forecast rule's
  return j;
}

json HistoryJson(const HistoryRecord& h) {
  return json{{"rule_id", h.rule_id},
              {"rule_name", h.rule_name},
              {"series", h.series},
              {"peak_severity", LevelName(h.peak)},
              {"severity", AlertStateName(h.state())},
              {"start", Rfc3339Millis(h.start_ms)},
              {"end", Rfc3339Millis(h.end_ms)},
              {"last_value", h.last_value},
              {"labels", h.labels}};
}

json EventJson(const EventRecord& e) {
  json j{{"rule_id", e.rule_id},
         {"series", e.series},
         {"from", e.from},
         {"to", e.to},
         {"value", e.value},
         {"ts", e.ts},
         {"at", Rfc3339Millis(e.at_ms)}};
  if (e.forecast) j["forecast"] = *e.forecast;  // a forecast rule's
  return j;
}

}  // namespace gralarm
