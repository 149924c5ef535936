// Interpolate: Grafana's template service (public/app/features/templating/
// template_srv.ts and its format registry) as the Graphite data source uses
// it: no format given means glob.

#include "grafana/interpolate.h"

#include <nlohmann/json.hpp>

#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

// A custom allValue may name variables, interpolated again; this bounds the
// chain (a variable whose allValue names itself).
constexpr int kMaxDepth = 8;

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

size_t WordEnd(std::string_view s, size_t i) {
  while (i < s.size() && IsWordChar(s[i])) ++i;
  return i;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(v[i]);
  }
  return out;
}

// kbn.regexEscape: [\\^$*+?.()|[\]{}\/] get a backslash.
std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$*+?.()|[]{}/").find(c) != std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

// luceneEscape: [!*+\-=<>\s&|()[\]{}^~?:\\/"] get a backslash.
std::string LuceneEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("!*+-=<>&|()[]{}^~?:\\/\" \t\n\r\f\v").find(c) !=
        std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

std::string Quote(std::string_view s, char q, std::string_view escaped) {
  std::string out(1, q);
  for (char c : s) {
    if (c == q) {
      out.append(escaped);
    } else {
      out += c;
    }
  }
  out += q;
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One value in a format: `list` says whether Grafana holds an array (a
// multi-value variable, All) or a string.
std::string FormatValue(std::string_view format,
                        const std::vector<std::string>& values, bool list,
                        const std::string& name, const std::string& text) {
  const std::string one = values.empty() ? "" : values[0];
  if (format == "raw") return list ? Join(values, ",") : one;
  if (format == "regex") {
    if (!list) return RegexEscape(one);
    std::vector<std::string> escaped;
    for (const std::string& v : values) escaped.push_back(RegexEscape(v));
    if (escaped.size() == 1) return escaped[0];
    return StrCat("(", Join(escaped, "|"), ")");
  }
  if (format == "pipe") return list ? Join(values, "|") : one;
  if (format == "csv") return list ? Join(values, ",") : one;
  if (format == "distributed") {
    if (!list) return one;
    std::string out;
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += StrCat(",", name, "=");
      out += values[i];
    }
    return out;
  }
  if (format == "singlequote" || format == "doublequote" ||
      format == "sqlstring") {
    const char q = format == "doublequote" ? '"' : '\'';
    const std::string_view esc = format == "singlequote"   ? "\\'"
                                 : format == "doublequote" ? "\\\""
                                                           : "''";
    if (!list) return Quote(one, q, esc);
    std::vector<std::string> quoted;
    for (const std::string& v : values) quoted.push_back(Quote(v, q, esc));
    return Join(quoted, ",");
  }
  if (format == "percentencode") {
    return EncodeUriComponentStrict(list ? StrCat("{", Join(values, ","), "}")
                                         : one);
  }
  if (format == "lucene") {
    if (!list) return LuceneEscape(one);
    if (values.empty()) return "__empty__";
    std::vector<std::string> quoted;
    for (const std::string& v : values) {
      quoted.push_back(StrCat("\"", LuceneEscape(v), "\""));
    }
    return StrCat("(", Join(quoted, " OR "), ")");
  }
  if (format == "json") {
    return list ? nlohmann::json(values).dump() : nlohmann::json(one).dump();
  }
  if (format == "html") return HtmlEscape(list ? Join(values, ", ") : one);
  if (format == "text") return text;
  if (format == "queryparam") {
    std::vector<std::string> parts;
    for (const std::string& v : values) {
      parts.push_back(StrCat("var-", name, "=", EncodeUriComponentStrict(v)));
    }
    return Join(parts, "&");
  }
  // glob, and the fallback for a format Grafana does not know.
  if (list && values.size() > 1) return StrCat("{", Join(values, ","), "}");
  return list ? Join(values, ",") : one;
}

Interpolated InterpolateDepth(std::string_view text,
                              const VariableLookup& lookup, int depth);

}  // namespace

std::string EncodeUriComponentStrict(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string FormatVariable(const ResolvedVariable& v, std::string_view format,
                           const VariableLookup& lookup, int depth) {
  // Only the format's name counts ("date:iso" -> "date").
  format = format.substr(0, format.find(':'));
  if (v.is_all()) {
    // A custom allValue is used as it is (interpolated again, not
    // formatted), unless the format is text or percentencode.
    if (v.all_value && format != "text" && format != "percentencode") {
      if (depth >= kMaxDepth) return *v.all_value;
      return InterpolateDepth(*v.all_value, lookup, depth + 1).text;
    }
    std::vector<std::string> all;
    for (const VariableOption& o : v.options) {
      if (o.value != "$__all") all.push_back(o.value);
    }
    if (v.all_value) all = {*v.all_value};
    return FormatValue(format, all, /*list=*/!v.all_value, v.name, "All");
  }
  return FormatValue(format, v.current, v.current_is_list, v.name,
                     v.current_text);
}

namespace {

Interpolated InterpolateDepth(std::string_view text,
                              const VariableLookup& lookup, int depth) {
  Interpolated out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    // The three forms of template_srv's regex, tried in its order:
    //   \$(\w+) | \[\[(\w+?)(?::(\w+))?\]\] |
    //   \${(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?}
    std::string_view name, format;
    size_t end = 0;
    if (c == '$' && i + 1 < text.size() && IsWordChar(text[i + 1])) {
      end = WordEnd(text, i + 1);
      name = text.substr(i + 1, end - i - 1);
    } else if (c == '[' && text.substr(i, 2) == "[[") {
      const size_t n_end = WordEnd(text, i + 2);
      if (n_end > i + 2) {
        size_t p = n_end;
        std::string_view f;
        if (p < text.size() && text[p] == ':') {
          const size_t f_end = WordEnd(text, p + 1);
          if (f_end > p + 1) {
            f = text.substr(p + 1, f_end - p - 1);
            p = f_end;
          }
        }
        if (text.substr(p, 2) == "]]") {
          name = text.substr(i + 2, n_end - i - 2);
          format = f;
          end = p + 2;
        }
      }
    } else if (c == '$' && text.substr(i, 2) == "${") {
      const size_t n_end = WordEnd(text, i + 2);
      if (n_end > i + 2) {
        size_t p = n_end;
        if (p < text.size() && text[p] == '.') {  // a field path
          size_t q = p + 1;
          while (q < text.size() && text[q] != ':' && text[q] != '^' &&
                 text[q] != '}')
            ++q;
          if (q > p + 1) p = q;
        }
        std::string_view f;
        if (p < text.size() && text[p] == ':') {
          size_t q = p + 1;
          while (q < text.size() && text[q] != '}') ++q;
          if (q > p + 1) {
            f = text.substr(p + 1, q - p - 1);
            p = q;
          }
        }
        if (p < text.size() && text[p] == '}') {
          name = text.substr(i + 2, n_end - i - 2);
          format = f;
          end = p + 1;
        }
      }
    }
    if (name.empty()) {
      out.text += c;
      ++i;
      continue;
    }
    const std::string_view written = text.substr(i, end - i);
    const ResolvedVariable* v = lookup ? lookup(name) : nullptr;
    if (v == nullptr) {
      if (name.starts_with("__")) {
        out.problems.push_back(
            StrCat(written,
                   " is a Grafana builtin variable (time range, "
                   "interval...), which has no value outside a "
                   "Grafana panel"));
      } else if (name.find_first_not_of("0123456789") !=
                 std::string_view::npos) {
        out.problems.push_back(
            StrCat(written, ": the dashboard has no variable \"", name,
                   "\" (left as written, as Grafana does)"));
      }
      out.text.append(written);
    } else {
      if (!v->problem.empty()) {
        out.problems.push_back(StrCat("variable ", v->name, ": ", v->problem));
      }
      out.text += FormatVariable(*v, format, lookup, depth);
    }
    i = end;
  }
  return out;
}

}  // namespace

Interpolated InterpolateWith(std::string_view text,
                             const VariableLookup& lookup) {
  return InterpolateDepth(text, lookup, 0);
}

Interpolated Interpolate(std::string_view text,
                         const std::vector<ResolvedVariable>& variables) {
  return InterpolateWith(text,
                         [&](std::string_view name) -> const ResolvedVariable* {
                           for (const ResolvedVariable& v : variables) {
                             if (v.name == name) return &v;
                           }
                           return nullptr;
                         });
}

}  // namespace gralarm::grafana
