#ifndef GRALARM_TESTS_TESTING_HTTP_GET_SERVER_H_
#define GRALARM_TESTS_TESTING_HTTP_GET_SERVER_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gralarm/strings.h"
#include "testing/loopback_server.h"

namespace gralarm::testing {

// What a GetServer answers one request with.
struct GetReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Sleep this long before answering (a slow server); 0: at once.
  int delay_ms = 0;
  // Announce this Content-Length instead of the body's size (-1: the body's;
  // -2: no Content-Length, the body ends when the connection closes).
  long content_length = -1;
  // More header lines, each ending in "\r\n".
  std::string extra_headers = "";
};

// A stand-in HTTP server on 127.0.0.1 for clients' unit tests (graphite-web,
// Grafana): each request's head (request line and headers, as sent) is kept,
// and answered by `handler` given its request target ("/path?query").
// One connection at a time, "Connection: close".
class GetServer {
 public:
  using Handler = std::function<GetReply(const std::string& target)>;

  explicit GetServer(Handler handler)
      : handler_(std::move(handler)), server_([this](int c) { ServeOne(c); }) {}
  int port() const { return server_.port(); }
  std::string url() const {
    return StrCat("http://127.0.0.1:", server_.port());
  }
  // The heads of every request so far, in arrival order.
  std::vector<std::string> Heads() {
    absl::MutexLock lock(&mu_);
    return heads_;
  }

 private:
  void ServeOne(int c) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      in.append(buf, n);
    }
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) {
      close(c);
      return;
    }
    const std::string head = in.substr(0, end);
    {
      absl::MutexLock lock(&mu_);
      heads_.push_back(head);
    }
    const size_t sp = head.find(' ');
    const std::string target =
        head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    const GetReply reply = handler_(target);
    if (reply.delay_ms > 0) {
      // Wakes early when the client hangs up or the server stops.
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(reply.delay_ms);
      while (!server_.stopping() && std::chrono::steady_clock::now() < until) {
        pollfd p{c, POLLRDHUP, 0};
        if (poll(&p, 1, 10) > 0) break;
      }
    }
    const long length = reply.content_length == -1
                            ? static_cast<long>(reply.body.size())
                            : reply.content_length;
    const std::string answer = StrCat(
        "HTTP/1.1 ", reply.status, " X\r\nContent-Type: ", reply.content_type,
        "\r\n", length >= 0 ? StrCat("Content-Length: ", length, "\r\n") : "",
        reply.extra_headers, "Connection: close\r\n\r\n", reply.body);
    size_t written = 0;
    while (written < answer.size()) {
      const ssize_t n = send(c, answer.data() + written,
                             answer.size() - written, MSG_NOSIGNAL);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(c);
  }

  const Handler handler_;
  absl::Mutex mu_;
  std::vector<std::string> heads_ ABSL_GUARDED_BY(mu_);
  LoopbackServer server_;  // last: its thread uses the members above
};

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_HTTP_GET_SERVER_H_
