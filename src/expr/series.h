#ifndef GRALARM_EXPR_SERIES_H_
#define GRALARM_EXPR_SERIES_H_

// The values and series that flow between the stages of a compiled target.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

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
// aggregate names are built from. `key` identifies the series across
// reshapes and restarts, whatever its name (aliases may give several series
// one name): the FNV-1a hash of the input series name through the per-series
// functions, of the output name for the series a function makes.
struct Series {
  std::string name;
  std::string path_expression;
  Value value;
  uint64_t key = 0;
};

// 64-bit FNV-1a: stable across builds and runs (it is stored).
inline uint64_t SeriesKey(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// A series made by a function: its name is its path expression and its key.
inline Series MadeSeries(std::string name) {
  Series s;
  s.key = SeriesKey(name);
  s.path_expression = name;
  s.name = std::move(name);
  return s;
}

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_SERIES_H_
