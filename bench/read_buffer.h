#ifndef GRALARM_BENCH_READ_BUFFER_H_
#define GRALARM_BENCH_READ_BUFFER_H_

#include <string>

namespace gralarm::bench {

// A 256 KiB ingest read buffer of canonical lines from 500 hosts × 16 CPUs,
// the input the parser and ingest benchmarks share.
inline std::string SampleReadBuffer() {
  std::string buffer;
  int n = 0;
  while (buffer.size() < 256 * 1024) {
    buffer += "collector" + std::to_string(n % 500) + ".cpu" +
              std::to_string(n % 16) + ".load 0.75 " +
              std::to_string(1700000000 + n) + "\n";
    ++n;
  }
  return buffer;
}

}  // namespace gralarm::bench

#endif  // GRALARM_BENCH_READ_BUFFER_H_
