// Line parser and stream splitter throughput.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "gralarm/line_parser.h"
#include "gralarm/line_splitter.h"
#include "read_buffer.h"

namespace gralarm {
namespace {

std::vector<std::string> MakeLines(const char* shape, int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    char buf[256];
    snprintf(buf, sizeof(buf), shape, i % 1000, i % 97, 1700000000 + i);
    lines.emplace_back(buf);
  }
  return lines;
}

void RunParse(benchmark::State& state, const std::vector<std::string>& lines) {
  LineParserOptions options;
  ParsedLine parsed;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& l = lines[i++ % lines.size()];
    benchmark::DoNotOptimize(ParseLine(l, 1800000000, options, &parsed));
    bytes += l.size() + 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_ParseCanonical(benchmark::State& state) {
  RunParse(state, MakeLines("cgnat%d.ethtrunk%d.input.util_pct 42.5 %d", 4096));
}
BENCHMARK(BM_ParseCanonical);

void BM_ParseTagged(benchmark::State& state) {
  RunParse(state, MakeLines("disk.used;host=h%d;mount=/srv%d 1.25e3 %d", 4096));
}
BENCHMARK(BM_ParseTagged);

void BM_ParseTabsFloatTimestamp(benchmark::State& state) {
  RunParse(state, MakeLines("if%d.octets\t%d\t%d.5\r", 4096));
}
BENCHMARK(BM_ParseTabsFloatTimestamp);

void BM_ParseInvalidPath(benchmark::State& state) {
  RunParse(state, MakeLines("bad..path%d.x %d %d", 4096));
}
BENCHMARK(BM_ParseInvalidPath);

// Splitting a 256 KiB read buffer into lines and parsing each, as an ingest
// loop does.
void BM_SplitAndParseReadBuffer(benchmark::State& state) {
  const std::string buffer = bench::SampleReadBuffer();
  LineSplitter splitter(4096);
  LineParserOptions options;
  int64_t lines = 0;
  for (auto _ : state) {
    splitter.Feed(
        buffer.data(), buffer.size(),
        [&](std::string_view line) {
          ParsedLine parsed;
          benchmark::DoNotOptimize(
              ParseLine(line, 1800000000, options, &parsed));
          ++lines;
        },
        [] {});
  }
  state.SetItemsProcessed(lines);
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_SplitAndParseReadBuffer);

}  // namespace
}  // namespace gralarm
