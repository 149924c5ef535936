// libFuzzer target: Grafana dashboard JSON. Every input is parsed as a
// dashboard; a dashboard that parses has its variables resolved (query
// variables through a fixed finder) and every panel expanded. A parse error
// must name its position; a query is never both hidden and supported, and a
// supported query has no problem. The input is also interpolated as a target
// with a fixed set of variables, and read as a library element's answer into
// a library panel: a refused answer leaves the panel as it was; an accepted
// one leaves it with no problem and its queries expanded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gralarm/grafana.h"

namespace {

using namespace gralarm::grafana;

absl::StatusOr<std::vector<std::string>> FixedFind(std::string_view query) {
  if (query.size() % 7 == 3) return absl::UnavailableError("down");
  return std::vector<std::string>{"web1", "web2", "edge10", "a.b", "x,y"};
}

std::vector<ResolvedVariable> FixedVariables() {
  ResolvedVariable multi;
  multi.name = "host";
  multi.multi = true;
  multi.include_all = true;
  multi.options = {{"All", "$__all"}, {"a", "a"}, {"b", "b"}};
  multi.current = {"$__all"};
  multi.current_is_list = true;
  ResolvedVariable single;
  single.name = "v";
  single.current = {"x.y"};
  single.all_value = "$host";
  return {multi, single};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)Interpolate(text, FixedVariables());
  (void)AliasOf(text);
  {
    Dashboard lib_dash;
    Panel lib;
    lib.id = 1;
    lib.title = "before";
    lib.library_uid = "u";
    absl::Status s = ApplyLibraryPanel(text, &lib);
    if (!s.ok()) {
      if (s.code() != absl::StatusCode::kInvalidArgument) std::abort();
      if (lib.title != "before" || !lib.queries.empty() || lib.library_loaded ||
          LibraryPanelProblem(lib).empty()) {
        std::abort();
      }
    } else {
      if (!lib.library_loaded || !LibraryPanelProblem(lib).empty())
        std::abort();
      const auto queries = ExpandPanel(lib_dash, lib, FixedVariables());
      if (queries.size() != lib.queries.size()) std::abort();
    }
  }
  absl::StatusOr<Dashboard> d = ParseDashboard(text);
  if (!d.ok()) {
    if (d.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  Selections selections;
  if (!d->variables.empty()) selections[d->variables[0].name] = {"All"};
  for (const Selections& s : {Selections{}, selections}) {
    const std::vector<ResolvedVariable> vars =
        ResolveVariables(*d, s, FixedFind);
    if (vars.size() != d->variables.size()) std::abort();
    for (const Panel& p : d->panels) {
      const std::vector<ExpandedQuery> queries = ExpandPanel(*d, p, vars);
      if (queries.size() != p.queries.size()) std::abort();
      for (const ExpandedQuery& q : queries) {
        if (q.supported && (q.hidden || !q.problem.empty())) std::abort();
        if (!q.supported && q.problem.empty()) std::abort();
        (void)AliasOf(q.expanded);
      }
    }
  }
  return 0;
}
