#ifndef GRALARM_EXPR_PYFORMAT_H_
#define GRALARM_EXPR_PYFORMAT_H_

// Python formatting and parsing rules that graphite-web 1.1.8 relies on for
// series names and values, reproduced exactly.

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gralarm::expr {

// absl::string_view is not std::string_view in this abseil build: absl's
// string functions take the result of Sv().
inline absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

// Python's "%g" % x ("inf", "-inf", "nan" for the special values).
std::string FormatG(double x);
// Python's repr(float) / str(float): the shortest text that reads back as x,
// fixed notation for exponents -4..15, else "1.5e+16" style.
std::string PyRepr(double x);
// Python's "%d" % x for a float: truncated toward zero.
std::string FormatD(double x);
// Python's round(x, 6) (correctly rounded decimal, half-even on the exact
// binary value); infinities and NaN are returned unchanged.
double PyRound6(double x);

// graphite's parseTimeOffset ("5min", "-1h", "1d12h", "2w", "1mon" = 30 days,
// "1y" = 365 days) as signed seconds. Errors name the offending text.
absl::StatusOr<int64_t> ParseTimeOffset(std::string_view offset);

// graphite's _getFirstPathExpression: the first path expression found by
// descending into the first argument of each call of a series name such as
// "scale(sumSeries(a.*.b),2)" -> "a.*.b". nullopt when there is none.
std::optional<std::string> FirstPathExpression(std::string_view name);

// graphite's aggKey / aliasByNode: the nodes `nodes` (negative counts from the
// end) of the series name -- of its first path expression when the name ends
// with ')' -- joined by '.'. A node out of range gives "".
std::string NodeKey(std::string_view name, const std::vector<int64_t>& nodes);

// graphite's aliasByMetric (substr(name, -1)): the last node of the innermost
// parenthesised part, cut at the first comma.
std::string AliasByMetricName(std::string_view name);

// Python's list slicing index normalisation for one element: the index into
// a list of `size` for Python index `i`, or -1 when out of range.
int64_t PyIndex(int64_t i, int64_t size);

// Python's re.sub(search, replace, text) with `replace` a Python template
// (\1..\99, \g<n>, \n, \t, \\). The regex is ECMAScript (std::regex), which
// agrees with Python's syntax on the common constructs.
std::string RegexSub(const std::regex& search, std::string_view replace,
                     std::string_view text);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_PYFORMAT_H_
