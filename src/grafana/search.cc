// ParseSearch: the answer of Grafana's GET /api/search.

#include <exception>
#include <nlohmann/json.hpp>

#include "gralarm/grafana.h"
#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

using nlohmann::json;

std::string StringOr(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

absl::StatusOr<std::vector<SearchHit>> ParseSearch(std::string_view text,
                                                   std::string_view base_url) {
  json j;
  try {
    j = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return absl::DataLossError(
        StrCat("Grafana's search answer is not JSON (byte ", e.byte, ")"));
  } catch (const std::exception& e) {
    return absl::DataLossError(
        StrCat("Grafana's search answer is not JSON: ", e.what()));
  }
  if (!j.is_array()) {
    return absl::DataLossError("Grafana's search answer is not a JSON list");
  }
  std::vector<SearchHit> out;
  for (const json& h : j) {
    if (!h.is_object()) continue;
    if (auto type = StringOr(h, "type"); !type.empty() && type != "dash-db") {
      continue;
    }
    SearchHit hit;
    hit.uid = StringOr(h, "uid");
    if (hit.uid.empty()) continue;
    hit.title = StringOr(h, "title");
    hit.folder = StringOr(h, "folderTitle");
    if (auto tags = h.find("tags"); tags != h.end() && tags->is_array()) {
      for (const json& t : *tags) {
        if (t.is_string()) hit.tags.push_back(t.get<std::string>());
      }
    }
    hit.url = StringOr(h, "url");
    if (hit.url.starts_with('/')) hit.url = StrCat(base_url, hit.url);
    if (hit.url.empty()) hit.url = StrCat(base_url, "/d/", hit.uid);
    out.push_back(std::move(hit));
  }
  return out;
}

}  // namespace gralarm::grafana
