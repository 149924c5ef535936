#include "gralarm/line_parser.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace gralarm {
namespace {

inline bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// Graphite path rules: no byte below 0x21, no DEL, no empty dot-separated
// segment in the name part. Tags (after the first ';') only obey the byte rule.
// Sets *non_ascii when a byte >= 0x80 occurs.
bool ValidPath(std::string_view path, std::string_view* name, bool* non_ascii) {
  size_t semicolon = path.size();
  unsigned char high = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c < 0x21 || c == 0x7f) return false;
    high |= c;
    if (c == ';' && semicolon == path.size()) semicolon = i;
  }
  *non_ascii = (high & 0x80) != 0;
  std::string_view n = path.substr(0, semicolon);
  if (n.empty() || n.front() == '.' || n.back() == '.') return false;
  if (n.find("..") != std::string_view::npos) return false;
  *name = n;
  return true;
}

// Parses a float the way Python's float() reads Graphite values: optional sign,
// decimal or exponent notation, "nan"/"inf" spelled out. Out-of-range
// magnitudes become +-Inf or 0 as strtod gives them.
bool ParseDouble(std::string_view text, double* out) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin < end && *begin == '+') {
    ++begin;  // from_chars takes no '+'; a second sign is still refused below
    if (begin < end && (*begin == '-' || *begin == '+')) return false;
  }
  if (begin == end) return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(begin, end, v, std::chars_format::general);
  if (ptr != end) return false;
  if (ec == std::errc::result_out_of_range) {
    char buf[512];
    size_t n = static_cast<size_t>(end - begin);
    if (n >= sizeof(buf)) return false;
    std::memcpy(buf, begin, n);
    buf[n] = '\0';
    v = std::strtod(buf, nullptr);
  } else if (ec != std::errc()) {
    return false;
  }
  *out = v;
  return true;
}

// Graphite timestamps: integer or float seconds (truncated), -1 meaning now;
// valid epoch seconds are 0 < ts < 2^32.
bool ParseTimestamp(std::string_view text, uint32_t now, uint32_t* out,
                    bool* is_plain_integer) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < text.size() && i < 11; ++i) {
    unsigned d = static_cast<unsigned char>(text[i]) - '0';
    if (d > 9) break;
    v = v * 10 + d;
  }
  if (i == text.size() && i > 0 && i < 11) {
    if (v == 0 || v >= (uint64_t{1} << 32)) return false;
    *out = static_cast<uint32_t>(v);
    *is_plain_integer = text[0] != '0';
    return true;
  }
  *is_plain_integer = false;
  double d = 0;
  if (!ParseDouble(text, &d) || std::isnan(d)) return false;
  if (d == -1.0) {
    *out = now;
    return now != 0;
  }
  double t = std::trunc(d);
  if (!(t > 0 && t < 4294967296.0)) return false;
  *out = static_cast<uint32_t>(t);
  return true;
}

// Code points Python's str.isspace() is true for, above ASCII.
bool IsUnicodeSpace(uint32_t cp) {
  return cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

}  // namespace

bool CarbonDecodable(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // continuation byte, overlong lead (c0, c1) or > f4
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    if (IsUnicodeSpace(cp)) return false;
    p += extra + 1;
  }
  return true;
}

std::string_view InvalidReasonName(int index) {
  static constexpr std::string_view kNames[kNumInvalidReasons] = {
      "fields", "value", "timestamp", "nan", "too_long", "path", "not_utf8"};
  return (index >= 0 && index < kNumInvalidReasons) ? kNames[index] : "unknown";
}

LineVerdict ParseLine(std::string_view line, uint32_t now,
                      const LineParserOptions& options, ParsedLine* out) {
  bool canonical = true;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    canonical = false;
  }
  if (line.size() > options.max_line_bytes) return LineVerdict::kTooLong;

  const char* p = line.data();
  const char* end = p + line.size();
  std::string_view fields[3];
  int count = 0;
  if (p < end && IsSpace(*p)) canonical = false;
  while (true) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) break;
    const char* start = p;
    while (p < end && !IsSpace(*p)) ++p;
    if (count == 3) return LineVerdict::kFields;
    fields[count++] = std::string_view(start, static_cast<size_t>(p - start));
    if (p < end &&
        (*p != ' ' || (p + 1 < end && IsSpace(p[1])) || p + 1 == end)) {
      canonical = false;
    }
  }
  if (count == 0) return LineVerdict::kBlank;
  if (count != 3) return LineVerdict::kFields;

  std::string_view name;
  bool non_ascii = false;
  if (!ValidPath(fields[0], &name, &non_ascii)) return LineVerdict::kPath;
  if (non_ascii && !options.allow_non_utf8 && !CarbonDecodable(fields[0]))
    return LineVerdict::kNotUtf8;
  double value = 0;
  if (!ParseDouble(fields[1], &value)) return LineVerdict::kValue;
  if (!options.allow_nan && !std::isfinite(value)) return LineVerdict::kNan;
  uint32_t ts = 0;
  bool plain_ts = false;
  if (!ParseTimestamp(fields[2], now, &ts, &plain_ts))
    return LineVerdict::kTimestamp;

  out->path = fields[0];
  out->name = name;
  out->value_text = fields[1];
  out->value = value;
  out->timestamp = ts;
  out->canonical = canonical && plain_ts;
  return LineVerdict::kOk;
}

void AppendForwardLine(const ParsedLine& line, std::string_view original,
                       std::string* out) {
  if (line.canonical) {
    out->append(original.data(), original.size());
    out->push_back('\n');
    return;
  }
  out->append(line.path.data(), line.path.size());
  out->push_back(' ');
  out->append(line.value_text.data(), line.value_text.size());
  out->push_back(' ');
  char buf[16];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), line.timestamp);
  (void)ec;
  out->append(buf, static_cast<size_t>(ptr - buf));
  out->push_back('\n');
}

}  // namespace gralarm
