// One delivery attempt over a transport: an HTTP POST or a command run.
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>

#include "gralarm/notify_delivery.h"
#include "gralarm/strings.h"

extern char** environ;

namespace gralarm {
namespace {

constexpr size_t kAnswerBytes = 512;  // of a refusal, for the log

size_t KeepAnswer(char* data, size_t size, size_t n, void* out) {
  auto* answer = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (answer->size() < kAnswerBytes) {
    answer->append(data, std::min(len, kAnswerBytes - answer->size()));
  }
  return len;
}

int Cancelled(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;
}

// The answer as one printable line.
std::string OneLine(const std::string& answer) {
  std::string out;
  for (char c : answer) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A SIGPIPE raised by a write on this thread (blocked here) is taken back so
// it stays pending nowhere.
void TakeBackSigpipe() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  const timespec zero{};
  while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
  }
}

HttpAnswer NoAnswer(std::string why) {
  HttpAnswer a;
  a.error = std::move(why);
  return a;
}

CommandExit NotRun(std::string why) {
  CommandExit e;
  e.error = std::move(why);
  return e;
}

}  // namespace

Delivery ClassifyHttpStatus(long status) {
  if (status / 100 == 2) return Delivery::kDelivered;
  if (status / 100 == 5 || status == 408 || status == 429) {
    return Delivery::kRetry;
  }
  return Delivery::kRejected;
}

HttpAnswer PostJson(const std::string& url, std::string_view body,
                    int64_t timeout_ms, const std::atomic<bool>* cancel) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return NoAnswer("curl_easy_init failed");
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  std::string answer;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  // No signals from libcurl (its DNS timeouts would use SIGALRM), and writes
  // to its sockets use MSG_NOSIGNAL.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &KeepAnswer);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  if (cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Cancelled);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA,
                     const_cast<std::atomic<bool>*>(cancel));
  }
  const CURLcode res = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (res != CURLE_OK) return NoAnswer(curl_easy_strerror(res));
  return {"", status, OneLine(answer)};
}

CommandExit SpawnCommand(const std::vector<std::string>& argv,
                         std::string_view input, int64_t timeout_ms) {
  if (argv.empty()) return NotRun("empty command");
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    return NotRun(StrCat("pipe: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, to_default;
  sigemptyset(&none);
  sigemptyset(&to_default);
  sigaddset(&to_default, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &to_default);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  if (rc != 0) {
    close(in[1]);
    return NotRun(StrCat("cannot run ", args[0], ": ", strerror(rc)));
  }
  // The input is written as the command reads it, so a command that never
  // reads cannot block this thread past the timeout.
  int fd = in[1];
  fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  auto close_input = [&fd] {
    if (fd >= 0) close(fd);
    fd = -1;
  };
  if (input.empty()) close_input();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      close_input();
      return NotRun(StrCat("waitpid: ", strerror(errno)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      close_input();
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return NotRun(StrCat("timed out after ", timeout_ms, " ms"));
    }
    if (fd >= 0) {
      const ssize_t n =
          write(fd, input.data() + written, input.size() - written);
      if (n > 0) {
        written += static_cast<size_t>(n);
        if (written == input.size()) close_input();
        continue;
      }
      if (n < 0 && errno == EPIPE) TakeBackSigpipe();  // it stopped reading
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        close_input();
        continue;
      }
    }
    pollfd p{fd, POLLOUT, 0};
    poll(&p, fd >= 0 ? 1 : 0, 5);
  }
  close_input();
  return {"", status};
}

}  // namespace gralarm
