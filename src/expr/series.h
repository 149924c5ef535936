#ifndef GRALARM_EXPR_SERIES_H_
#define GRALARM_EXPR_SERIES_H_

// The values and series that flow between the stages of a compiled target.

#include <string>

namespace gralarm::expr {

// One value of one series at one step: a number or Graphite's None.
struct Value {
  double v = 0;
  bool ok = false;  // false: None (missing)

  static Value None() { return {}; }
  static Value Of(double x) { return {x, true}; }
};

// One series of a stage's output at the current step. `name` is Graphite's
// series name; `path_expression` is graphite-web's `pathExpression` attribute
// (the glob a fetched series came from, the name after most functions), which
// aggregate names are built from.
struct Series {
  std::string name;
  std::string path_expression;
  Value value;
};

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_SERIES_H_
