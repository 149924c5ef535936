#include "expr/interval.h"

#include <string>

#include "absl/status/status.h"
#include "gralarm/strings.h"

namespace gralarm::expr {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Python's timedelta holds at most 999999999 days.
constexpr int64_t kMaxSeconds = int64_t{999999999} * 86400;

// Seconds per unit, picked by prefix as attime.getUnitString does (its order
// matters: "s" before "min", "mon" after "min").
int64_t UnitSeconds(std::string_view unit) {
  if (unit.starts_with("s")) return 1;
  if (unit.starts_with("min")) return 60;
  if (unit.starts_with("h")) return 3600;
  if (unit.starts_with("d")) return 86400;
  if (unit.starts_with("w")) return 7 * 86400;
  if (unit.starts_with("mon")) return 30 * 86400;
  if (unit.starts_with("y")) return 365 * 86400;
  return 0;
}

}  // namespace

absl::StatusOr<int64_t> ParseIntervalSeconds(std::string_view offset) {
  const std::string_view whole = offset;
  if (offset.empty()) return 0;
  int64_t sign = 1;
  if (!IsDigit(offset[0])) {
    if (offset[0] != '+' && offset[0] != '-') {
      return absl::InvalidArgumentError(
          StrCat("invalid interval '", whole,
                 "': it starts with a digit, '+' or '-'"));
    }
    sign = offset[0] == '-' ? -1 : 1;
    offset.remove_prefix(1);
  }
  int64_t total = 0;
  while (!offset.empty()) {
    size_t i = 0;
    while (i < offset.size() && IsDigit(offset[i])) ++i;
    if (i == 0) {
      return absl::InvalidArgumentError(StrCat("invalid interval '", whole,
                                               "': expected a number at '",
                                               offset, "'"));
    }
    int64_t num = 0;
    for (size_t k = 0; k < i; ++k) {
      num = num * 10 + (offset[k] - '0');
      if (num > kMaxSeconds) {
        return absl::InvalidArgumentError(
            StrCat("interval '", whole, "' is too long"));
      }
    }
    offset.remove_prefix(i);
    size_t j = 0;
    while (j < offset.size() && IsAlpha(offset[j])) ++j;
    const std::string_view unit = offset.substr(0, j);
    offset.remove_prefix(j);
    const int64_t per = UnitSeconds(unit);
    if (per == 0) {
      return absl::InvalidArgumentError(StrCat("invalid interval '", whole,
                                               "': unknown unit '", unit,
                                               "' (s, min, h, d, w, mon, y)"));
    }
    if (num > (kMaxSeconds - total) / per) {
      return absl::InvalidArgumentError(
          StrCat("interval '", whole, "' is too long"));
    }
    total += num * per;
  }
  return sign * total;
}

}  // namespace gralarm::expr
