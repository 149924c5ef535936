#include "gralarm/ingest_pipeline.h"

#include "absl/strings/escaping.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

constexpr size_t kLoggedLineBytes = 120;

}  // namespace

void IngestPipeline::Configure(const IngestOptions& options,
                               std::vector<std::unique_ptr<PointSink>> sinks) {
  parser_options_ = {static_cast<size_t>(options.max_line_bytes),
                     options.allow_nan, options.allow_non_utf8};
  sinks_ = std::move(sinks);
}

void IngestPipeline::HandleLine(std::string_view line, Proto proto,
                                const std::string& peer) {
  Point point;
  LineVerdict verdict = ParseLine(line, now_, parser_options_, &point.parsed);
  if (verdict != LineVerdict::kOk) {
    if (verdict != LineVerdict::kBlank) CountInvalid(verdict, line, peer);
    return;
  }
  ++pending_received_[static_cast<int>(proto)];
  point.line = line;
  for (const std::unique_ptr<PointSink>& sink : sinks_) sink->Accept(point);
  dirty_ = true;
}

void IngestPipeline::HandlePickleFrame(std::string_view frame,
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
      pickle_line_.assign(p.path);
      pickle_line_ += ' ';
      pickle_line_ += p.value;
      pickle_line_ += ' ';
      pickle_line_ += p.timestamp;
      HandleLine(pickle_line_, Proto::kPickle, peer);
    }
  }
}

void IngestPipeline::CountPickleInvalid(PickleError error,
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

void IngestPipeline::CountInvalid(LineVerdict verdict, std::string_view line,
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

void IngestPipeline::Flush() {
  if (!dirty_) return;
  dirty_ = false;
  for (const std::unique_ptr<PointSink>& sink : sinks_) sink->Flush();
  for (int i = 0; i < kNumProtos; ++i) {
    if (pending_received_[i] != 0) {
      counters_->points_received[i].fetch_add(pending_received_[i],
                                              std::memory_order_relaxed);
      pending_received_[i] = 0;
    }
  }
  for (int i = 0; i < kNumInvalidReasons; ++i) {
    if (pending_invalid_[i] != 0) {
      counters_->lines_invalid[i].fetch_add(pending_invalid_[i],
                                            std::memory_order_relaxed);
      pending_invalid_[i] = 0;
    }
  }
  for (int i = 0; i < kNumPickleErrors; ++i) {
    if (pending_pickle_invalid_[i] != 0) {
      counters_->pickle_frames_invalid[i].fetch_add(pending_pickle_invalid_[i],
                                                    std::memory_order_relaxed);
      pending_pickle_invalid_[i] = 0;
    }
  }
}

}  // namespace gralarm
