#ifndef GRALARM_STRINGS_H_
#define GRALARM_STRINGS_H_

#include <fmt/format.h>

#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

// Debian's abseil is built with its own absl::string_view type; let fmt print
// it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(
        std::string_view(s.data(), s.size()), ctx);
  }
};

namespace gralarm {

// Concatenates anything fmt can print (std::string_view, absl::string_view,
// numbers).
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

// absl::string_view of a std::string_view, for abseil calls.
inline absl::string_view AbslView(std::string_view s) {
  return {s.data(), s.size()};
}

}  // namespace gralarm

#endif  // GRALARM_STRINGS_H_
