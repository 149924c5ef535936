// libFuzzer target: what gralarm reads from graphite-web. Every input is read
// as a /metrics/find treejson answer, as a /render?format=json answer and as a
// from/until value; nothing may crash or leak, and an accepted find answer
// has no more nodes than the input has bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gralarm/graphite_web.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nodes = gralarm::ParseFindAnswer(text);
  if (nodes.ok() && nodes->size() > size) std::abort();
  (void)gralarm::CheckRenderAnswer(text);
  (void)gralarm::IsGraphiteTime(text);
  return 0;
}
