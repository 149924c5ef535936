#include "absl/strings/str_format.h"
#include "gralarm/api.h"
#include "gralarm/record_json.h"

namespace gralarm {

std::string CsvTextCell(std::string_view raw) {
  const std::string v = ValidUtf8(raw);
  std::string out;
  out.reserve(v.size() + 2);
  const bool formula =
      !v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' ||
                     v[0] == '\t' || v[0] == '\r');
  if (formula) out += '\'';
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += absl::StrFormat("\\x%02X", u);
    } else {
      out += c;
    }
  }
  if (!formula && out.find_first_of(",\"") == std::string::npos) return out;
  std::string quoted = "\"";
  for (char c : out) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace gralarm
