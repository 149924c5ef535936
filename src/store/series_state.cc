// The series_state value (docs/STORAGE.md "series_state").
#include <cstring>
#include <vector>

#include "gralarm/store.h"
#include "store/coding.h"

namespace gralarm {
namespace {

// Version 1: the first release's bytes: the version, the no-data flag, then
// the in-memory image of its SeriesState on x86-64 and arm64 (little-endian,
// natural alignment; padding bytes undefined). Read only.
constexpr uint8_t kSeriesStateV1 = 1;
constexpr size_t kV1Size = 42;
// Offsets of the V1 fields, from the start of the value.
constexpr size_t kV1Level = 2, kV1UpMin = 3, kV1DownMax = 4, kV1HasLastTs = 5,
                 kV1HasPrev = 6, kV1UpCount = 8, kV1DownCount = 10,
                 kV1LastTs = 14, kV1PrevTs = 18, kV1PrevValue = 26,
                 kV1LastValue = 34;

// Version 2 flags.
constexpr uint8_t kNodata = 1, kHasLastTs = 2, kHasPrev = 4;
// Version 2: version 3 without the forecast window. Read only.
constexpr uint8_t kSeriesStateV2 = 2;
// Version 3 flags: a forecast window follows the fixed part; its last
// forecast is set.
constexpr uint8_t kForecast = 8, kHasLastForecast = 16;

bool ToLevel(uint8_t v, Level* l) {
  if (v >= kNumLevels) return false;
  *l = static_cast<Level>(v);
  return true;
}

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(std::string("series_state record: ").append(why));
}

absl::Status DecodeV1(std::string_view in, SeriesState* state, bool* nodata) {
  if (in.size() != kV1Size) return Corrupt("version 1 is 42 bytes");
  auto byte = [&](size_t at) { return static_cast<uint8_t>(in[at]); };
  auto fixed = [&](size_t at, int bytes) {
    return coding::DecodeFixedLE(in.substr(at), bytes);
  };
  SeriesState s;
  if (!ToLevel(byte(kV1Level), &s.level) ||
      !ToLevel(byte(kV1UpMin), &s.up_min) ||
      !ToLevel(byte(kV1DownMax), &s.down_max)) {
    return Corrupt("level out of range");
  }
  s.has_last_ts = byte(kV1HasLastTs) != 0;
  s.has_prev = byte(kV1HasPrev) != 0;
  s.up_count = static_cast<uint16_t>(fixed(kV1UpCount, 2));
  s.down_count = static_cast<uint16_t>(fixed(kV1DownCount, 2));
  s.last_ts = static_cast<uint32_t>(fixed(kV1LastTs, 4));
  s.prev_ts = static_cast<uint32_t>(fixed(kV1PrevTs, 4));
  s.prev_value = std::bit_cast<double>(fixed(kV1PrevValue, 8));
  s.last_value = std::bit_cast<double>(fixed(kV1LastValue, 8));
  *nodata = byte(1) != 0;
  *state = s;
  return absl::OkStatus();
}

// Versions 2 and 3 (a forecast window after the same fixed part).
absl::Status DecodeV2(std::string_view in, SeriesState* state, bool* nodata,
                      ForecastWindow* forecast) {
  const bool v3 = static_cast<uint8_t>(in[0]) == kSeriesStateVersion;
  coding::Reader r(in.substr(1));
  SeriesState s;
  uint8_t flags, level, up_min, down_max;
  if (!r.GetFixed8(&flags) || !r.GetFixed8(&level) || !r.GetFixed8(&up_min) ||
      !r.GetFixed8(&down_max) || !r.GetFixed16(&s.up_count) ||
      !r.GetFixed16(&s.down_count) || !r.GetFixed32(&s.last_ts) ||
      !r.GetFixed32(&s.prev_ts) || !r.GetDouble(&s.prev_value) ||
      !r.GetDouble(&s.last_value)) {
    return Corrupt("truncated");
  }
  const uint8_t known =
      kNodata | kHasLastTs | kHasPrev | (v3 ? kForecast | kHasLastForecast : 0);
  if ((flags & ~known) != 0) return Corrupt("unknown flags");
  if ((flags & kHasLastForecast) && !(flags & kForecast))
    return Corrupt("a last forecast without a forecast window");
  std::vector<ForecastWindow::Point> points;
  double last_forecast = 0;
  if (flags & kForecast) {
    uint32_t n;
    if (!r.GetDouble(&last_forecast) || !r.GetVarint32(&n))
      return Corrupt("truncated");
    if (n > kForecastMaxPoints) return Corrupt("too many forecast points");
    points.resize(n);
    for (ForecastWindow::Point& p : points) {
      if (!r.GetFixed32(&p.ts) || !r.GetDouble(&p.value))
        return Corrupt("truncated");
    }
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  ForecastWindow window;
  if (!window.Restore(points)) return Corrupt("forecast points out of order");
  if (flags & kHasLastForecast) window.set_last_forecast(last_forecast);
  if (!ToLevel(level, &s.level) || !ToLevel(up_min, &s.up_min) ||
      !ToLevel(down_max, &s.down_max)) {
    return Corrupt("level out of range");
  }
  s.has_last_ts = flags & kHasLastTs;
  s.has_prev = flags & kHasPrev;
  *nodata = flags & kNodata;
  *state = s;
  if (forecast != nullptr) *forecast = std::move(window);
  return absl::OkStatus();
}

}  // namespace

std::string EncodeSeriesState(const SeriesState& s, bool nodata,
                              const ForecastWindow* forecast) {
  std::string out;
  out.reserve(kSeriesStateSize +
              (forecast != nullptr ? 13 + 12 * forecast->size() : 0));
  coding::PutFixed8(&out, kSeriesStateVersion);
  coding::PutFixed8(
      &out,
      (nodata ? kNodata : 0) | (s.has_last_ts ? kHasLastTs : 0) |
          (s.has_prev ? kHasPrev : 0) | (forecast != nullptr ? kForecast : 0) |
          (forecast != nullptr && forecast->last_forecast() ? kHasLastForecast
                                                            : 0));
  coding::PutFixed8(&out, static_cast<uint8_t>(s.level));
  coding::PutFixed8(&out, static_cast<uint8_t>(s.up_min));
  coding::PutFixed8(&out, static_cast<uint8_t>(s.down_max));
  coding::PutFixed16(&out, s.up_count);
  coding::PutFixed16(&out, s.down_count);
  coding::PutFixed32(&out, s.last_ts);
  coding::PutFixed32(&out, s.prev_ts);
  coding::PutDouble(&out, s.prev_value);
  coding::PutDouble(&out, s.last_value);
  if (forecast != nullptr) {
    coding::PutDouble(&out, forecast->last_forecast().value_or(0));
    const std::vector<ForecastWindow::Point> points = forecast->Points();
    coding::PutVarint32(&out, static_cast<uint32_t>(points.size()));
    for (const ForecastWindow::Point& p : points) {
      coding::PutFixed32(&out, p.ts);
      coding::PutDouble(&out, p.value);
    }
  }
  return out;
}

absl::Status DecodeSeriesState(std::string_view in, SeriesState* state,
                               bool* nodata, bool* legacy,
                               ForecastWindow* forecast) {
  if (in.empty()) return Corrupt("empty");
  const uint8_t version = static_cast<uint8_t>(in[0]);
  absl::Status s;
  if (version == kSeriesStateVersion || version == kSeriesStateV2) {
    s = DecodeV2(in, state, nodata, forecast);
  } else if (version == kSeriesStateV1) {
    s = DecodeV1(in, state, nodata);
    if (s.ok() && forecast != nullptr) *forecast = ForecastWindow();
  } else {
    return Corrupt(std::string("unknown version ") +
                   std::to_string(static_cast<int>(version)));
  }
  if (s.ok() && legacy != nullptr) *legacy = version != kSeriesStateVersion;
  return s;
}

}  // namespace gralarm
