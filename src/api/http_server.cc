#include "gralarm/http_server.h"

#include <civetweb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>

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
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

void Send(mg_connection* conn, const HttpResponse& r) {
  std::string head = StrCat("HTTP/1.1 ", r.status, " ", StatusText(r.status),
                            "\r\nContent-Type: ", r.content_type,
                            "\r\nContent-Length: ", r.body.size(),
                            "\r\nCache-Control: no-store\r\n\r\n");
  mg_write(conn, head.data(), head.size());
  if (!r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
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

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const Options& options, std::map<std::string, Handler> routes) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });
  auto hp = ParseHostPort(options.listen);
  if (!hp.ok()) return hp.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->options_ = options;
  server->routes_ = std::move(routes);
  const std::string ports = hp->host.find(':') != std::string::npos
                                ? StrCat("[", hp->host, "]:", hp->port)
                                : StrCat(hp->host, ":", hp->port);
  const std::string threads = std::to_string(options.threads);
  const char* mg_options[] = {"listening_ports",
                              ports.c_str(),
                              "num_threads",
                              threads.c_str(),
                              "request_timeout_ms",
                              "5000",
                              "enable_keep_alive",
                              "yes",
                              "keep_alive_timeout_ms",
                              "5000",
                              "max_request_size",
                              "16384",
                              nullptr};
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
  if (const char* auth = mg_get_header(conn, "Authorization"))
    req.authorization = auth;
  if (info->content_length >
      static_cast<long long>(self->options_.max_body_bytes)) {
    Send(conn, JsonError(413, "payload_too_large",
                         StrCat("request body over ",
                                self->options_.max_body_bytes, " bytes")));
    return 413;
  }
  char buf[8192];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
    req.body.append(buf, static_cast<size_t>(n));
    if (req.body.size() > self->options_.max_body_bytes) {
      Send(conn, JsonError(413, "payload_too_large",
                           StrCat("request body over ",
                                  self->options_.max_body_bytes, " bytes")));
      return 413;
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
  HttpResponse resp =
      it == self->routes_.end()
          ? JsonError(404, "not_found", StrCat("no route ", req.path))
          : it->second(req);
  Send(conn, resp);
  return resp.status;
}

}  // namespace gralarm
