#ifndef GRALARM_HTTP_SERVER_H_
#define GRALARM_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct mg_context;
struct mg_connection;

namespace gralarm {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string query;   // raw query string, no '?'
  std::string body;
  std::string authorization;  // the Authorization header, if any
  std::string host;           // the Host header, if any
  std::string origin;         // the Origin header, if any
  std::string content_type;   // the Content-Type header, if any
};

// Hands the next piece of a streamed body to the client; false once the
// client is gone (the producer should stop).
using BodyWriter = std::function<bool(std::string_view)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra header lines ("Name", "value"). A Content-Security-Policy here
  // replaces the default one.
  std::vector<std::pair<std::string, std::string>> headers = {};
  // When set, the body is produced by this call after the head is sent
  // (chunked transfer encoding) and `body` is ignored. An error after the
  // first byte breaks the transfer on purpose, so that the client never takes
  // a cut body for a whole one.
  std::function<absl::Status(const BodyWriter&)> stream = nullptr;
};

// A small HTTP/1.1 server (civetweb's thread pool underneath) dispatching exact
// paths to handlers. Handlers run on pool threads and must be thread-safe.
//
// For every route it: refuses a Host header that does not name this server
// (HostAllowed; 421, against DNS rebinding); answers HEAD as GET without the
// body; answers no CORS preflight (OPTIONS gets 405 without any
// Access-Control-* header, so browsers send no cross-origin request beyond
// the CORS-safelisted ones); and sends "X-Content-Type-Options: nosniff",
// "X-Frame-Options: DENY", "Referrer-Policy: no-referrer" and, unless the
// handler sets its own, "Content-Security-Policy: default-src 'none';
// frame-ancestors 'none'".
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  struct Options {
    std::string listen = "127.0.0.1:2080";
    // civetweb gives each connection a thread while it reads the request and
    // answers: this many slow or stuck clients at once can make others wait,
    // each for at most 5 s (a request must arrive whole within that).
    int threads = 32;
    size_t max_body_bytes = 1 << 20;  // larger bodies get 413
    // Host header values accepted besides those of the listen address and
    // localhost; see HostAllowed.
    std::vector<std::string> allowed_hosts;
  };

  // Binds and starts serving `routes`: a path ending in '/' (other than "/")
  // serves everything under it (the longest such prefix wins), any other path
  // only itself; unknown paths get 404.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const Options& options, std::map<std::string, Handler> routes);
  ~HttpServer();

  // The bound port (useful when listening on port 0).
  int port() const { return port_; }

  // Replaces Options::allowed_hosts (on a config reload); thread-safe.
  void SetAllowedHosts(std::vector<std::string> allowed_hosts);

 private:
  HttpServer() = default;
  static int Dispatch(mg_connection* conn, void* self);
  // Calls `handler` on a thread of its own with a stack of kHandlerStackBytes
  // and waits for it (docs/ARCHITECTURE.md "Threads"); 503 when no thread can
  // be started.
  static HttpResponse RunOnLargeStack(const Handler& handler,
                                      const HttpRequest& req);
  static constexpr size_t kHandlerStackBytes = 8 << 20;

  Options options_;
  std::string listen_host_;  // the host part of options_.listen
  absl::Mutex hosts_mu_;
  std::vector<std::string> allowed_hosts_ ABSL_GUARDED_BY(hosts_mu_);
  std::map<std::string, Handler> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Whether a Host header value names this server, listening on `listen_host`
// (as written in api.listen, without brackets) at the bound `port`. Accepted,
// case-insensitively:
//  - no Host at all (only non-browser HTTP/1.0 clients omit it);
//  - the listen host, 127.0.0.1, localhost or [::1], with `port` (or without
//    a port when `port` is 80);
//  - when listening on a wildcard address (0.0.0.0, ::), any IP address
//    literal with `port` (DNS rebinding needs a name, never an address);
//  - an `allowed` entry: "name" (any port), "name:port" or "[v6]:port"
//    (that port), or "*" (every Host: the check is off).
// Anything else is what a page of another site sends after rebinding its name
// to this address, or a request meant for another virtual host.
bool HostAllowed(std::string_view host, std::string_view listen_host, int port,
                 const std::vector<std::string>& allowed);

// The parameters of a query string ("a=1&b=x%20y"), percent-decoded, '+' as
// space. A repeated key keeps its last value.
std::map<std::string, std::string> ParseQuery(std::string_view query);

// {"error": {"code": code, "message": message}} with the given HTTP status.
HttpResponse JsonError(int status, std::string_view code,
                       std::string_view message);

}  // namespace gralarm

#endif  // GRALARM_HTTP_SERVER_H_
