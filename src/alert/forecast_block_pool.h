#ifndef GRALARM_ALERT_FORECAST_BLOCK_POOL_H_
#define GRALARM_ALERT_FORECAST_BLOCK_POOL_H_

// The memory of the forecast windows (ForecastWindow's heap blocks): blocks
// of whole 64-byte cache lines, aligned on a line, taken from slabs of one
// block size, always the free block of lowest address in the oldest slab.
// Windows created one after the other (series as their points arrive) thus
// sit one after the other in memory, also when they reuse the blocks of
// windows that were freed; points arriving in the same order then read them
// almost sequentially (docs/FORECAST.md "Cost").

#include <cstddef>

namespace gralarm::forecast_pool {

// The bytes a block asked for with `bytes` holds: `bytes` rounded up to a
// multiple of 64.
constexpr size_t BlockSize(size_t bytes) { return (bytes + 63) / 64 * 64; }

// A block of BlockSize(bytes) bytes (bytes > 0) aligned on 64; never null (an
// allocation failure is std::bad_alloc, as for operator new). Thread-safe:
// takes the pool's mutex, a leaf lock (docs/ARCHITECTURE.md).
void* Allocate(size_t bytes);

// Gives back a block from Allocate(bytes), with the same `bytes` (or any of
// the same BlockSize). Null is ignored. Thread-safe, as Allocate.
void Free(void* block, size_t bytes);

// The pool's memory: slabs are kept for reuse, never given back to the
// system, so the pool holds the most its windows ever needed at once. Blocks
// over kMaxPooledBytes are allocated (and freed) one by one and not counted.
inline constexpr size_t kMaxPooledBytes = 4096;
struct Usage {
  size_t slab_bytes = 0;  // in slabs
  size_t used_bytes = 0;  // in blocks in use
};
Usage GetUsage();

}  // namespace gralarm::forecast_pool

#endif  // GRALARM_ALERT_FORECAST_BLOCK_POOL_H_
