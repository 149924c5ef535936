#include "gralarm/glob.h"

#include "gralarm/strings.h"

namespace gralarm {
namespace {

// Expands every {a,b} group of `pattern` (no nesting) into `out`.
absl::Status ExpandBraces(std::string_view pattern,
                          std::vector<std::string>* out) {
  size_t open = pattern.find('{');
  size_t stray_close = pattern.find('}');
  if (open == std::string_view::npos) {
    if (stray_close != std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("unbalanced '}' in \"", pattern, "\""));
    }
    out->emplace_back(pattern);
    return absl::OkStatus();
  }
  if (stray_close < open) {
    return absl::InvalidArgumentError(
        StrCat("unbalanced '}' in \"", pattern, "\""));
  }
  size_t close = pattern.find('}', open);
  if (close == std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("unclosed '{' in \"", pattern, "\""));
  }
  std::string_view body = pattern.substr(open + 1, close - open - 1);
  if (body.find('{') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        StrCat("nested '{' in \"", pattern, "\""));
  }
  std::string_view head = pattern.substr(0, open);
  std::string_view tail = pattern.substr(close + 1);
  size_t start = 0;
  while (true) {
    size_t comma = body.find(',', start);
    std::string_view alt = body.substr(start, comma == std::string_view::npos
                                                  ? std::string_view::npos
                                                  : comma - start);
    std::string next = StrCat(head, alt, tail);
    if (absl::Status s = ExpandBraces(next, out); !s.ok()) return s;
    if (out->size() > Glob::kMaxExpansions) {
      return absl::InvalidArgumentError(
          StrCat("\"", pattern, "\" expands to more than ",
                 Glob::kMaxExpansions, " patterns"));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return absl::OkStatus();
}

// Matches one character class starting after '['; sets *end past the ']'.
bool ClassMatches(std::string_view p, size_t* i, char c) {
  size_t j = *i;
  bool negate = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
    negate = true;
    ++j;
  }
  bool found = false;
  bool first = true;
  while (j < p.size() && (p[j] != ']' || first)) {
    first = false;
    char lo = p[j];
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      char hi = p[j + 2];
      if (lo <= c && c <= hi) found = true;
      j += 3;
    } else {
      if (c == lo) found = true;
      ++j;
    }
  }
  *i = j + 1;  // past ']'
  return found != negate;
}

}  // namespace

bool HasGlobCharacters(std::string_view text) {
  return text.find_first_of("*?[{") != std::string_view::npos;
}

void SplitSegments(std::string_view name, std::vector<std::string_view>* out) {
  out->clear();
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    out->push_back(name.substr(start, dot == std::string_view::npos
                                          ? std::string_view::npos
                                          : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
}

std::vector<std::string_view> SplitSegments(std::string_view name) {
  std::vector<std::string_view> out;
  SplitSegments(name, &out);
  return out;
}

absl::StatusOr<SegmentGlob> SegmentGlob::Compile(std::string_view text) {
  SegmentGlob g;
  g.text_ = std::string(text);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '*' || c == '?') g.literal_ = false;
    if (c == '[') {
      g.literal_ = false;
      size_t j = i + 1;
      if (j < text.size() && (text[j] == '!' || text[j] == '^')) ++j;
      if (j < text.size() && text[j] == ']') ++j;  // a leading ']' is literal
      size_t close = text.find(']', j);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(
            StrCat("unclosed '[' in \"", text, "\""));
      }
      i = close;
    }
  }
  return g;
}

bool SegmentGlob::Matches(std::string_view s) const {
  if (literal_) return s == text_;
  const std::string_view p = text_;
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[') {
        size_t next = pi + 1;
        if (ClassMatches(p, &next, s[si])) {
          pi = next;
          ++si;
          continue;
        }
      } else if (pc == s[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;  // let the last '*' take one more character
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

absl::StatusOr<Glob> Glob::Compile(std::string_view pattern) {
  if (pattern.empty()) return absl::InvalidArgumentError("empty pattern");
  for (char c : pattern) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == ';') {
      return absl::InvalidArgumentError(StrCat(
          "pattern \"", pattern, "\" has a space, a control byte or ';'"));
    }
  }
  std::vector<std::string> expanded;
  if (absl::Status s = ExpandBraces(pattern, &expanded); !s.ok()) return s;
  Glob g;
  g.pattern_ = std::string(pattern);
  for (const std::string& e : expanded) {
    std::vector<SegmentGlob> segments;
    bool empty_segment = false;
    for (std::string_view seg : SplitSegments(e)) {
      if (seg.empty()) {
        empty_segment =
            true;  // can never match a valid name: skip this expansion
        break;
      }
      auto compiled = SegmentGlob::Compile(seg);
      if (!compiled.ok()) return compiled.status();
      segments.push_back(std::move(*compiled));
    }
    if (!empty_segment) g.expansions_.push_back(std::move(segments));
  }
  if (g.expansions_.empty()) {
    return absl::InvalidArgumentError(
        StrCat("pattern \"", pattern, "\" has an empty segment"));
  }
  return g;
}

bool Glob::exact() const {
  return expansions_.size() == 1 && !HasGlobCharacters(pattern_);
}

bool Glob::Matches(std::string_view name) const {
  std::vector<std::string_view> segments = SplitSegments(name);
  for (const auto& e : expansions_) {
    if (e.size() != segments.size()) continue;
    bool all = true;
    for (size_t i = 0; i < e.size() && all; ++i)
      all = e[i].Matches(segments[i]);
    if (all) return true;
  }
  return false;
}

}  // namespace gralarm
