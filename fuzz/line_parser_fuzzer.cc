// libFuzzer target: the plaintext line decoder. Bytes are fed to a
// LineSplitter in two reads cut at a position taken from the input, and every
// line it yields is parsed and, when valid, written back as a forward line,
// which must parse again to the same series and timestamp.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gralarm/line_parser.h"
#include "gralarm/line_splitter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cut = data[0] % (size);
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  const gralarm::LineParserOptions options{64, (data[0] & 1) != 0};
  auto on_line = [&](std::string_view line) {
    gralarm::ParsedLine parsed;
    if (gralarm::ParseLine(line, 1700000000, options, &parsed) !=
        gralarm::LineVerdict::kOk) {
      return;
    }
    std::string out;
    gralarm::AppendForwardLine(parsed, line, &out);
    if (out.empty() || out.back() != '\n') std::abort();
    out.pop_back();
    // A rewritten timestamp ("-1" becomes ten digits) may lengthen the line.
    gralarm::LineParserOptions reparse = options;
    reparse.max_line_bytes += 16;
    gralarm::ParsedLine again;
    if (gralarm::ParseLine(out, 1700000000, reparse, &again) !=
            gralarm::LineVerdict::kOk ||
        again.path != parsed.path || again.timestamp != parsed.timestamp) {
      std::abort();
    }
  };
  gralarm::LineSplitter splitter(64);
  splitter.Feed(bytes, std::min(cut, n), on_line, [] {});
  if (cut < n) splitter.Feed(bytes + cut, n - cut, on_line, [] {});
  splitter.Finish((data[0] & 2) != 0, on_line, [] {}, [](std::string_view) {});
  return 0;
}
