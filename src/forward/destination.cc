#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstring>
#include <random>

#include "absl/strings/escaping.h"
#include "gralarm/forwarder.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr size_t kMaxWriteBytes = 4 << 20;
constexpr size_t kMaxWriteChunks = 512;
constexpr uint64_t kConnectTimeoutMs = 5000;
// Read back from the spool at a time, once the memory queue is empty.
constexpr size_t kUnspoolBytes = 4 << 20;
// How often a connection with unconfirmed bytes asks for its acknowledgements.
constexpr uint64_t kConfirmTickMs = 50;
// A line shown in a log message is cut to this many bytes.
constexpr size_t kLoggedLineBytes = 200;

uint64_t Jitter(uint64_t delay_ms) {
  thread_local std::minstd_rand rng(std::random_device{}());
  // Full jitter over the upper half: [delay/2, delay].
  uint64_t half = delay_ms / 2;
  return half + (half > 0 ? rng() % (half + 1) : 0);
}

// True when a connection to a local port nobody listens on got that same port as its
// own source port: TCP's simultaneous open then connects the socket to itself. Its
// writes are acknowledged by our own kernel and never read, so it must not count as a
// destination that is up (and it keeps the port from the peer that wants to bind it).
bool ConnectedToItself(const uv_tcp_t* tcp) {
  sockaddr_storage local{}, peer{};
  int local_len = sizeof(local), peer_len = sizeof(peer);
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&local),
                         &local_len) != 0 ||
      uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&peer), &peer_len) !=
          0) {
    return false;
  }
  if (local.ss_family != peer.ss_family) return false;
  if (local.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(local);
    const auto& b = reinterpret_cast<const sockaddr_in&>(peer);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  if (local.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(local);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(peer);
    return a.sin6_port == b.sin6_port &&
           std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof(a.sin6_addr)) == 0;
  }
  return false;
}

}  // namespace

size_t OffsetAfterLines(std::string_view bytes, uint32_t n) {
  size_t offset = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t nl = bytes.find('\n', offset);
    if (nl == std::string_view::npos) return bytes.size();
    offset = nl + 1;
  }
  return offset;
}

Destination::Destination(const DestinationOptions& options,
                         const ForwardOptions& forward, uv_loop_t* loop,
                         std::shared_ptr<Spool> spool, std::string name)
    : options_(options),
      name_(name.empty() ? DestinationName(options) : std::move(name)),
      capacity_points_(forward.queue_points),
      reconnect_min_ms_(forward.reconnect_min_ms),
      reconnect_max_ms_(forward.reconnect_max_ms),
      loop_(loop),
      spool_(std::move(spool)) {
  if (spool_) {
    counters_.spool_bytes.store(static_cast<int64_t>(spool_->bytes()),
                                std::memory_order_relaxed);
  }
}

Destination::~Destination() = default;

bool Destination::SpoolLocked(std::string_view bytes, uint32_t points) {
  uint64_t dropped = 0;
  absl::Status s = spool_->Append(bytes, points, &dropped);
  counters_.spool_bytes.store(static_cast<int64_t>(spool_->bytes()),
                              std::memory_order_relaxed);
  if (dropped > 0) {
    counters_.points_dropped[static_cast<int>(DropReason::kSpoolFull)]
        .fetch_add(dropped, std::memory_order_relaxed);
  }
  uint64_t suppressed = 0;
  if ((!s.ok() || dropped > 0) && spool_log_.Allow(&suppressed)) {
    if (s.ok()) {
      spdlog::warn(
          "destination {}: spool over forward.spool_max_bytes, dropped its {} "
          "oldest points ({} more drop events since the last report)",
          name_, dropped, suppressed);
    } else {
      spdlog::error(
          "destination {}: {}; points stay in memory ({} more errors since "
          "the last report)",
          name_, s.message(), suppressed);
    }
  }
  return s.ok();
}

void Destination::UnspoolLocked() {
  std::vector<SpooledChunk> chunks;
  if (absl::Status s = spool_->Read(kUnspoolBytes, &chunks); !s.ok()) {
    uint64_t suppressed = 0;
    if (spool_log_.Allow(&suppressed))
      spdlog::error("destination {}: {}", name_, s.message());
  }
  for (SpooledChunk& c : chunks) {
    queued_points_ += c.points;
    Chunk chunk;
    chunk.bytes = std::move(c.bytes);
    chunk.points = c.points;
    chunk.spool_segment = c.segment;
    chunk.spool_segment_end = c.segment_end;
    queue_.push_back(std::move(chunk));
  }
  counters_.spool_bytes.store(static_cast<int64_t>(spool_->bytes()),
                              std::memory_order_relaxed);
}

void Destination::Enqueue(std::string bytes, uint32_t points) {
  uint64_t dropped = 0;
  {
    absl::MutexLock lock(&mu_);
    if (spool_ && (!up() || !spool_->empty() ||
                   queued_points_ + points > capacity_points_)) {
      if (SpoolLocked(bytes, points)) return;
    }
    Chunk chunk;
    chunk.bytes = std::move(bytes);
    chunk.points = points;
    queue_.push_back(std::move(chunk));
    queued_points_ += points;
    while (queued_points_ > capacity_points_ && queue_.size() > 1) {
      const Chunk& oldest = queue_.front();
      queued_points_ -= oldest.points;
      if (!oldest.counted) dropped += oldest.points;
      queue_.pop_front();
    }
    if (queued_points_ > capacity_points_) {
      // One chunk alone is over the bound: drop its oldest lines.
      Chunk& only = queue_.front();
      const uint32_t excess =
          static_cast<uint32_t>(queued_points_ - capacity_points_);
      only.bytes.erase(0, OffsetAfterLines(only.bytes, excess));
      only.points -= excess;
      queued_points_ -= excess;
      if (!only.counted) dropped += excess;
    }
    counters_.queue_points.store(queued_points_, std::memory_order_relaxed);
  }
  if (dropped > 0) {
    counters_.points_dropped[static_cast<int>(DropReason::kQueueFull)]
        .fetch_add(dropped, std::memory_order_relaxed);
    uint64_t suppressed = 0;
    if (drop_log_.Allow(&suppressed)) {
      spdlog::warn(
          "destination {}: queue full ({} points), dropped the {} oldest points"
          " ({} more drop events since the last report)",
          name_, capacity_points_, dropped, suppressed);
    }
  }
}

void Destination::Start() {
  uv_timer_init(loop_, &retry_timer_);
  retry_timer_.data = this;
  uv_timer_init(loop_, &connect_timer_);
  connect_timer_.data = this;
  uv_timer_init(loop_, &confirm_timer_);
  confirm_timer_.data = this;
  Connect();
}

void Destination::Connect() {
  if (closing_handles_) return;
  state_ = State::kResolving;
  resolve_req_.data = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(options_.port);
  int rc = uv_getaddrinfo(loop_, &resolve_req_, &Destination::OnResolved,
                          options_.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    spdlog::error("destination {}: cannot resolve: {}", name_, uv_strerror(rc));
    ScheduleReconnect();
  }
}

void Destination::OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* self = static_cast<Destination*>(req->data);
  if (status != 0 || res == nullptr || self->closing_handles_) {
    if (status != 0 && !self->logged_down_) {
      spdlog::error("destination {}: cannot resolve {}: {}", self->name_,
                    self->options_.host, uv_strerror(status));
      self->logged_down_ = true;
    }
    if (res != nullptr) uv_freeaddrinfo(res);
    self->state_ = State::kIdle;
    self->ScheduleReconnect();
    return;
  }
  self->tcp_ = new uv_tcp_t;
  uv_tcp_init(self->loop_, self->tcp_);
  self->tcp_->data = self;
  self->state_ = State::kConnecting;
  self->connect_req_.data = self;
  int rc = uv_tcp_connect(&self->connect_req_, self->tcp_, res->ai_addr,
                          &Destination::OnConnect);
  uv_freeaddrinfo(res);
  if (rc != 0) {
    self->ConnectionLost(uv_strerror(rc));
    return;
  }
  uv_timer_start(&self->connect_timer_, &Destination::OnConnectTimeout,
                 kConnectTimeoutMs, 0);
}

void Destination::OnConnectTimeout(uv_timer_t* timer) {
  auto* self = static_cast<Destination*>(timer->data);
  if (self->state_ == State::kConnecting)
    self->ConnectionLost("connect timed out");
}

void Destination::OnConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Destination*>(req->data);
  uv_timer_stop(&self->connect_timer_);
  if (self->state_ != State::kConnecting)
    return;  // timed out; close already under way
  if (status != 0) {
    self->ConnectionLost(uv_strerror(status));
    return;
  }
  if (ConnectedToItself(self->tcp_)) {
    self->ConnectionLost("connected to itself: nothing listens on the port");
    return;
  }
  self->state_ = State::kConnected;
  self->attempts_ = 0;
  self->conn_written_ = 0;
  uv_timer_start(&self->confirm_timer_, &Destination::OnConfirmTimer,
                 kConfirmTickMs, kConfirmTickMs);
  uv_tcp_nodelay(self->tcp_, 1);
  uv_tcp_keepalive(self->tcp_, 1, 60);
  self->counters_.up.store(true, std::memory_order_relaxed);
  spdlog::info("destination {}: connected", self->name_);
  self->logged_down_ = false;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(self->tcp_),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* d = static_cast<Destination*>(h->data);
        *buf = uv_buf_init(d->read_buf_, sizeof(d->read_buf_));
      },
      &Destination::OnRead);
  self->Pump();
}

void Destination::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<Destination*>(stream->data);
  if (nread >= 0)
    return;  // carbon-cache sends nothing; ignore anything it does
  if (self->state_ == State::kShuttingDown && nread == UV_EOF) {
    // The peer read everything up to our FIN and closed: delivery is confirmed.
    uint64_t points = 0;
    for (Chunk& c : self->unconfirmed_) {
      if (!c.counted) points += c.points;
      self->ReleaseSpoolSegment(&c);
    }
    self->counters_.points_forwarded.fetch_add(points,
                                               std::memory_order_relaxed);
    self->unconfirmed_.clear();
    self->sent_.clear();
    self->sent_bytes_ = 0;
    self->drained_ = true;
    self->ConnectionLost("drained");
    return;
  }
  self->ConnectionLost(nread == UV_EOF ? "closed by peer"
                                       : uv_strerror(static_cast<int>(nread)));
}

void Destination::Pump() {
  if (state_ != State::kConnected || writing_ || probing_) return;
  {
    absl::MutexLock lock(&mu_);
    // A retiring forwarder (reload, shutdown) leaves the spool to the next.
    if (queue_.empty() && spool_ && (!draining_ || drain_spool_))
      UnspoolLocked();
    if (!queue_.empty() && queue_.front().suspect) {
      // A probe goes alone: what was written before it is confirmed first
      // (the confirm timer pumps again).
      if (!unconfirmed_.empty()) return;
      TakeProbeLocked();
    } else {
      size_t bytes = 0;
      while (!queue_.empty() && !queue_.front().suspect &&
             inflight_.size() < kMaxWriteChunks && bytes < kMaxWriteBytes) {
        bytes += queue_.front().bytes.size();
        queued_points_ -= queue_.front().points;
        inflight_.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    counters_.queue_points.store(queued_points_, std::memory_order_relaxed);
  }
  if (inflight_.empty()) {
    if (draining_) {
      state_ = State::kShuttingDown;
      shutdown_req_.data = this;
      if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(tcp_),
                      &Destination::OnShutdown) != 0) {
        ConnectionLost("shutdown failed");
      }
    }
    return;
  }
  bufs_.clear();
  inflight_bytes_ = 0;
  for (Chunk& c : inflight_) {
    bufs_.push_back(
        uv_buf_init(c.bytes.data(), static_cast<unsigned>(c.bytes.size())));
    inflight_bytes_ += c.bytes.size();
  }
  writing_ = true;
  write_req_.data = this;
  int rc =
      uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(tcp_), bufs_.data(),
               static_cast<unsigned>(bufs_.size()), &Destination::OnWrite);
  if (rc != 0) {
    writing_ = false;
    ConnectionLost(uv_strerror(rc));
    return;
  }
  if (probing_) probe_submitted_ = true;
}

void Destination::ReleaseSpoolSegment(Chunk* c) {
  if (!c->spool_segment_end) return;
  spool_->Release(c->spool_segment);
  c->spool_segment_end = false;
  counters_.spool_bytes.store(static_cast<int64_t>(spool_->bytes()),
                              std::memory_order_relaxed);
}

void Destination::TakeProbeLocked() {
  uint32_t lines = 0;
  while (!queue_.empty() && queue_.front().suspect &&
         (probe_limit_ == 0 || lines < probe_limit_)) {
    Chunk& c = queue_.front();
    if (probe_limit_ != 0 && lines + c.points > probe_limit_) {
      // Split the chunk: its first lines make up the rest of the probe.
      const uint32_t n = probe_limit_ - lines;
      const size_t cut = OffsetAfterLines(c.bytes, n);
      Chunk piece;
      piece.bytes = c.bytes.substr(0, cut);
      piece.points = n;
      piece.counted = c.counted;
      piece.suspect = true;
      c.bytes.erase(0, cut);
      c.points -= n;
      queued_points_ -= n;
      lines += n;
      inflight_.push_back(std::move(piece));
      break;
    }
    lines += c.points;
    queued_points_ -= c.points;
    inflight_.push_back(std::move(c));
    queue_.pop_front();
  }
  probing_ = lines > 0;
  probe_lines_ = lines;
}

void Destination::OnWrite(uv_write_t* req, int status) {
  auto* self = static_cast<Destination*>(req->data);
  self->writing_ = false;
  if (status != 0) {
    self->ConnectionLost(uv_strerror(status));
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  for (Chunk& c : self->inflight_) {
    self->conn_written_ += c.bytes.size();
    c.conn_end = self->conn_written_;
    c.sent_at = now;
    c.acked_at = {};
    self->unconfirmed_.push_back(std::move(c));
  }
  self->inflight_.clear();
  self->Confirm();
  self->Pump();
}

void Destination::OnConfirmTimer(uv_timer_t* timer) {
  auto* self = static_cast<Destination*>(timer->data);
  if (self->unconfirmed_.empty()) return;
  self->Confirm();
  self->Pump();
}

void Destination::Confirm() {
  if (tcp_ == nullptr || unconfirmed_.empty()) return;
  uv_os_fd_t fd;
  int unacked = 0;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp_), &fd) != 0 ||
      ioctl(fd, SIOCOUTQ, &unacked) != 0) {
    return;  // asked again at the next tick
  }
  // The kernel's send queue holds what completed writes handed it and, while
  // a write is under way, the part of it libuv already handed on.
  uint64_t in_kernel = conn_written_;
  if (writing_) {
    in_kernel += inflight_bytes_ - uv_stream_get_write_queue_size(
                                       reinterpret_cast<uv_stream_t*>(tcp_));
  }
  if (static_cast<uint64_t>(unacked) > in_kernel) return;
  const uint64_t acked = in_kernel - static_cast<uint64_t>(unacked);
  const auto now = std::chrono::steady_clock::now();
  for (Chunk& c : unconfirmed_) {
    if (c.conn_end > acked) break;
    if (c.acked_at == std::chrono::steady_clock::time_point{}) c.acked_at = now;
  }
  uint64_t points = 0;
  while (!unconfirmed_.empty()) {
    Chunk& c = unconfirmed_.front();
    if (c.acked_at == std::chrono::steady_clock::time_point{} ||
        now - c.acked_at < kSettle) {
      break;
    }
    if (!c.counted) points += c.points;
    c.counted = true;
    c.suspect = false;
    // A spool segment is deleted once all of it is confirmed.
    ReleaseSpoolSegment(&c);
    sent_bytes_ += c.bytes.size();
    sent_.push_back(std::move(c));
    unconfirmed_.pop_front();
  }
  counters_.points_forwarded.fetch_add(points, std::memory_order_relaxed);
  if (probing_ && unconfirmed_.empty() && inflight_.empty()) {
    // The probe got through; the next one is as long (binary search).
    probing_ = false;
    probe_strikes_ = 0;
    bool more;
    {
      absl::MutexLock lock(&mu_);
      more = !queue_.empty() && queue_.front().suspect;
    }
    probe_submitted_ = false;
    if (!more) {
      probe_limit_ = 0;
      spdlog::info("destination {}: every suspect line is delivered", name_);
    }
  }
  TrimReplay();
}

void Destination::OnShutdown(uv_shutdown_t*, int) {
  // Completion is seen as EOF in OnRead, once the peer has read everything.
}

void Destination::TrimReplay() {
  const auto cutoff = std::chrono::steady_clock::now() - kReplayAge;
  while (!sent_.empty() &&
         (sent_bytes_ > kReplayBytes || sent_.front().sent_at < cutoff)) {
    sent_bytes_ -= sent_.front().bytes.size();
    sent_.pop_front();
  }
}

void Destination::ConnectionLost(std::string_view why) {
  if (state_ == State::kClosing || tcp_ == nullptr) return;
  const bool was_up =
      state_ == State::kConnected || state_ == State::kShuttingDown;
  counters_.up.store(false, std::memory_order_relaxed);
  if (!drained_ && (was_up || !logged_down_)) {
    spdlog::warn("destination {}: {}{}", name_,
                 was_up ? "connection lost: " : "cannot connect: ", why);
    logged_down_ = true;
  }
  state_ = State::kClosing;
  uv_timer_stop(&connect_timer_);
  uv_timer_stop(&confirm_timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), &Destination::OnClosed);
}

void Destination::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<Destination*>(handle->data);
  delete reinterpret_cast<uv_tcp_t*>(handle);
  self->tcp_ = nullptr;
  self->state_ = State::kIdle;
  self->writing_ = false;
  if (self->drained_) return;
  self->RequeueUnconfirmed();
  self->ScheduleReconnect();
}

void Destination::ProbeFailed() {
  probing_ = false;
  probe_submitted_ = false;
  if (probe_lines_ > 1) {
    probe_limit_ = probe_lines_ / 2;
    probe_strikes_ = 0;
    uint64_t suppressed = 0;
    if (probe_log_.Allow(&suppressed)) {
      spdlog::warn(
          "destination {}: closed the connection again on {} suspect lines; "
          "sending them in halves to find the line it refuses ({} more such "
          "reports since the last)",
          name_, probe_lines_, suppressed);
    }
    return;
  }
  if (++probe_strikes_ < 2) return;  // the same line once more
  // The one line of the probe made the destination close twice: drop it.
  probe_strikes_ = 0;
  probe_limit_ = 0;
  Chunk& line = unconfirmed_.empty() ? inflight_.front() : unconfirmed_.front();
  const std::string shown = absl::CHexEscape(
      AbslView(std::string_view(line.bytes).substr(0, kLoggedLineBytes)));
  // A line confirmed once (then replayed) is already counted as forwarded.
  if (!line.counted) {
    counters_.points_dropped[static_cast<int>(DropReason::kRejected)].fetch_add(
        line.points, std::memory_order_relaxed);
  }
  ReleaseSpoolSegment(&line);
  spdlog::error(
      "destination {}: dropped a line it closed the connection on twice "
      "(points_dropped_total reason=rejected): \"{}\"",
      name_, shown);
  unconfirmed_.clear();
  inflight_.clear();
}

void Destination::RequeueUnconfirmed() {
  TrimReplay();
  // A probe is alone on its connection: a close after any of it reached the
  // destination was on one of its lines.
  if (probing_) {
    if (!unconfirmed_.empty() || probe_submitted_) {
      ProbeFailed();
    } else {
      probing_ = false;  // never written: taken again as it was
    }
  }
  if (sent_.empty() && unconfirmed_.empty() && inflight_.empty()) return;
  absl::MutexLock lock(&mu_);
  // Newest first at the front, so the oldest ends up first in line: the
  // unconfirmed lines (suspect) behind the confirmed replay.
  for (auto it = inflight_.rbegin(); it != inflight_.rend(); ++it) {
    it->suspect = true;
    queued_points_ += it->points;
    queue_.push_front(std::move(*it));
  }
  for (auto it = unconfirmed_.rbegin(); it != unconfirmed_.rend(); ++it) {
    it->suspect = true;
    queued_points_ += it->points;
    queue_.push_front(std::move(*it));
  }
  for (auto it = sent_.rbegin(); it != sent_.rend(); ++it) {
    queued_points_ += it->points;
    queue_.push_front(std::move(*it));
  }
  inflight_.clear();
  unconfirmed_.clear();
  sent_.clear();
  sent_bytes_ = 0;
  counters_.queue_points.store(queued_points_, std::memory_order_relaxed);
}

void Destination::ScheduleReconnect() {
  if (closing_handles_) return;
  uint64_t delay = static_cast<uint64_t>(reconnect_min_ms_);
  for (int i = 0;
       i < attempts_ && delay < static_cast<uint64_t>(reconnect_max_ms_); ++i) {
    delay *= 2;
  }
  delay = std::min<uint64_t>(delay, static_cast<uint64_t>(reconnect_max_ms_));
  ++attempts_;
  uv_timer_start(&retry_timer_, &Destination::OnTimer, Jitter(delay), 0);
}

void Destination::OnTimer(uv_timer_t* timer) {
  auto* self = static_cast<Destination*>(timer->data);
  if (self->state_ == State::kIdle) self->Connect();
}

void Destination::BeginDrain(bool include_spool) {
  draining_ = true;
  drain_spool_ = include_spool;
  Pump();
}

uint64_t Destination::Abandon() {
  closing_handles_ = true;
  uint64_t left = 0;
  // Oldest first: written but unconfirmed, being written, then queued.
  std::vector<std::pair<std::string, uint32_t>> keep;
  {
    absl::MutexLock lock(&mu_);
    if (spool_) {
      for (Chunk& c : sent_) keep.emplace_back(std::move(c.bytes), c.points);
      for (Chunk& c : unconfirmed_)
        keep.emplace_back(std::move(c.bytes), c.points);
      for (Chunk& c : inflight_)
        keep.emplace_back(std::move(c.bytes), c.points);
      for (Chunk& c : queue_) keep.emplace_back(std::move(c.bytes), c.points);
      uint64_t points = 0;
      for (const auto& [bytes, n] : keep) points += n;
      if (absl::Status s = spool_->Prepend(keep); s.ok()) {
        if (points > 0) {
          spdlog::info(
              "destination {}: {} points kept in the spool for the next "
              "start",
              name_, points);
        }
        // What was read from spool segments is at the head of the spool now.
        for (Chunk& c : unconfirmed_) ReleaseSpoolSegment(&c);
        for (Chunk& c : inflight_) ReleaseSpoolSegment(&c);
        for (Chunk& c : queue_) ReleaseSpoolSegment(&c);
        queue_.clear();
        inflight_.clear();
        unconfirmed_.clear();
        sent_.clear();
      } else {
        spdlog::error("destination {}: {}", name_, s.message());
        // Put the bytes back for counting below.
        size_t k = sent_.size();
        for (Chunk& c : unconfirmed_) c.bytes = std::move(keep[k++].first);
        for (Chunk& c : inflight_) c.bytes = std::move(keep[k++].first);
        for (Chunk& c : queue_) c.bytes = std::move(keep[k++].first);
      }
      counters_.spool_bytes.store(static_cast<int64_t>(spool_->bytes()),
                                  std::memory_order_relaxed);
    }
    for (const Chunk& c : queue_) {
      if (!c.counted) left += c.points;
    }
    queue_.clear();
    queued_points_ = 0;
    counters_.queue_points.store(0, std::memory_order_relaxed);
  }
  for (const Chunk& c : unconfirmed_) {
    if (!c.counted) left += c.points;
  }
  for (const Chunk& c : inflight_) {
    if (!c.counted) left += c.points;
  }
  if (left > 0) {
    counters_.points_dropped[static_cast<int>(DropReason::kShutdown)].fetch_add(
        left, std::memory_order_relaxed);
    spdlog::error("destination {}: {} points not delivered before shutdown",
                  name_, left);
  }
  if (spool_ && !spool_->empty()) {
    spdlog::info(
        "destination {}: {} points wait in its spool for the next start", name_,
        spool_->points());
  }
  if (state_ == State::kResolving)
    uv_cancel(reinterpret_cast<uv_req_t*>(&resolve_req_));
  if (tcp_ != nullptr && state_ != State::kClosing) {
    state_ = State::kClosing;
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) {
      auto* self = static_cast<Destination*>(h->data);
      delete reinterpret_cast<uv_tcp_t*>(h);
      self->tcp_ = nullptr;
    });
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&connect_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&confirm_timer_), nullptr);
  return left;
}

}  // namespace gralarm
