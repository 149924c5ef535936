#include "gralarm/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "gralarm/strings.h"
#include "testing/test_env.h"

namespace gralarm {
namespace {

std::string Lines(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i)
    out += StrCat("s.", i % 7, " ", i, " 1700000000\n");
  return out;
}

// Everything readable, releasing segments as a destination would.
std::string ReadAll(Spool* spool, uint64_t* points = nullptr) {
  std::string out;
  std::vector<SpooledChunk> chunks;
  EXPECT_TRUE(spool->Read(1 << 30, &chunks).ok());
  for (const SpooledChunk& c : chunks) {
    out += c.bytes;
    if (points) *points += c.points;
    if (c.segment_end) spool->Release(c.segment);
  }
  return out;
}

TEST(SpoolTest, ChunksComeBackInOrderAcrossSegmentsAndReopens) {
  const std::string dir = testing::FreshDir("spool-test");
  std::string expected;
  {
    auto spool = Spool::Open(dir, uint64_t{1} << 40);
    ASSERT_TRUE(spool.ok()) << spool.status();
    // ~40 MiB: three segments.
    for (int i = 0; i < 400; ++i) {
      const std::string bytes = Lines(i * 4000, 4000);
      expected += bytes;
      uint64_t dropped = 0;
      ASSERT_TRUE((*spool)->Append(bytes, 4000, &dropped).ok());
      EXPECT_EQ(dropped, 0u);
    }
    EXPECT_EQ((*spool)->points(), 1600000u);
    EXPECT_GT(std::distance(std::filesystem::directory_iterator(dir),
                            std::filesystem::directory_iterator()),
              2);
  }
  auto spool = Spool::Open(dir, uint64_t{1} << 40);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->points(), 1600000u);
  // Read some, append more while reading: still one FIFO.
  std::vector<SpooledChunk> first;
  ASSERT_TRUE((*spool)->Read(1 << 20, &first).ok());
  std::string got;
  for (const SpooledChunk& c : first) got += c.bytes;
  const std::string more = Lines(9000000, 10);
  uint64_t dropped = 0;
  ASSERT_TRUE((*spool)->Append(more, 10, &dropped).ok());
  expected += more;
  got += ReadAll(spool->get());
  EXPECT_EQ(got, expected);
  EXPECT_TRUE((*spool)->empty());
  EXPECT_EQ((*spool)->bytes(), 0u);  // every segment released
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(SpoolTest, ARecordCutShortByACrashIsRemovedAtOpen) {
  const std::string dir = testing::FreshDir("spool-test");
  {
    auto spool = Spool::Open(dir, uint64_t{1} << 40);
    uint64_t dropped = 0;
    ASSERT_TRUE((*spool)->Append(Lines(0, 3), 3, &dropped).ok());
    ASSERT_TRUE((*spool)->Append(Lines(3, 3), 3, &dropped).ok());
  }
  // Cut the last record in its middle, as a crash during write() could.
  const auto file = std::filesystem::directory_iterator(dir)->path();
  std::filesystem::resize_file(file, std::filesystem::file_size(file) - 5);
  auto spool = Spool::Open(dir, uint64_t{1} << 40);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->points(), 3u);
  EXPECT_EQ(ReadAll(spool->get()), Lines(0, 3));
}

TEST(SpoolTest, PrependedChunksComeFirst) {
  auto spool = Spool::Open(testing::FreshDir("spool-test"), uint64_t{1} << 40);
  uint64_t dropped = 0;
  ASSERT_TRUE((*spool)->Append(Lines(10, 5), 5, &dropped).ok());
  ASSERT_TRUE((*spool)->Prepend({{Lines(0, 5), 5}, {Lines(5, 5), 5}}).ok());
  EXPECT_EQ((*spool)->points(), 15u);
  EXPECT_EQ(ReadAll(spool->get()), Lines(0, 15));
}

TEST(SpoolTest, PastMaxBytesTheOldestSegmentsAreDroppedAndCounted) {
  auto spool =
      Spool::Open(testing::FreshDir("spool-test"), 3 * Spool::kSegmentBytes);
  uint64_t dropped_total = 0, appended = 0;
  int first_kept = 0;
  for (int i = 0; i < 800; ++i) {
    uint64_t dropped = 0;
    ASSERT_TRUE((*spool)->Append(Lines(i * 4000, 4000), 4000, &dropped).ok());
    appended += 4000;
    dropped_total += dropped;
  }
  EXPECT_GT(dropped_total, 0u);
  EXPECT_LE((*spool)->bytes(), 3 * Spool::kSegmentBytes);
  uint64_t points = 0;
  const std::string rest = ReadAll(spool->get(), &points);
  EXPECT_EQ(points + dropped_total, appended);
  // What is left is the newest, whole and in order.
  first_kept = static_cast<int>(dropped_total);
  EXPECT_EQ(rest, Lines(first_kept, static_cast<int>(points)));
}

}  // namespace
}  // namespace gralarm
