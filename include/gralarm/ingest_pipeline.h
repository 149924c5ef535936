#ifndef GRALARM_INGEST_PIPELINE_H_
#define GRALARM_INGEST_PIPELINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gralarm/config.h"
#include "gralarm/line_parser.h"
#include "gralarm/log.h"
#include "gralarm/pickle_decoder.h"
#include "gralarm/point_sink.h"
#include "gralarm/stats.h"

namespace gralarm {

// What an ingest loop does with what it reads, sockets aside: validates every
// line (a pickled point is made a line first), counts the received and the
// invalid ones, and hands each valid point to its sinks, in order. Counts are
// added to the shared counters once per loop iteration, at Flush(). One per
// loop; not thread-safe.
class IngestPipeline {
 public:
  // `counters` (not owned) receives the received and invalid counts.
  explicit IngestPipeline(IngestCounters* counters) : counters_(counters) {}
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;

  // Parser limits from `options`; `sinks` replace the current ones (call
  // Flush() first to hand on what they batched).
  void Configure(const IngestOptions& options,
                 std::vector<std::unique_ptr<PointSink>> sinks);

  // Wall-clock seconds that replace a "-1" timestamp.
  void set_now(uint32_t now) { now_ = now; }

  // One line, without its '\n'. `peer` names the sender in logs.
  void HandleLine(std::string_view line, Proto proto, const std::string& peer);
  // Decodes one pickle frame and handles each point as a line.
  void HandlePickleFrame(std::string_view frame, const std::string& peer);
  // Counts (and logs, rate-limited) a line refused before parsing.
  void CountInvalid(LineVerdict verdict, std::string_view line,
                    const std::string& peer);
  void CountPickleInvalid(PickleError error, const std::string& peer);

  // The end of a loop iteration: flushes the sinks and adds the counts of the
  // iteration to the counters. Does nothing when nothing arrived since the
  // last call.
  void Flush();

 private:
  IngestCounters* const counters_;
  std::vector<std::unique_ptr<PointSink>> sinks_;
  LineParserOptions parser_options_;
  uint32_t now_ = 0;
  bool dirty_ = false;
  std::string pickle_line_;  // reused for every pickled point
  uint64_t pending_received_[kNumProtos] = {};
  uint64_t pending_invalid_[kNumInvalidReasons] = {};
  uint64_t pending_pickle_invalid_[kNumPickleErrors] = {};
  LogLimiter invalid_log_{10, std::chrono::seconds(60)};
};

}  // namespace gralarm

#endif  // GRALARM_INGEST_PIPELINE_H_
