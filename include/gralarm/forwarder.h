#ifndef GRALARM_FORWARDER_H_
#define GRALARM_FORWARDER_H_

#include <uv.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/config.h"
#include "gralarm/log.h"
#include "gralarm/router.h"
#include "gralarm/spool.h"
#include "gralarm/stats.h"

namespace gralarm {

// Plaintext lines bound for one destination, as one unit of queueing.
struct Chunk {
  std::string bytes;
  uint32_t points = 0;
  // Already counted in points_forwarded (confirmed once, then sent again
  // after a broken connection); never counted a second time.
  bool counted = false;
  // Was written, unconfirmed, when the destination closed the connection: it
  // may hold a line the destination refuses. Sent again only as a probe, alone
  // on the connection (see Destination).
  bool suspect = false;
  // Written: when, and the connection's byte count at its end.
  std::chrono::steady_clock::time_point sent_at{};
  uint64_t conn_end = 0;
  // When the peer's TCP acknowledged every byte of it; zero until then.
  std::chrono::steady_clock::time_point acked_at{};
  // Read back from the spool; the chunk that ends a spool segment releases it
  // once confirmed (or once put back at the head of the spool at shutdown).
  int64_t spool_segment = -1;
  bool spool_segment_end = false;
};

// The byte offset just past the n-th '\n' of `bytes` (bytes.size() when it
// has fewer lines).
size_t OffsetAfterLines(std::string_view bytes, uint32_t n);

// One carbon-cache line receiver: a bounded memory queue that any thread may
// append to, drained by one TCP connection owned by the forward loop, and a
// disk spool behind it (when forward.spool_max_bytes > 0).
//
// Points go to the spool instead of memory while the destination is not
// connected, while the memory queue is full, and while the spool holds
// anything (so that order is kept); the forward loop reads the spool back,
// oldest first, once the memory queue is empty. At shutdown what is still in
// memory is put at the head of the spool for the next start.
//
// Nothing is lost silently: a point is delivered, waits in the queue or the
// spool, or is counted in points_dropped (without a spool, queue overflow
// drops the oldest points; past spool_max_bytes, the oldest spooled).
//
// Delivery. The plaintext protocol has no acknowledgement, so a chunk counts
// as delivered (points_forwarded) once the peer's TCP has acknowledged all of
// its bytes (SIOCOUTQ) and the connection has stayed up kSettle after that, or
// once the peer closed its side after reading our FIN at drain. When a
// connection breaks, the confirmed bytes of the last moments (kReplayBytes /
// kReplayAge) are queued again, since a peer that died may not have stored
// them (carbon-cache stores a repeated (series, timestamp) once, so a replay
// costs only bandwidth), and so are the unconfirmed ones, marked suspect.
//
// A line the destination cannot take (carbon-cache closes the connection on
// a line it cannot decode) must not wedge delivery by being replayed forever.
// Suspect chunks are sent as probes: alone on the connection, each confirmed
// before the next is written. The first probe holds every suspect line; each
// probe the destination closes on is halved, so the offending line is found
// in about log2(lines) probes, and a one-line probe it closes on twice is
// dropped, counted (reason rejected) and logged. Later points wait behind the
// probes, so order is kept.
class Destination {
 public:
  static constexpr size_t kReplayBytes = 16 << 20;
  static constexpr std::chrono::seconds kReplayAge{60};
  // How long a connection must stay up after the peer acknowledged a chunk for
  // the chunk to count as delivered.
  static constexpr std::chrono::milliseconds kSettle{250};

  // `name` replaces DestinationName(options) in logs and metrics when not
  // empty (a peer link: "peer:host:port").
  Destination(const DestinationOptions& options, const ForwardOptions& forward,
              uv_loop_t* loop, std::shared_ptr<Spool> spool = nullptr,
              std::string name = "");
  ~Destination();
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;

  // DestinationName(options()), or the name given at construction.
  const std::string& name() const { return name_; }
  const DestinationOptions& options() const { return options_; }
  DestinationCounters& counters() { return counters_; }
  bool up() const { return counters_.up.load(std::memory_order_relaxed); }

  // Any thread. Never blocks on the network. The forward loop must be woken
  // after.
  void Enqueue(std::string bytes, uint32_t points);

  // Forward loop only.
  void Start();
  void Pump();
  // Delivers what is queued, and with `include_spool` what is spooled too
  // (at shutdown; a forwarder retired by a reload leaves the spool to the
  // next).
  void BeginDrain(bool include_spool);
  // True once draining finished: everything delivered and the connection
  // closed.
  bool drained() const { return drained_; }
  // Gives up: puts what is left in memory at the head of the spool (or, with
  // none, counts it as dropped, reason shutdown) and closes handles. Returns
  // the number of points that were dropped.
  uint64_t Abandon();

 private:
  enum class State {
    kIdle,
    kResolving,
    kConnecting,
    kConnected,
    kShuttingDown,
    kClosing
  };

  void Connect();
  void ScheduleReconnect();
  void ConnectionLost(std::string_view why);
  void RequeueUnconfirmed();
  // Settles a failed probe: halves the next one, or drops its one line on the
  // second failure.
  void ProbeFailed();
  // Moves chunks the peer acknowledged kSettle ago to sent_, counting them.
  void Confirm();
  void TrimReplay();
  // Deletes the spool segment `c` ends, if it ends one.
  void ReleaseSpoolSegment(Chunk* c);
  // Moves the first probe_limit_ suspect lines of the queue into inflight_.
  void TakeProbeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends to the spool; false when it cannot (the caller keeps the points in
  // memory). mu_ held.
  bool SpoolLocked(std::string_view bytes, uint32_t points)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves spooled chunks into the empty memory queue. mu_ held.
  void UnspoolLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static void OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
  static void OnConnect(uv_connect_t* req, int status);
  static void OnWrite(uv_write_t* req, int status);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnClosed(uv_handle_t* handle);
  static void OnTimer(uv_timer_t* timer);
  static void OnConnectTimeout(uv_timer_t* timer);
  static void OnConfirmTimer(uv_timer_t* timer);

  const DestinationOptions options_;
  const std::string name_;
  const int64_t capacity_points_;
  const int64_t reconnect_min_ms_;
  const int64_t reconnect_max_ms_;
  uv_loop_t* const loop_;
  const std::shared_ptr<Spool> spool_;
  DestinationCounters counters_;

  absl::Mutex mu_;
  std::deque<Chunk> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queued_points_ ABSL_GUARDED_BY(mu_) = 0;
  LogLimiter drop_log_{1, std::chrono::seconds(10)};
  LogLimiter spool_log_{1, std::chrono::seconds(10)};

  // Forward loop state.
  State state_ = State::kIdle;
  bool draining_ = false;
  bool drain_spool_ = false;
  bool drained_ = false;
  bool writing_ = false;
  bool closing_handles_ = false;
  int attempts_ = 0;
  bool logged_down_ = false;
  uv_tcp_t* tcp_ = nullptr;
  uv_getaddrinfo_t resolve_req_{};
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  uv_shutdown_t shutdown_req_{};
  uv_timer_t retry_timer_{};
  uv_timer_t connect_timer_{};
  uv_timer_t confirm_timer_{};
  std::vector<Chunk> inflight_;
  std::vector<uv_buf_t> bufs_;
  std::deque<Chunk> unconfirmed_;  // written on this connection, in order
  std::deque<Chunk> sent_;         // confirmed, kept for replay
  size_t sent_bytes_ = 0;
  uint64_t conn_written_ = 0;  // bytes of completed writes on this connection
  size_t inflight_bytes_ = 0;  // bytes of the write under way
  // Probing (see the class comment): a probe of probe_lines_ lines is in
  // inflight_/unconfirmed_; the next takes at most probe_limit_ (0 = all).
  bool probing_ = false;
  bool probe_submitted_ = false;  // its write reached the kernel
  uint32_t probe_lines_ = 0;
  uint32_t probe_limit_ = 0;
  int probe_strikes_ = 0;  // failures of the current one-line probe
  LogLimiter probe_log_{1, std::chrono::seconds(10)};
  char read_buf_[512];
};

// Owns the destinations and the loop thread that writes to them.
class Forwarder {
 public:
  // Builds destinations and the router from the config. Nothing starts yet.
  static absl::StatusOr<std::unique_ptr<Forwarder>> Create(
      const Config& config);
  // The copy links of [cluster]: one destination per cluster.peers address,
  // named "peer:<address>", each sent every point (the peers are not on the
  // hash ring), with the queue, spool, reconnect and drain policy of
  // [forward]. Spools live under <spool root>/peers/, apart from the carbon
  // destinations'. Needs cluster.enabled().
  static absl::StatusOr<std::unique_ptr<Forwarder>> CreatePeerLinks(
      const Config& config);
  ~Forwarder();

  // Starts the forward loop thread; destinations begin connecting.
  void Start();

  const Router& router() const { return *router_; }
  // Whether each destination is up now, as Route() sees it.
  const Liveness& liveness() const { return liveness_; }
  // Any thread: the destinations of `name` by the routing policy, with the
  // destinations' current liveness (Router::Route()).
  int Route(std::string_view name, int* out) const {
    return router_->Route(name, liveness_, out);
  }
  int num_destinations() const {
    return static_cast<int>(destinations_.size());
  }
  Destination& destination(int i) { return *destinations_[i]; }

  // Any thread: queue lines for destination i, then call Wake() once per batch.
  void Send(int i, std::string bytes, uint32_t points) {
    destinations_[i]->Enqueue(std::move(bytes), points);
  }
  void Wake();

  // Injects lines built on the forward loop (self-metrics) every interval.
  using Ticker = std::function<void(Forwarder*)>;
  void SetTicker(std::chrono::milliseconds interval, Ticker ticker);

  // Delivers what is queued, waiting at most `timeout` (peer links do not wait
  // for a link that is down: its points are in its spool already, or put
  // there); what is left is counted as dropped (reason shutdown) and logged. Stops and joins the loop thread.
  // With `include_spool`, the spools are delivered too (at shutdown); what is
  // left in them waits for the next start.
  void Drain(std::chrono::milliseconds timeout, bool include_spool = false);

  void AddToSnapshot(StatsSnapshot* s);

 private:
  Forwarder() = default;
  // Create() and CreatePeerLinks(): destinations for `forward` (spooled under
  // `spool_dir`; no spool when empty or forward.spool_max_bytes <= 0), named
  // `name_prefix` + DestinationName().
  static absl::StatusOr<std::unique_ptr<Forwarder>> Build(
      const ForwardOptions& forward, const std::string& spool_dir,
      const std::string& name_prefix);
  static void OnWake(uv_async_t* async);
  static void OnStop(uv_async_t* async);
  static void OnCheckDrain(uv_timer_t* timer);
  static void OnTick(uv_timer_t* timer);
  void FinishDrain(bool timed_out);

  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_async_t stop_{};
  uv_timer_t drain_timer_{};
  uv_timer_t tick_timer_{};
  std::chrono::milliseconds tick_interval_{0};
  Ticker ticker_;
  std::chrono::steady_clock::time_point drain_deadline_{};
  bool drain_spool_ = false;
  // False for peer links: Drain() gives up on a destination that is down.
  bool drain_waits_for_down_ = true;
  std::unique_ptr<Router> router_;
  std::vector<std::unique_ptr<Destination>> destinations_;
  Liveness liveness_;  // of destinations_
  std::thread thread_;
  bool started_ = false;  // the loop thread is running
  bool ran_ = false;      // Start() was called once
};

}  // namespace gralarm

#endif  // GRALARM_FORWARDER_H_
