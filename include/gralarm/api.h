#ifndef GRALARM_API_H_
#define GRALARM_API_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gralarm/alert_engine.h"
#include "gralarm/config.h"
#include "gralarm/http_server.h"
#include "gralarm/record_json.h"
#include "gralarm/store.h"

namespace gralarm {

// What the HTTP API needs of the running server.
class ApiBackend {
 public:
  virtual ~ApiBackend() = default;
  virtual std::shared_ptr<const Config> config() = 0;
  virtual Store* store() = 0;
  virtual AlertEngine* engine() = 0;
  // Rebuilds the rules in force from the rule files and the store.
  virtual absl::Status ReloadRules() = 0;
  // The destinations ("host:port[=instance]") a metric name is sent to.
  virtual std::vector<std::string> Route(std::string_view name) = 0;
};

// The JSON API of SPEC.md section 9 under /api/v1/: summary, rules, templates,
// alerts, history (JSON or CSV), events, silences, match and backup. Writes
// need "Authorization: Bearer <token>" when api.token or api.token_file is set.
// Lists answer {"items": [...], "next_cursor": "..."} with cursors that neither
// skip nor repeat while entries are added. Errors answer {"error": {"code",
// "message", "field"}}. Safe to call from any thread.
class Api {
 public:
  explicit Api(ApiBackend* backend) : backend_(backend) {}

  HttpResponse Handle(const HttpRequest& request);

 private:
  ApiBackend* const backend_;
};

// {"error": {"code": "invalid_argument", "message": ..., "field": ...}}, 400.
HttpResponse FieldErrorResponse(const absl::Status& status);

// Parses RFC 3339 or epoch seconds into milliseconds since the epoch.
bool ParseTimeParam(std::string_view text, int64_t* ms);

}  // namespace gralarm

#endif  // GRALARM_API_H_
