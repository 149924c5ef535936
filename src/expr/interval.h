#ifndef GRALARM_EXPR_INTERVAL_H_
#define GRALARM_EXPR_INTERVAL_H_

// Graphite's time offsets ('5min', '1h', '-1d', '2w3d'), read as graphite-web
// 1.1.8's render/attime.py parseTimeOffset reads them.

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace gralarm::expr {

// The signed length in seconds of `offset`: an optional '+' or '-', then one
// or more <digits><unit> groups, the unit being letters whose prefix picks it:
// s... seconds, min... minutes, h... hours, d... days, w... weeks, mon...
// months (30 days), y... years (365 days). The sign applies to every group.
// The empty string and a lone sign are 0 s, as in graphite. Errors
// (InvalidArgument) say what is wrong, without a column; offsets longer than
// Python's timedelta can hold (999999999 days) are refused.
absl::StatusOr<int64_t> ParseIntervalSeconds(std::string_view offset);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_INTERVAL_H_
