#ifndef GRALARM_EXPR_AST_H_
#define GRALARM_EXPR_AST_H_

// The syntax tree of a Graphite target expression, as graphite-web 1.1.8's
// grammar reads it: a call, a path expression (glob), or a literal argument.
// Produced by expr::Parse (parser.h); consumed by the function registry and the
// streaming evaluator. Piped calls (`a.b|scale(2)`) are rewritten by the parser
// into nested calls, so the tree never holds a pipe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gralarm::expr {

struct Node {
  enum class Kind {
    kPath,     // a metric path expression: `a.b.*`, `a.{b,c}.d`, `a.b[0-9]`
    kCall,     // `name(args..., kw=arg...)`
    kString,   // 'text' or "text"; `text` holds the text without the quotes
    kInteger,  // -?\d+                 ; `integer` and `number` are set
    kFloat,    // -?\d+\.\d+ or scientific; `number` is set
    kBool,     // true / false (any case)
    kNone,     // none (any case)
    kInfinity  // inf (any case); `number` is +infinity
  };

  Kind kind = Kind::kNone;
  // kPath: the path with escapes (`\(`) resolved; kCall: the function name as
  // written; kString: the unquoted text; numbers: the literal as written.
  std::string text;
  double number = 0;
  int64_t integer = 0;
  bool boolean = false;
  // Positional arguments of a call, in order.
  std::vector<Node> args;
  // Keyword arguments of a call, in the order written. (The `{}` lets clang
  // with libstdc++ instantiate the pair of a still incomplete Node.)
  std::vector<std::pair<std::string, Node>> kwargs{};
  // 1-based column of the node's first character in the target text.
  size_t column = 0;
  // kCall only: the call's text as written in the target (graphite's `raw`).
  std::string raw;

  bool is_series() const { return kind == Kind::kPath || kind == Kind::kCall; }
};

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_AST_H_
