#ifndef GRALARM_GLOB_H_
#define GRALARM_GLOB_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gralarm {

// One dot-separated segment of a Graphite glob, after brace expansion: `*` (any
// run of characters), `?` (one character), `[a-z0-9]` and `[!a]` (a class, `^`
// also negates) and literal characters. A segment never matches across a dot.
class SegmentGlob {
 public:
  // `text` must not contain '.', '{' or '}'. Refuses an unclosed '['.
  static absl::StatusOr<SegmentGlob> Compile(std::string_view text);

  bool Matches(std::string_view segment) const;
  // True when the segment has no wildcard: it matches exactly `text()`.
  bool literal() const { return literal_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  bool literal_ = true;
};

// A Graphite glob over whole metric names: `{a,b}` alternatives (which may hold
// dots, wildcards or nothing) are expanded first, then each expansion is
// matched segment by segment. A name matches when any expansion matches it.
class Glob {
 public:
  // At most this many expansions per pattern.
  static constexpr size_t kMaxExpansions = 1024;

  // Errors name what is wrong: unbalanced braces or brackets, empty segments,
  // too many expansions.
  static absl::StatusOr<Glob> Compile(std::string_view pattern);

  // `name` is the metric name without tags.
  bool Matches(std::string_view name) const;

  // Every expansion as a list of segments.
  const std::vector<std::vector<SegmentGlob>>& expansions() const {
    return expansions_;
  }
  // True when the pattern has no wildcard and no braces: it names one metric.
  bool exact() const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::vector<std::vector<SegmentGlob>> expansions_;
};

// True when `text` contains a glob character (* ? [ {).
bool HasGlobCharacters(std::string_view text);

// Splits "a.b.c" into {"a", "b", "c"} (views into `name`), replacing `*out`.
void SplitSegments(std::string_view name, std::vector<std::string_view>* out);
std::vector<std::string_view> SplitSegments(std::string_view name);

}  // namespace gralarm

#endif  // GRALARM_GLOB_H_
