#include "store/coding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gralarm::coding {
namespace {

std::string Bytes(std::initializer_list<unsigned> bytes) {
  std::string out;
  for (unsigned b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(CodingTest, FixedWidthIsLittleEndian) {
  std::string out;
  PutFixed16(&out, 0x0102);
  PutFixed32(&out, 0x03040506);
  PutFixed64(&out, 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(out, Bytes({0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0e, 0x0d, 0x0c,
                        0x0b, 0x0a, 0x09, 0x08, 0x07}));
  Reader r(out);
  uint16_t a;
  uint32_t b;
  uint64_t c;
  ASSERT_TRUE(r.GetFixed16(&a) && r.GetFixed32(&b) && r.GetFixed64(&c));
  EXPECT_EQ(a, 0x0102);
  EXPECT_EQ(b, 0x03040506u);
  EXPECT_EQ(c, 0x0708090a0b0c0d0eULL);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(CodingTest, Int64AndDoubleKeepEveryBit) {
  std::string out;
  PutInt64(&out, -2);
  PutDouble(&out, 1.5);
  PutDouble(&out, -0.0);
  PutDouble(&out, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(out.substr(0, 16),
            Bytes({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                   0, 0, 0, 0, 0, 0, 0xf8, 0x3f}));
  Reader r(out);
  int64_t i;
  double d, zero, nan;
  ASSERT_TRUE(r.GetInt64(&i) && r.GetDouble(&d) && r.GetDouble(&zero) &&
              r.GetDouble(&nan));
  EXPECT_EQ(i, -2);
  EXPECT_EQ(d, 1.5);
  EXPECT_TRUE(std::signbit(zero));
  EXPECT_TRUE(std::isnan(nan));
}

TEST(CodingTest, Varint32RoundTripsAtEveryWidth) {
  for (uint32_t v : {0u, 1u, 127u, 128u, 16383u, 16384u, (1u << 21) - 1,
                     1u << 21, (1u << 28) - 1, 1u << 28, UINT32_MAX}) {
    std::string out;
    PutVarint32(&out, v);
    Reader r(out);
    uint32_t got;
    ASSERT_TRUE(r.GetVarint32(&got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(r.remaining(), 0u);
  }
  std::string out;
  PutVarint32(&out, 300);
  EXPECT_EQ(out, Bytes({0xac, 0x02}));
}

TEST(CodingTest, MalformedVarintsAreRefused) {
  uint32_t v = 7;
  // A Reader views its input: each input outlives its Reader.
  const std::string unterminated_bytes = Bytes({0x80, 0x80});
  Reader unterminated(unterminated_bytes);
  EXPECT_FALSE(unterminated.GetVarint32(&v));
  EXPECT_EQ(unterminated.remaining(), 2u);
  const std::string too_long_bytes =
      Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Reader too_long(too_long_bytes);
  EXPECT_FALSE(too_long.GetVarint32(&v));
  const std::string too_big_bytes = Bytes({0xff, 0xff, 0xff, 0xff, 0x1f});
  Reader too_big(too_big_bytes);  // 2^35 - 1
  EXPECT_FALSE(too_big.GetVarint32(&v));
  EXPECT_EQ(v, 7u);
}

TEST(CodingTest, ShortInputIsRefusedAndNothingIsConsumed) {
  std::string out;
  PutLengthPrefixed(&out, "abcdef");
  for (size_t n = 0; n < out.size(); ++n) {
    Reader r(std::string_view(out).substr(0, n));
    std::string s = "unchanged";
    EXPECT_FALSE(r.GetString(&s)) << n;
    EXPECT_EQ(s, "unchanged");
    EXPECT_EQ(r.remaining(), n);
  }
  Reader r(out);
  std::string s;
  ASSERT_TRUE(r.GetString(&s));
  EXPECT_EQ(s, "abcdef");
  uint8_t b;
  uint16_t h;
  uint32_t w;
  uint64_t q;
  const std::string three_bytes = Bytes({1, 2, 3});
  Reader three(three_bytes);
  EXPECT_FALSE(three.GetFixed32(&w));
  EXPECT_FALSE(three.GetFixed64(&q));
  EXPECT_TRUE(three.GetFixed16(&h));
  EXPECT_TRUE(three.GetFixed8(&b));
  EXPECT_FALSE(three.GetFixed8(&b));
}

TEST(CodingTest, KeysAreBigEndianSoTheySortByNumber) {
  std::string a, b;
  PutBigEndian(&a, 255, 8);
  PutBigEndian(&b, 256, 8);
  EXPECT_LT(a, b);
  EXPECT_EQ(b, Bytes({0, 0, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(DecodeBigEndian(b, 8), 256u);
}

}  // namespace
}  // namespace gralarm::coding
