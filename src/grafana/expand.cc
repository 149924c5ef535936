// ExpandPanel: a panel's queries as Grafana's Graphite data source sends them
// (public/app/plugins/datasource/graphite/datasource.ts buildGraphiteParams),
// judged as gralarm target rules.

#include <algorithm>
#include <cctype>
#include <map>

#include "expr/parser.h"
#include "grafana/interpolate.h"
#include "gralarm/grafana.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

// Words in a data source's name or type that say it is not Graphite.
constexpr const char* kNotGraphite[] = {
    "prometheus",      "loki",         "influx",
    "elastic",         "opensearch",   "mysql",
    "postgr",          "mssql",        "testdata",
    "cloudwatch",      "tempo",        "jaeger",
    "zipkin",          "opentsdb",     "azure",
    "stackdriver",     "mimir",        "cortex",
    "clickhouse",      "victoria",     "-- grafana --",
    "-- dashboard --", "alertmanager", "pyroscope"};

bool IsMixed(const Datasource& ds) {
  return (ds.kind == Datasource::Kind::kName && ds.name == "-- Mixed --") ||
         (ds.kind == Datasource::Kind::kRef && ds.uid == "-- Mixed --");
}

// Why `ds` is not Graphite; empty when it is, or may be taken as Graphite
// (the dashboard's default, a name that says nothing).
std::string NotGraphite(const Dashboard& d, const Datasource& ds) {
  std::string name;
  switch (ds.kind) {
    case Datasource::Kind::kDefault:
      return "";
    case Datasource::Kind::kRef:
      if (ds.type == "graphite") return "";
      if (!ds.type.empty() && ds.type != "datasource") {
        return StrCat("its data source is of type \"", ds.type,
                      "\", not graphite");
      }
      if (ds.uid == "-- Dashboard --" || ds.uid == "grafana") {
        return StrCat("its data source is \"", ds.uid, "\", not Graphite");
      }
      name = ds.uid;
      break;
    case Datasource::Kind::kName:
      name = ds.name;
      break;
  }
  if (name.starts_with('$')) {  // a data source variable: its query is a type
    std::string var = name.substr(1);
    if (var.starts_with('{') && var.ends_with('}')) {
      var = var.substr(1, var.size() - 2);
    }
    for (const Variable& v : d.variables) {
      if (v.name != var || v.type != "datasource") continue;
      if (v.query.empty() || Lower(v.query) == "graphite") return "";
      return StrCat("its data source variable ", name, " is of type \"",
                    v.query, "\", not graphite");
    }
    return "";
  }
  const std::string lower = Lower(name);
  if (lower.find("graphite") != std::string::npos) return "";
  for (const char* word : kNotGraphite) {
    if (lower.find(word) != std::string::npos) {
      return StrCat("its data source \"", name,
                    "\" is not Graphite (judged by its name, which says ", word,
                    ")");
    }
  }
  return "";
}

// Why query `q` of panel `p` is not a Graphite query; empty when it is.
std::string NotGraphiteQuery(const Dashboard& d, const Panel& p,
                             const Query& q) {
  if (std::string why = LibraryPanelProblem(p); !why.empty()) return why;
  const Datasource& ds =
      q.datasource.kind != Datasource::Kind::kDefault && !IsMixed(q.datasource)
          ? q.datasource
          : (IsMixed(p.datasource) ? Datasource{} : p.datasource);
  if (std::string why = NotGraphite(d, ds); !why.empty()) return why;
  if (!q.has_target) {
    if (!q.other_fields.empty()) {
      return StrCat("not a Graphite query (it has no target but ",
                    q.other_fields[0], ")");
    }
    return "no target";
  }
  if (q.target.empty() && !q.target_full) {
    return "empty target (Grafana sends nothing for it)";
  }
  return "";
}

// Grafana's intervalFormatFixRegex /'(\d+)m'/gi: '5m' -> '5min', '5M' ->
// '5mon' (graphite reads "m" as minutes only in newer releases).
std::string FixIntervalFormat(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\'') {
      size_t j = i + 1;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j > i + 1 && j + 1 < s.size() && (s[j] == 'm' || s[j] == 'M') &&
          s[j + 1] == '\'') {
        out.append(s.substr(i, j - i));
        out.append(s[j] == 'm' ? "min" : "mon");
        out += '\'';
        i = j + 2;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// #X references (Grafana's /\#([A-Z])/g: one capital letter) replaced by
// the targets of `refs`, again until none is left. A reference to the query
// itself or a cycle is an error; a letter that is no query stays as written.
absl::StatusOr<std::string> ReplaceRefs(
    const std::string& self, std::string text,
    const std::map<std::string, std::string>& refs) {
  for (size_t round = 0;; ++round) {
    bool replaced = false;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '#' && i + 1 < text.size() && text[i + 1] >= 'A' &&
          text[i + 1] <= 'Z') {
        const std::string ref(1, text[i + 1]);
        if (ref == self) {
          return absl::InvalidArgumentError(
              round == 0 ? StrCat("#", ref, " refers to the query itself")
                         : StrCat("circular #X references between queries "
                                  "(back to #",
                                  ref, ")"));
        }
        if (auto it = refs.find(ref); it != refs.end()) {
          out += it->second;
          ++i;
          replaced = true;
          continue;
        }
      }
      out += text[i];
    }
    text = std::move(out);
    if (!replaced) return text;
    if (round > refs.size() || text.size() > 64 * 1024) {
      return absl::InvalidArgumentError(
          "circular #X references between queries");
    }
  }
}

}  // namespace

std::vector<ExpandedQuery> ExpandPanel(
    const Dashboard& d, const Panel& panel,
    const std::vector<ResolvedVariable>& variables) {
  std::map<std::string, std::string> refs;
  for (const Query& q : panel.queries) {
    if (q.has_target && !q.target.empty()) refs.emplace(q.ref_id, q.target);
  }
  // Who uses each query through #X (visible queries only).
  std::map<std::string, std::vector<std::string>> used_by;
  for (const Query& q : panel.queries) {
    if (q.hide) continue;
    for (size_t i = 0; i + 1 < q.target.size(); ++i) {
      if (q.target[i] == '#' && refs.contains(q.target.substr(i + 1, 1))) {
        used_by[q.target.substr(i + 1, 1)].push_back(q.ref_id);
      }
    }
  }
  std::vector<ExpandedQuery> out;
  for (const Query& q : panel.queries) {
    ExpandedQuery e;
    e.ref_id = q.ref_id;
    e.hidden = q.hide;
    e.raw = q.target;
    e.expanded = q.target;
    if (std::string why = NotGraphiteQuery(d, panel, q); !why.empty()) {
      e.problem = std::move(why);
      out.push_back(std::move(e));
      continue;
    }
    std::vector<std::string> problems;
    std::string full;
    if (q.target_full && !q.target_full->empty()) {
      full = *q.target_full;
    } else if (auto r = ReplaceRefs(q.ref_id, q.target, refs); r.ok()) {
      full = *std::move(r);
    } else {
      full = q.target;
      problems.push_back(std::string(r.status().message()));
    }
    Interpolated i = Interpolate(full, variables);
    e.expanded = FixIntervalFormat(i.text);
    problems.insert(problems.end(), i.problems.begin(), i.problems.end());
    if (q.hide) {
      e.problem = "hidden in Grafana";
      if (auto it = used_by.find(q.ref_id); it != used_by.end()) {
        std::string users;
        for (const std::string& u : it->second) {
          users += StrCat(users.empty() ? "" : ", ", u);
        }
        e.problem += StrCat(" (used through #", q.ref_id, " by ", users, ")");
      }
    } else if (!problems.empty()) {
      std::string joined;
      for (const std::string& p : problems) {
        joined += StrCat(joined.empty() ? "" : "; ", p);
      }
      e.problem = std::move(joined);
    } else {
      RuleSpec spec;
      spec.target = e.expanded;
      auto target = e.expanded.size() > expr::kMaxTargetBytes
                        ? absl::StatusOr<std::shared_ptr<const RuleTarget>>(
                              absl::InvalidArgumentError(
                                  StrCat("target: longer than ",
                                         expr::kMaxTargetBytes, " bytes")))
                        : ResolveTarget(spec);
      if (target.ok()) {
        e.supported = true;
      } else {
        e.problem = std::string(target.status().message());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string AliasOf(std::string_view target) {
  auto tree = expr::Parse(target);
  if (!tree.ok()) return "";
  if (tree->kind == expr::Node::Kind::kCall && tree->text == "alias" &&
      tree->args.size() >= 2 &&
      tree->args[1].kind == expr::Node::Kind::kString) {
    return tree->args[1].text;
  }
  return "";
}

std::string DashboardUrl(std::string_view base, std::string_view uid) {
  return StrCat(base, "/d/", EncodeUriComponentStrict(uid));
}

std::string PanelUrl(std::string_view base, std::string_view uid,
                     int64_t panel_id) {
  return StrCat(DashboardUrl(base, uid), "?viewPanel=", panel_id);
}

}  // namespace gralarm::grafana
