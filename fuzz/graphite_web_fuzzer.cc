// libFuzzer target: what gralarm reads from graphite-web. Every input is read
// as a /metrics/find treejson answer, as a /render?format=json answer (checked
// and read into points) and as a from/until value; nothing may crash or leak,
// an accepted find answer has no more nodes than the input has bytes, and the
// check and the reading of a render answer agree.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gralarm/graphite_web.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nodes = gralarm::ParseFindAnswer(text);
  if (nodes.ok() && nodes->size() > size) std::abort();
  const bool checked = gralarm::CheckRenderAnswer(text).ok();
  auto series = gralarm::ParseRenderAnswer(text);
  if (series.ok() != checked) std::abort();
  if (series.ok()) {
    for (const gralarm::RenderSeries& s : *series) {
      for (const auto& [ts, value] : s.points) {
        if (ts < 0 || !std::isfinite(value)) std::abort();
      }
    }
  }
  (void)gralarm::IsGraphiteTime(text);
  return 0;
}
