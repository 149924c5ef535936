#ifndef GRALARM_GRAPHITE_WEB_H_
#define GRALARM_GRAPHITE_WEB_H_

// A client of graphite-web's HTTP API ([graphite] url): metric lookup
// (/metrics/find) and rendering (/render?format=json). Each call is one
// blocking GET bounded by the configured timeout.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gralarm/config.h"

namespace gralarm {

// One node of a /metrics/find answer (graphite-web's "treejson" format).
struct GraphiteNode {
  std::string id;           // the full path, e.g. "servers.web1.cpu"
  std::string text;         // the last path component, e.g. "cpu"
  bool leaf = false;        // a metric (has data)
  bool expandable = false;  // a branch (has children)
};

class GraphiteWebClient {
 public:
  // `url`: graphite-web's base URL (http or https; a trailing slash is
  // ignored). `timeout_ms` bounds each call.
  GraphiteWebClient(std::string url, int64_t timeout_ms);
  explicit GraphiteWebClient(const GraphiteOptions& options)
      : GraphiteWebClient(options.url, options.timeout_ms) {}

  const std::string& url() const { return url_; }

  // GET <url>/metrics/find?query=<query>: the nodes matching a Graphite glob
  // (e.g. "servers.*"), in graphite-web's order. Errors:
  // Unavailable/DeadlineExceeded when graphite-web does not answer,
  // InvalidArgument when it answers 400 (it refuses the query or target),
  // FailedPrecondition for any other non-200 status (both with the first line
  // of its text), DataLoss for an answer that is not the expected JSON.
  absl::StatusOr<std::vector<GraphiteNode>> Find(std::string_view query) const;

  // GET <url>/render?format=json&target=..&from=..&until=..: graphite-web's
  // JSON answer as it came, after checking it is a list of {"target",
  // "datapoints"}. `from`/`until` must pass IsGraphiteTime (InvalidArgument
  // otherwise). Errors as Find's.
  absl::StatusOr<std::string> Render(std::string_view target,
                                     std::string_view from,
                                     std::string_view until) const;

 private:
  std::string url_;  // without a trailing slash
  int64_t timeout_ms_;
};

// Parses a /metrics/find treejson answer: a JSON list of objects with "id",
// "text", "leaf" and "expandable" (0/1 or booleans). DataLoss otherwise.
absl::StatusOr<std::vector<GraphiteNode>> ParseFindAnswer(
    std::string_view json);

// OK when `json` is graphite's render list: [{"target": string,
// "datapoints": [[value|null, timestamp], ...]}, ...]. DataLoss otherwise.
absl::Status CheckRenderAnswer(std::string_view json);

// One series of a /render?format=json answer: its name and the points that
// have a finite value, in answer order.
struct RenderSeries {
  std::string target;
  std::vector<std::pair<int64_t, double>> points;  // (time, value)
};

// Reads an answer CheckRenderAnswer accepts. Null values are left out, and so
// are infinite ones (graphite-web writes them as 1e9999 and -1e9999; no line
// gralarm accepts carries one). A time that is not an integer in [0, 2^53]
// is refused.
absl::StatusOr<std::vector<RenderSeries>> ParseRenderAnswer(
    std::string_view json);

// Whether `s` is a from/until value gralarm forwards to graphite-web: "now",
// epoch seconds (digits), or a relative offset "-<n><unit>" (or "+"), unit one
// of s, min, h, d, w, mon, y and their long forms (seconds, minutes, hours,
// days, weeks, months, years, ...). Anything else is refused.
bool IsGraphiteTime(std::string_view s);

}  // namespace gralarm

#endif  // GRALARM_GRAPHITE_WEB_H_
