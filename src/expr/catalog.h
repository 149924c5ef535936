#ifndef GRALARM_EXPR_CATALOG_H_
#define GRALARM_EXPR_CATALOG_H_

// The Graphite functions a rule's target may call: for each name (as written;
// Graphite's names are case-sensitive) whether gralarm evaluates it, its
// canonical name, and its arguments as graphite-web 1.1.8 declares them
// (render/functions.py `.params`, functions/params.py); Check and Validate
// hold a call or a whole tree to them.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "expr/ast.h"

namespace gralarm::expr {

// graphite's ParamTypes (functions/params.py) used by the supported
// functions. What each accepts here (stricter than graphite, which converts
// '2' to 2.0 and by default only logs a mismatch):
enum class ParamType {
  kSeriesList,     // a path or a call
  kInteger,        // an integer literal
  kFloat,          // an integer, float or inf literal
  kString,         // a string literal
  kBoolean,        // true or false
  kIntOrInf,       // an integer or inf
  kIntOrInterval,  // an integer >= 1 (points) or a non-zero interval string
  kInterval,       // an interval string ('7d', '-1h'; parseTimeOffset's form)
  kNode,           // an integer node index (negative counts from the end)
  kNodeOrTag,      // an integer node index (tags are not supported)
  kAggFunc,        // graphite's aggOrSeriesFunc: a string, one of
                   // AggregationCallbacks()
  kAny,            // asPercent's total: a series, a number or none
};

// graphite's name of the type ("seriesList", "intOrInterval", ...).
std::string_view ParamTypeName(ParamType type);

struct Param {
  std::string_view name;
  ParamType type;
  bool required = false;
  // The last parameter may take any number of positional arguments.
  bool multiple = false;
  // graphite's default as a target literal ("0", "inf", "false", "'average'"),
  // or empty: none (the function does without).
  std::string_view default_value;
};

enum class Support {
  kSupported,      // evaluated inline
  kUnknown,        // not a graphite-web 1.1.8 function
  kNotSupported,   // a Graphite function gralarm does not evaluate
  kSelectsSeries,  // picks series by their values: refused for alarms
};

struct FunctionInfo {
  Support support = Support::kUnknown;
  // kSupported: the name the evaluator knows it by ("sum" -> "sumSeries");
  // otherwise the name as written.
  std::string_view canonical_name;
  // kSupported: the parameters in order.
  absl::Span<const Param> params;
  // Not kSupported: why, naming the function (no column), e.g. "unknown
  // function 'fooBar'".
  std::string refusal;
};

// What gralarm makes of a call to `name`.
FunctionInfo LookupFunction(std::string_view name);

// graphite's aggregation names a groupByNode(s) callback may take: the
// aggregate() functions and their aliases (average, avg, avg_zero, median,
// sum, total, min, max, diff, stddev, count, range, rangeOf, multiply, last,
// current) and the supported aggregating series functions (sumSeries,
// averageSeries, minSeries, maxSeries, diffSeries, stddevSeries,
// rangeOfSeries, multiplySeries, countSeries).
absl::Span<const std::string_view> AggregationCallbacks();

// Checks the arguments of `call` (a kCall of a supported function) against
// its parameters the way graphite's validateParams binds them: positional
// arguments first, the rest by keyword; too many or missing arguments,
// unknown or repeated keywords, a keyword for a `multiple` parameter, and a
// value of the wrong type are errors. Does not look inside series arguments.
// Errors are InvalidArgument "column N: <function>: ..." naming the argument.
absl::Status Check(const Node& call);

// Validates a whole target tree: the root is a series expression (a path or a
// call), every call is to a supported function and passes Check. The first
// error found (left to right) is returned, with its column.
absl::Status Validate(const Node& root);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_CATALOG_H_
