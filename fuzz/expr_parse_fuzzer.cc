// libFuzzer target: the Graphite target parser and function catalogue. Every
// input is parsed; a tree that parses is formatted, the canonical text must
// parse back to the same tree and format to the same text, and the tree is
// validated against the function catalogue. Errors must say where they are.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "expr/catalog.h"
#include "expr/parser.h"

namespace {

template <typename View>
bool StartsWithColumn(View view) {
  const std::string_view message(view.data(), view.size());
  return message.substr(0, 7) == "column " && message.size() > 7 &&
         message[7] >= '1' && message[7] <= '9';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gralarm::expr;
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Node> tree = Parse(target);
  if (!tree.ok()) {
    if (!StartsWithColumn(tree.status().message())) std::abort();
    return 0;
  }
  const std::string text = Format(*tree);
  absl::StatusOr<Node> again = Parse(text);
  if (!again.ok() || !SameTree(*tree, *again) || Format(*again) != text) {
    std::abort();
  }
  absl::Status valid = Validate(*tree);
  if (!valid.ok() && !StartsWithColumn(valid.message())) std::abort();
  // Validation does not depend on how the target was written.
  if (Validate(*again).ok() != valid.ok()) std::abort();
  return 0;
}
