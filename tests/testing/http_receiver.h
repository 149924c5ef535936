#ifndef GRALARM_TESTS_TESTING_HTTP_RECEIVER_H_
#define GRALARM_TESTS_TESTING_HTTP_RECEIVER_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gralarm/strings.h"
#include "testing/loopback_server.h"

namespace gralarm::testing {

// A notification receiver on 127.0.0.1 (a webhook or Alertmanager stand-in for
// unit tests): keeps each request's path and body, and answers each with the
// next of `statuses`, then with `status`. A status other than 200 carries
// `refusal` as its body.
class HttpReceiver {
 public:
  explicit HttpReceiver(std::deque<int> statuses = {}, int status = 200,
                        std::string refusal = "refused: bad label")
      : refusal_(std::move(refusal)),
        status_(status),
        statuses_(std::move(statuses)),
        server_([this](int c) { ServeOne(c); }) {}
  int port() const { return server_.port(); }
  // (path, body) of every request so far, in arrival order.
  std::vector<std::pair<std::string, std::string>> Requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  void ServeOne(int c) {
    std::string in;
    char buf[4096];
    size_t body_at = std::string::npos, length = 0;
    while (true) {
      if (body_at == std::string::npos &&
          (body_at = in.find("\r\n\r\n")) != std::string::npos) {
        body_at += 4;
        const size_t cl = in.find("Content-Length: ");
        length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
      }
      if (body_at != std::string::npos && in.size() >= body_at + length) break;
      const ssize_t n = read(c, buf, sizeof(buf));
      if (n <= 0) break;
      in.append(buf, n);
    }
    int status = status_;
    if (body_at != std::string::npos) {
      const size_t sp = in.find(' ');
      absl::MutexLock lock(&mu_);
      requests_.emplace_back(in.substr(sp + 1, in.find(' ', sp + 1) - sp - 1),
                             in.substr(body_at, length));
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
    }
    const std::string said = status == 200 ? "" : refusal_;
    const std::string answer =
        StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: ", said.size(),
               "\r\nConnection: close\r\n\r\n", said);
    (void)!write(c, answer.data(), answer.size());
    close(c);
  }

  const std::string refusal_;
  const int status_;
  absl::Mutex mu_;
  std::deque<int> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::string>> requests_
      ABSL_GUARDED_BY(mu_);
  LoopbackServer server_;  // last: its thread uses the members above
};

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_HTTP_RECEIVER_H_
