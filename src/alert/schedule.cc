#include "gralarm/schedule.h"

#include "absl/time/time.h"

namespace gralarm {

bool ScheduleOpen(const Config& config, std::string_view name, int64_t at_ms) {
  if (name == "24x7") return true;
  const ScheduleOptions* s = config.FindSchedule(name);
  if (s == nullptr) return true;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(s->timezone, &tz)) tz = absl::UTCTimeZone();
  const absl::CivilSecond local =
      absl::ToCivilSecond(absl::FromUnixMillis(at_ms), tz);
  const int minute = local.hour() * 60 + local.minute();
  // Monday = bit 0 ... Sunday = bit 6.
  auto day_bit = [](absl::CivilDay d) {
    int wd = static_cast<int>(absl::GetWeekday(d));  // kMonday = 0 in abseil
    return 1u << wd;
  };
  const absl::CivilDay today(local);
  if (s->from_minute <= s->to_minute) {
    return (s->days & day_bit(today)) && minute >= s->from_minute &&
           minute < s->to_minute;
  }
  // Spans midnight: open from `from` today, or until `to` after yesterday's
  // start.
  if ((s->days & day_bit(today)) && minute >= s->from_minute) return true;
  return (s->days & day_bit(today - 1)) && minute < s->to_minute;
}

}  // namespace gralarm
