#ifndef GRALARM_API_GRAFANA_API_H_
#define GRALARM_API_GRAFANA_API_H_

// The /api/v1/grafana/... endpoints (README "Grafana"), called by Api after
// its checks (token, Origin, Content-Type). Each reads Grafana (and
// graphite-web for query variables) with the timeouts of the config.
// Answers: 503 when [grafana] url is empty; 502 when Grafana fails (down,
// token refused, malformed answer); 404 for a dashboard or panel that does
// not exist. The token never appears in an answer.

#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "gralarm/alert_service.h"
#include "gralarm/config.h"
#include "gralarm/http_server.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"

namespace gralarm {

// GET /api/v1/grafana/dashboards?q=
HttpResponse GrafanaSearchResponse(const Config& config, std::string_view q);

// GET /api/v1/grafana/dashboards/{uid}; `raw_query` may hold var-<name>=value
// parameters (repeated for several values) choosing variable values.
HttpResponse GrafanaDashboardResponse(const Config& config,
                                      std::string_view uid,
                                      std::string_view raw_query);

// POST /api/v1/grafana/import. `rules` (the rules in force) gives the
// templates each rule is checked with before anything is stored, so that every
// query's problem is answered at once; `rule_json` writes a rule as GET
// /api/v1/rules/{id} answers it.
HttpResponse GrafanaImportResponse(
    const Config& config, const RuleSet& rules, AlertService& service,
    std::string_view body,
    const std::function<nlohmann::json(const Rule&)>& rule_json);

}  // namespace gralarm

#endif  // GRALARM_API_GRAFANA_API_H_
