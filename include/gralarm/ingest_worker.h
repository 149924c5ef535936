#ifndef GRALARM_INGEST_WORKER_H_
#define GRALARM_INGEST_WORKER_H_

#include <uv.h>

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/config.h"
#include "gralarm/forwarder.h"
#include "gralarm/line_parser.h"
#include "gralarm/log.h"
#include "gralarm/pickle_decoder.h"
#include "gralarm/stats.h"

namespace gralarm {

// One ingest event loop on its own thread. It accepts plaintext TCP
// connections, UDP datagrams and pickle connections from sockets it is handed,
// validates every line (a pickled point is made a line first), and appends each
// valid one to the per-destination batches it hands to the Forwarder once per
// loop iteration. A connection lives its whole life on one worker.
class IngestWorker {
 public:
  // `open_connections` is shared by all workers to enforce
  // ingest.max_connections. `engine` (may be null) evaluates every valid point
  // against the rules.
  IngestWorker(int id, std::shared_ptr<const Config> config,
               Forwarder* forwarder, std::atomic<int64_t>* open_connections,
               AlertEngine* engine = nullptr);
  ~IngestWorker();
  IngestWorker(const IngestWorker&) = delete;
  IngestWorker& operator=(const IngestWorker&) = delete;

  // Takes ownership of the descriptors (any may be -1) and starts the
  // thread.
  void Start(int tcp_fd, int udp_fd, int pickle_fd = -1);

  // Pickle bytes one loop holds in unfinished frames, all connections
  // together; past it the connection that adds to it is closed, so slow
  // senders of large frames cannot exhaust memory.
  static constexpr size_t kMaxPicklePendingBytes = 64 << 20;

  // Stops accepting, reads what clients already sent, closes every connection,
  // hands the last batches to the forwarder and joins the thread.
  void Stop();

  // Blocks until the loop has handed its current batches to the old forwarder
  // and switched to `forwarder` and `config` (SIGHUP reload). Listen settings
  // in `config` are ignored: sockets stay as they are.
  void SwapForwarder(Forwarder* forwarder,
                     std::shared_ptr<const Config> config);

  const IngestCounters& counters() const { return counters_; }

 private:
  struct Connection;

  static void OnWakeStop(uv_async_t* async);
  static void OnWakeSwap(uv_async_t* async);
  void Configure(Forwarder* forwarder, std::shared_ptr<const Config> config);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnPickleConnection(uv_stream_t* server, int status);
  static void Accept(uv_stream_t* server, int status, bool pickle);
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnUdp(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf,
                    const sockaddr* addr, unsigned flags);
  static void OnCheck(uv_check_t* check);
  static void OnIdleTimer(uv_timer_t* timer);

  // Feeds bytes read from a connection: complete lines are handled, a partial
  // last line is carried to the next read.
  void Feed(Connection* c, const char* data, size_t n);
  // Handles the carried partial line when its connection ends.
  void FinishStream(Connection* c, bool clean_eof);
  void HandleLine(std::string_view line, Proto proto, const std::string& peer);
  // Decodes one pickle frame and handles each point as a line.
  void HandlePickleFrame(std::string_view frame, const std::string& peer);
  void CountPickleInvalid(PickleError error, const std::string& peer);
  void CountInvalid(LineVerdict verdict, std::string_view line,
                    const std::string& peer);
  void CloseConnection(Connection* c);
  // Reads what a client already sent, before its connection is closed at stop.
  void DrainSocket(Connection* c);
  // At stop: accepts the connections still waiting in the listen backlog and
  // reads what they already sent.
  void DrainBacklog(uv_tcp_t* server, bool pickle);
  // Hands the batches and counters of this loop iteration over.
  void Flush();

  const int id_;
  std::atomic<int64_t>* const open_connections_;
  AlertEngine* const engine_;
  // This loop's snapshot of engine_->rules().
  std::shared_ptr<const RuleSet> rules_;
  // Hashes of series that no rule of rules_ matches: skipped without a lock.
  absl::flat_hash_set<uint64_t> unmatched_;
  uint64_t rules_generation_ = ~uint64_t{0};
  // Replaced together by Configure() on the loop thread.
  std::shared_ptr<const Config> config_;
  Forwarder* forwarder_ = nullptr;
  const Router* router_ = nullptr;
  bool any_of_ = false;
  LineParserOptions parser_options_;
  size_t max_line_bytes_ = 0;

  absl::Mutex swap_mu_;
  Forwarder* swap_forwarder_ ABSL_GUARDED_BY(swap_mu_) = nullptr;
  std::shared_ptr<const Config> swap_config_ ABSL_GUARDED_BY(swap_mu_);
  bool swap_done_ ABSL_GUARDED_BY(swap_mu_) = false;
  uv_async_t swap_async_{};

  uv_loop_t loop_{};
  uv_tcp_t tcp_server_{};
  uv_tcp_t pickle_server_{};
  uv_udp_t udp_{};
  uv_async_t stop_async_{};
  uv_check_t check_{};
  uv_timer_t idle_timer_{};
  bool has_tcp_ = false;
  bool has_udp_ = false;
  bool has_pickle_ = false;
  size_t pickle_pending_bytes_ = 0;
  std::thread thread_;
  bool started_ = false;

  std::list<Connection*> connections_;
  std::vector<char> read_buf_;
  uint32_t now_ =
      0;  // wall-clock seconds for "-1" timestamps, refreshed per read

  // Batches of the current loop iteration, per destination.
  std::vector<std::string> batch_;
  std::vector<uint32_t> batch_points_;
  bool dirty_ = false;
  // Counts of the current iteration, added to counters_ by Flush().
  uint64_t pending_received_[kNumProtos] = {};
  uint64_t pending_invalid_[kNumInvalidReasons] = {};
  uint64_t pending_pickle_invalid_[kNumPickleErrors] = {};

  IngestCounters counters_;
  LogLimiter invalid_log_{10, std::chrono::seconds(60)};
  LogLimiter refused_log_{1, std::chrono::seconds(10)};
};

}  // namespace gralarm

#endif  // GRALARM_INGEST_WORKER_H_
