#include "gralarm/ingest_worker.h"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "gralarm/line_splitter.h"
#include "gralarm/net_address.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;

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
                           std::vector<std::unique_ptr<PointSink>> sinks,
                           std::atomic<int64_t>* open_connections)
    : id_(id),
      open_connections_(open_connections),
      read_buf_(kReadBufferBytes) {
  Configure(std::move(config), std::move(sinks));
}

void IngestWorker::Configure(std::shared_ptr<const Config> config,
                             std::vector<std::unique_ptr<PointSink>> sinks) {
  config_ = std::move(config);
  pipeline_.Configure(config_->ingest, std::move(sinks));
  max_line_bytes_ = static_cast<size_t>(config_->ingest.max_line_bytes);
  for (Connection* c : connections_)
    c->splitter.set_max_line_bytes(max_line_bytes_);
}

void IngestWorker::SwapSinks(std::shared_ptr<const Config> config,
                             std::vector<std::unique_ptr<PointSink>> sinks) {
  if (!started_) {
    pipeline_.Flush();
    Configure(std::move(config), std::move(sinks));
    return;
  }
  absl::MutexLock lock(&swap_mu_);
  swap_config_ = std::move(config);
  swap_sinks_ = std::move(sinks);
  swap_pending_ = true;
  swap_done_ = false;
  uv_async_send(&swap_async_);
  swap_mu_.Await(absl::Condition(&swap_done_));
}

void IngestWorker::OnWakeSwap(uv_async_t* async) {
  auto* self = static_cast<IngestWorker*>(async->data);
  absl::MutexLock lock(&self->swap_mu_);
  if (!self->swap_pending_) return;
  self->pipeline_.Flush();
  self->Configure(std::move(self->swap_config_), std::move(self->swap_sinks_));
  self->swap_sinks_.clear();
  self->swap_pending_ = false;
  self->swap_done_ = true;
}

void IngestWorker::SetNow() {
  pipeline_.set_now(static_cast<uint32_t>(std::time(nullptr)));
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
  self->pipeline_.Flush();
  uv_close(reinterpret_cast<uv_handle_t*>(&self->check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->idle_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->swap_async_), nullptr);
}

void IngestWorker::DrainBacklog(uv_tcp_t* server, bool pickle) {
  uv_os_fd_t listen_fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(server), &listen_fd) != 0)
    return;
  SetNow();
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
        ok = framer.Feed(read_buf_.data(), static_cast<size_t>(n),
                         [&](std::string_view frame) {
                           pipeline_.HandlePickleFrame(frame, peer);
                         });
      }
      if (!ok) pipeline_.CountPickleInvalid(PickleError::kTooLarge, peer);
      if (ok && framer.pending() > 0)
        pipeline_.CountPickleInvalid(PickleError::kMalformed, peer);
      close(fd);
      continue;
    }
    LineSplitter splitter(max_line_bytes_);
    auto on_line = [&](std::string_view line) {
      pipeline_.HandleLine(line, Proto::kTcp, peer);
    };
    auto on_too_long = [&] {
      pipeline_.CountInvalid(LineVerdict::kTooLong, {}, peer);
    };
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
      pipeline_.CountInvalid(LineVerdict::kFields, line, peer);
    });
    close(fd);
  }
}

void IngestWorker::DrainSocket(Connection* c) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c->handle), &fd) != 0) return;
  SetNow();
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
    self->SetNow();
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
      pipeline_.HandlePickleFrame(frame, c->peer);
    });
    pickle_pending_bytes_ += c->framer.pending();
    pickle_pending_bytes_ -= before;
    if (!ok) {
      pipeline_.CountPickleInvalid(PickleError::kTooLarge, c->peer);
      spdlog::warn("closing pickle connection from {}: frame over {} bytes",
                   c->peer, kMaxPickleFrameBytes);
      CloseConnection(c);
    } else if (pickle_pending_bytes_ > kMaxPicklePendingBytes) {
      spdlog::warn(
          "closing pickle connection from {}: unfinished frames of all "
          "clients hold over {} bytes",
          c->peer, kMaxPicklePendingBytes);
      pipeline_.CountPickleInvalid(PickleError::kLimit, c->peer);
      CloseConnection(c);
    }
    return;
  }
  c->splitter.Feed(
      data, n,
      [&](std::string_view line) {
        pipeline_.HandleLine(line, Proto::kTcp, c->peer);
      },
      [&] {
        pipeline_.CountInvalid(LineVerdict::kTooLong, std::string_view(),
                               c->peer);
      });
}

void IngestWorker::FinishStream(Connection* c, bool clean_eof) {
  if (c->pickle) {
    // A frame cut short by the end of the stream is dropped.
    if (!c->closing && c->framer.pending() > 0)
      pipeline_.CountPickleInvalid(PickleError::kMalformed, c->peer);
    return;
  }
  c->splitter.Finish(
      clean_eof,
      [&](std::string_view line) {
        pipeline_.HandleLine(line, Proto::kTcp, c->peer);
      },
      [&] {
        pipeline_.CountInvalid(LineVerdict::kTooLong, std::string_view(),
                               c->peer);
      },
      [&](std::string_view line) {
        pipeline_.CountInvalid(LineVerdict::kFields, line, c->peer);
      });
}

void IngestWorker::OnUdp(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf,
                         const sockaddr* addr, unsigned) {
  auto* self = static_cast<IngestWorker*>(udp->data);
  if (nread <= 0 || addr == nullptr) return;
  self->SetNow();
  const std::string peer = SockaddrToString(addr);
  const char* p = buf->base;
  const char* end = p + nread;
  while (p < end) {
    const char* nl =
        static_cast<const char*>(memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl == nullptr ? end : nl;
    self->pipeline_.HandleLine(
        std::string_view(p, static_cast<size_t>(line_end - p)), Proto::kUdp,
        peer);
    p = line_end + 1;
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
  static_cast<IngestWorker*>(check->data)->pipeline_.Flush();
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
