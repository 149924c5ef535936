#ifndef GRALARM_API_H_
#define GRALARM_API_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gralarm/alert_engine.h"
#include "gralarm/alert_service.h"
#include "gralarm/config.h"
#include "gralarm/http_server.h"
#include "gralarm/record_json.h"
#include "gralarm/store.h"
#include "gralarm/target_engine.h"

namespace gralarm {

// The pair as a node sees it (README "Redundancy: an active-active pair").
struct ClusterView {
  bool active = false;  // this node sends the gated channels
  struct Peer {
    std::string api;  // redacted
    bool up = false;
  };
  std::vector<Peer> peers;
};

// What the HTTP API needs of the running server. Handlers only translate
// between HTTP and JSON: every write of rules, templates and silences goes
// through alert_service(), which serializes it; the engine is read-only here.
class ApiBackend {
 public:
  virtual ~ApiBackend() = default;
  virtual std::shared_ptr<const Config> config() = 0;
  // Rules in force, active alerts, series states and counters.
  virtual const AlertEngine& alert_engine() = 0;
  // The one writer of rules, templates and silences.
  virtual AlertService& alert_service() = 0;
  // Store reads (Store::ScanHistory, Store::ScanEvents) and backups
  // (Store::Checkpoint).
  virtual absl::Status ScanHistory(
      int64_t from_ms, int64_t to_ms, std::string_view after_key,
      const std::function<bool(std::string_view key, const HistoryRecord&)>& fn,
      const std::function<bool(std::string_view rule_id,
                               std::string_view series)>& key_filter) = 0;
  virtual absl::Status ScanEvents(
      uint64_t after_seq,
      const std::function<bool(const EventRecord&)>& fn) = 0;
  virtual absl::Status Checkpoint(const std::string& dir) = 0;
  // The destinations ("host:port[=instance]") a metric name is sent to.
  virtual std::vector<std::string> Route(std::string_view name) = 0;
  // The history status of target rule `rule_id` in force (README "Target
  // rules"); nullopt when it is not one.
  virtual std::optional<TargetHistoryStatus> TargetHistory(
      std::string_view /*rule_id*/) {
    return std::nullopt;
  }
  // The pair as this node sees it (GET /api/v1/settings); nullopt without a
  // [cluster].
  virtual std::optional<ClusterView> cluster_view() { return std::nullopt; }
};

// The token writes need, failing closed: api.token when set; else the first
// line of api.token_file, re-read at every call so that a rotation takes
// effect at once. When the file cannot be read or is blank (removed, or
// truncated mid-rotation), the last good token stays in force and the
// failure is logged as an error (at once, when it changes, then every minute
// while it lasts).
// Thread-safe.
class WriteToken {
 public:
  // "" when no token is configured; Unavailable when a token file is
  // configured and has never given a token (writes must then be refused).
  absl::StatusOr<std::string> Get(const ApiOptions& options);

 private:
  absl::Mutex mu_;
  std::string last_good_ ABSL_GUARDED_BY(mu_);
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_logged_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The JSON API of README "HTTP API and web page", under /api/v1/: summary,
// rules, templates, alerts, history (JSON or CSV), events, silences, match and
// backup. Writes need "Authorization: Bearer <token>" when api.token or
// api.token_file is set (WriteToken); POST and PUT need "Content-Type:
// application/json" (415), so that no cross-origin page can send one without a
// CORS preflight, which the server never grants; a write whose Origin header
// names another site is refused (403). Lists answer {"items": [...],
// "next_cursor": "..."} with cursors that neither skip nor repeat while entries
// are added. Errors answer
// {"error": {"code", "message", "field"}}. Creating a rule or template whose id
// or name exists answers 409, also when concurrent creates race for it (writes
// are serialized by AlertService). Safe to call from any thread.
class Api {
 public:
  explicit Api(ApiBackend* backend) : backend_(backend) {}

  HttpResponse Handle(const HttpRequest& request);

  // Re-reads api.token_file (logging when it became unreadable); the server
  // calls it every second so that a broken rotation is noticed before the
  // next write.
  void CheckToken();

 private:
  ApiBackend* const backend_;
  WriteToken token_;
};

// The operator web page (GET /) with its Content-Security-Policy: scripts and
// styles only those inline in the page (by their SHA-256) and gralarm's own
// files under /assets/ ('self'), requests only to this origin, no framing.
HttpResponse WebPageResponse();

// GET /assets/<name>: a file the page loads (FindWebAsset); 404 otherwise.
HttpResponse WebAssetResponse(const HttpRequest& request);

// One text cell of a CSV export, in valid UTF-8: a cell starting with '=',
// '+', '-', '@', tab or CR gets a leading "'" (OWASP's advice against CSV
// injection: spreadsheets would run it as a formula); control bytes (C0 and
// DEL) become "\xNN"; the cell is quoted (RFC 4180) when it holds a comma,
// quote or the leading "'". Numbers are written as they are, not with this.
std::string CsvTextCell(std::string_view raw);

// {"error": {"code": "invalid_argument", "message": ..., "field": ...}}, 400.
HttpResponse FieldErrorResponse(const absl::Status& status);

// Parses RFC 3339 or epoch seconds into milliseconds since the epoch. Times
// before 1970 or from 2100 on are refused (epoch milliseconds given as seconds
// would otherwise mean the year 58875), as are numbers that overflow.
bool ParseTimeParam(std::string_view text, int64_t* ms);

}  // namespace gralarm

#endif  // GRALARM_API_H_
