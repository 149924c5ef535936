#ifndef GRALARM_HTTP_SERVER_H_
#define GRALARM_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace gralarm {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string query;   // raw query string, no '?'
  std::string body;
  std::string authorization;  // the Authorization header, if any
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// A small HTTP/1.1 server (civetweb's thread pool underneath) dispatching exact
// paths to handlers. Handlers run on pool threads and must be thread-safe.
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
  };

  // Binds and starts serving `routes`: a path ending in '/' (other than "/")
  // serves everything under it (the longest such prefix wins), any other path
  // only itself; unknown paths get 404.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const Options& options, std::map<std::string, Handler> routes);
  ~HttpServer();

  // The bound port (useful when listening on port 0).
  int port() const { return port_; }

 private:
  HttpServer() = default;
  static int Dispatch(mg_connection* conn, void* self);

  Options options_;
  std::map<std::string, Handler> routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// The parameters of a query string ("a=1&b=x%20y"), percent-decoded, '+' as
// space. A repeated key keeps its last value.
std::map<std::string, std::string> ParseQuery(std::string_view query);

// {"error": {"code": code, "message": message}} with the given HTTP status.
HttpResponse JsonError(int status, std::string_view code,
                       std::string_view message);

}  // namespace gralarm

#endif  // GRALARM_HTTP_SERVER_H_
