// The JSON of replicated records on the cluster endpoints.
#include <nlohmann/json.hpp>

#include "gralarm/record_json.h"
#include "gralarm/record_sync.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"

namespace gralarm {

using nlohmann::json;

json ReplicatedRecordJson(const ReplicatedRecord& r) {
  json j = {{"kind", std::string(RecordKindName(r.kind))},
            {"id", r.id},
            {"updated_ms", r.state.version.updated_ms},
            {"node_id", r.state.version.node_id},
            {"deleted", r.state.deleted}};
  if (r.state.deleted) return j;
  if (r.kind == RecordKind::kSilence) {
    const SilenceRecord& x = r.silence;
    j["value"] = json{{"rule", x.rule},
                      {"series", x.series},
                      {"starts_at_ms", x.starts_at_ms},
                      {"ends_at_ms", x.ends_at_ms},
                      {"created_by", x.created_by},
                      {"comment", x.comment}};
  } else {
    json value = json::parse(r.json, nullptr, /*allow_exceptions=*/false);
    // A stored value that is not JSON (never written by this release) goes
    // as a string, which the receiver refuses.
    j["value"] = value.is_discarded() ? json(r.json) : std::move(value);
  }
  return j;
}

namespace {

absl::Status Bad(size_t index, std::string_view field, std::string_view why) {
  return FieldError(StrCat("records[", index, "].", field), std::string(why));
}

}  // namespace

absl::StatusOr<std::vector<ReplicatedRecord>> ParseReplicatedRecords(
    std::string_view body) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("records") || !j["records"].is_array()) {
    return FieldError("records", "expected {\"records\": [...]}");
  }
  std::vector<ReplicatedRecord> out;
  const json& all = j["records"];
  for (size_t i = 0; i < all.size(); ++i) {
    const json& e = all[i];
    if (!e.is_object()) return Bad(i, "", "expected an object");
    ReplicatedRecord r;
    if (!e.contains("kind") || !e["kind"].is_string() ||
        !ParseRecordKind(e["kind"].get<std::string>(), &r.kind)) {
      return Bad(i, "kind", "must be \"rule\", \"template\" or \"silence\"");
    }
    if (!e.contains("id") || !e["id"].is_string() ||
        e["id"].get<std::string>().empty()) {
      return Bad(i, "id", "must be a non-empty string");
    }
    r.id = e["id"].get<std::string>();
    if (!e.contains("updated_ms") || !e["updated_ms"].is_number_integer()) {
      return Bad(i, "updated_ms", "must be an integer");
    }
    r.state.version.updated_ms = e["updated_ms"].get<int64_t>();
    if (!e.contains("node_id") || !e["node_id"].is_string()) {
      return Bad(i, "node_id", "must be a string");
    }
    r.state.version.node_id = e["node_id"].get<std::string>();
    if (!e.contains("deleted") || !e["deleted"].is_boolean()) {
      return Bad(i, "deleted", "must be true or false");
    }
    r.state.deleted = e["deleted"].get<bool>();
    if (!r.state.deleted) {
      if (!e.contains("value") || !e["value"].is_object()) {
        return Bad(i, "value", "must be an object");
      }
      const json& v = e["value"];
      if (r.kind == RecordKind::kSilence) {
        SilenceRecord& x = r.silence;
        x.id = r.id;
        for (auto [key, out] :
             {std::pair{"rule", &x.rule}, std::pair{"series", &x.series},
              std::pair{"created_by", &x.created_by},
              std::pair{"comment", &x.comment}}) {
          if (!v.contains(key) || !v[key].is_string()) {
            return Bad(i, StrCat("value.", key), "must be a string");
          }
          *out = v[key].get<std::string>();
        }
        for (auto [key, out] : {std::pair{"starts_at_ms", &x.starts_at_ms},
                                std::pair{"ends_at_ms", &x.ends_at_ms}}) {
          if (!v.contains(key) || !v[key].is_number_integer()) {
            return Bad(i, StrCat("value.", key), "must be an integer");
          }
          *out = v[key].get<int64_t>();
        }
      } else {
        r.json = JsonText(v);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace gralarm
