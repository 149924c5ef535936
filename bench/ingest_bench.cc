// What an ingest loop does per point past the parser: the IngestPipeline
// handing each point to its sinks (here the forwarder's batches), against the
// same work written inline (parse, route, append to the batch) as ingest did
// before the PointSink seam. Both flush to a Forwarder that is never started,
// whose bounded queues drop the oldest chunks.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "gralarm/forward_sink.h"
#include "gralarm/forwarder.h"
#include "gralarm/ingest_pipeline.h"
#include "gralarm/line_splitter.h"
#include "gralarm/log.h"
#include "read_buffer.h"

namespace gralarm {
namespace {

std::string ReadBuffer() { return bench::SampleReadBuffer(); }

std::unique_ptr<Forwarder> MakeForwarder(ForwardMethod method) {
  spdlog::set_level(spdlog::level::off);  // queue overflow is expected here
  Config c;
  c.forward.method = method;
  c.forward.replication = 1;
  c.forward.queue_points = 100000;
  c.forward.spool_max_bytes = 0;
  for (int i = 0; i < 4; ++i) {
    DestinationOptions d;
    d.host = "10.0.0." + std::to_string(i + 1);
    d.port = 2003;
    d.address = d.host + ":2003";
    c.forward.destinations.push_back(d);
  }
  auto f = Forwarder::Create(c);
  if (!f.ok()) return nullptr;
  // Every destination up, as in normal running (any_of does not fail over).
  for (int i = 0; i < 4; ++i) (*f)->destination(i).counters().up = true;
  return std::move(*f);
}

// One read buffer per iteration, flushed at its end as one loop iteration.
void BM_IngestPipelineToForwardSink(benchmark::State& state) {
  auto forwarder = MakeForwarder(static_cast<ForwardMethod>(state.range(0)));
  if (forwarder == nullptr) return state.SkipWithError("forwarder");
  const std::string buffer = ReadBuffer();
  IngestCounters counters;
  IngestPipeline pipeline(&counters);
  std::vector<std::unique_ptr<PointSink>> sinks;
  sinks.push_back(std::make_unique<ForwardSink>(forwarder.get()));
  pipeline.Configure(IngestOptions(), std::move(sinks));
  pipeline.set_now(1800000000);
  LineSplitter splitter(4096);
  const std::string peer = "127.0.0.1:1";
  for (auto _ : state) {
    splitter.Feed(
        buffer.data(), buffer.size(),
        [&](std::string_view line) {
          pipeline.HandleLine(line, Proto::kTcp, peer);
        },
        [] {});
    pipeline.Flush();
  }
  state.SetLabel(std::string(
      ForwardMethodName(static_cast<ForwardMethod>(state.range(0)))));
  state.SetItemsProcessed(static_cast<int64_t>(
      counters.points_received[static_cast<int>(Proto::kTcp)].load()));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_IngestPipelineToForwardSink)
    ->Arg(static_cast<int>(ForwardMethod::kCarbonCh))
    ->Arg(static_cast<int>(ForwardMethod::kAnyOf));

// The reference: the same per-point work with no sink in between.
void BM_IngestInlineReference(benchmark::State& state) {
  auto forwarder = MakeForwarder(static_cast<ForwardMethod>(state.range(0)));
  if (forwarder == nullptr) return state.SkipWithError("forwarder");
  const std::string buffer = ReadBuffer();
  std::vector<std::string> batch(4);
  std::vector<uint32_t> batch_points(4, 0);
  LineParserOptions options;
  LineSplitter splitter(4096);
  int64_t points = 0;
  for (auto _ : state) {
    splitter.Feed(
        buffer.data(), buffer.size(),
        [&](std::string_view line) {
          ParsedLine parsed;
          if (ParseLine(line, 1800000000, options, &parsed) !=
              LineVerdict::kOk) {
            return;
          }
          ++points;
          int targets[kMaxFanout];
          const int n = forwarder->Route(parsed.name, targets);
          for (int i = 0; i < n; ++i) {
            AppendForwardLine(parsed, line, &batch[targets[i]]);
            ++batch_points[targets[i]];
          }
        },
        [] {});
    for (size_t d = 0; d < batch.size(); ++d) {
      if (batch_points[d] == 0) continue;
      std::string bytes;
      bytes.reserve(64 * 1024);
      bytes.swap(batch[d]);
      forwarder->Send(static_cast<int>(d), std::move(bytes), batch_points[d]);
      batch_points[d] = 0;
    }
    forwarder->Wake();
  }
  state.SetLabel(std::string(
      ForwardMethodName(static_cast<ForwardMethod>(state.range(0)))));
  state.SetItemsProcessed(points);
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_IngestInlineReference)
    ->Arg(static_cast<int>(ForwardMethod::kCarbonCh))
    ->Arg(static_cast<int>(ForwardMethod::kAnyOf));

}  // namespace
}  // namespace gralarm
