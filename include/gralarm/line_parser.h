#ifndef GRALARM_LINE_PARSER_H_
#define GRALARM_LINE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gralarm {

// Outcome of parsing one plaintext line. Every value but kOk and kBlank is a
// reason the line is invalid, exported as gralarm_lines_invalid_total{reason}.
enum class LineVerdict : uint8_t {
  kOk = 0,
  kBlank,      // empty or white space only: skipped, not counted
  kFields,     // field count is not 3
  kValue,      // value does not parse as a float
  kTimestamp,  // timestamp does not parse, or is outside 0 < ts < 2^32
  kNan,        // value is NaN or +-Inf and allow_nan is false
  kTooLong,    // longer than max_line_bytes
  kPath,       // empty path, a byte < 0x21 or 0x7f, or an empty segment
  kNotUtf8,    // path is not UTF-8, or holds a Unicode space (see below)
};

inline constexpr int kNumInvalidReasons = 7;  // kFields .. kNotUtf8

// Index 0..kNumInvalidReasons-1 of an invalid verdict.
inline int InvalidReasonIndex(LineVerdict v) {
  return static_cast<int>(v) - static_cast<int>(LineVerdict::kFields);
}

// The label value of an invalid verdict ("fields", "value", ...).
std::string_view InvalidReasonName(int index);

// The metric name of a series path: the path without ";tag=value..." (what
// rules match and hash rings hash).
inline std::string_view MetricName(std::string_view path) {
  return path.substr(0, path.find(';'));
}

struct LineParserOptions {
  size_t max_line_bytes = 4096;
  bool allow_nan = false;
  // Graphite's carbon-cache (Python 3) decodes every line as strict UTF-8 and
  // closes the connection on one it cannot decode, and splits fields on
  // Unicode white space. Unless this is true, a path that is not strict UTF-8
  // (overlong forms, surrogates and code points past U+10FFFF included) or
  // that holds a code point Python's str.split() takes for white space
  // (U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
  // U+3000) is refused as kNotUtf8.
  bool allow_non_utf8 = false;
};

// True when `text` is what carbon-cache can decode and split as one field:
// strict UTF-8 with no Unicode white space (see allow_non_utf8).
bool CarbonDecodable(std::string_view text);

// A valid line, as views into the caller's buffer.
struct ParsedLine {
  std::string_view path;  // full path, tags included
  std::string_view
      name;  // path without ";tag=value..." (what rules and rings use)
  std::string_view value_text;  // the value as written
  double value = 0;
  uint32_t timestamp = 0;  // seconds; "-1" already replaced by now
  // True when the line bytes are already "path value timestamp" with single
  // spaces and an integer timestamp, so they can be forwarded unchanged.
  bool canonical = false;
};

// Parses one line, without its '\n' (a trailing '\r' is accepted). `now`
// replaces a timestamp of -1. Never allocates; `out` is set only when kOk is
// returned.
LineVerdict ParseLine(std::string_view line, uint32_t now,
                      const LineParserOptions& options, ParsedLine* out);

// Appends the line to forward for a parsed point: the original bytes when
// canonical, else "path value timestamp", always ending in '\n'.
void AppendForwardLine(const ParsedLine& line, std::string_view original,
                       std::string* out);

}  // namespace gralarm

#endif  // GRALARM_LINE_PARSER_H_
