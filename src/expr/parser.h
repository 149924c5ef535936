#ifndef GRALARM_EXPR_PARSER_H_
#define GRALARM_EXPR_PARSER_H_

// Reads a Graphite target expression into the syntax tree of ast.h, with the
// grammar of graphite-web 1.1.8 (render/grammar_unsafe.py):
//
//   target     := expression
//   expression := (call | path) ('|' call)*      a|f(x) is read as f(a, x)
//   call       := name '(' [arg (',' arg)*] [',' kwarg (',' kwarg)*] ')'
//                 (or only kwargs); name := [A-Za-z_][A-Za-z0-9_]*
//   kwarg      := name '=' arg
//   arg        := true | false | number | none | string | inf | expression
//   number     := -?\d+ | -?\d+\.\d+ | either followed by [eE]-?\d+, and only
//                 when followed by ',' or ')' or the end ("1.5x", "1|f()" are
//                 paths); an integer must fit in 64 bits
//   string     := '...' or "..." on one line; the text between the quotes is
//                 kept as written (graphite does not unescape it)
//   path       := element ('.' element)*, with no whitespace inside; an element
//                 is printable ASCII other than (){},.'"\| , with \c escaping
//                 one of those or '=', and {a,b} alternatives
//
// Keywords (true, false, none, inf) are case-insensitive and end at a
// character that is not [A-Za-z0-9_$]. Whitespace (space, tab, CR, LF) may
// stand between any two tokens, never inside a path, number or string.
//
// Stricter than graphite where graphite silently ignores or misreads input:
// text after a complete expression is an error (graphite drops it), and so is
// `name=` without a valid value (graphite reads `f(a, b=)` as the path "b=").
// Like graphite, keyword arguments need a positional argument before them:
// `f(k=1)` and `a|f(k=1)` are errors.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "expr/ast.h"

namespace gralarm::expr {

// The longest target accepted, in bytes.
inline constexpr size_t kMaxTargetBytes = 64 * 1024;
// The deepest tree accepted: calls nested in calls, a pipe counting as one
// more level (`a|f()|g()` is g(f(a)), three levels).
inline constexpr int kMaxDepth = 64;

// Parses `target`. On error, returns InvalidArgument whose message starts with
// "column N: " (N is 1-based, in bytes) and says what was expected there, e.g.
// "column 17: expected ',' or ')' after argument".
absl::StatusOr<Node> Parse(std::string_view target);

// The canonical text of a tree: no whitespace, calls as `name(a,b,k=v)`,
// strings in single quotes unless their text needs double ones, numbers and
// keywords as written, paths with only the escapes they need. For any tree
// returned by Parse, Parse(Format(tree)) returns an equal tree (SameTree).
std::string Format(const Node& node);

// Whether two trees are the same expression: same kinds, texts, values and
// arguments, ignoring where they were written (`column`, `raw`).
bool SameTree(const Node& a, const Node& b);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_PARSER_H_
