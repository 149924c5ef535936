#ifndef GRALARM_TESTS_EXPR_TEMP_TARGET_READER_H_
#define GRALARM_TESTS_EXPR_TEMP_TARGET_READER_H_

// TEMPORARY, for the expr_eval tool only, until expr::Parse (src/expr/
// parser.h) lands: reads calls, paths, quoted strings, numbers, true/false,
// none, inf and keyword arguments into a Node. No pipes, no templates, no
// escapes. Replace its one use in expr_eval_main.cc by expr::Parse and
// delete this file.

#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "expr/ast.h"
#include "expr/pyformat.h"

namespace gralarm::expr::temp {

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  absl::StatusOr<Node> ReadAll() {
    auto n = ReadArg(false);
    if (!n.ok()) return n;
    Skip();
    if (i_ != s_.size()) return Error("trailing text");
    return n;
  }

 private:
  absl::Status Error(std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("target column ", i_ + 1, ": ", Sv(what)));
  }
  void Skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  static bool Word(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  }

  absl::StatusOr<Node> ReadArg(bool allow_literal) {
    Skip();
    Node n;
    n.column = i_ + 1;
    if (i_ >= s_.size()) return Error("unexpected end");
    const char c = s_[i_];
    if (allow_literal && (c == '\'' || c == '"')) {
      const size_t end = s_.find(c, i_ + 1);
      if (end == std::string_view::npos) return Error("unclosed string");
      n.kind = Node::Kind::kString;
      n.text = std::string(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
      return n;
    }
    size_t j = i_;
    while (j < s_.size() && Word(s_[j])) ++j;
    size_t k = j;
    while (k < s_.size() && std::isspace(static_cast<unsigned char>(s_[k])))
      ++k;
    if (j > i_ && k < s_.size() && s_[k] == '(') {
      n.kind = Node::Kind::kCall;
      n.text = std::string(s_.substr(i_, j - i_));
      const size_t start = i_;
      i_ = k + 1;
      Skip();
      if (i_ < s_.size() && s_[i_] == ')') {
        ++i_;
      } else {
        while (true) {
          Skip();
          // keyword?
          size_t w = i_;
          while (w < s_.size() && Word(s_[w])) ++w;
          size_t e = w;
          while (e < s_.size() &&
                 std::isspace(static_cast<unsigned char>(s_[e])))
            ++e;
          if (w > i_ && e < s_.size() && s_[e] == '=') {
            std::string key(s_.substr(i_, w - i_));
            i_ = e + 1;
            auto v = ReadArg(true);
            if (!v.ok()) return v;
            n.kwargs.emplace_back(std::move(key), *std::move(v));
          } else {
            auto v = ReadArg(true);
            if (!v.ok()) return v;
            n.args.push_back(*std::move(v));
          }
          Skip();
          if (i_ < s_.size() && s_[i_] == ',') {
            ++i_;
            continue;
          }
          if (i_ < s_.size() && s_[i_] == ')') {
            ++i_;
            break;
          }
          return Error("expected ',' or ')'");
        }
      }
      n.raw = std::string(s_.substr(start, i_ - start));
      return n;
    }
    // A path, or a literal when allowed.
    size_t end = i_;
    int depth = 0;
    while (end < s_.size()) {
      const char d = s_[end];
      if (d == '{') ++depth;
      if (d == '}') --depth;
      if (depth <= 0 && (d == ',' || d == ')' || d == '(' ||
                         std::isspace(static_cast<unsigned char>(d))))
        break;
      ++end;
    }
    std::string token(s_.substr(i_, end - i_));
    if (token.empty()) return Error("expected an argument");
    i_ = end;
    if (allow_literal) {
      const std::string lower = absl::AsciiStrToLower(token);
      if (lower == "true" || lower == "false") {
        n.kind = Node::Kind::kBool;
        n.boolean = lower == "true";
        return n;
      }
      if (lower == "none") {
        n.kind = Node::Kind::kNone;
        return n;
      }
      if (lower == "inf") {
        n.kind = Node::Kind::kInfinity;
        n.number = HUGE_VAL;
        return n;
      }
      char* stop = nullptr;
      const double v = std::strtod(token.c_str(), &stop);
      if (stop == token.c_str() + token.size()) {
        const bool integer = token.find_first_of(".eE") == std::string::npos;
        n.kind = integer ? Node::Kind::kInteger : Node::Kind::kFloat;
        n.number = v;
        n.integer = integer ? std::atoll(token.c_str()) : 0;
        n.text = token;
        return n;
      }
    }
    n.kind = Node::Kind::kPath;
    n.text = token;
    return n;
  }

  std::string_view s_;
  size_t i_ = 0;
};

inline absl::StatusOr<Node> ReadTarget(std::string_view text) {
  return Reader(text).ReadAll();
}

}  // namespace gralarm::expr::temp

#endif  // GRALARM_TESTS_EXPR_TEMP_TARGET_READER_H_
