// ParseDashboard: Grafana's dashboard JSON model, every layout, into
// grafana::Dashboard.

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "gralarm/grafana.h"
#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

using nlohmann::json;

// Rows inside rows are not a Grafana layout; deeper nesting is ignored.
constexpr int kMaxDepth = 3;

std::string StringOr(const json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

bool BoolOr(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number_integer()) return it->get<int64_t>() != 0;
  return fallback;
}

Datasource ParseDatasource(const json& j, const char* key) {
  Datasource d;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return d;
  if (it->is_string()) {
    d.kind = Datasource::Kind::kName;
    d.name = it->get<std::string>();
    if (d.name.empty()) d.kind = Datasource::Kind::kDefault;
  } else if (it->is_object()) {
    d.kind = Datasource::Kind::kRef;
    d.type = StringOr(*it, "type", "");
    d.uid = StringOr(*it, "uid", "");
    if (d.type.empty() && d.uid.empty()) d.kind = Datasource::Kind::kDefault;
  }
  return d;
}

// "A", "B", ... "Z", then "AA"... as Grafana's getNextRefIdChar.
std::string RefLetters(size_t n) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('A' + n % 26));
    n = n / 26;
  } while (n-- > 0);
  return s;
}

Query ParseQuery(const json& t) {
  Query q;
  q.ref_id = StringOr(t, "refId", "");
  if (auto it = t.find("target"); it != t.end() && it->is_string()) {
    q.has_target = true;
    q.target = it->get<std::string>();
  }
  if (auto it = t.find("targetFull"); it != t.end() && it->is_string()) {
    q.target_full = it->get<std::string>();
  }
  q.hide = BoolOr(t, "hide", false);
  q.datasource = ParseDatasource(t, "datasource");
  for (const char* field :
       {"expr", "rawSql", "query", "measurement", "metric", "queryType",
        "expression", "metrics", "rawQuery", "scenarioId"}) {
    if (t.contains(field)) q.other_fields.push_back(field);
  }
  std::sort(q.other_fields.begin(), q.other_fields.end());
  return q;
}

// What a panel's JSON (a dashboard's, or a library panel's model) says of
// its content: title, type, data source, queries (refIds completed).
void ReadPanelContent(const json& p, Panel* panel) {
  panel->title = StringOr(p, "title", "");
  panel->type = StringOr(p, "type", "");
  panel->datasource = ParseDatasource(p, "datasource");
  panel->queries.clear();
  if (auto it = p.find("targets"); it != p.end() && it->is_array()) {
    std::set<std::string> refs;
    for (const json& t : *it) {
      if (!t.is_object()) continue;
      panel->queries.push_back(ParseQuery(t));
      refs.insert(panel->queries.back().ref_id);
    }
    size_t next = 0;
    for (Query& q : panel->queries) {
      if (!q.ref_id.empty()) continue;
      while (refs.contains(RefLetters(next))) ++next;
      q.ref_id = RefLetters(next);
      refs.insert(q.ref_id);
    }
  }
}

class PanelReader {
 public:
  explicit PanelReader(Dashboard* d) : d_(d) {}

  // A panel of panels[] or rows[].panels[]; row panels start a row.
  void Add(const json& p, std::string* row, int depth) {
    if (!p.is_object()) return;
    const std::string type = StringOr(p, "type", "");
    if (type == "row") {
      *row = StringOr(p, "title", "");
      // A collapsed row keeps its children here.
      if (auto it = p.find("panels");
          it != p.end() && it->is_array() && depth < kMaxDepth) {
        std::string inner = *row;
        for (const json& child : *it) Add(child, &inner, depth + 1);
      }
      return;
    }
    Panel panel;
    ReadPanelContent(p, &panel);
    panel.row = *row;
    if (auto it = p.find("libraryPanel"); it != p.end() && it->is_object()) {
      panel.library_uid = StringOr(*it, "uid", "");
      if (panel.library_uid.empty()) {
        panel.library_error = "its libraryPanel has no uid";
        panel.library_uid = StringOr(*it, "name", "?");
      }
    }
    if (auto it = p.find("id"); it != p.end() && it->is_number_integer() &&
                                it->get<int64_t>() >= 0 &&
                                !used_ids_.contains(it->get<int64_t>())) {
      panel.id = it->get<int64_t>();
      used_ids_.insert(panel.id);
    } else {
      panel.id = -1;  // given the next free id at the end
    }
    d_->panels.push_back(std::move(panel));
  }

  // Panels without a usable id: the next free ids, in order (Grafana's
  // DashboardModel.getNextPanelId).
  void AssignIds() {
    int64_t next = used_ids_.empty() ? 1 : *used_ids_.rbegin() + 1;
    for (Panel& p : d_->panels) {
      if (p.id < 0) p.id = next++;
    }
  }

 private:
  Dashboard* d_;
  std::set<int64_t> used_ids_;
};

// current.value / current.text: a string, a list of strings, or absent.
void ParseCurrent(const json& current, Variable* v) {
  if (!current.is_object()) return;
  if (auto it = current.find("value"); it != current.end()) {
    if (it->is_string()) {
      v->current = {it->get<std::string>()};
    } else if (it->is_array()) {
      v->current_is_list = true;
      for (const json& x : *it) {
        if (x.is_string()) v->current.push_back(x.get<std::string>());
      }
    } else if (it->is_number()) {
      v->current = {it->dump()};
    }
  }
  if (auto it = current.find("text"); it != current.end()) {
    if (it->is_string()) {
      v->current_text = it->get<std::string>();
    } else if (it->is_array()) {
      for (const json& x : *it) {
        if (!x.is_string()) continue;
        if (!v->current_text.empty()) v->current_text += " + ";
        v->current_text += x.get<std::string>();
      }
    }
  }
}

Variable ParseVariable(const json& j) {
  Variable v;
  v.name = StringOr(j, "name", "");
  v.type = StringOr(j, "type", "");
  v.label = StringOr(j, "label", "");
  if (auto it = j.find("query"); it != j.end()) {
    if (it->is_string()) {
      v.query = it->get<std::string>();
    } else if (it->is_object()) {  // newer query variables: {"query": "..."}
      v.query = StringOr(*it, "query", "");
    }
  }
  v.regex = StringOr(j, "regex", "");
  if (auto it = j.find("sort"); it != j.end() && it->is_number_integer()) {
    v.sort = static_cast<int>(std::clamp<int64_t>(it->get<int64_t>(), 0, 8));
  }
  v.multi = BoolOr(j, "multi", false);
  v.include_all = BoolOr(j, "includeAll", false);
  if (auto it = j.find("allValue");
      it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
    v.all_value = it->get<std::string>();
  }
  if (auto it = j.find("current"); it != j.end()) ParseCurrent(*it, &v);
  if (auto it = j.find("options"); it != j.end() && it->is_array()) {
    for (const json& o : *it) {
      if (!o.is_object()) continue;
      VariableOption opt;
      opt.value = StringOr(o, "value", "");
      opt.text = StringOr(o, "text", opt.value);
      v.options.push_back(std::move(opt));
    }
  }
  v.datasource = ParseDatasource(j, "datasource");
  v.auto_interval = BoolOr(j, "auto", false);
  return v;
}

// Parses `text`; `what` names it in the error ("dashboard JSON").
absl::StatusOr<json> ParseJsonText(std::string_view text,
                                   std::string_view what_json) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based: the byte where the parser stopped.
    const size_t at =
        std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const std::string_view before = text.substr(0, at);
    const size_t line = std::count(before.begin(), before.end(), '\n') + 1;
    const size_t nl = before.rfind('\n');
    const size_t column = nl == std::string_view::npos ? at + 1 : at - nl;
    std::string what = e.what();
    if (size_t p = what.find("syntax error"); p != std::string::npos) {
      what = what.substr(p);
    }
    return absl::InvalidArgumentError(
        StrCat(what_json, " is malformed at byte ", at, " (line ", line,
               ", column ", column, "): ", what));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        StrCat(what_json, " is malformed: ", e.what()));
  }
}

}  // namespace

std::string LibraryPanelProblem(const Panel& p) {
  if (p.library_uid.empty() || p.library_loaded) return "";
  if (!p.library_error.empty()) {
    return StrCat("a library panel whose queries could not be read from ",
                  "Grafana's library: ", p.library_error);
  }
  return "a library panel: its queries are in Grafana's library";
}

absl::Status ApplyLibraryPanel(std::string_view text, Panel* panel) {
  auto root = ParseJsonText(text, "library element JSON");
  if (!root.ok()) return root.status();
  const json* model = nullptr;
  if (auto r = root->find("result"); r != root->end() && r->is_object()) {
    if (auto m = r->find("model"); m != r->end() && m->is_object()) {
      model = &*m;
    }
  }
  if (model == nullptr) {
    return absl::InvalidArgumentError(
        "library element JSON has no result.model object");
  }
  std::string dashboard_title = std::move(panel->title);
  ReadPanelContent(*model, panel);
  if (panel->title.empty()) panel->title = std::move(dashboard_title);
  panel->library_loaded = true;
  panel->library_error.clear();
  return absl::OkStatus();
}

absl::StatusOr<Dashboard> ParseDashboard(std::string_view text) {
  auto parsed = ParseJsonText(text, "dashboard JSON");
  if (!parsed.ok()) return parsed.status();
  json root = std::move(*parsed);
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        "dashboard JSON must be an object ({\"dashboard\": {...}, \"meta\": "
        "{...}} or a dashboard)");
  }
  const json* dash = &root;
  if (auto it = root.find("dashboard"); it != root.end()) {
    if (!it->is_object()) {
      return absl::InvalidArgumentError("\"dashboard\" must be an object");
    }
    dash = &*it;
  }
  Dashboard d;
  d.uid = StringOr(*dash, "uid", "");
  d.title = StringOr(*dash, "title", "");
  if (auto it = dash->find("schemaVersion");
      it != dash->end() && it->is_number_integer()) {
    d.schema_version = it->get<int64_t>();
  }
  for (const char* key : {"panels", "rows"}) {
    if (auto it = dash->find(key);
        it != dash->end() && !it->is_array() && !it->is_null()) {
      return absl::InvalidArgumentError(
          StrCat("\"", key, "\" must be an array"));
    }
  }
  PanelReader reader(&d);
  if (auto rows = dash->find("rows"); rows != dash->end() && rows->is_array()) {
    for (const json& row : *rows) {
      if (!row.is_object()) continue;
      std::string title = StringOr(row, "title", "");
      if (auto ps = row.find("panels"); ps != row.end() && ps->is_array()) {
        for (const json& p : *ps) {
          std::string r = title;
          reader.Add(p, &r, 1);
        }
      }
    }
  }
  if (auto ps = dash->find("panels"); ps != dash->end() && ps->is_array()) {
    std::string row;
    for (const json& p : *ps) reader.Add(p, &row, 0);
  }
  reader.AssignIds();
  if (auto t = dash->find("templating"); t != dash->end() && t->is_object()) {
    if (auto list = t->find("list"); list != t->end() && list->is_array()) {
      for (const json& v : *list) {
        if (v.is_object()) d.variables.push_back(ParseVariable(v));
      }
    }
  }
  return d;
}

}  // namespace gralarm::grafana
