#ifndef GRALARM_TESTS_TESTING_LOOPBACK_SERVER_H_
#define GRALARM_TESTS_TESTING_LOOPBACK_SERVER_H_

// A TCP server on 127.0.0.1 and a free port for unit tests' stand-ins: one
// thread accepts connections one at a time and gives each to `serve`, which
// must close it. The destructor stops accepting and joins the thread; `serve`
// may read stopping() to end a wait early.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>
#include <utility>

namespace gralarm::testing {

class LoopbackServer {
 public:
  using Serve = std::function<void(int connection)>;

  explicit LoopbackServer(Serve serve) : serve_(std::move(serve)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] {
      while (!stop_) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        serve_(c);
      }
    });
  }
  ~LoopbackServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  bool stopping() const { return stop_; }

 private:
  const Serve serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_LOOPBACK_SERVER_H_
