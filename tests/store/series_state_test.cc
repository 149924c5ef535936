#include <gtest/gtest.h>

#include <cstring>

#include "gralarm/forecast.h"
#include "gralarm/store.h"

namespace gralarm {
namespace {

std::string Hex(std::string_view s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

SeriesState Sample() {
  SeriesState s;
  s.level = Level::kMajor;
  s.up_min = Level::kCritical;
  s.down_max = Level::kWarning;
  s.has_last_ts = true;
  s.has_prev = true;
  s.up_count = 0x0102;
  s.down_count = 0x0304;
  s.last_ts = 0x6955b91e;
  s.prev_ts = 0x6955b914;
  s.prev_value = 300;
  s.last_value = 10;
  return s;
}

void ExpectSame(const SeriesState& a, const SeriesState& b) {
  EXPECT_EQ(a.level, b.level);
  EXPECT_EQ(a.up_min, b.up_min);
  EXPECT_EQ(a.down_max, b.down_max);
  EXPECT_EQ(a.has_last_ts, b.has_last_ts);
  EXPECT_EQ(a.has_prev, b.has_prev);
  EXPECT_EQ(a.up_count, b.up_count);
  EXPECT_EQ(a.down_count, b.down_count);
  EXPECT_EQ(a.last_ts, b.last_ts);
  EXPECT_EQ(a.prev_ts, b.prev_ts);
  EXPECT_EQ(a.prev_value, b.prev_value);
  EXPECT_EQ(a.last_value, b.last_value);
}

TEST(SeriesStateCodecTest, Version3IsDocumentedLayout) {
  const std::string v = EncodeSeriesState(Sample(), /*nodata=*/true);
  ASSERT_EQ(v.size(), kSeriesStateSize);
  // version, flags (nodata|has_last_ts|has_prev), level, up_min, down_max,
  // up_count, down_count, last_ts, prev_ts, prev_value, last_value: all
  // little-endian (docs/STORAGE.md).
  EXPECT_EQ(Hex(v),
            "03"
            "07"
            "02"
            "03"
            "01"
            "0201"
            "0403"
            "1eb95569"
            "14b95569"
            "0000000000c07240"
            "0000000000002440");
  SeriesState s;
  bool nodata = false, legacy = true;
  ASSERT_TRUE(DecodeSeriesState(v, &s, &nodata, &legacy).ok());
  ExpectSame(s, Sample());
  EXPECT_TRUE(nodata);
  EXPECT_FALSE(legacy);
}

TEST(SeriesStateCodecTest, Version2IsReadAsLegacy) {
  std::string v2 = EncodeSeriesState(Sample(), /*nodata=*/true);
  v2[0] = 2;
  SeriesState s;
  bool nodata = false, legacy = false;
  ForecastWindow window;
  window.Add(100, 1, 3600);
  ASSERT_TRUE(DecodeSeriesState(v2, &s, &nodata, &legacy, &window).ok());
  ExpectSame(s, Sample());
  EXPECT_TRUE(nodata);
  EXPECT_TRUE(legacy);
  EXPECT_EQ(window.size(), 0u);  // none in version 2: emptied
  v2[1] = 8 | 7;                 // version 2 has no forecast window
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v2, &s, &nodata)));
}

ForecastWindow SampleWindow() {
  ForecastWindow w;
  w.Add(0x6955b900, 1.5, 3600);
  w.Add(0x6955b93c, -2, 3600);
  w.set_last_forecast(4);
  return w;
}

TEST(SeriesStateCodecTest, Version3KeepsTheForecastWindow) {
  const ForecastWindow w = SampleWindow();
  const std::string v = EncodeSeriesState(Sample(), false, &w);
  // flags: has_last_ts|has_prev|forecast|has_last_forecast; after the fixed
  // part: last_forecast, the point count (varint32), then ts, value each.
  EXPECT_EQ(Hex(v.substr(0, 2)), "031e");
  EXPECT_EQ(Hex(v.substr(kSeriesStateSize)),
            "0000000000001040"
            "02"
            "00b95569"
            "000000000000f83f"
            "3cb95569"
            "00000000000000c0");
  SeriesState s;
  bool nodata = true, legacy = true;
  ForecastWindow got;
  ASSERT_TRUE(DecodeSeriesState(v, &s, &nodata, &legacy, &got).ok());
  ExpectSame(s, Sample());
  EXPECT_FALSE(legacy);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.Points()[1].ts, 0x6955b93cu);
  EXPECT_EQ(got.Points()[1].value, -2);
  EXPECT_EQ(got.last_forecast(), 4);
  // Every truncation and a trailing byte are refused.
  for (size_t n = kSeriesStateSize; n < v.size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(
        std::string_view(v).substr(0, n), &s, &nodata, nullptr, &got)))
        << n;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v + "x", &s, &nodata)));
  // Points out of order are refused.
  std::string bad = v;
  bad[kSeriesStateSize + 9 + 12] = 0;  // second ts below the first
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(bad, &s, &nodata)));
  // No last forecast: the flag is clear and the value reads as none.
  ForecastWindow none = SampleWindow();
  none.set_last_forecast(std::nullopt);
  ASSERT_TRUE(DecodeSeriesState(EncodeSeriesState(Sample(), false, &none), &s,
                                &nodata, nullptr, &got)
                  .ok());
  EXPECT_FALSE(got.last_forecast());
  EXPECT_EQ(got.size(), 2u);
}

TEST(SeriesStateCodecTest, RoundTripsDefaults) {
  SeriesState s;
  s.level = Level::kCritical;  // anything but the default
  bool nodata = true;
  ASSERT_TRUE(
      DecodeSeriesState(EncodeSeriesState(SeriesState(), false), &s, &nodata)
          .ok());
  ExpectSame(s, SeriesState());
  EXPECT_FALSE(nodata);
}

// Version 1 was the version byte, the no-data flag and a memcpy of
// SeriesState: made here exactly as the first release did.
std::string Version1(const SeriesState& s, bool nodata, char padding) {
  SeriesState copy;
  std::memset(static_cast<void*>(&copy), padding, sizeof copy);
  copy.level = s.level;
  copy.up_min = s.up_min;
  copy.down_max = s.down_max;
  copy.has_last_ts = s.has_last_ts;
  copy.has_prev = s.has_prev;
  copy.up_count = s.up_count;
  copy.down_count = s.down_count;
  copy.last_ts = s.last_ts;
  copy.prev_ts = s.prev_ts;
  copy.prev_value = s.prev_value;
  copy.last_value = s.last_value;
  std::string out;
  out.push_back(1);
  out.push_back(nodata ? 1 : 0);
  out.append(reinterpret_cast<const char*>(&copy), sizeof copy);
  return out;
}

TEST(SeriesStateCodecTest, ReadsVersion1AndSaysItIsLegacy) {
  for (char padding : {'\0', '\xa5'}) {  // padding bytes were undefined
    const std::string v1 = Version1(Sample(), true, padding);
    ASSERT_EQ(v1.size(), 42u);
    SeriesState s;
    bool nodata = false, legacy = false;
    ASSERT_TRUE(DecodeSeriesState(v1, &s, &nodata, &legacy).ok());
    ExpectSame(s, Sample());
    EXPECT_TRUE(nodata);
    EXPECT_TRUE(legacy);
  }
  // A version-1 value written by the release at commit c9992f9 (rule
  // "errors" of tests/store/fixtures/c9992f9).
  SeriesState s;
  bool nodata = true, legacy = false;
  ASSERT_TRUE(DecodeSeriesState(
                  Unhex("01000202000101000000000000001eb955691eb95569000000"
                        "000000000000c072400000000000002440"),
                  &s, &nodata, &legacy)
                  .ok());
  EXPECT_TRUE(legacy);
  EXPECT_FALSE(nodata);
  EXPECT_EQ(s.level, Level::kMajor);
  EXPECT_EQ(s.up_min, Level::kMajor);
  EXPECT_TRUE(s.has_last_ts && s.has_prev);
  EXPECT_EQ(s.last_ts, 1767225630u);
  EXPECT_EQ(s.prev_ts, 1767225630u);
  EXPECT_EQ(s.prev_value, 300);
  EXPECT_EQ(s.last_value, 10);
}

TEST(SeriesStateCodecTest, RefusesDamagedInput) {
  for (const std::string& v :
       {EncodeSeriesState(Sample(), false), Version1(Sample(), false, 0)}) {
    for (size_t n = 0; n < v.size(); ++n) {
      SeriesState s;
      s.up_count = 77;
      bool nodata = true;
      absl::Status st =
          DecodeSeriesState(std::string_view(v).substr(0, n), &s, &nodata);
      EXPECT_TRUE(absl::IsDataLoss(st)) << n << ": " << st;
      EXPECT_EQ(s.up_count, 77);  // untouched
      EXPECT_TRUE(nodata);
    }
    SeriesState s;
    bool nodata;
    EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v + "x", &s, &nodata)));
  }
  SeriesState s;
  bool nodata;
  std::string v = EncodeSeriesState(Sample(), false);
  v[0] = 4;  // a version from the future
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v, &s, &nodata)));
  v = EncodeSeriesState(Sample(), false);
  v[1] = 32;  // an unknown flag
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v, &s, &nodata)));
  v = EncodeSeriesState(Sample(), false);
  v[2] = 4;  // no such level
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v, &s, &nodata)));
  v = Version1(Sample(), false, 0);
  v[2] = 9;
  EXPECT_TRUE(absl::IsDataLoss(DecodeSeriesState(v, &s, &nodata)));
}

}  // namespace
}  // namespace gralarm
