#include "expr/parser.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "gralarm/strings.h"

namespace gralarm::expr {
namespace {

// Characters that end a path element unless escaped (graphite's `symbols`).
constexpr std::string_view kPathSymbols = "(){},.'\"\\|";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c); }
// pyparsing's Keyword.DEFAULT_KEYWORD_CHARS: a keyword must not be followed
// by one of these.
bool IsKeywordChar(char c) { return IsNameChar(c) || c == '$'; }
// Printable ASCII other than the path symbols (graphite's validMetricChars).
bool IsMetricChar(char c) {
  return c > ' ' && c < 0x7f && kPathSymbols.find(c) == std::string_view::npos;
}
// A character that `\` may escape in a path.
bool IsEscapable(char c) {
  return c == '=' || kPathSymbols.find(c) != std::string_view::npos;
}
bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// How a character is shown in a message.
std::string Show(char c) {
  if (c > ' ' && c < 0x7f) return StrCat("'", std::string(1, c), "'");
  if (c == ' ') return "a space";
  if (c == '\n') return "a line feed";
  if (c == '\t') return "a tab";
  if (c == '\r') return "a carriage return";
  static constexpr char kHex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return StrCat("byte 0x", std::string(1, kHex[u >> 4]),
                std::string(1, kHex[u & 15]));
}

// Scans the body of a string literal opened by `quote` at `open` as
// pyparsing's quotedString does: greedily over characters other than the
// quote, CR, LF and backslash, doubled quotes, and backslash escapes (`\x`
// needs hex digits), with no backtracking. Returns the position where the
// body stops; the literal is valid when the quote stands there.
size_t ScanStringBody(std::string_view s, size_t open) {
  const char quote = s[open];
  size_t i = open + 1;
  while (i < s.size()) {
    const char c = s[i];
    if (c == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;
        continue;
      }
      break;
    }
    if (c == '\n' || c == '\r') break;
    if (c == '\\') {
      if (i + 1 >= s.size()) break;
      if (s[i + 1] != 'x') {
        i += 2;
        continue;
      }
      size_t j = i + 2;
      while (j < s.size() && IsHex(s[j])) ++j;
      if (j == i + 2) break;
      i = j;
      continue;
    }
    ++i;
  }
  return i;
}

// The length of the number literal at the start of `s` (graphite's sciNumber
// | floatNumber | intNumber, longest form first), or 0.
size_t NumberLength(std::string_view s, bool* is_float) {
  auto digits = [&](size_t i) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    return j - i;
  };
  auto integer = [&](size_t i) -> size_t {
    const size_t sign = (i < s.size() && s[i] == '-') ? 1 : 0;
    const size_t d = digits(i + sign);
    return d == 0 ? 0 : sign + d;
  };
  size_t n = integer(0);
  if (n == 0) return 0;
  *is_float = false;
  if (n < s.size() && s[n] == '.') {
    const size_t frac = digits(n + 1);
    if (frac > 0) {
      n += 1 + frac;
      *is_float = true;
    }
  }
  if (n < s.size() && (s[n] == 'e' || s[n] == 'E')) {
    const size_t exp = integer(n + 1);
    if (exp > 0) {
      n += 1 + exp;
      *is_float = true;
    }
  }
  return n;
}

// Whether `s` is `lower` in any case (ASCII).
bool LowerEquals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// The keyword (lower case) that `s` starts with, if any.
std::string_view KeywordAt(std::string_view s) {
  for (std::string_view kw : {"true", "false", "none", "inf"}) {
    if (s.size() >= kw.size() && LowerEquals(s.substr(0, kw.size()), kw) &&
        (s.size() == kw.size() || !IsKeywordChar(s[kw.size()]))) {
      return kw;
    }
  }
  return {};
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  absl::StatusOr<Node> ParseTarget() {
    SkipSpace();
    if (pos_ == s_.size()) return Error(0, "empty target");
    Node node;
    int height = 0;
    if (absl::Status st = ParseExpression(0, &node, &height); !st.ok()) {
      return st;
    }
    SkipSpace();
    if (pos_ < s_.size()) {
      if (s_[pos_] == ')') {
        return Error(pos_, "unbalanced ')': no '(' is open here");
      }
      return Error(pos_, StrCat("unexpected ", Show(s_[pos_]),
                                " after the expression (expected '|' and a "
                                "function call, or the end)"));
    }
    return node;
  }

 private:
  absl::Status Error(size_t at, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat("column ", at + 1, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  // The length of the name ([A-Za-z_][A-Za-z0-9_]*) at `at`, or 0.
  size_t NameLength(size_t at) const {
    if (at >= s_.size() || !IsNameStart(s_[at])) return 0;
    size_t j = at + 1;
    while (j < s_.size() && IsNameChar(s_[j])) ++j;
    return j - at;
  }

  // Whether a call starts at pos_: a name, optional whitespace, '('.
  bool AtCall() const {
    const size_t n = NameLength(pos_);
    if (n == 0) return false;
    size_t j = pos_ + n;
    while (j < s_.size() && IsSpace(s_[j])) ++j;
    return j < s_.size() && s_[j] == '(';
  }

  // expression := (call | path) ('|' call)*. `depth` counts the calls that
  // enclose it; `*height` receives the depth of the tree built.
  absl::Status ParseExpression(int depth, Node* out, int* height) {
    if (AtCall()) {
      if (absl::Status st = ParseCall(depth, out, height); !st.ok()) return st;
    } else {
      if (absl::Status st = ParsePath(out); !st.ok()) return st;
      *height = 0;
    }
    // Pipes: each wraps the tree built so far as the first argument.
    while (true) {
      size_t j = pos_;
      while (j < s_.size() && IsSpace(s_[j])) ++j;
      if (j >= s_.size() || s_[j] != '|') return absl::OkStatus();
      const size_t bar = j;
      pos_ = j + 1;
      SkipSpace();
      if (!AtCall()) {
        return Error(pos_ < s_.size() ? pos_ : bar,
                     "expected a function call after '|'");
      }
      Node call;
      int call_height = 0;
      if (absl::Status st = ParseCall(depth, &call, &call_height); !st.ok()) {
        return st;
      }
      const int piped_height = std::max(call_height, *height + 1);
      if (piped_height > kMaxDepth) {
        return Error(call.column - 1,
                     StrCat("expression nested deeper than ", kMaxDepth,
                            " calls (each '|' adds one)"));
      }
      call.args.insert(call.args.begin(), std::move(*out));
      *out = std::move(call);
      *height = piped_height;
    }
  }

  // call := name '(' args ')' with pos_ at the name.
  absl::Status ParseCall(int depth, Node* out, int* height) {
    const size_t start = pos_;
    if (depth >= kMaxDepth) {
      return Error(start, StrCat("calls nested deeper than ", kMaxDepth));
    }
    const size_t name_len = NameLength(pos_);
    out->kind = Node::Kind::kCall;
    out->text = std::string(s_.substr(pos_, name_len));
    out->column = start + 1;
    pos_ += name_len;
    SkipSpace();
    const size_t open = pos_;  // AtCall() saw the '('
    ++pos_;
    *height = 1;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ')') {
      ++pos_;
      out->raw = std::string(s_.substr(start, pos_ - start));
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size()) {
        return Error(pos_,
                     StrCat("expected an argument: the '(' of ", out->text,
                            " at column ", open + 1, " is not closed"));
      }
      const size_t arg_start = pos_;
      int arg_height = 0;
      // kwarg := name '=' arg
      if (const size_t n = NameLength(pos_); n > 0) {
        size_t j = pos_ + n;
        while (j < s_.size() && IsSpace(s_[j])) ++j;
        if (j < s_.size() && s_[j] == '=') {
          if (out->args.empty()) {
            // graphite's grammar reads keyword arguments only after a
            // positional one (so `a|scale(factor=2)` is refused too).
            return Error(arg_start,
                         "keyword argument before any positional argument "
                         "(graphite needs the series first)");
          }
          std::string name(s_.substr(pos_, n));
          pos_ = j + 1;
          SkipSpace();
          Node value;
          if (absl::Status st = ParseArg(depth, &value, &arg_height, &name);
              !st.ok()) {
            return st;
          }
          out->kwargs.emplace_back(std::move(name), std::move(value));
          *height = std::max(*height, arg_height + 1);
          if (absl::Status st = AfterArg(*out, open); !st.ok()) return st;
          if (s_[pos_++] == ')') break;
          continue;
        }
      }
      if (!out->kwargs.empty()) {
        return Error(arg_start,
                     "positional argument after keyword arguments (expected "
                     "name=value)");
      }
      Node value;
      if (absl::Status st = ParseArg(depth, &value, &arg_height, nullptr);
          !st.ok()) {
        return st;
      }
      out->args.push_back(std::move(value));
      *height = std::max(*height, arg_height + 1);
      if (absl::Status st = AfterArg(*out, open); !st.ok()) return st;
      if (s_[pos_++] == ')') break;
    }
    out->raw = std::string(s_.substr(start, pos_ - start));
    if (*height > kMaxDepth) {
      return Error(start, StrCat("expression nested deeper than ", kMaxDepth,
                                 " calls (each '|' adds one)"));
    }
    return absl::OkStatus();
  }

  // After an argument: skips whitespace and checks that ',' or ')' follows
  // (leaving pos_ on it).
  absl::Status AfterArg(const Node& call, size_t open) {
    SkipSpace();
    if (pos_ >= s_.size()) {
      return Error(
          pos_, StrCat("expected ',' or ')' after argument: "
                       "the '(' of ",
                       call.text, " at column ", open + 1, " is not closed"));
    }
    const char c = s_[pos_];
    if (c == ',' || c == ')') {
      if (c == ',') {
        // A ',' must be followed by an argument.
        size_t j = pos_ + 1;
        while (j < s_.size() && IsSpace(s_[j])) ++j;
        if (j < s_.size() && (s_[j] == ')' || s_[j] == ',')) {
          return Error(j, "expected an argument after ','");
        }
      }
      return absl::OkStatus();
    }
    if (c == '(') {
      return Error(pos_,
                   "expected ',' or ')' after argument (a function name is "
                   "letters, digits and '_' only)");
    }
    if (c == '}') {
      return Error(pos_, "expected ',' or ')' after argument: '}' without '{'");
    }
    return Error(pos_, "expected ',' or ')' after argument");
  }

  // arg := true | false | number | none | string | inf | expression, with
  // pos_ at its first character. `kwarg` names the keyword argument, if any.
  absl::Status ParseArg(int depth, Node* out, int* height,
                        const std::string* kwarg) {
    *height = 0;
    if (pos_ >= s_.size()) {
      return Error(pos_, kwarg ? StrCat("expected a value for '", *kwarg, "='")
                               : std::string("expected an argument"));
    }
    const std::string_view rest = s_.substr(pos_);
    out->column = pos_ + 1;
    if (std::string_view kw = KeywordAt(rest); !kw.empty()) {
      out->text = std::string(rest.substr(0, kw.size()));
      pos_ += kw.size();
      if (kw == "true" || kw == "false") {
        out->kind = Node::Kind::kBool;
        out->boolean = kw == "true";
      } else if (kw == "none") {
        out->kind = Node::Kind::kNone;
      } else {
        out->kind = Node::Kind::kInfinity;
        out->number = std::numeric_limits<double>::infinity();
      }
      return absl::OkStatus();
    }
    bool is_float = false;
    if (const size_t n = NumberLength(rest, &is_float);
        n > 0 && NumberEndsHere(pos_ + n)) {
      return ParseNumber(rest.substr(0, n), is_float, out);
    }
    const char c = rest[0];
    if (c == '\'' || c == '"') return ParseString(out);
    if (c == ')' || c == ',') {
      return Error(pos_, kwarg ? StrCat("expected a value for '", *kwarg, "='")
                               : std::string("expected an argument"));
    }
    if (!AtCall() && !IsMetricChar(c) && c != '\\' && c != '{') {
      return Error(pos_,
                   StrCat("unexpected ", Show(c), ": expected an argument"));
    }
    return ParseExpression(depth + 1, out, height);
  }

  // graphite's afterNumber: a number is one only when ',' or ')' follows
  // (after whitespace), or the end of the target ("1.5x", "1|f()" are paths).
  bool NumberEndsHere(size_t at) const {
    size_t j = at;
    while (j < s_.size() && IsSpace(s_[j])) ++j;
    return j >= s_.size() || s_[j] == ',' || s_[j] == ')';
  }

  absl::Status ParseNumber(std::string_view literal, bool is_float, Node* out) {
    out->text = std::string(literal);
    const std::string copy(literal);
    if (is_float) {
      out->kind = Node::Kind::kFloat;
      // Out of range: +-inf or 0, as Python's float() gives.
      out->number = std::strtod(copy.c_str(), nullptr);
    } else {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(copy.c_str(), &end, 10);
      if (errno == ERANGE) {
        return Error(pos_, StrCat("integer ", literal,
                                  " is out of range (at most 19 "
                                  "digits)"));
      }
      out->kind = Node::Kind::kInteger;
      out->integer = v;
      out->number = static_cast<double>(v);
    }
    pos_ += literal.size();
    return absl::OkStatus();
  }

  absl::Status ParseString(Node* out) {
    const size_t open = pos_;
    const size_t end = ScanStringBody(s_, open);
    if (end >= s_.size() || s_[end] != s_[open]) {
      std::string why;
      if (end >= s_.size()) {
        why = "no closing quote before the end";
      } else if (s_[end] == '\n' || s_[end] == '\r') {
        why = StrCat("no closing quote before the line break at column ",
                     end + 1);
      } else {
        why = StrCat("invalid escape at column ", end + 1,
                     " ('\\x' needs hex digits)");
      }
      return Error(open, StrCat("unterminated string: ", why));
    }
    out->kind = Node::Kind::kString;
    out->text = std::string(s_.substr(open + 1, end - open - 1));
    pos_ = end + 1;
    return absl::OkStatus();
  }

  // One partial path element (graphite's partialPathElem): metric characters
  // and escapes, appended resolved to `text`. Returns false if none is there.
  absl::Status ParsePartial(std::string* text, bool* found) {
    *found = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (IsMetricChar(c)) {
        text->push_back(c);
        ++pos_;
      } else if (c == '\\') {
        if (pos_ + 1 >= s_.size() || !IsEscapable(s_[pos_ + 1])) {
          return Error(pos_,
                       "invalid escape in path: '\\' escapes one of "
                       "(){},.'\"\\|= only");
        }
        text->push_back(s_[pos_ + 1]);
        pos_ += 2;
      } else {
        break;
      }
      *found = true;
    }
    return absl::OkStatus();
  }

  // path := element ('.' element)*, element := (partial | '{' partial
  // (',' partial)* '}')+, with pos_ at its first character.
  absl::Status ParsePath(Node* out) {
    out->kind = Node::Kind::kPath;
    out->column = pos_ + 1;
    std::string text;
    while (true) {
      const size_t element_start = pos_;
      while (true) {
        bool found = false;
        if (absl::Status st = ParsePartial(&text, &found); !st.ok()) return st;
        if (pos_ < s_.size() && s_[pos_] == '{') {
          if (absl::Status st = ParseBraces(&text); !st.ok()) return st;
          continue;
        }
        break;
      }
      if (pos_ == element_start) {
        if (pos_ >= s_.size()) {
          return Error(pos_, element_start == out->column - 1
                                 ? "expected a metric path or a function call"
                                 : "expected a path element after '.'");
        }
        const char c = s_[pos_];
        if (c == '.') {
          return Error(pos_, element_start == out->column - 1
                                 ? "a path cannot start with '.'"
                                 : "empty path element ('..')");
        }
        if (element_start == out->column - 1) {
          return Error(pos_, StrCat("unexpected ", Show(c),
                                    ": expected a metric path or a "
                                    "function call"));
        }
        return Error(pos_, StrCat("expected a path element after '.', "
                                  "found ",
                                  Show(c)));
      }
      if (pos_ < s_.size() && s_[pos_] == '.') {
        text.push_back('.');
        ++pos_;
        continue;
      }
      break;
    }
    out->text = std::move(text);
    return absl::OkStatus();
  }

  // '{' partial (',' partial)* '}' with pos_ at the '{'; appended to `text`
  // as written (escapes resolved).
  absl::Status ParseBraces(std::string* text) {
    const size_t open = pos_;
    text->push_back('{');
    ++pos_;
    while (true) {
      bool found = false;
      if (absl::Status st = ParsePartial(text, &found); !st.ok()) return st;
      if (pos_ >= s_.size()) {
        return Error(open, "unclosed '{' in path");
      }
      const char c = s_[pos_];
      if (!found) {
        return Error(
            pos_, StrCat("expected an alternative inside '{' ",
                         "(opened at column ", open + 1, "), found ", Show(c)));
      }
      if (c == '}') {
        text->push_back('}');
        ++pos_;
        return absl::OkStatus();
      }
      if (c != ',') {
        return Error(
            pos_, StrCat("expected ',' or '}' inside '{' ",
                         "(opened at column ", open + 1, "), found ", Show(c)));
      }
      text->push_back(',');
      ++pos_;
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// ---- Format ----

// The length of the name ([A-Za-z_][A-Za-z0-9_]*) that `s` starts with.
size_t NameLength(std::string_view s) {
  if (s.empty() || !IsNameStart(s[0])) return 0;
  size_t j = 1;
  while (j < s.size() && IsNameChar(s[j])) ++j;
  return j;
}

// Whether `text`, written bare as an argument, would be read as a literal
// rather than a path.
bool ReadsAsLiteral(std::string_view text) {
  bool is_float = false;
  if (NumberLength(text, &is_float) == text.size()) return true;
  return !KeywordAt(text).empty();
}

// Whether the string body `text` reads back whole inside `quote`s.
bool FitsQuotes(std::string_view text, char quote) {
  std::string wrapped;
  wrapped.reserve(text.size() + 2);
  wrapped.push_back(quote);
  wrapped.append(text);
  wrapped.push_back(quote);
  return ScanStringBody(wrapped, 0) == wrapped.size() - 1;
}

// Whether a '{' at `open` in path text starts alternatives that read back as
// such: non-empty alternatives up to the next '}', with no '{' before it.
bool BracesReadBack(std::string_view text, size_t open) {
  size_t item = 0;
  for (size_t i = open + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{') return false;
    if (c == '}' || c == ',') {
      if (item == 0) return false;
      if (c == '}') return true;
      item = 0;
      continue;
    }
    ++item;
  }
  return false;
}

void FormatPath(std::string_view text, bool escape_first_dot,
                std::string* out) {
  bool prev_separator = true;  // at the start, as after a '.'
  size_t brace_end = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool in_braces = brace_end != std::string_view::npos;
    if (c == '{' && !in_braces && BracesReadBack(text, i)) {
      brace_end = text.find('}', i);
      out->push_back(c);
    } else if (in_braces && (c == ',' || i == brace_end)) {
      out->push_back(c);
      if (i == brace_end) brace_end = std::string_view::npos;
    } else if (c == '.' && !in_braces && !prev_separator &&
               i + 1 < text.size() && text[i + 1] != '.' && !escape_first_dot) {
      out->push_back('.');
      prev_separator = true;
      continue;
    } else if (c == '=' && (i == 0 || NameLength(text) != i)) {
      // Only `name=` at the start would read as a keyword argument.
      out->push_back(c);
    } else if (IsEscapable(c)) {
      if (c == '.') escape_first_dot = false;
      out->push_back('\\');
      out->push_back(c);
    } else {
      out->push_back(c);
    }
    prev_separator = false;
  }
}

// Writes `node`; `in_arg`: as an argument, where keywords and numbers are
// read as literals.
void FormatTo(const Node& node, bool in_arg, std::string* out);

// Where an expression is written: at the start of the target, or as an
// argument, where a leading keyword (`true`, `inf`...) or a bare number is
// read as a literal instead.
enum Context { kTop = 0, kArg = 1 };

// How a node can be written in each context: `whole` as a complete argument
// or target, `head` as the head of a pipe (followed by '|').
struct Writable {
  bool whole[2] = {true, true};
  bool head[2] = {true, true};
};

bool IsKeyword(std::string_view name) {
  return KeywordAt(name).size() == name.size();
}

// A call can be piped (`head|name(rest)`) when it has a first argument and
// the piped call keeps a positional argument before its keyword ones.
bool CanPipe(const Node& call) {
  return !call.args.empty() && (call.args.size() >= 2 || call.kwargs.empty());
}

Writable Analyze(const Node& node);

// Whether `call` can be written as `name(args)` in `context`.
bool NestedOk(const Node& call, const Writable* first, Context context) {
  if (context == kArg && IsKeyword(call.text)) return false;
  return first == nullptr || first->whole[kArg];
}

bool PipedOk(const Node& call, const Writable* first, Context context) {
  return CanPipe(call) && first != nullptr && first->head[context];
}

Writable Analyze(const Node& node) {
  Writable w;
  switch (node.kind) {
    case Node::Kind::kPath: {
      const bool keyword = !KeywordAt(node.text).empty();
      bool is_float = false;
      const bool bare_number =
          NumberLength(node.text, &is_float) == node.text.size() &&
          node.text.find('.') == std::string::npos;
      w.whole[kArg] = !keyword && !bare_number;
      w.head[kArg] = !keyword;
      return w;
    }
    case Node::Kind::kCall: {
      Writable first;
      const Writable* f = nullptr;
      if (!node.args.empty()) {
        first = Analyze(node.args[0]);
        f = &first;
      }
      for (Context c : {kTop, kArg}) {
        w.whole[c] = NestedOk(node, f, c) || PipedOk(node, f, c);
        w.head[c] = w.whole[c];
      }
      return w;
    }
    default:
      // A literal is an argument only, never a pipe head.
      w.whole[kTop] = false;
      w.head[kTop] = w.head[kArg] = false;
      return w;
  }
}

void FormatCall(const Node& node, Context context, std::string* out) {
  size_t first = 0;
  // Nested (`name(a,b)`) when that reads back, else piped (`a|name(b)`):
  // `5|scale(2)`, `true.x|scale(2)`, `f(a|inf(2))`, `none(2)|sum()`.
  if (!node.args.empty()) {
    const Writable w = Analyze(node.args[0]);
    if (!NestedOk(node, &w, context) && PipedOk(node, &w, context)) {
      FormatTo(node.args[0], context == kArg, out);
      out->push_back('|');
      first = 1;
    }
  }
  out->append(node.text);
  out->push_back('(');
  bool comma = false;
  for (size_t i = first; i < node.args.size(); ++i) {
    if (comma) out->push_back(',');
    FormatTo(node.args[i], true, out);
    comma = true;
  }
  for (const auto& [name, value] : node.kwargs) {
    if (comma) out->push_back(',');
    out->append(name);
    out->push_back('=');
    FormatTo(value, true, out);
    comma = true;
  }
  out->push_back(')');
}

void FormatTo(const Node& node, bool in_arg, std::string* out) {
  switch (node.kind) {
    case Node::Kind::kPath:
      // A number-like path with a dot (`1\.5`) keeps the dot escaped.
      FormatPath(node.text, in_arg && ReadsAsLiteral(node.text), out);
      return;
    case Node::Kind::kCall:
      FormatCall(node, in_arg ? kArg : kTop, out);
      return;
    case Node::Kind::kString: {
      const char quote = FitsQuotes(node.text, '\'') ? '\'' : '"';
      out->push_back(quote);
      out->append(node.text);
      out->push_back(quote);
      return;
    }
    case Node::Kind::kInteger:
    case Node::Kind::kFloat:
    case Node::Kind::kBool:
    case Node::Kind::kNone:
    case Node::Kind::kInfinity:
      if (!node.text.empty()) {
        out->append(node.text);
      } else if (node.kind == Node::Kind::kInteger) {
        out->append(StrCat(node.integer));
      } else if (node.kind == Node::Kind::kFloat) {
        out->append(StrCat(node.number));
      } else if (node.kind == Node::Kind::kBool) {
        out->append(node.boolean ? "true" : "false");
      } else {
        out->append(node.kind == Node::Kind::kNone ? "none" : "inf");
      }
      return;
  }
}

}  // namespace

absl::StatusOr<Node> Parse(std::string_view target) {
  if (target.size() > kMaxTargetBytes) {
    return absl::InvalidArgumentError(
        StrCat("column ", kMaxTargetBytes + 1, ": target is ", target.size(),
               " bytes, longer than the limit of ", kMaxTargetBytes));
  }
  return Parser(target).ParseTarget();
}

std::string Format(const Node& node) {
  std::string out;
  FormatTo(node, /*in_arg=*/false, &out);
  return out;
}

bool SameTree(const Node& a, const Node& b) {
  if (a.kind != b.kind || a.text != b.text || a.integer != b.integer ||
      a.boolean != b.boolean || a.args.size() != b.args.size() ||
      a.kwargs.size() != b.kwargs.size()) {
    return false;
  }
  if (!(a.number == b.number || (std::isnan(a.number) && std::isnan(b.number))))
    return false;
  for (size_t i = 0; i < a.args.size(); ++i) {
    if (!SameTree(a.args[i], b.args[i])) return false;
  }
  for (size_t i = 0; i < a.kwargs.size(); ++i) {
    if (a.kwargs[i].first != b.kwargs[i].first ||
        !SameTree(a.kwargs[i].second, b.kwargs[i].second)) {
      return false;
    }
  }
  return true;
}

}  // namespace gralarm::expr
