// gralarm-loadgen: sends generated Graphite plaintext lines to 127.0.0.1 as
// fast as the receiver takes them, over one or more connections, then prints a
// JSON summary.
//   gralarm-loadgen --port 2003 --lines 5000000 --series 100000 --connections 8
// Line i is "bench.s<offset + i % series>.value <i> <ts>\n" (offset: the
// --series-offset, 0 by default); each connection sends a
// contiguous share of the lines. The buffers are built before the clock starts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "tool_util.h"

namespace {

using gralarm::tools::Arg;
using gralarm::tools::Now;

}  // namespace

int main(int argc, char** argv) {
  const long port = Arg(argc, argv, "--port", 2003);
  const long lines = Arg(argc, argv, "--lines", 1000000);
  const long series = Arg(argc, argv, "--series", 100000);
  const long connections = Arg(argc, argv, "--connections", 1);
  const long offset = Arg(argc, argv, "--series-offset", 0);
  const long base_ts =
      Arg(argc, argv, "--timestamp", static_cast<long>(time(nullptr)) - 3600);
  if (port <= 0 || lines <= 0 || series <= 0 || connections <= 0 ||
      offset < 0) {
    std::fprintf(stderr,
                 "usage: gralarm-loadgen --port P --lines N --series S "
                 "--connections C [--timestamp T] [--series-offset K]\n");
    return 2;
  }
  std::vector<std::string> buffers(static_cast<size_t>(connections));
  for (long c = 0; c < connections; ++c) {
    const long from = lines * c / connections;
    const long to = lines * (c + 1) / connections;
    std::string& b = buffers[static_cast<size_t>(c)];
    b.reserve(static_cast<size_t>(to - from) * 40);
    char line[128];
    for (long i = from; i < to; ++i) {
      int n = std::snprintf(line, sizeof(line), "bench.s%ld.value %ld %ld\n",
                            offset + i % series, i, base_ts + (i / series));
      b.append(line, static_cast<size_t>(n));
    }
  }
  std::vector<int> fds;
  for (long c = 0; c < connections; ++c) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      std::perror("connect");
      return 1;
    }
    fds.push_back(fd);
  }
  size_t total_bytes = 0;
  for (const auto& b : buffers) total_bytes += b.size();
  const double start = Now();
  std::vector<std::thread> threads;
  for (long c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      const std::string& b = buffers[static_cast<size_t>(c)];
      size_t off = 0;
      while (off < b.size()) {
        size_t n = std::min<size_t>(256 * 1024, b.size() - off);
        ssize_t w = write(fds[static_cast<size_t>(c)], b.data() + off, n);
        if (w <= 0) {
          std::perror("write");
          return;
        }
        off += static_cast<size_t>(w);
      }
      close(fds[static_cast<size_t>(c)]);
    });
  }
  for (auto& t : threads) t.join();
  const double end = Now();
  std::printf(
      "{\"start\": %.6f, \"end\": %.6f, \"lines\": %ld, \"bytes\": %zu}\n",
      start, end, lines, total_bytes);
  return 0;
}
