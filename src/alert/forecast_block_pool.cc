#include "alert/forecast_block_pool.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "absl/base/config.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

#ifdef ABSL_HAVE_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
#define GRALARM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define GRALARM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define GRALARM_POISON(p, n) ((void)(p), (void)(n))
#define GRALARM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace gralarm::forecast_pool {
namespace {

constexpr size_t kLine = 64;
constexpr size_t kClasses = kMaxPooledBytes / kLine;
// A slab: 64 KiB, aligned on its size, so a block's slab is its address
// rounded down.
constexpr size_t kSlabBytes = 64 * 1024;
constexpr std::align_val_t kSlabAlign{kSlabBytes};
constexpr std::align_val_t kLineAlign{kLine};

struct Slab {
  char* base = nullptr;
  // Bit i set: block i is in use.
  std::vector<uint64_t> used;
  size_t free_blocks = 0;
};

// The slabs of one block size, oldest first.
struct Class {
  std::vector<Slab> slabs;
  // No slab before this one has a free block.
  size_t first_free = 0;
};

class Pool {
 public:
  void* Allocate(size_t c) {
    absl::MutexLock lock(&mu_);
    Class& cls = classes_[c];
    const size_t block_bytes = (c + 1) * kLine;
    const size_t per_slab = kSlabBytes / block_bytes;
    while (cls.first_free < cls.slabs.size() &&
           cls.slabs[cls.first_free].free_blocks == 0) {
      ++cls.first_free;
    }
    if (cls.first_free == cls.slabs.size()) {
      Slab slab;
      slab.base = static_cast<char*>(::operator new(kSlabBytes, kSlabAlign));
      slab.used.assign((per_slab + 63) / 64, 0);
      slab.free_blocks = per_slab;
      GRALARM_POISON(slab.base, kSlabBytes);
      slab_index_[reinterpret_cast<uintptr_t>(slab.base)] = cls.slabs.size();
      cls.slabs.push_back(std::move(slab));
    }
    Slab& slab = cls.slabs[cls.first_free];
    size_t w = 0;
    while (slab.used[w] == ~uint64_t{0}) ++w;
    const size_t i =
        w * 64 + static_cast<size_t>(std::countr_one(slab.used[w]));
    slab.used[w] |= uint64_t{1} << (i % 64);
    --slab.free_blocks;
    used_bytes_ += block_bytes;
    char* block = slab.base + i * block_bytes;
    GRALARM_UNPOISON(block, block_bytes);
    return block;
  }

  void Free(void* p, size_t c) {
    absl::MutexLock lock(&mu_);
    Class& cls = classes_[c];
    const size_t block_bytes = (c + 1) * kLine;
    auto* block = static_cast<char*>(p);
    const uintptr_t base =
        reinterpret_cast<uintptr_t>(block) & ~uintptr_t{kSlabBytes - 1};
    const auto it = slab_index_.find(base);
    // A block of no slab of this size, or freed twice: memory is corrupt
    // already.
    if (it == slab_index_.end() || it->second >= cls.slabs.size() ||
        cls.slabs[it->second].base != reinterpret_cast<char*>(base)) {
      std::abort();
    }
    const size_t s = it->second;
    Slab& slab = cls.slabs[s];
    const auto offset = static_cast<size_t>(block - slab.base);
    const size_t i = offset / block_bytes;
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (offset % block_bytes != 0 || i >= kSlabBytes / block_bytes ||
        (slab.used[i / 64] & bit) == 0) {
      std::abort();
    }
    slab.used[i / 64] &= ~bit;
    ++slab.free_blocks;
    used_bytes_ -= block_bytes;
    if (s < cls.first_free) cls.first_free = s;
    GRALARM_POISON(block, block_bytes);
  }

  Usage GetUsage() {
    absl::MutexLock lock(&mu_);
    return Usage{slab_index_.size() * kSlabBytes, used_bytes_};
  }

 private:
  absl::Mutex mu_;
  std::array<Class, kClasses> classes_ ABSL_GUARDED_BY(mu_);
  // A slab's index in its class, by its address. Slabs live as long as the
  // process (reachable from here, for LeakSanitizer).
  absl::flat_hash_map<uintptr_t, size_t> slab_index_ ABSL_GUARDED_BY(mu_);
  size_t used_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

}  // namespace

void* Allocate(size_t bytes) {
  if (bytes > kMaxPooledBytes) {
    return ::operator new(BlockSize(bytes), kLineAlign);
  }
  return ThePool().Allocate(BlockSize(bytes) / kLine - 1);
}

void Free(void* block, size_t bytes) {
  if (block == nullptr) return;
  if (bytes > kMaxPooledBytes) {
    ::operator delete(block, kLineAlign);
    return;
  }
  ThePool().Free(block, BlockSize(bytes) / kLine - 1);
}

Usage GetUsage() { return ThePool().GetUsage(); }

}  // namespace gralarm::forecast_pool
