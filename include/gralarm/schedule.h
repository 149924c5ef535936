#ifndef GRALARM_SCHEDULE_H_
#define GRALARM_SCHEDULE_H_

#include <cstdint>
#include <string_view>

#include "gralarm/config.h"

namespace gralarm {

// True when `name` ("24x7" or a [schedules.X] of the config) is open at
// `at_ms`: the local day (in the schedule's time zone) is one of its days and
// the local time is in [from, to); a period whose `to` is before its `from`
// spans midnight and belongs to the day it starts on. Unknown schedules count
// as open.
bool ScheduleOpen(const Config& config, std::string_view name, int64_t at_ms);

}  // namespace gralarm

#endif  // GRALARM_SCHEDULE_H_
