// gralarm-sink: a counting carbon-cache stand-in on 127.0.0.1. Counts the lines
// that start with "bench." over every connection and prints a JSON summary once
// --expect lines arrived, or when nothing arrived for --idle-ms after the first
// byte.
//   gralarm-sink --port 2103 --expect 5000000 [--idle-ms 10000] [--ready-file
//   F]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "tool_util.h"

namespace {

using gralarm::tools::Arg;
using gralarm::tools::Now;

std::atomic<long> g_lines{0};
std::atomic<long> g_other{0};
std::atomic<double> g_first{0};
std::atomic<double> g_last{0};

void Serve(int fd) {
  std::vector<char> buf(1 << 20);
  // Position within "bench." of the current line's start; -1 = not a bench
  // line.
  int match = 0;
  static const char kPrefix[] = "bench.";
  long lines = 0, other = 0;
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) break;
    double expected = 0;
    g_first.compare_exchange_strong(expected, Now());
    for (ssize_t i = 0; i < n; ++i) {
      char c = buf[static_cast<size_t>(i)];
      if (c == '\n') {
        if (match == 6)
          ++lines;
        else
          ++other;
        match = 0;
      } else if (match >= 0 && match < 6) {
        match = (c == kPrefix[match]) ? match + 1 : -1;
      }
    }
    g_lines.fetch_add(lines);
    g_other.fetch_add(other);
    if (lines > 0) g_last.store(Now());
    lines = other = 0;
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const long port = Arg(argc, argv, "--port", 2103);
  const long expect = Arg(argc, argv, "--expect", 0);
  const long idle_ms = Arg(argc, argv, "--idle-ms", 10000);
  const char* ready_file = nullptr;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--ready-file") == 0) ready_file = argv[i + 1];
  }
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(lfd, 64) != 0) {
    std::perror("bind");
    return 1;
  }
  if (ready_file != nullptr) {
    FILE* f = std::fopen(ready_file, "w");
    if (f != nullptr) std::fclose(f);
  }
  std::thread([lfd] {
    while (true) {
      int c = accept(lfd, nullptr, nullptr);
      if (c < 0) return;
      std::thread(Serve, c).detach();
    }
  }).detach();
  // (time, lines so far) every 10 ms once lines flow, for rates over time
  // windows.
  std::vector<std::pair<double, long>> timeline;
  double last_sample = 0;
  while (true) {
    usleep(1000);
    const long got = g_lines.load();
    const double t = Now();
    if (got > 0 && t - last_sample >= 0.01) {
      timeline.emplace_back(t, got);
      last_sample = t;
    }
    if (expect > 0 && got >= expect) break;
    const double first = g_first.load();
    const double last = std::max(g_last.load(), first);
    if (first > 0 && (Now() - last) * 1000 > static_cast<double>(idle_ms))
      break;
  }
  std::printf(
      "{\"first\": %.6f, \"last\": %.6f, \"lines\": %ld, \"other_lines\": "
      "%ld, \"timeline\": [",
      g_first.load(), g_last.load(), g_lines.load(), g_other.load());
  for (size_t i = 0; i < timeline.size(); ++i) {
    std::printf("%s[%.6f, %ld]", i ? ", " : "", timeline[i].first,
                timeline[i].second);
  }
  std::printf("]}\n");
  std::fflush(stdout);
  _exit(0);
}
