// ResolveVariables: the options and current value of each template variable,
// as Grafana's variable adapters compute them (custom, constant, interval,
// textbox, and query variables through the Graphite find query).

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "grafana/interpolate.h"
#include "gralarm/grafana.h"
#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

constexpr std::string_view kAll = "$__all";
// A regex filter longer than this is refused (std::regex is recursive).
constexpr size_t kMaxRegexBytes = 1000;
constexpr size_t kMaxOptions = 10000;

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// A custom variable's query: values split at commas not escaped as "\,";
// "text : value" gives a text and a value.
std::vector<VariableOption> CustomOptions(std::string_view query) {
  std::vector<VariableOption> out;
  std::string item;
  bool any = false;
  auto flush = [&] {
    if (!any) return;
    const size_t sep = item.find(" : ");
    if (sep != std::string::npos && sep > 0 && sep + 3 < item.size()) {
      out.push_back({Trim(item.substr(0, sep)), Trim(item.substr(sep + 3))});
    } else {
      const std::string t = Trim(item);
      out.push_back({t, t});
    }
    item.clear();
    any = false;
  };
  for (size_t i = 0; i < query.size(); ++i) {
    if (query[i] == '\\' && i + 1 < query.size() && query[i + 1] == ',') {
      item += ',';
      any = true;
      ++i;
    } else if (query[i] == ',') {
      flush();
    } else {
      item += query[i];
      any = true;
    }
  }
  flush();
  return out;
}

// Grafana's stringToJsRegex: "/pattern/flags", or a bare pattern anchored
// as ^pattern$.
absl::StatusOr<std::pair<std::regex, bool>> JsRegex(std::string_view text) {
  if (text.size() > kMaxRegexBytes) {
    return absl::InvalidArgumentError("regex longer than 1000 bytes");
  }
  // std::regex unrolls counted repetitions: a{100000} would take megabytes.
  int counted = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' || i + 1 >= text.size() || text[i + 1] < '0' ||
        text[i + 1] > '9') {
      continue;
    }
    size_t j = i + 1;
    while (j < text.size() &&
           ((text[j] >= '0' && text[j] <= '9') || text[j] == ',')) {
      ++j;
    }
    if (++counted > 2) {
      return absl::InvalidArgumentError(
          "regex has more than two {n,m} repetitions");
    }
    // Each number of {n}, {n,} or {n,m} at most 99.
    const std::string_view counts = text.substr(i + 1, j - i - 1);
    size_t digits = 0;
    for (char c : counts) {
      digits = c == ',' ? 0 : digits + 1;
      if (digits > 2) {
        return absl::InvalidArgumentError(
            "regex {n,m} repetitions above 99 are refused");
      }
    }
  }
  std::string pattern;
  auto flags = std::regex::ECMAScript;
  bool global = false;
  if (!text.starts_with('/')) {
    pattern = StrCat("^", text, "$");
  } else {
    const size_t last = text.rfind('/');
    if (last == 0) return absl::InvalidArgumentError("regex has no closing /");
    pattern = std::string(text.substr(1, last - 1));
    for (char f : text.substr(last + 1)) {
      if (f == 'i') {
        flags |= std::regex::icase;
      } else if (f == 'g') {
        global = true;
      } else if (f != 'm' && f != 's' && f != 'y' && f != 'u') {
        return absl::InvalidArgumentError(
            StrCat("regex flag \"", std::string(1, f), "\" unknown"));
      }
    }
  }
  try {
    return std::pair{std::regex(pattern, flags), global};
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(StrCat("regex ", text, ": ", e.what()));
  }
}

// Grafana's metricNamesToVariableValues: the regex keeps matching values,
// its first group (when it has one) giving the value; then unique values.
absl::StatusOr<std::vector<VariableOption>> FilterOptions(
    const std::vector<std::string>& names, std::string_view regex_text) {
  std::vector<VariableOption> out;
  std::optional<std::pair<std::regex, bool>> re;
  if (!regex_text.empty()) {
    auto r = JsRegex(regex_text);
    if (!r.ok()) return r.status();
    re = *std::move(r);
  }
  try {
    for (const std::string& name : names) {
      if (!re) {
        out.push_back({name, name});
        continue;
      }
      std::vector<std::smatch> matches;
      for (auto it = std::sregex_iterator(name.begin(), name.end(), re->first);
           it != std::sregex_iterator(); ++it) {
        matches.push_back(*it);
        if (!re->second) break;
      }
      if (matches.empty()) continue;
      const bool groups = matches[0].size() > 1;
      if (groups && matches.size() > 1) {
        for (const std::smatch& m : matches) {
          out.push_back({m[1].str(), m[1].str()});
        }
      } else if (groups) {
        out.push_back({matches[0][1].str(), matches[0][1].str()});
      } else {
        out.push_back({name, name});
      }
    }
  } catch (const std::regex_error& e) {
    return absl::InvalidArgumentError(
        StrCat("regex ", regex_text, ": ", e.what()));
  }
  std::vector<VariableOption> unique;
  std::set<std::string> seen;
  for (VariableOption& o : out) {
    if (seen.insert(o.value).second) unique.push_back(std::move(o));
  }
  return unique;
}

// Grafana's sortVariableValues: 1/2 alphabetical, 3/4 numerical (the first
// number of the text; none = -1), 5/6 alphabetical ignoring case; even codes
// descending.
void SortOptions(int order, std::vector<VariableOption>* options) {
  if (order <= 0) return;
  const int type = (order + 1) / 2;
  auto number = [](const std::string& s) -> int64_t {
    const size_t p = s.find_first_of("0123456789");
    if (p == std::string::npos) return -1;
    int64_t n = 0;
    for (size_t i = p; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      n = std::min<int64_t>(n * 10 + (s[i] - '0'), int64_t{1} << 53);
    }
    return n;
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(c));
    return s;
  };
  std::stable_sort(options->begin(), options->end(),
                   [&](const VariableOption& a, const VariableOption& b) {
                     if (type == 2) return number(a.text) < number(b.text);
                     if (type == 3) return lower(a.text) < lower(b.text);
                     return a.text < b.text;
                   });
  if (order % 2 == 0) std::reverse(options->begin(), options->end());
}

class Resolver {
 public:
  Resolver(const Dashboard& d, const Selections& selections, const Finder& find)
      : d_(d), selections_(selections), find_(find) {
    out_.resize(d.variables.size());
    state_.resize(d.variables.size(), State::kNew);
  }

  std::vector<ResolvedVariable> Run() {
    for (size_t i = 0; i < d_.variables.size(); ++i) Resolve(i);
    return std::move(out_);
  }

 private:
  enum class State { kNew, kResolving, kDone };

  const ResolvedVariable* Lookup(std::string_view name) {
    for (size_t i = 0; i < d_.variables.size(); ++i) {
      if (d_.variables[i].name != name) continue;
      if (state_[i] == State::kResolving) {
        cycle_ = true;
        return nullptr;
      }
      Resolve(i);
      return &out_[i];
    }
    return nullptr;
  }

  void Resolve(size_t i) {
    if (state_[i] != State::kNew) return;
    state_[i] = State::kResolving;
    const Variable& v = d_.variables[i];
    ResolvedVariable r;
    r.name = v.name;
    r.type = v.type;
    r.label = v.label;
    r.multi = v.multi;
    r.include_all = v.include_all;
    r.all_value = v.all_value;
    bool validate = false;
    if (v.type == "constant") {
      r.options = {{v.query, v.query}};
    } else if (v.type == "textbox") {
      const std::string value = v.current.empty() ? v.query : v.current[0];
      r.options = {{value, value}};
    } else if (v.type == "custom") {
      r.options = CustomOptions(v.query);
      validate = true;
    } else if (v.type == "interval") {
      for (const VariableOption& o : CustomOptions(v.query)) {
        if (!o.value.empty()) r.options.push_back(o);
      }
      if (v.auto_interval) {
        r.options.insert(r.options.begin(),
                         {"auto", StrCat("$__auto_interval_", v.name)});
      }
    } else if (v.type == "query") {
      QueryOptions(v, &r);
      validate = r.problem.empty();
    } else {
      r.options = v.options;
      r.problem = StrCat("variable type \"", v.type,
                         "\" is not supported (query, custom, constant, "
                         "interval and textbox are)");
    }
    if (r.include_all && (v.type == "custom" || v.type == "query")) {
      r.options.insert(r.options.begin(), {"All", std::string(kAll)});
    }
    Current(v, validate, &r);
    if (r.current.size() == 1 &&
        r.current[0].starts_with("$__auto_interval_")) {
      r.problem = "the auto interval depends on the panel's time range";
    }
    out_[i] = std::move(r);
    state_[i] = State::kDone;
  }

  void QueryOptions(const Variable& v, ResolvedVariable* r) {
    const std::string q = Trim(v.query);
    if (q.starts_with("tag_values(") || q.starts_with("tags(") ||
        q.starts_with("seriesByTag(")) {
      r->options = v.options;
      r->problem = "Graphite tag queries are not resolved (only find queries)";
      return;
    }
    cycle_ = false;
    Interpolated query = InterpolateWith(
        q, [this](std::string_view name) { return Lookup(name); });
    if (cycle_) {
      r->options = v.options;
      r->problem = "its query uses a variable that depends on it";
      return;
    }
    if (!query.problems.empty()) {
      r->options = v.options;
      r->problem = StrCat("its query: ", query.problems[0]);
      return;
    }
    if (!find_) {
      r->options = v.options;
      r->problem = "no graphite-web to resolve its query ([graphite] url)";
      return;
    }
    auto names = find_(query.text);
    if (!names.ok()) {
      r->options = v.options;
      r->problem = StrCat("find query \"", query.text,
                          "\" failed: ", names.status().message());
      return;
    }
    if (names->size() > kMaxOptions) names->resize(kMaxOptions);
    auto options = FilterOptions(*names, v.regex);
    if (!options.ok()) {
      r->options = v.options;
      r->problem = std::string(options.status().message());
      return;
    }
    SortOptions(v.sort, &*options);
    r->options = *std::move(options);
  }

  // The current value: the caller's selection, else the saved one (kept
  // only when still among the options, else the first option).
  void Current(const Variable& v, bool validate, ResolvedVariable* r) {
    if (auto it = selections_.find(v.name); it != selections_.end()) {
      r->current = it->second;
      r->current_is_list = v.multi || it->second.size() > 1;
      for (const std::string& s : it->second) {
        if (s == kAll || s == "All") {
          r->current = {std::string(kAll)};
          r->current_is_list = v.multi;
        }
      }
    } else if (v.type == "constant") {
      r->current = {v.query};
    } else if (v.type == "textbox") {
      r->current = {r->options[0].value};
    } else {
      r->current = v.current;
      r->current_is_list = v.current_is_list;
      if (validate && !r->options.empty()) {
        std::vector<std::string> kept;
        for (const std::string& c : r->current) {
          for (const VariableOption& o : r->options) {
            if (o.value == c) {
              kept.push_back(c);
              break;
            }
          }
        }
        if (kept.empty()) kept = {r->options[0].value};
        r->current = std::move(kept);
      }
    }
    if (r->current.empty() && !r->options.empty()) {
      r->current = {r->options[0].value};
    }
    if (r->is_all()) {  // formatted as a list of every option whatever this
      r->current_text = "All";
      return;
    }
    r->current_text.clear();
    for (const std::string& c : r->current) {
      std::string text = c;
      for (const VariableOption& o : r->options) {
        if (o.value == c) text = o.text;
      }
      if (!r->current_text.empty()) r->current_text += " + ";
      r->current_text += text;
    }
  }

  const Dashboard& d_;
  const Selections& selections_;
  const Finder& find_;
  std::vector<ResolvedVariable> out_;
  std::vector<State> state_;
  bool cycle_ = false;
};

}  // namespace

std::vector<ResolvedVariable> ResolveVariables(const Dashboard& d,
                                               const Selections& selections,
                                               const Finder& find) {
  return Resolver(d, selections, find).Run();
}

}  // namespace gralarm::grafana
