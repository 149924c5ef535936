#ifndef GRALARM_SRC_API_GRAPH_H_
#define GRALARM_SRC_API_GRAPH_H_

// GET /api/v1/graph: graphite-web's /render?format=json, for the page's
// charts. Private to src/api.

#include <cstddef>
#include <map>
#include <string>

#include "gralarm/config.h"
#include "gralarm/http_server.h"

namespace gralarm {

// The longest target /api/v1/graph forwards (bytes).
inline constexpr size_t kMaxGraphTargetBytes = 4096;

// The most /api/v1/graph requests that wait for graphite-web at once (each
// holds an HTTP worker thread for up to graphite.timeout_ms); past it, 503.
inline constexpr int kMaxGraphsInFlight = 8;

// Answers GET /api/v1/graph?target=<expr>&from=-6h&until=now (from and until
// default to -6h and now): graphite-web's JSON as it came (200), 400 when
// target is missing or too long, from/until is not a graphite time
// (IsGraphiteTime), [graphite] url is empty or graphite-web refuses the target
// (its HTTP 400, quoted), 502 when graphite-web does not answer, answers
// another error or something that is not its render JSON, 503 while
// kMaxGraphsInFlight others wait for graphite-web. Blocks
// the calling thread for up to graphite.timeout_ms.
HttpResponse GraphResponse(const GraphiteOptions& graphite,
                           const std::map<std::string, std::string>& query);

}  // namespace gralarm

#endif  // GRALARM_SRC_API_GRAPH_H_
