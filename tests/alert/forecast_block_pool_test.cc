// The forecast windows' block pool: line-aligned blocks, laid out in the order
// they are asked for, and the lowest free block reused first.
#include "alert/forecast_block_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace gralarm::forecast_pool {
namespace {

uintptr_t Addr(void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(ForecastBlockPoolTest, BlocksAreWholeAlignedLines) {
  EXPECT_EQ(BlockSize(1), 64u);
  EXPECT_EQ(BlockSize(64), 64u);
  EXPECT_EQ(BlockSize(232), 256u);
  for (size_t bytes : {size_t{1}, size_t{100}, size_t{232}, kMaxPooledBytes,
                       kMaxPooledBytes + 1, size_t{70000}}) {
    void* p = Allocate(bytes);
    EXPECT_EQ(Addr(p) % 64, 0u) << bytes;
    std::memset(p, 0xab, BlockSize(bytes));  // all of it is usable
    Free(p, bytes);
  }
  Free(nullptr, 100);
}

TEST(ForecastBlockPoolTest, ConsecutiveBlocksAreAdjacent) {
  // 192-byte blocks asked for one after the other lie one after the other,
  // except where a slab ends.
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(Allocate(150));
  int adjacent = 0;
  for (size_t i = 1; i < blocks.size(); ++i) {
    adjacent += Addr(blocks[i]) == Addr(blocks[i - 1]) + 192;
  }
  EXPECT_GE(adjacent, 990);
  for (void* p : blocks) Free(p, 150);
}

TEST(ForecastBlockPoolTest, ReusesTheLowestFreeBlockFirst) {
  std::vector<void*> blocks;
  for (int i = 0; i < 600; ++i) blocks.push_back(Allocate(300));  // 320 B
  const Usage used = GetUsage();
  EXPECT_GE(used.used_bytes, 600u * 320);
  // Freed in reverse order, the blocks come back in their first order: new
  // windows again sit one after the other.
  for (size_t i = blocks.size(); i-- > 0;) Free(blocks[i], 300);
  EXPECT_EQ(GetUsage().used_bytes, used.used_bytes - 600 * 320);
  EXPECT_EQ(GetUsage().slab_bytes, used.slab_bytes);  // slabs are kept
  for (int i = 0; i < 600; ++i) EXPECT_EQ(Allocate(300), blocks[i]) << i;
  // One freed in the middle is the next one given.
  Free(blocks[250], 300);
  Free(blocks[400], 300);
  EXPECT_EQ(Allocate(320), blocks[250]);
  EXPECT_EQ(Allocate(257), blocks[400]);
  for (void* p : blocks) Free(p, 300);
}

}  // namespace
}  // namespace gralarm::forecast_pool
