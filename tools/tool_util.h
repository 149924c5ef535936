// Small helpers shared by the load tools (gralarm-loadgen, gralarm-sink).
#ifndef GRALARM_TOOLS_TOOL_UTIL_H_
#define GRALARM_TOOLS_TOOL_UTIL_H_

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace gralarm::tools {

// Wall-clock seconds, as a double, so two processes' stamps compare.
inline double Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The integer after `name` on the command line, or `fallback`.
inline long Arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0)
      return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace gralarm::tools

#endif  // GRALARM_TOOLS_TOOL_UTIL_H_
