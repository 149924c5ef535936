#ifndef GRALARM_HTTP_CLIENT_H_
#define GRALARM_HTTP_CLIENT_H_

// A blocking HTTP GET for the clients of other services (graphite-web,
// Grafana). libcurl underneath, without signals.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace gralarm {

// (HttpRequest and HttpResponse, in http_server.h, are the API server's.)
struct HttpClientRequest {
  // http:// or https:// only (any other scheme is refused).
  std::string url;
  // Extra request headers as {name, value}, e.g. {"Authorization",
  // "Bearer ..."}. Their values never appear in an error.
  std::vector<std::pair<std::string, std::string>> headers;
  // The whole exchange, connection included.
  int64_t timeout_ms = 10000;
  // An answer body longer than this is an error (ResourceExhausted), not a
  // truncated body.
  size_t max_body_bytes = 64u << 20;
};

struct HttpClientResponse {
  long status = 0;           // the server's HTTP status (any: 404 is no error)
  std::string content_type;  // its Content-Type header; empty when absent
  std::string body;
};

// One GET of `request.url`. The server answering with any status is OK (the
// caller judges the status); a redirect is not followed (a 3xx is an answer,
// so no header, a token say, is ever sent to another host). Errors name the URL
// without its user information (RedactUrl) and never hold a header value:
// - InvalidArgument: a URL that is not http(s);
// - DeadlineExceeded: no complete answer within timeout_ms;
// - ResourceExhausted: a body past max_body_bytes;
// - Unavailable: no answer (connection refused, DNS failure, reset...).
absl::StatusOr<HttpClientResponse> HttpGet(const HttpClientRequest& request);

// `url` without a "user:password@" part, for logs and errors.
std::string RedactUrl(std::string_view url);

// `s` percent-encoded for a URL query value (RFC 3986 unreserved characters
// kept, everything else %XX).
std::string UrlEncode(std::string_view s);

// The first line of `text` (an error page, say), control characters turned
// into spaces, cut to `max_bytes`; for error messages.
std::string FirstLine(std::string_view text, size_t max_bytes = 200);

}  // namespace gralarm

#endif  // GRALARM_HTTP_CLIENT_H_
