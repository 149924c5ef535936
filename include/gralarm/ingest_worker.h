#ifndef GRALARM_INGEST_WORKER_H_
#define GRALARM_INGEST_WORKER_H_

#include <uv.h>

#include <atomic>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gralarm/config.h"
#include "gralarm/ingest_pipeline.h"
#include "gralarm/line_parser.h"
#include "gralarm/log.h"
#include "gralarm/pickle_decoder.h"
#include "gralarm/point_sink.h"
#include "gralarm/stats.h"

namespace gralarm {

// One ingest event loop on its own thread. It accepts plaintext TCP
// connections, UDP datagrams and pickle connections from sockets it is handed
// and feeds what they send to its IngestPipeline, which hands every valid
// point to the loop's sinks (the forwarder's batches, the alert engine) and
// flushes them once per loop iteration. A connection lives its whole life on
// one worker.
class IngestWorker {
 public:
  // `open_connections` is shared by all workers to enforce
  // ingest.max_connections. `sinks` belong to this loop.
  IngestWorker(int id, std::shared_ptr<const Config> config,
               std::vector<std::unique_ptr<PointSink>> sinks,
               std::atomic<int64_t>* open_connections);
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
  // flushes the sinks and joins the thread.
  void Stop();

  // Blocks until the loop has flushed its current sinks and switched to
  // `sinks` and `config` (SIGHUP reload); the old sinks are destroyed on the
  // loop. Listen settings in `config` are ignored: sockets stay as they are.
  void SwapSinks(std::shared_ptr<const Config> config,
                 std::vector<std::unique_ptr<PointSink>> sinks);

  const IngestCounters& counters() const { return counters_; }

 private:
  struct Connection;

  static void OnWakeStop(uv_async_t* async);
  static void OnWakeSwap(uv_async_t* async);
  void Configure(std::shared_ptr<const Config> config,
                 std::vector<std::unique_ptr<PointSink>> sinks);
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
  void CloseConnection(Connection* c);
  // Reads what a client already sent, before its connection is closed at stop.
  void DrainSocket(Connection* c);
  // At stop: accepts the connections still waiting in the listen backlog and
  // reads what they already sent.
  void DrainBacklog(uv_tcp_t* server, bool pickle);
  // Refreshes the time that replaces "-1" timestamps.
  void SetNow();

  const int id_;
  std::atomic<int64_t>* const open_connections_;
  IngestCounters counters_;
  IngestPipeline pipeline_{&counters_};
  // Replaced together with the pipeline's sinks by Configure() on the loop
  // thread.
  std::shared_ptr<const Config> config_;
  size_t max_line_bytes_ = 0;

  absl::Mutex swap_mu_;
  std::shared_ptr<const Config> swap_config_ ABSL_GUARDED_BY(swap_mu_);
  std::vector<std::unique_ptr<PointSink>> swap_sinks_ ABSL_GUARDED_BY(swap_mu_);
  bool swap_pending_ ABSL_GUARDED_BY(swap_mu_) = false;
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

  LogLimiter refused_log_{1, std::chrono::seconds(10)};
};

}  // namespace gralarm

#endif  // GRALARM_INGEST_WORKER_H_
