#ifndef GRALARM_TESTS_TESTING_TEST_SINK_H_
#define GRALARM_TESTS_TESTING_TEST_SINK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gralarm::testing {

// A carbon-cache stand-in on 127.0.0.1: accepts connections one after another
// and records every complete line (a partial line at the end of a connection is
// lost, as in carbon-cache). With `reset_after_bytes` > 0, the first connection
// is aborted (RST, unread data lost) once that many bytes were read, like a
// receiver killed mid-stream. With `close_on` set, a line containing it makes
// the sink close the connection, losing that line and what followed it in the
// read, as carbon-cache does on a line it cannot decode.
class TestSink {
 public:
  explicit TestSink(uint16_t port = 0, size_t reset_after_bytes = 0,
                    std::string close_on = "")
      : reset_after_bytes_(reset_after_bytes), close_on_(std::move(close_on)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }

  ~TestSink() { Stop(); }

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  std::string Data() {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }

  size_t Connections() const { return connections_.load(); }

  // Lines received so far, in order.
  std::vector<std::string> Lines() {
    std::vector<std::string> out;
    std::string d = Data();
    size_t start = 0;
    while (true) {
      size_t nl = d.find('\n', start);
      if (nl == std::string::npos) break;
      out.push_back(d.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  }

  // Waits until `pred(this)` holds or the timeout passes; returns whether it
  // held.
  bool WaitFor(const std::function<bool(TestSink*)>& pred,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(this)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred(this);
  }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      const bool reset = reset_after_bytes_ > 0 && connections_ == 0;
      ++connections_;
      size_t seen = 0;
      std::string partial;  // a line is kept only once its '\n' arrived
      char buf[65536];
      while (!stop_) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 20) <= 0) continue;
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        size_t keep = static_cast<size_t>(n);
        if (reset && seen + keep >= reset_after_bytes_)
          keep = reset_after_bytes_ - seen;
        partial.append(buf, keep);
        size_t bad =
            close_on_.empty() ? std::string::npos : partial.find(close_on_);
        if (bad != std::string::npos) {
          const size_t line_start = partial.rfind('\n', bad);
          std::lock_guard<std::mutex> lock(mu_);
          if (line_start != std::string::npos)
            data_.append(partial, 0, line_start + 1);
          break;
        }
        size_t complete = partial.rfind('\n');
        if (complete != std::string::npos) {
          std::lock_guard<std::mutex> lock(mu_);
          data_.append(partial, 0, complete + 1);
          partial.erase(0, complete + 1);
        }
        seen += keep;
        if (reset && seen >= reset_after_bytes_) {
          linger l{1, 0};  // abort: what is still unread is lost
          setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
          break;
        }
      }
      close(c);
    }
  }

  const size_t reset_after_bytes_;
  const std::string close_on_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::string data_;
};

// Polls `pred` until it holds or the timeout passes; returns whether it held.
inline bool WaitUntil(
    const std::function<bool()>& pred,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// A loopback port with nothing listening on it (bound, then released).
inline uint16_t UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_TEST_SINK_H_
