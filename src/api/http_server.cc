#include "gralarm/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <mutex>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "gralarm/log.h"
#include "gralarm/net_address.h"
#include "gralarm/record_json.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 421:
      return "Misdirected Request";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

// Header names and values come from the code, never from a request; a CR or
// LF would still end the header early, so they are dropped.
std::string HeaderValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

std::string Head(const HttpResponse& r, bool chunked) {
  std::string head = StrCat("HTTP/1.1 ", r.status, " ", StatusText(r.status),
                            "\r\nContent-Type: ", HeaderValue(r.content_type));
  if (chunked) {
    head += "\r\nTransfer-Encoding: chunked";
  } else {
    head += StrCat("\r\nContent-Length: ", r.body.size());
  }
  head +=
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff"
      "\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer";
  bool has_csp = false;
  for (const auto& [name, value] : r.headers) {
    has_csp |=
        absl::EqualsIgnoreCase(AbslView(name), "Content-Security-Policy");
    head += StrCat("\r\n", HeaderValue(name), ": ", HeaderValue(value));
  }
  if (!has_csp) {
    head +=
        "\r\nContent-Security-Policy: default-src 'none'; "
        "frame-ancestors 'none'";
  }
  return head + "\r\n\r\n";
}

// Collects a streamed body into chunks of about 64 KiB.
class ChunkWriter {
 public:
  explicit ChunkWriter(mg_connection* conn) : conn_(conn) {}

  bool Write(std::string_view piece) {
    if (gone_) return false;
    buffer_.append(piece);
    if (buffer_.size() >= kChunkBytes) Flush();
    return !gone_;
  }
  bool Flush() {
    if (!gone_ && !buffer_.empty()) {
      gone_ = mg_send_chunk(conn_, buffer_.data(),
                            static_cast<unsigned>(buffer_.size())) < 0;
    }
    buffer_.clear();
    return !gone_;
  }
  void Finish() {
    if (Flush()) mg_write(conn_, "0\r\n\r\n", 5);
  }
  // A chunk-size line that is not hexadecimal: every HTTP client fails the
  // transfer instead of taking what came so far for the whole body.
  void Break() {
    buffer_.clear();
    if (!gone_) mg_write(conn_, "broken\r\n\r\n", 12);
  }

 private:
  static constexpr size_t kChunkBytes = 64 << 10;
  mg_connection* const conn_;
  std::string buffer_;
  bool gone_ = false;
};

void Send(mg_connection* conn, const HttpResponse& r, bool head_only) {
  const bool chunked = r.stream != nullptr;
  const std::string head = Head(r, chunked);
  mg_write(conn, head.data(), head.size());
  if (head_only) return;
  if (!chunked) {
    if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
    return;
  }
  ChunkWriter writer(conn);
  absl::Status s = r.stream(
      [&writer](std::string_view piece) { return writer.Write(piece); });
  if (s.ok()) {
    writer.Finish();
  } else {
    spdlog::error("http: response cut short: {}", s.message());
    writer.Break();
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits a Host value ("name", "name:port", "[v6]", "[v6]:port") into its
// host (lower case, without brackets) and port (-1 = none; 0 = malformed).
void SplitHost(std::string_view value, std::string* host, int* port) {
  *port = -1;
  std::string_view h = value;
  std::string_view rest;
  if (h.starts_with('[')) {
    const size_t close = h.find(']');
    if (close == std::string_view::npos) {
      *port = 0;
      return;
    }
    rest = h.substr(close + 1);
    h = h.substr(1, close - 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      *port = 0;
      return;
    }
  } else if (const size_t colon = h.rfind(':');
             colon != std::string_view::npos) {
    rest = h.substr(colon);
    h = h.substr(0, colon);
  }
  *host = Lower(h);
  if (rest.empty()) return;
  rest.remove_prefix(1);
  int p = 0;
  if (rest.empty() || rest.size() > 5 ||
      rest.find_first_not_of("0123456789") != std::string_view::npos) {
    *port = 0;
    return;
  }
  for (char c : rest) p = p * 10 + (c - '0');
  *port = p >= 1 && p <= 65535 ? p : 0;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      out[PercentDecode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? ""
                                       : PercentDecode(pair.substr(eq + 1));
    }
    start = amp + 1;
  }
  return out;
}

HttpResponse JsonError(int status, std::string_view code,
                       std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  return HttpResponse{status, "application/json", JsonText(j)};
}

bool HostAllowed(std::string_view host, std::string_view listen_host, int port,
                 const std::vector<std::string>& allowed) {
  if (host.empty()) return true;
  std::string name;
  int host_port;
  SplitHost(host, &name, &host_port);
  if (host_port == 0 || name.empty()) return false;
  const bool port_ok = host_port == port || (host_port == -1 && port == 80);
  std::string listen = Lower(listen_host);
  if (listen.starts_with('[') && listen.ends_with(']')) {
    listen = listen.substr(1, listen.size() - 2);
  }
  if (port_ok && (name == listen || name == "127.0.0.1" ||
                  name == "localhost" || name == "::1")) {
    return true;
  }
  const bool wildcard =
      listen.empty() || listen == "0.0.0.0" || listen == "::" || listen == "*";
  if (port_ok && wildcard && IsIpLiteral(name)) return true;
  for (const std::string& entry : allowed) {
    if (entry == "*") return true;
    std::string allowed_name;
    int allowed_port;
    SplitHost(entry, &allowed_name, &allowed_port);
    if (allowed_port == 0 || allowed_name != name) continue;
    if (allowed_port == -1 || allowed_port == host_port ||
        (host_port == -1 && allowed_port == 80)) {
      return true;
    }
  }
  return false;
}

void HttpServer::SetAllowedHosts(std::vector<std::string> allowed_hosts) {
  absl::MutexLock lock(&hosts_mu_);
  allowed_hosts_ = std::move(allowed_hosts);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const Options& options, std::map<std::string, Handler> routes) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });
  auto hp = ParseHostPort(options.listen);
  if (!hp.ok()) return hp.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->listen_host_ = hp->host;
  server->SetAllowedHosts(options.allowed_hosts);
  server->routes_ = std::move(routes);
  const std::string ports = hp->host.find(':') != std::string::npos
                                ? StrCat("[", hp->host, "]:", hp->port)
                                : StrCat(hp->host, ":", hp->port);
  const std::string threads = std::to_string(options.threads);
  const char* mg_options[] = {
      "listening_ports", ports.c_str(), "num_threads", threads.c_str(),
      "request_timeout_ms", "5000", "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", "5000", "max_request_size", "16384",
      // No CORS: civetweb would answer preflights
      // itself, allowing any origin and method.
      "access_control_allow_origin", "", "access_control_allow_methods", "",
      "access_control_allow_headers", "", nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* message) {
    spdlog::debug("http: {}", message);
    return 1;
  };
  // Ingest comes first: the threads answering operators run at a lower
  // priority, so a long history query takes idle CPU, not the ingest loops'.
  callbacks.init_thread = [](const mg_context*, int thread_type) -> void* {
    if (thread_type == 1)
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    return nullptr;
  };
  server->ctx_ = mg_start(&callbacks, server.get(), mg_options);
  if (server->ctx_ == nullptr) {
    return absl::UnavailableError(
        StrCat("cannot listen on ", options.listen, " (api.listen)"));
  }
  mg_set_request_handler(server->ctx_, "/", &HttpServer::Dispatch,
                         server.get());
  mg_server_port bound[4] = {};
  if (mg_get_server_ports(server->ctx_, 4, bound) > 0)
    server->port_ = bound[0].port;
  return server;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

int HttpServer::Dispatch(mg_connection* conn, void* data) {
  auto* self = static_cast<HttpServer*>(data);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest req;
  req.method = info->request_method ? info->request_method : "";
  req.path = info->local_uri ? info->local_uri : "/";
  req.query = info->query_string ? info->query_string : "";
  if (const char* v = mg_get_header(conn, "Authorization"))
    req.authorization = v;
  if (const char* v = mg_get_header(conn, "Host")) req.host = v;
  if (const char* v = mg_get_header(conn, "Origin")) req.origin = v;
  if (const char* v = mg_get_header(conn, "Content-Type")) req.content_type = v;
  const bool head_only = req.method == "HEAD";
  auto answer = [&](const HttpResponse& r) {
    Send(conn, r, head_only);
    return r.status;
  };
  bool host_ok;
  {
    absl::MutexLock lock(&self->hosts_mu_);
    host_ok = HostAllowed(req.host, self->listen_host_, self->port_,
                          self->allowed_hosts_);
  }
  if (!host_ok) {
    return answer(JsonError(
        421, "misdirected_request",
        StrCat("Host \"", ValidUtf8(req.host),
               "\" does not name this server: use its listen address or add "
               "the name to api.allowed_hosts")));
  }
  if (req.method == "OPTIONS") {
    HttpResponse r =
        JsonError(405, "method_not_allowed",
                  "OPTIONS is not allowed: no cross-origin access");
    r.headers.emplace_back("Allow", "GET, HEAD, POST, PUT, DELETE");
    return answer(r);
  }
  if (head_only) req.method = "GET";
  if (info->content_length >
      static_cast<long long>(self->options_.max_body_bytes)) {
    return answer(JsonError(
        413, "payload_too_large",
        StrCat("request body over ", self->options_.max_body_bytes, " bytes")));
  }
  char buf[8192];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
    req.body.append(buf, static_cast<size_t>(n));
    if (req.body.size() > self->options_.max_body_bytes) {
      return answer(JsonError(413, "payload_too_large",
                              StrCat("request body over ",
                                     self->options_.max_body_bytes, " bytes")));
    }
  }
  auto it = self->routes_.find(req.path);
  if (it == self->routes_.end()) {
    // The longest prefix route ("/api/v1/") that the path starts with.
    for (auto p = self->routes_.begin(); p != self->routes_.end(); ++p) {
      const std::string& prefix = p->first;
      if (prefix.size() > 1 && prefix.back() == '/' &&
          req.path.compare(0, prefix.size(), prefix) == 0 &&
          (it == self->routes_.end() || prefix.size() > it->first.size())) {
        it = p;
      }
    }
  }
  return answer(it == self->routes_.end()
                    ? JsonError(404, "not_found", StrCat("no route ", req.path))
                    : RunOnLargeStack(it->second, req));
}

HttpResponse HttpServer::RunOnLargeStack(const Handler& handler,
                                         const HttpRequest& req) {
  // civetweb as Debian builds it gives its threads a fixed small stack
  // (USE_STACK_SIZE), too small for a handler that compiles a Graphite
  // expression 64 calls deep, and much too small under AddressSanitizer. The
  // handler runs on a thread of kHandlerStackBytes; the civetweb thread waits.
  struct Call {
    const Handler* handler;
    const HttpRequest* req;
    HttpResponse response;
  } call{&handler, &req, {}};
  pthread_attr_t attr;
  pthread_t thread;
  bool started = pthread_attr_init(&attr) == 0;
  if (started) {
    started = pthread_attr_setstacksize(&attr, kHandlerStackBytes) == 0 &&
              pthread_create(
                  &thread, &attr,
                  [](void* arg) -> void* {
                    auto* c = static_cast<Call*>(arg);
                    c->response = (*c->handler)(*c->req);
                    return nullptr;
                  },
                  &call) == 0;
    pthread_attr_destroy(&attr);
  }
  if (!started) {
    return JsonError(503, "unavailable",
                     "no thread for the request (out of resources); retry");
  }
  pthread_join(thread, nullptr);
  return std::move(call.response);
}

}  // namespace gralarm
