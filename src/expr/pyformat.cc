#include "expr/pyformat.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace gralarm::expr {

std::string FormatG(double x) {
  if (std::isnan(x)) return "nan";
  return absl::StrFormat("%g", x);
}

std::string PyRepr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
  char buf[64];
  auto r =
      std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string_view sci(buf, r.ptr - buf);  // "-1.2345e+16"
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  const int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  if (exp >= -4 && exp < 16) {
    std::string out;
    if (exp < 0) {
      out = "0." + std::string(-exp - 1, '0') + digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
    }
    return sign + out;
  }
  std::string mant = digits.substr(0, 1);
  if (digits.size() > 1) mant += "." + digits.substr(1);
  return absl::StrFormat("%s%se%c%02d", sign, mant, exp < 0 ? '-' : '+',
                         exp < 0 ? -exp : exp);
}

std::string FormatD(double x) {
  if (!std::isfinite(x)) return FormatG(x);
  return absl::StrCat(static_cast<int64_t>(std::trunc(x)));
}

double PyRound6(double x) {
  if (!std::isfinite(x)) return x;
  // Fast path: y = x * 1e6 is within 2^-10 of the exact product below 2^42,
  // so unless y is near a half the rounded integer r is exact, and r / 1e6
  // (one correctly rounded division of exact values) is the double nearest
  // the decimal r * 10^-6, which is what Python returns.
  const double y = x * 1e6;
  if (std::fabs(y) < 4.0e12) {
    const double r = std::nearbyint(y);
    if (std::fabs(std::fabs(y - r) - 0.5) > 0.004) return r / 1e6;
  }
  char buf[400];
  std::snprintf(buf, sizeof(buf), "%.6f", x);
  return std::strtod(buf, nullptr);
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

namespace {
// About 3,000 years: far beyond any window, far below int64 overflow (a part
// has at most 9 digits, so one part adds at most 3.2e16).
constexpr int64_t kMaxOffsetSeconds = int64_t{100'000} * 365 * 86400;
}  // namespace

absl::StatusOr<int64_t> ParseTimeOffset(std::string_view offset) {
  const std::string original(offset);
  if (offset.empty()) return 0;
  int64_t sign = 1;
  if (!IsDigit(offset[0])) {
    if (offset[0] == '+') {
      sign = 1;
    } else if (offset[0] == '-') {
      sign = -1;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid time offset '", original, "'"));
    }
    offset.remove_prefix(1);
  }
  int64_t total = 0;
  while (!offset.empty()) {
    size_t i = 0;
    while (i < offset.size() && IsDigit(offset[i])) ++i;
    if (i == 0 || i > 9) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid time offset '", original, "'"));
    }
    int64_t num = std::atoll(std::string(offset.substr(0, i)).c_str());
    offset.remove_prefix(i);
    i = 0;
    while (i < offset.size() && IsAlpha(offset[i])) ++i;
    const std::string_view unit = offset.substr(0, i);
    offset.remove_prefix(i);
    int64_t seconds;
    if (unit.starts_with("s")) {
      seconds = 1;
    } else if (unit.starts_with("min")) {
      seconds = 60;
    } else if (unit.starts_with("h")) {
      seconds = 3600;
    } else if (unit.starts_with("d")) {
      seconds = 86400;
    } else if (unit.starts_with("w")) {
      seconds = 7 * 86400;
    } else if (unit.starts_with("mon")) {
      seconds = 30 * 86400;
    } else if (unit.starts_with("y")) {
      seconds = 365 * 86400;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid time offset unit '", Sv(unit), "' in '", original, "'"));
    }
    total += sign * num * seconds;
    if (total > kMaxOffsetSeconds || total < -kMaxOffsetSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("time offset '", original, "' is too large"));
    }
  }
  return total;
}

namespace {

bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// True when `token` is one of the grammar's scalar literals, which the grammar
// tries before a path expression.
bool IsScalarLiteral(std::string_view token) {
  if (token.empty()) return false;
  std::string lower;
  for (char c : token) lower.push_back(static_cast<char>(std::tolower(c)));
  if (lower == "true" || lower == "false" || lower == "none" || lower == "inf")
    return true;
  size_t i = 0;
  if (token[0] == '-') ++i;
  const size_t digits_start = i;
  while (i < token.size() && IsDigit(token[i])) ++i;
  return i > digits_start && i == token.size();
}

}  // namespace

std::optional<std::string> FirstPathExpression(std::string_view name) {
  size_t pos = 0;
  while (true) {
    while (pos < name.size() && IsSpace(name[pos])) ++pos;
    if (pos >= name.size()) return std::nullopt;
    size_t j = pos;
    while (j < name.size() && IsWordChar(name[j])) ++j;
    size_t k = j;
    while (k < name.size() && IsSpace(name[k])) ++k;
    if (j > pos && k < name.size() && name[k] == '(') {
      pos = k + 1;  // a call: descend into its first argument
      continue;
    }
    const char c = name[pos];
    if (c == '\'' || c == '"' || c == ')' || c == ',') return std::nullopt;
    std::string path;
    int depth = 0;
    size_t i = pos;
    for (; i < name.size(); ++i) {
      const char d = name[i];
      if (d == '\\' && i + 1 < name.size()) {
        path.push_back(name[++i]);
        continue;
      }
      if (d == '{') ++depth;
      if (d == '}' && depth > 0) --depth;
      if (depth == 0 && (d == ',' || d == ')' || d == '(' || IsSpace(d))) break;
      path.push_back(d);
    }
    if (path.empty() || IsScalarLiteral(path)) return std::nullopt;
    return path;
  }
}

int64_t PyIndex(int64_t i, int64_t size) {
  if (i < 0) i += size;
  if (i < 0 || i >= size) return -1;
  return i;
}

std::string NodeKey(std::string_view name, const std::vector<int64_t>& nodes) {
  std::string source(name);
  if (!name.empty() && name.back() == ')') {
    if (auto first = FirstPathExpression(name)) source = *std::move(first);
  }
  std::string_view untagged = source;
  untagged = untagged.substr(0, untagged.find(';'));
  std::vector<absl::string_view> parts = absl::StrSplit(Sv(untagged), '.');
  std::string key;
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (n > 0) key.push_back('.');
    const int64_t idx = PyIndex(nodes[n], static_cast<int64_t>(parts.size()));
    if (idx >= 0) absl::StrAppend(&key, parts[idx]);
  }
  return key;
}

std::string AliasByMetricName(std::string_view name) {
  const size_t open = name.rfind('(');
  const size_t left = open == std::string_view::npos ? 0 : open + 1;
  const size_t close = name.find(')');
  const size_t right = close == std::string_view::npos ? name.size() : close;
  std::string_view clean =
      right > left ? name.substr(left, right - left) : std::string_view();
  const size_t dot = clean.rfind('.');
  std::string_view last =
      dot == std::string_view::npos ? clean : clean.substr(dot + 1);
  return std::string(last.substr(0, last.find(',')));
}

}  // namespace gralarm::expr

namespace gralarm::expr {

std::string RegexSub(const std::regex& search, std::string_view replace,
                     std::string_view text) {
  std::string out;
  auto last = text.begin();
  for (std::regex_iterator<std::string_view::const_iterator>
           it(text.begin(), text.end(), search),
       end;
       it != end; ++it) {
    const auto& m = *it;
    out.append(last, m[0].first);
    for (size_t i = 0; i < replace.size(); ++i) {
      const char c = replace[i];
      if (c != '\\' || i + 1 >= replace.size()) {
        out.push_back(c);
        continue;
      }
      const char d = replace[++i];
      if (IsDigit(d)) {
        size_t group = static_cast<size_t>(d - '0');
        if (i + 1 < replace.size() && IsDigit(replace[i + 1])) {
          group = group * 10 + static_cast<size_t>(replace[++i] - '0');
        }
        if (group < m.size() && m[group].matched) out.append(m[group].str());
      } else if (d == 'g' && i + 1 < replace.size() && replace[i + 1] == '<') {
        const size_t close = replace.find('>', i);
        if (close == std::string_view::npos) {
          out.append("\\g");
          continue;
        }
        const std::string_view ref = replace.substr(i + 2, close - i - 2);
        size_t group = 0;
        bool numeric = !ref.empty();
        for (char r : ref) {
          if (!IsDigit(r)) numeric = false;
          if (numeric) group = group * 10 + static_cast<size_t>(r - '0');
        }
        if (numeric && group < m.size() && m[group].matched) {
          out.append(m[group].str());
        }
        i = close;
      } else if (d == 'n') {
        out.push_back('\n');
      } else if (d == 't') {
        out.push_back('\t');
      } else if (d == '\\') {
        out.push_back('\\');
      } else {
        out.push_back('\\');
        out.push_back(d);
      }
    }
    last = m[0].second;
  }
  out.append(last, text.end());
  return out;
}

}  // namespace gralarm::expr
