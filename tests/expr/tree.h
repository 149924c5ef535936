#ifndef GRALARM_TESTS_EXPR_TREE_H_
#define GRALARM_TESTS_EXPR_TREE_H_

// Builds syntax trees by hand for the evaluator's tests:
//   Call("sumSeries", {Path("a.*")}), Call("scale", {Path("a"), Num(2)}).

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "expr/ast.h"

namespace gralarm::expr::testing {

inline Node Path(std::string text) {
  Node n;
  n.kind = Node::Kind::kPath;
  n.text = std::move(text);
  return n;
}
inline Node Int(int64_t v) {
  Node n;
  n.kind = Node::Kind::kInteger;
  n.integer = v;
  n.number = static_cast<double>(v);
  n.text = std::to_string(v);
  return n;
}
inline Node Num(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return Int(static_cast<int64_t>(v));
  }
  Node n;
  n.kind = Node::Kind::kFloat;
  n.number = v;
  return n;
}
inline Node Float(double v) {
  Node n;
  n.kind = Node::Kind::kFloat;
  n.number = v;
  return n;
}
inline Node Str(std::string text) {
  Node n;
  n.kind = Node::Kind::kString;
  n.text = std::move(text);
  return n;
}
inline Node Bool(bool v) {
  Node n;
  n.kind = Node::Kind::kBool;
  n.boolean = v;
  return n;
}
inline Node NoneArg() { return Node(); }
inline Node Call(std::string name, std::vector<Node> args,
                 std::vector<std::pair<std::string, Node>> kwargs = {}) {
  Node n;
  n.kind = Node::Kind::kCall;
  n.text = std::move(name);
  n.args = std::move(args);
  n.kwargs = std::move(kwargs);
  return n;
}

}  // namespace gralarm::expr::testing

#endif  // GRALARM_TESTS_EXPR_TREE_H_
