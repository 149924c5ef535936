#include "gralarm/ingest_worker.h"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/escaping.h"
#include "gralarm/line_splitter.h"
#include "gralarm/net_address.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr size_t kBatchReserve = 64 * 1024;
constexpr size_t kLoggedLineBytes = 120;
// Unmatched series remembered per loop (about 16 bytes each).
constexpr size_t kMaxUnmatched = 4 << 20;

uint32_t WallSeconds() { return static_cast<uint32_t>(std::time(nullptr)); }

}  // namespace

struct IngestWorker::Connection {
  uv_tcp_t handle{};
  IngestWorker* worker = nullptr;
  std::list<Connection*>::iterator self;
  explicit Connection(size_t max_line_bytes) : splitter(max_line_bytes) {}
  std::string peer;
  LineSplitter splitter;
  bool pickle = false;
  PickleFramer framer;
  bool closing = false;
  uint64_t last_active_ms = 0;
};

IngestWorker::IngestWorker(int id, std::shared_ptr<const Config> config,
                           Forwarder* forwarder,
                           std::atomic<int64_t>* open_connections,
                           AlertEngine* engine)
    : id_(id),
      open_connections_(open_connections),
      engine_(engine),
      read_buf_(kReadBufferBytes) {
  Configure(forwarder, std::move(config));
}

void IngestWorker::Configure(Forwarder* forwarder,
                             std::shared_ptr<const Config> config) {
  config_ = std::move(config);
  forwarder_ = forwarder;
  router_ = &forwarder->router();
  any_of_ = config_->forward.method == ForwardMethod::kAnyOf;
  parser_options_ = {static_cast<size_t>(config_->ingest.max_line_bytes),
                     config_->ingest.allow_nan,
                     config_->ingest.allow_non_utf8};
  max_line_bytes_ = static_cast<size_t>(config_->ingest.max_line_bytes);
  for (Connection* c : connections_)
    c->splitter.set_max_line_bytes(max_line_bytes_);
  batch_.assign(static_cast<size_t>(forwarder->num_destinations()),
                std::string());
  for (std::string& b : batch_) b.reserve(kBatchReserve);
  batch_points_.assign(batch_.size(), 0);
}

void IngestWorker::SwapForwarder(Forwarder* forwarder,
                                 std::shared_ptr<const Config> config) {
  if (!started_) {
    Configure(forwarder, std::move(config));
    return;
  }
  absl::MutexLock lock(&swap_mu_);
  swap_forwarder_ = forwarder;
  swap_config_ = std::move(config);
  swap_done_ = false;
  uv_async_send(&swap_async_);
  swap_mu_.Await(absl::Condition(&swap_done_));
}

void IngestWorker::OnWakeSwap(uv_async_t* async) {
  auto* self = static_cast<IngestWorker*>(async->data);
  absl::MutexLock lock(&self->swap_mu_);
  if (self->swap_forwarder_ == nullptr) return;
  self->Flush();
  self->Configure(self->swap_forwarder_, std::move(self->swap_config_));
  self->swap_forwarder_ = nullptr;
  self->swap_done_ = true;
}

IngestWorker::~IngestWorker() { Stop(); }

void IngestWorker::Start(int tcp_fd, int udp_fd, int pickle_fd) {
  uv_loop_init(&loop_);
  loop_.data = this;
  uv_async_init(&loop_, &stop_async_, &IngestWorker::OnWakeStop);
  stop_async_.data = this;
  uv_async_init(&loop_, &swap_async_, &IngestWorker::OnWakeSwap);
  swap_async_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, &IngestWorker::OnCheck);
  uv_timer_init(&loop_, &idle_timer_);
  idle_timer_.data = this;
  if (config_->ingest.idle_timeout_s > 0) {
    uv_timer_start(&idle_timer_, &IngestWorker::OnIdleTimer, 1000, 1000);
  }
  if (tcp_fd >= 0) {
    uv_tcp_init(&loop_, &tcp_server_);
    tcp_server_.data = this;
    uv_tcp_open(&tcp_server_, tcp_fd);
    uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_server_), 1024,
              &IngestWorker::OnConnection);
    has_tcp_ = true;
  }
  if (pickle_fd >= 0) {
    uv_tcp_init(&loop_, &pickle_server_);
    pickle_server_.data = this;
    uv_tcp_open(&pickle_server_, pickle_fd);
    uv_listen(reinterpret_cast<uv_stream_t*>(&pickle_server_), 1024,
              &IngestWorker::OnPickleConnection);
    has_pickle_ = true;
  }
  if (udp_fd >= 0) {
    uv_udp_init(&loop_, &udp_);
    udp_.data = this;
    uv_udp_open(&udp_, udp_fd);
    uv_udp_recv_start(&udp_, &IngestWorker::OnAlloc, &IngestWorker::OnUdp);
    has_udp_ = true;
  }
  started_ = true;
  thread_ = std::thread([this] {
    // "gralarm-in-N" in top -H, perf and gdb.
    pthread_setname_np(pthread_self(), StrCat("gralarm-in-", id_).c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  });
}

void IngestWorker::Stop() {
  if (!started_) return;
  uv_async_send(&stop_async_);
  thread_.join();
  started_ = false;
}

void IngestWorker::OnWakeStop(uv_async_t* async) {
  auto* self = static_cast<IngestWorker*>(async->data);
  if (self->has_tcp_) {
    self->DrainBacklog(&self->tcp_server_, /*pickle=*/false);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->tcp_server_), nullptr);
  }
  if (self->has_pickle_) {
    self->DrainBacklog(&self->pickle_server_, /*pickle=*/true);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->pickle_server_), nullptr);
  }
  if (self->has_udp_) {
    uv_udp_recv_stop(&self->udp_);
    uv_close(reinterpret_cast<uv_handle_t*>(&self->udp_), nullptr);
  }
  // Everything clients already sent is read before their connections close.
  std::list<Connection*> open(self->connections_);
  for (Connection* c : open) {
    if (c->closing) continue;
    self->DrainSocket(c);
    self->FinishStream(c, /*clean_eof=*/true);
    self->CloseConnection(c);
  }
  self->Flush();
  uv_close(reinterpret_cast<uv_handle_t*>(&self->check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->idle_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->swap_async_), nullptr);
}

void IngestWorker::DrainBacklog(uv_tcp_t* server, bool pickle) {
  uv_os_fd_t listen_fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(server), &listen_fd) != 0)
    return;
  now_ = WallSeconds();
  while (true) {
    sockaddr_storage peer_addr{};
    socklen_t len = sizeof(peer_addr);
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer_addr), &len,
                     SOCK_CLOEXEC);
    if (fd < 0) break;
    const std::string peer =
        SockaddrToString(reinterpret_cast<sockaddr*>(&peer_addr));
    if (pickle) {
      PickleFramer framer;
      bool ok = true;
      ssize_t n;
      while (ok && (n = recv(fd, read_buf_.data(), read_buf_.size(),
                             MSG_DONTWAIT)) > 0) {
        ok = framer.Feed(
            read_buf_.data(), static_cast<size_t>(n),
            [&](std::string_view frame) { HandlePickleFrame(frame, peer); });
      }
      if (!ok) CountPickleInvalid(PickleError::kTooLarge, peer);
      if (ok && framer.pending() > 0)
        CountPickleInvalid(PickleError::kMalformed, peer);
      close(fd);
      continue;
    }
    LineSplitter splitter(max_line_bytes_);
    auto on_line = [&](std::string_view line) {
      HandleLine(line, Proto::kTcp, peer);
    };
    auto on_too_long = [&] { CountInvalid(LineVerdict::kTooLong, {}, peer); };
    bool eof = false;
    while (true) {
      ssize_t n = recv(fd, read_buf_.data(), read_buf_.size(), MSG_DONTWAIT);
      if (n <= 0) {
        eof = n == 0;
        break;
      }
      splitter.Feed(read_buf_.data(), static_cast<size_t>(n), on_line,
                    on_too_long);
    }
    splitter.Finish(eof, on_line, on_too_long, [&](std::string_view line) {
      CountInvalid(LineVerdict::kFields, line, peer);
    });
    close(fd);
  }
}

void IngestWorker::DrainSocket(Connection* c) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->handle), &fd) != 0) return;
  now_ = WallSeconds();
  while (true) {
    ssize_t n = recv(fd, read_buf_.data(), read_buf_.size(), MSG_DONTWAIT);
    if (n <= 0) break;
    Feed(c, read_buf_.data(), static_cast<size_t>(n));
  }
}

void IngestWorker::OnConnection(uv_stream_t* server, int status) {
  Accept(server, status, /*pickle=*/false);
}

void IngestWorker::OnPickleConnection(uv_stream_t* server, int status) {
  Accept(server, status, /*pickle=*/true);
}

void IngestWorker::Accept(uv_stream_t* server, int status, bool pickle) {
  auto* self = static_cast<IngestWorker*>(server->data);
  if (status != 0) return;
  auto* c = new Connection(self->max_line_bytes_);
  c->worker = self;
  c->pickle = pickle;
  uv_tcp_init(&self->loop_, &c->handle);
  c->handle.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->handle)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->handle),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  sockaddr_storage peer{};
  int len = sizeof(peer);
  uv_tcp_getpeername(&c->handle, reinterpret_cast<sockaddr*>(&peer), &len);
  c->peer = SockaddrToString(reinterpret_cast<sockaddr*>(&peer));
  if (self->open_connections_->fetch_add(1) >=
      self->config_->ingest.max_connections) {
    self->open_connections_->fetch_sub(1);
    self->counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    uint64_t suppressed = 0;
    if (self->refused_log_.Allow(&suppressed)) {
      spdlog::warn(
          "refused connection from {}: ingest.max_connections ({}) reached"
          " ({} more refused since the last report)",
          c->peer, self->config_->ingest.max_connections, suppressed);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&c->handle),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  self->counters_
      .connections[static_cast<int>(pickle ? Proto::kPickle : Proto::kTcp)]
      .fetch_add(1, std::memory_order_relaxed);
  c->last_active_ms = uv_now(&self->loop_);
  self->connections_.push_front(c);
  c->self = self->connections_.begin();
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->handle),
                &IngestWorker::OnAlloc, &IngestWorker::OnRead);
}

void IngestWorker::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<IngestWorker*>(handle->loop->data);
  // One buffer per loop suffices: each read is consumed before the next alloc.
  *buf = uv_buf_init(self->read_buf_.data(),
                     static_cast<unsigned>(self->read_buf_.size()));
}

void IngestWorker::OnRead(uv_stream_t* stream, ssize_t nread,
                          const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(stream->data);
  IngestWorker* self = c->worker;
  if (nread > 0) {
    c->last_active_ms = uv_now(&self->loop_);
    self->now_ = WallSeconds();
    self->Feed(c, buf->base, static_cast<size_t>(nread));
    return;
  }
  if (nread < 0) {
    self->FinishStream(c, nread == UV_EOF);
    self->CloseConnection(c);
  }
}

void IngestWorker::Feed(Connection* c, const char* data, size_t n) {
  if (c->pickle) {
    if (c->closing) return;
    const size_t before = c->framer.pending();
    const bool ok = c->framer.Feed(data, n, [&](std::string_view frame) {
      HandlePickleFrame(frame, c->peer);
    });
    pickle_pending_bytes_ += c->framer.pending();
    pickle_pending_bytes_ -= before;
    if (!ok) {
      CountPickleInvalid(PickleError::kTooLarge, c->peer);
      spdlog::warn("closing pickle connection from {}: frame over {} bytes",
                   c->peer, kMaxPickleFrameBytes);
      CloseConnection(c);
    } else if (pickle_pending_bytes_ > kMaxPicklePendingBytes) {
      spdlog::warn(
          "closing pickle connection from {}: unfinished frames of all "
          "clients hold over {} bytes",
          c->peer, kMaxPicklePendingBytes);
      CountPickleInvalid(PickleError::kLimit, c->peer);
      CloseConnection(c);
    }
    return;
  }
  c->splitter.Feed(
      data, n,
      [&](std::string_view line) { HandleLine(line, Proto::kTcp, c->peer); },
      [&] {
        CountInvalid(LineVerdict::kTooLong, std::string_view(), c->peer);
      });
}

void IngestWorker::FinishStream(Connection* c, bool clean_eof) {
  if (c->pickle) {
    // A frame cut short by the end of the stream is dropped.
    if (!c->closing && c->framer.pending() > 0)
      CountPickleInvalid(PickleError::kMalformed, c->peer);
    return;
  }
  c->splitter.Finish(
      clean_eof,
      [&](std::string_view line) { HandleLine(line, Proto::kTcp, c->peer); },
      [&] { CountInvalid(LineVerdict::kTooLong, std::string_view(), c->peer); },
      [&](std::string_view line) {
        CountInvalid(LineVerdict::kFields, line, c->peer);
      });
}

void IngestWorker::OnUdp(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf,
                         const sockaddr* addr, unsigned) {
  auto* self = static_cast<IngestWorker*>(udp->data);
  if (nread <= 0 || addr == nullptr) return;
  self->now_ = WallSeconds();
  const std::string peer = SockaddrToString(addr);
  const char* p = buf->base;
  const char* end = p + nread;
  while (p < end) {
    const char* nl =
        static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl == nullptr ? end : nl;
    self->HandleLine(std::string_view(p, static_cast<size_t>(line_end - p)),
                     Proto::kUdp, peer);
    p = line_end + 1;
  }
}

void IngestWorker::HandleLine(std::string_view line, Proto proto,
                              const std::string& peer) {
  ParsedLine parsed;
  LineVerdict verdict = ParseLine(line, now_, parser_options_, &parsed);
  if (verdict != LineVerdict::kOk) {
    if (verdict != LineVerdict::kBlank) CountInvalid(verdict, line, peer);
    return;
  }
  ++pending_received_[static_cast<int>(proto)];
  if (engine_ != nullptr) {
    if (engine_->generation() != rules_generation_) {
      rules_ = engine_->rules();
      rules_generation_ = rules_->generation();
      unmatched_.clear();
    }
    if (!rules_->rules().empty()) {
      const uint64_t hash = AlertEngine::PathHash(parsed.path);
      if (!unmatched_.contains(hash) &&
          !engine_->Offer(*rules_, parsed.path, parsed.name, parsed.timestamp,
                          parsed.value, hash)) {
        if (unmatched_.size() >= kMaxUnmatched) unmatched_.clear();
        unmatched_.insert(hash);
      }
    }
  }

  int targets[kMaxFanout];
  int n = router_->Route(parsed.name, targets);
  if (any_of_ && !forwarder_->destination(targets[0]).up()) {
    const int count = forwarder_->num_destinations();
    for (int i = 1; i < count; ++i) {
      int candidate = (targets[0] + i) % count;
      if (forwarder_->destination(candidate).up()) {
        targets[0] = candidate;
        break;
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    AppendForwardLine(parsed, line, &batch_[targets[i]]);
    ++batch_points_[targets[i]];
  }
  dirty_ = true;
}

void IngestWorker::HandlePickleFrame(std::string_view frame,
                                     const std::string& peer) {
  std::vector<PicklePoint> points;
  if (PickleError e = DecodePickle(frame, &points); e != PickleError::kNone) {
    CountPickleInvalid(e, peer);
    return;
  }
  // A field with a separator in it would make another line: refused here.
  auto clean = [](std::string_view field) {
    for (char ch : field) {
      const auto b = static_cast<unsigned char>(ch);
      if (b <= 0x20 || b == 0x7f) return false;
    }
    return true;
  };
  std::string line;
  for (const PicklePoint& p : points) {
    if (!p.shape_ok) {
      CountInvalid(LineVerdict::kFields,
                   "(pickle element not (path, (ts, value)))", peer);
    } else if (!clean(p.path)) {
      CountInvalid(LineVerdict::kPath, p.path, peer);
    } else if (!clean(p.value)) {
      CountInvalid(LineVerdict::kValue, p.value, peer);
    } else if (!clean(p.timestamp)) {
      CountInvalid(LineVerdict::kTimestamp, p.timestamp, peer);
    } else {
      line.assign(p.path);
      line += ' ';
      line += p.value;
      line += ' ';
      line += p.timestamp;
      HandleLine(line, Proto::kPickle, peer);
    }
  }
}

void IngestWorker::CountPickleInvalid(PickleError error,
                                      const std::string& peer) {
  ++pending_pickle_invalid_[static_cast<int>(error)];
  dirty_ = true;
  uint64_t suppressed = 0;
  if (invalid_log_.Allow(&suppressed)) {
    spdlog::warn(
        "invalid pickle frame from {} ({}): dropped{}", peer,
        PickleErrorName(static_cast<int>(error)),
        suppressed > 0 ? fmt::format(" ({} more not logged)", suppressed) : "");
  }
}

void IngestWorker::CountInvalid(LineVerdict verdict, std::string_view line,
                                const std::string& peer) {
  const int reason = InvalidReasonIndex(verdict);
  ++pending_invalid_[reason];
  dirty_ = true;
  uint64_t suppressed = 0;
  if (invalid_log_.Allow(&suppressed)) {
    spdlog::warn(
        "invalid line from {} ({}): \"{}\"{}", peer, InvalidReasonName(reason),
        absl::CHexEscape(AbslView(line.substr(0, kLoggedLineBytes))),
        suppressed > 0 ? fmt::format(" ({} more not logged)", suppressed) : "");
  }
}

void IngestWorker::CloseConnection(Connection* c) {
  if (c->closing) return;
  c->closing = true;
  pickle_pending_bytes_ -= c->framer.pending();
  connections_.erase(c->self);
  open_connections_->fetch_sub(1);
  counters_
      .connections[static_cast<int>(c->pickle ? Proto::kPickle : Proto::kTcp)]
      .fetch_sub(1, std::memory_order_relaxed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->handle),
           [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
}

void IngestWorker::OnCheck(uv_check_t* check) {
  static_cast<IngestWorker*>(check->data)->Flush();
}

void IngestWorker::Flush() {
  if (!dirty_) return;
  dirty_ = false;
  bool sent = false;
  for (size_t d = 0; d < batch_.size(); ++d) {
    if (batch_points_[d] == 0) continue;
    std::string bytes;
    bytes.reserve(kBatchReserve);
    bytes.swap(batch_[d]);
    forwarder_->Send(static_cast<int>(d), std::move(bytes), batch_points_[d]);
    batch_points_[d] = 0;
    sent = true;
  }
  if (sent) forwarder_->Wake();
  for (int i = 0; i < kNumProtos; ++i) {
    if (pending_received_[i] != 0) {
      counters_.points_received[i].fetch_add(pending_received_[i],
                                             std::memory_order_relaxed);
      pending_received_[i] = 0;
    }
  }
  for (int i = 0; i < kNumInvalidReasons; ++i) {
    if (pending_invalid_[i] != 0) {
      counters_.lines_invalid[i].fetch_add(pending_invalid_[i],
                                           std::memory_order_relaxed);
      pending_invalid_[i] = 0;
    }
  }
  for (int i = 0; i < kNumPickleErrors; ++i) {
    if (pending_pickle_invalid_[i] != 0) {
      counters_.pickle_frames_invalid[i].fetch_add(pending_pickle_invalid_[i],
                                                   std::memory_order_relaxed);
      pending_pickle_invalid_[i] = 0;
    }
  }
}

void IngestWorker::OnIdleTimer(uv_timer_t* timer) {
  auto* self = static_cast<IngestWorker*>(timer->data);
  const uint64_t now = uv_now(&self->loop_);
  const uint64_t limit =
      static_cast<uint64_t>(self->config_->ingest.idle_timeout_s) * 1000;
  std::vector<Connection*> idle;
  for (Connection* c : self->connections_) {
    if (now - c->last_active_ms >= limit) idle.push_back(c);
  }
  for (Connection* c : idle) {
    spdlog::info("closing connection from {}: idle for {} s", c->peer,
                 self->config_->ingest.idle_timeout_s);
    self->FinishStream(c, /*clean_eof=*/false);
    self->CloseConnection(c);
  }
}

}  // namespace gralarm
