// GrafanaClient: GET /api/search and GET /api/dashboards/uid/<uid> with a
// Bearer token.

#include <map>

#include "gralarm/grafana.h"
#include "gralarm/http_client.h"
#include "gralarm/strings.h"

namespace gralarm::grafana {

GrafanaClient::GrafanaClient(const GrafanaOptions& options)
    : url_(options.url),
      token_(options.token),
      timeout_ms_(options.timeout_ms) {
  while (url_.ends_with('/')) url_.pop_back();
}

absl::StatusOr<std::string> GrafanaClient::Get(std::string_view path_and_query,
                                               std::string_view what) const {
  HttpClientRequest request;
  request.url = StrCat(url_, path_and_query);
  request.timeout_ms = timeout_ms_;
  request.max_body_bytes = 64u << 20;
  request.headers.emplace_back("Accept", "application/json");
  if (!token_.empty()) {
    request.headers.emplace_back("Authorization", StrCat("Bearer ", token_));
  }
  auto response = HttpGet(request);
  const std::string where = RedactUrl(url_);
  if (!response.ok()) {
    const absl::Status& s = response.status();
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      return absl::DataLossError(
          StrCat("Grafana at ", where, ": ", what, " answer too large"));
    }
    return absl::UnavailableError(StrCat(
        "Grafana at ", where, " does not answer (", what, "): ", s.message()));
  }
  if (response->status == 401 || response->status == 403) {
    return absl::PermissionDeniedError(StrCat(
        "Grafana at ", where, " refused the token (HTTP ", response->status,
        ") for ", what, ": check [grafana] token or token_file"));
  }
  if (response->status == 404) {
    return absl::NotFoundError(
        StrCat("Grafana at ", where, ": ", what, " not found (HTTP 404)"));
  }
  if (response->status != 200) {
    return absl::InternalError(StrCat("Grafana at ", where, " answered HTTP ",
                                      response->status, " for ", what, ": ",
                                      FirstLine(response->body)));
  }
  return std::move(response->body);
}

absl::StatusOr<std::vector<SearchHit>> GrafanaClient::Search(
    std::string_view q) const {
  auto body =
      Get(StrCat("/api/search?type=dash-db&query=", UrlEncode(q)), "search");
  if (!body.ok()) return body.status();
  auto hits = ParseSearch(*body, url_);
  if (!hits.ok()) {
    return absl::DataLossError(
        StrCat("Grafana at ", RedactUrl(url_), ": ", hits.status().message()));
  }
  return hits;
}

absl::StatusOr<Dashboard> GrafanaClient::GetDashboard(
    std::string_view uid) const {
  const std::string what = StrCat("dashboard \"", uid, "\"");
  auto body = Get(StrCat("/api/dashboards/uid/", UrlEncode(uid)), what);
  if (!body.ok()) return body.status();
  auto d = ParseDashboard(*body);
  if (!d.ok()) {
    return absl::DataLossError(StrCat("Grafana at ", RedactUrl(url_), ", ",
                                      what, ": ", d.status().message()));
  }
  if (d->uid.empty()) d->uid = std::string(uid);
  // The library panels' models, once a uid.
  std::map<std::string, absl::StatusOr<std::string>> models;
  std::string unavailable;  // set once Grafana stopped answering
  for (Panel& p : d->panels) {
    if (p.library_uid.empty() || !p.library_error.empty()) continue;
    if (!unavailable.empty()) {
      p.library_error = unavailable;
      continue;
    }
    auto it = models.find(p.library_uid);
    if (it == models.end()) {
      const std::string element =
          StrCat("library panel \"", p.library_uid, "\"");
      it = models
               .emplace(p.library_uid, Get(StrCat("/api/library-elements/",
                                                  UrlEncode(p.library_uid)),
                                           element))
               .first;
    }
    if (!it->second.ok()) {
      p.library_error = std::string(it->second.status().message());
      if (it->second.status().code() == absl::StatusCode::kUnavailable) {
        unavailable = p.library_error;
      }
      continue;
    }
    if (absl::Status s = ApplyLibraryPanel(*it->second, &p); !s.ok()) {
      p.library_error =
          StrCat("Grafana at ", RedactUrl(url_), ", library panel \"",
                 p.library_uid, "\": ", s.message());
    }
  }
  return d;
}

}  // namespace gralarm::grafana
