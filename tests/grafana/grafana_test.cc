// Grafana dashboards: every layout, variables of each type in every syntax
// and format, #X references, hidden and non-Graphite queries. The expected
// targets are what Grafana's Graphite data source sends to graphite-web
// (template_srv.ts replace() with the glob default, buildGraphiteParams'
// '5m' -> '5min' fix), written out literally.
#include "gralarm/grafana.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gralarm/strings.h"

namespace gralarm::grafana {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Fixture(const std::string& name) {
  std::ifstream in(StrCat(GRALARM_GRAFANA_TESTDATA, "/", name));
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

// graphite-web's /metrics/find as the fixtures' Graphite holds it.
absl::StatusOr<std::vector<std::string>> FakeFind(std::string_view query) {
  static const std::map<std::string, std::vector<std::string>> kTree = {
      {"servers.*", {"web2", "web1", "web3"}},
      {"net.*", {"core1", "edge1", "edge2"}},
      {"net.edge1.if.*", {"eth1", "eth0"}},
      {"net.edge2.if.*", {"xe0"}},
  };
  auto it = kTree.find(std::string(query));
  if (it == kTree.end()) return std::vector<std::string>{};
  return it->second;
}

Dashboard Parse(const std::string& name) {
  auto d = ParseDashboard(Fixture(name));
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *d : Dashboard{};
}

const Panel& PanelById(const Dashboard& d, int64_t id) {
  for (const Panel& p : d.panels) {
    if (p.id == id) return p;
  }
  ADD_FAILURE() << "no panel " << id;
  static Panel none;
  return none;
}

std::map<std::string, ExpandedQuery> Expand(const Dashboard& d, int64_t id,
                                            const Selections& s = {}) {
  std::map<std::string, ExpandedQuery> out;
  const auto vars = ResolveVariables(d, s, FakeFind);
  for (ExpandedQuery& q : ExpandPanel(d, PanelById(d, id), vars)) {
    out[q.ref_id] = q;
  }
  return out;
}

const ResolvedVariable& Var(const std::vector<ResolvedVariable>& vars,
                            const std::string& name) {
  for (const ResolvedVariable& v : vars) {
    if (v.name == name) return v;
  }
  ADD_FAILURE() << "no variable " << name;
  static ResolvedVariable none;
  return none;
}

std::vector<std::string> Values(const ResolvedVariable& v) {
  std::vector<std::string> out;
  for (const VariableOption& o : v.options) out.push_back(o.value);
  return out;
}

// ---- Layouts ---------------------------------------------------------------

TEST(GrafanaDashboard, Schema14RowsInTheEnvelope) {
  const Dashboard d = Parse("v14_rows.json");
  EXPECT_EQ(d.uid, "srv-v4");
  EXPECT_EQ(d.title, "Servers (v4)");
  EXPECT_EQ(d.schema_version, 14);
  ASSERT_EQ(d.panels.size(), 3u);
  EXPECT_EQ(d.panels[0].id, 1);
  EXPECT_EQ(d.panels[0].title, "CPU");
  EXPECT_EQ(d.panels[0].row, "Servers");
  EXPECT_EQ(d.panels[0].datasource.kind, Datasource::Kind::kName);
  EXPECT_EQ(d.panels[0].datasource.name, "graphite");
  EXPECT_EQ(d.panels[1].datasource.kind, Datasource::Kind::kDefault);
  EXPECT_EQ(d.panels[2].row, "Applications");
  ASSERT_EQ(d.panels[0].queries.size(), 3u);
  EXPECT_TRUE(d.panels[0].queries[2].hide);
  EXPECT_EQ(d.variables.size(), 2u);
}

TEST(GrafanaDashboard, Schema27RowPanelsOwnTheFollowingPanels) {
  const Dashboard d = Parse("v27_row_panels.json");
  ASSERT_EQ(d.panels.size(), 3u);  // the row panel itself is not listed
  EXPECT_EQ(d.panels[0].id, 10);
  EXPECT_EQ(d.panels[0].row, "");
  EXPECT_EQ(d.panels[1].id, 21);
  EXPECT_EQ(d.panels[1].row, "Interfaces");
  EXPECT_EQ(d.panels[2].id, 22);
  EXPECT_EQ(d.panels[2].row, "Interfaces");
  EXPECT_EQ(d.panels[1].queries[2].target_full.value_or(""),
            "alias(sumSeries(net.$router.if.$iface.octets_in, "
            "net.$router.if.$iface.octets_out), \"total octets\")");
}

TEST(GrafanaDashboard, CollapsedRowKeepsItsChildrenAndRefsAreObjects) {
  const Dashboard d = Parse("v36_collapsed.json");
  ASSERT_EQ(d.panels.size(), 4u);
  EXPECT_EQ(d.panels[0].id, 101);
  EXPECT_EQ(d.panels[0].row, "Databases");
  EXPECT_EQ(d.panels[1].id, 102);
  EXPECT_EQ(d.panels[1].row, "Databases");
  EXPECT_EQ(d.panels[2].id, 201);
  EXPECT_EQ(d.panels[2].row, "Queues");
  EXPECT_EQ(d.panels[3].library_uid, "lib-queue");
  EXPECT_EQ(d.panels[0].datasource.kind, Datasource::Kind::kRef);
  EXPECT_EQ(d.panels[0].datasource.type, "graphite");
  EXPECT_EQ(d.panels[0].datasource.uid, "P1809F7CD0C75ACF3");
}

TEST(GrafanaDashboard, BareDashboardMissingIdsAndRefIds) {
  auto d = ParseDashboard(R"({"title": "bare", "panels": [
      {"id": 4, "title": "a", "targets": [{"target": "a.b"}, {"refId": "A",
       "target": "c.d"}, {"target": "e.f"}]},
      {"title": "no id", "targets": []},
      {"id": 4, "title": "duplicate id"}]})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->title, "bare");
  ASSERT_EQ(d->panels.size(), 3u);
  EXPECT_EQ(d->panels[1].id, 5);
  EXPECT_EQ(d->panels[2].id, 6);
  ASSERT_EQ(d->panels[0].queries.size(), 3u);
  EXPECT_EQ(d->panels[0].queries[0].ref_id, "B");
  EXPECT_EQ(d->panels[0].queries[1].ref_id, "A");
  EXPECT_EQ(d->panels[0].queries[2].ref_id, "C");
}

TEST(GrafanaDashboard, MalformedJsonNamesThePosition) {
  auto d =
      ParseDashboard("{\"dashboard\": {\"title\": \"x\",\n  \"panels\": [}");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("line 2, column 14"));
  EXPECT_THAT(d.status().message(), HasSubstr("malformed"));
  EXPECT_FALSE(ParseDashboard("[1, 2]").ok());
  EXPECT_FALSE(ParseDashboard(R"({"dashboard": 3})").ok());
  EXPECT_FALSE(ParseDashboard(R"({"panels": {"a": 1}})").ok());
  EXPECT_FALSE(ParseDashboard("").ok());
}

TEST(GrafanaDashboard, FiveHundredPanels) {
  nlohmann::json panels = nlohmann::json::array();
  for (int i = 0; i < 500; ++i) {
    if (i % 50 == 0) {
      panels.push_back({{"type", "row"},
                        {"id", 10000 + i},
                        {"title", StrCat("row ", i / 50)}});
    }
    panels.push_back(
        {{"id", i + 1},
         {"title", StrCat("panel ", i)},
         {"type", "timeseries"},
         {"targets",
          {{{"refId", "A"}, {"target", StrCat("servers.$host.m", i)}},
           {{"refId", "B"}, {"target", "sumSeries(#A)"}}}}});
  }
  nlohmann::json dash = {{"dashboard",
                          {{"uid", "big"},
                           {"title", "big"},
                           {"schemaVersion", 30},
                           {"panels", panels},
                           {"templating",
                            {{"list",
                              {{{"name", "host"},
                                {"type", "query"},
                                {"query", "servers.*"},
                                {"current", {{"value", "web1"}}}}}}}}}},
                         {"meta", nlohmann::json::object()}};
  auto d = ParseDashboard(dash.dump());
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->panels.size(), 500u);
  EXPECT_EQ(d->panels[499].row, "row 9");
  const auto vars = ResolveVariables(*d, {}, FakeFind);
  size_t supported = 0;
  for (const Panel& p : d->panels) {
    for (const ExpandedQuery& q : ExpandPanel(*d, p, vars)) {
      supported += q.supported;
    }
  }
  EXPECT_EQ(supported, 1000u);
  const auto q = ExpandPanel(*d, d->panels[499], vars);
  EXPECT_EQ(q[1].expanded, "sumSeries(servers.web1.m499)");
}

// ---- Fixtures expanded as Grafana sends them -------------------------------

TEST(GrafanaExpand, Schema14) {
  const Dashboard d = Parse("v14_rows.json");
  auto cpu = Expand(d, 1);
  EXPECT_EQ(cpu["A"].expanded, "servers.{web1,web2}.cpu.user");
  EXPECT_TRUE(cpu["A"].supported) << cpu["A"].problem;
  EXPECT_EQ(cpu["B"].raw, "alias(sumSeries(#A), 'cpu total')");
  EXPECT_EQ(cpu["B"].expanded,
            "alias(sumSeries(servers.{web1,web2}.cpu.user), 'cpu total')");
  EXPECT_TRUE(cpu["B"].supported) << cpu["B"].problem;
  EXPECT_EQ(AliasOf(cpu["B"].expanded), "cpu total");
  EXPECT_EQ(AliasOf(cpu["A"].expanded), "");
  EXPECT_EQ(cpu["C"].expanded, "servers.{web1,web2}.cpu.system");
  EXPECT_TRUE(cpu["C"].hidden);
  EXPECT_FALSE(cpu["C"].supported);
  EXPECT_EQ(cpu["C"].problem, "hidden in Grafana");
  // Graphite's interval fix: '5m' is sent as '5min'.
  EXPECT_EQ(Expand(d, 2)["A"].expanded,
            "summarize(servers.{web1,web2}.net.rx, '5min', 'sum')");
  // All with allValue "*".
  auto requests = Expand(d, 3);
  EXPECT_EQ(requests["A"].expanded, "apps.*.requests.count");
  EXPECT_TRUE(requests["A"].supported) << requests["A"].problem;
}

TEST(GrafanaExpand, Schema14Selections) {
  const Dashboard d = Parse("v14_rows.json");
  EXPECT_EQ(Expand(d, 1, {{"host", {"web3"}}})["A"].expanded,
            "servers.web3.cpu.user");
  // All without allValue: every option but All, in the variable's sort.
  EXPECT_EQ(Expand(d, 1, {{"host", {"All"}}})["A"].expanded,
            "servers.{web1,web2,web3}.cpu.user");
  EXPECT_EQ(Expand(d, 1, {{"host", {"$__all"}}})["A"].expanded,
            "servers.{web1,web2,web3}.cpu.user");
  EXPECT_EQ(Expand(d, 3, {{"app", {"shop", "blog"}}})["A"].expanded,
            "apps.{shop,blog}.requests.count");
  EXPECT_EQ(Expand(d, 3, {{"app", {"blog"}}})["A"].expanded,
            "apps.blog.requests.count");
}

TEST(GrafanaExpand, Schema27) {
  const Dashboard d = Parse("v27_row_panels.json");
  const auto vars = ResolveVariables(d, {}, FakeFind);
  EXPECT_THAT(Values(Var(vars, "router")), ElementsAre("edge1", "edge2"));
  EXPECT_THAT(Values(Var(vars, "iface")),
              ElementsAre("$__all", "eth0", "eth1"));  // sort 1
  EXPECT_THAT(Var(vars, "ds").problem, HasSubstr("datasource"));
  auto overview = Expand(d, 10);
  EXPECT_EQ(overview["A"].expanded, "scale(net.edge1.if.*.octets_in, 8)");
  EXPECT_TRUE(overview["A"].supported) << overview["A"].problem;
  EXPECT_EQ(overview["B"].expanded, "aliasByNode(net.edge1.if.*.errors, 1, 3)");
  auto traffic = Expand(d, 21);
  EXPECT_EQ(traffic["A"].expanded, "net.edge1.if.{eth0,eth1}.octets_in");
  EXPECT_EQ(traffic["A"].problem, "hidden in Grafana (used through #A by C)");
  EXPECT_FALSE(traffic["A"].supported);
  // targetFull is preferred to substituting #A and #B.
  EXPECT_EQ(traffic["C"].expanded,
            "alias(sumSeries(net.edge1.if.{eth0,eth1}.octets_in, "
            "net.edge1.if.{eth0,eth1}.octets_out), \"total octets\")");
  EXPECT_TRUE(traffic["C"].supported) << traffic["C"].problem;
  EXPECT_EQ(AliasOf(traffic["C"].expanded), "total octets");
  auto mixed = Expand(d, 22);
  EXPECT_FALSE(mixed["A"].supported);
  EXPECT_THAT(mixed["A"].problem, HasSubstr("\"Prometheus\" is not Graphite"));
  // ${iface:regex} of All: (eth0|eth1), which Graphite cannot read.
  EXPECT_EQ(mixed["B"].expanded, "net.edge1.if.(eth0|eth1).drops");
  EXPECT_FALSE(mixed["B"].supported);
  EXPECT_EQ(mixed["C"].expanded, "movingAverage(net.edge1.cpu, '$__interval')");
  EXPECT_FALSE(mixed["C"].supported);
  EXPECT_THAT(mixed["C"].problem,
              HasSubstr("$__interval is a Grafana builtin"));
  // The query variable iface follows the router chosen.
  EXPECT_EQ(Expand(d, 21, {{"router", {"edge2"}}})["C"].expanded,
            "alias(sumSeries(net.edge2.if.xe0.octets_in, "
            "net.edge2.if.xe0.octets_out), \"total octets\")");
}

TEST(GrafanaExpand, Schema36) {
  const Dashboard d = Parse("v36_collapsed.json");
  auto disk = Expand(d, 101);
  EXPECT_EQ(disk["A"].expanded, "averageSeries(db.{db1,db2}.*.disk.used_pct)");
  EXPECT_TRUE(disk["A"].supported) << disk["A"].problem;
  EXPECT_EQ(disk["B"].expanded, "highestMax(db.db1|db2.*.disk.used_pct, 3)");
  auto up = Expand(d, 102);
  EXPECT_FALSE(up["A"].supported);
  EXPECT_THAT(up["A"].problem, HasSubstr("of type \"prometheus\""));
  auto queues = Expand(d, 201);
  EXPECT_EQ(queues["A"].expanded, "queues.db1,db2.depth");
  EXPECT_EQ(queues["B"].expanded, "queues.'prod'.depth");
  EXPECT_FALSE(queues["C"].supported);
  EXPECT_THAT(queues["C"].problem, HasSubstr("of type \"testdata\""));
  EXPECT_TRUE(Expand(d, 202).empty());  // a library panel
  const auto vars = ResolveVariables(d, {}, FakeFind);
  EXPECT_THAT(Values(Var(vars, "cluster")),
              ElementsAre("$__all", "db1", "db2", "db3"));
  EXPECT_THAT(Var(vars, "Filters").problem, HasSubstr("\"adhoc\""));
}

// ---- library panels -------------------------------------------------------

Panel* MutablePanel(Dashboard* d, int64_t id) {
  for (Panel& p : d->panels) {
    if (p.id == id) return &p;
  }
  ADD_FAILURE() << "no panel " << id;
  return nullptr;
}

TEST(GrafanaLibraryPanel, TheLibraryModelGivesThePanelItsQueries) {
  Dashboard d = Parse("v36_collapsed.json");
  Panel* lib = MutablePanel(&d, 202);
  ASSERT_NE(lib, nullptr);
  EXPECT_EQ(lib->library_uid, "lib-queue");
  EXPECT_EQ(LibraryPanelProblem(*lib),
            "a library panel: its queries are in Grafana's library");
  // GET /api/library-elements/lib-queue as Grafana 9-11 answer it.
  ASSERT_TRUE(ApplyLibraryPanel(Fixture("library_lib-queue.json"), lib).ok());
  EXPECT_EQ(LibraryPanelProblem(*lib), "");
  // The model's title, type and queries; the dashboard's id and row.
  EXPECT_EQ(lib->title, "Queues (shared)");
  EXPECT_EQ(lib->type, "timeseries");
  EXPECT_EQ(lib->id, 202);
  EXPECT_EQ(lib->row, "Queues");
  auto q = Expand(d, 202);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q["A"].expanded, "maxSeries(queues.{db1,db2}.depth)");
  EXPECT_TRUE(q["A"].supported) << q["A"].problem;
  EXPECT_EQ(q["B"].expanded,
            "alias(maxSeries(queues.{db1,db2}.depth), 'deepest queue')");
  EXPECT_TRUE(q["B"].supported) << q["B"].problem;
}

TEST(GrafanaLibraryPanel, AnAnswerThatIsNoLibraryElementChangesNothing) {
  Dashboard d = Parse("v36_collapsed.json");
  Panel* lib = MutablePanel(&d, 202);
  ASSERT_NE(lib, nullptr);
  absl::Status s = ApplyLibraryPanel(R"({"result": {"uid": "lib-queue",)", lib);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("library element JSON is malformed at byte 31"));
  s = ApplyLibraryPanel(R"({"result": {"uid": "lib-queue", "model": "x"}})",
                        lib);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("no result.model object"));
  EXPECT_FALSE(lib->library_loaded);
  EXPECT_EQ(lib->title, "Shared queue panel");
  EXPECT_TRUE(Expand(d, 202).empty());
  // What the client keeps when Grafana's answer was an error.
  lib->library_error =
      "Grafana at http://g: library panel \"lib-queue\" not found";
  EXPECT_EQ(LibraryPanelProblem(*lib),
            "a library panel whose queries could not be read from Grafana's "
            "library: Grafana at http://g: library panel \"lib-queue\" not "
            "found");
}

TEST(GrafanaLibraryPanel, ALibraryPanelWithoutUidSaysSo) {
  auto d = ParseDashboard(
      R"({"panels": [{"id": 1, "libraryPanel": {"name": "Shared"}}]})");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->panels.size(), 1u);
  EXPECT_EQ(d->panels[0].library_uid, "Shared");
  EXPECT_THAT(LibraryPanelProblem(d->panels[0]),
              HasSubstr("its libraryPanel has no uid"));
}

// ---- #X references ---------------------------------------------------------

Dashboard RefDashboard(const std::string& targets_json) {
  auto d = ParseDashboard(
      StrCat(R"({"panels": [{"id": 1, "title": "p", "targets": )", targets_json,
             "}]}"));
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

TEST(GrafanaRefs, ChainsAreSubstitutedUntilNoneIsLeft) {
  const Dashboard d = RefDashboard(R"j([
      {"refId": "A", "target": "a.b", "hide": true},
      {"refId": "B", "target": "scale(#A, 2)", "hide": true},
      {"refId": "C", "target": "sumSeries(#B, #A)"},
      {"refId": "D", "target": "x.#Z.y"}])j");
  auto q = Expand(d, 1);
  EXPECT_EQ(q["C"].expanded, "sumSeries(scale(a.b, 2), a.b)");
  EXPECT_TRUE(q["C"].supported);
  EXPECT_EQ(q["B"].problem, "hidden in Grafana (used through #B by C)");
  EXPECT_EQ(q["D"].expanded, "x.#Z.y");  // no query Z: left as written
}

TEST(GrafanaRefs, CyclesAndSelfReferencesAreProblems) {
  const Dashboard d = RefDashboard(R"j([
      {"refId": "A", "target": "sumSeries(#B)"},
      {"refId": "B", "target": "sumSeries(#A)"},
      {"refId": "C", "target": "scale(#C, 2)"}])j");
  auto q = Expand(d, 1);
  EXPECT_FALSE(q["A"].supported);
  EXPECT_THAT(q["A"].problem, HasSubstr("circular"));
  EXPECT_THAT(q["C"].problem, HasSubstr("#C refers to the query itself"));
}

TEST(GrafanaRefs, EmptyAndNonGraphiteQueries) {
  const Dashboard d = RefDashboard(R"j([
      {"refId": "A", "target": ""},
      {"refId": "B", "expr": "up"},
      {"refId": "C", "target": "a.b", "datasource": "Loki logs"},
      {"refId": "D", "target": "a.b", "datasource": {"type": "loki", "uid": "x"}},
      {"refId": "E", "target": "a.b", "datasource": "my graphite"},
      {"refId": "F", "target": "a.b", "datasource": {"uid": "-- Mixed --", "type": "datasource"}}])j");
  auto q = Expand(d, 1);
  EXPECT_THAT(q["A"].problem, HasSubstr("empty target"));
  EXPECT_THAT(q["B"].problem, HasSubstr("not a Graphite query"));
  EXPECT_THAT(q["C"].problem, HasSubstr("judged by its name"));
  EXPECT_THAT(q["D"].problem, HasSubstr("\"loki\""));
  EXPECT_TRUE(q["E"].supported) << q["E"].problem;
  EXPECT_TRUE(q["F"].supported) << q["F"].problem;
}

// ---- Variables: syntaxes and formats ---------------------------------------

ResolvedVariable Multi(std::string name, std::vector<std::string> values) {
  ResolvedVariable v;
  v.name = std::move(name);
  v.type = "custom";
  v.multi = true;
  v.current = values;
  v.current_is_list = true;
  for (const std::string& x : values) {
    v.options.push_back({x, x});
    v.current_text += StrCat(v.current_text.empty() ? "" : " + ", x);
  }
  return v;
}

ResolvedVariable Single(std::string name, std::string value) {
  ResolvedVariable v;
  v.name = std::move(name);
  v.type = "custom";
  v.current = {value};
  v.current_text = value;
  v.options = {{value, value}};
  return v;
}

std::string I(std::string_view text, const std::vector<ResolvedVariable>& v) {
  return Interpolate(text, v).text;
}

TEST(GrafanaInterpolate, Syntaxes) {
  const std::vector<ResolvedVariable> v = {Single("host", "web1"),
                                           Multi("dc", {"a", "b"})};
  EXPECT_EQ(I("s.$host.cpu", v), "s.web1.cpu");
  EXPECT_EQ(I("s.${host}.cpu", v), "s.web1.cpu");
  EXPECT_EQ(I("s.[[host]].cpu", v), "s.web1.cpu");
  EXPECT_EQ(I("s.${dc:csv}.cpu", v), "s.a,b.cpu");
  EXPECT_EQ(I("s.[[dc:pipe]].cpu", v), "s.a|b.cpu");
  EXPECT_EQ(I("s.${host.text}.cpu", v), "s.web1.cpu");
  EXPECT_EQ(I("$host$host", v), "web1web1");
  EXPECT_EQ(I("[[host", v), "[[host");
  EXPECT_EQ(I("${host", v), "${host");
  EXPECT_EQ(I("$", v), "$");
  EXPECT_EQ(I("$dc.x", v), "{a,b}.x");
  // An unknown name stays; a regex group reference is no variable.
  Interpolated unknown = Interpolate("s.$nope.x", v);
  EXPECT_EQ(unknown.text, "s.$nope.x");
  EXPECT_THAT(unknown.problems, ElementsAre(HasSubstr("no variable \"nope\"")));
  Interpolated group = Interpolate("aliasSub(a.b, 'x', '$1')", v);
  EXPECT_EQ(group.text, "aliasSub(a.b, 'x', '$1')");
  EXPECT_THAT(group.problems, IsEmpty());
}

TEST(GrafanaInterpolate, Builtins) {
  for (const char* b : {"$__interval", "${__range}", "$__from", "[[__to]]",
                        "$__rate_interval", "${__interval_ms}"}) {
    Interpolated r = Interpolate(StrCat("summarize(a.b, '", b, "')"), {});
    EXPECT_EQ(r.text, StrCat("summarize(a.b, '", b, "')"));
    ASSERT_EQ(r.problems.size(), 1u) << b;
    EXPECT_THAT(r.problems[0], HasSubstr("builtin")) << b;
  }
}

TEST(GrafanaInterpolate, FormatsOfAMultiValue) {
  const std::vector<ResolvedVariable> v = {Multi("v", {"a", "b"})};
  const std::map<std::string, std::string> expected = {
      {"glob", "{a,b}"},
      {"regex", "(a|b)"},
      {"pipe", "a|b"},
      {"csv", "a,b"},
      {"raw", "a,b"},
      {"text", "a + b"},
      {"distributed", "a,v=b"},
      {"singlequote", "'a','b'"},
      {"doublequote", "\"a\",\"b\""},
      {"sqlstring", "'a','b'"},
      {"percentencode", "%7Ba%2Cb%7D"},
      {"lucene", "(\"a\" OR \"b\")"},
      {"json", "[\"a\",\"b\"]"},
      {"queryparam", "var-v=a&var-v=b"},
      {"nosuchformat", "{a,b}"},
  };
  for (const auto& [format, want] : expected) {
    EXPECT_EQ(I(StrCat("${v:", format, "}"), v), want) << format;
  }
  EXPECT_EQ(I("$v", v), "{a,b}");
  EXPECT_EQ(I("[[v:regex]]", v), "(a|b)");
}

TEST(GrafanaInterpolate, FormatsOfASingleValue) {
  const std::vector<ResolvedVariable> v = {Single("v", "it's a.b"),
                                           Multi("one", {"x.y"})};
  const std::map<std::string, std::string> expected = {
      {"glob", "it's a.b"},
      {"regex", "it's a\\.b"},
      {"pipe", "it's a.b"},
      {"csv", "it's a.b"},
      {"raw", "it's a.b"},
      {"text", "it's a.b"},
      {"distributed", "it's a.b"},
      {"singlequote", "'it\\'s a.b'"},
      {"doublequote", "\"it's a.b\""},
      {"sqlstring", "'it''s a.b'"},
      {"percentencode", "it%27s%20a.b"},
      {"lucene", "it's\\ a.b"},
      {"json", "\"it's a.b\""},
  };
  for (const auto& [format, want] : expected) {
    EXPECT_EQ(I(StrCat("${v:", format, "}"), v), want) << format;
  }
  // A multi-value variable holding one value: a list of one.
  EXPECT_EQ(I("$one", v), "x.y");
  EXPECT_EQ(I("${one:regex}", v), "x\\.y");
  EXPECT_EQ(I("${one:percentencode}", v), "%7Bx.y%7D");
}

TEST(GrafanaInterpolate, AllAndAllValue) {
  ResolvedVariable all = Multi("v", {"a", "b", "c"});
  all.include_all = true;
  all.options.insert(all.options.begin(), {"All", "$__all"});
  all.current = {"$__all"};
  all.current_text = "All";
  EXPECT_EQ(I("s.$v.x", {all}), "s.{a,b,c}.x");
  EXPECT_EQ(I("s.${v:regex}.x", {all}), "s.(a|b|c).x");
  EXPECT_EQ(I("${v:text}", {all}), "All");
  all.all_value = "*";
  EXPECT_EQ(I("s.$v.x", {all}), "s.*.x");
  EXPECT_EQ(I("s.${v:regex}.x", {all}), "s.*.x");  // not formatted
  EXPECT_EQ(I("${v:text}", {all}), "All");
  EXPECT_EQ(I("${v:percentencode}", {all}), "%2A");
  // An allValue naming another variable is interpolated again.
  all.all_value = "$w";
  EXPECT_EQ(I("s.$v.x", {all, Single("w", "q")}), "s.q.x");
  all.all_value = "$v";  // itself: bounded
  EXPECT_THAT(I("s.$v.x", {all}), HasSubstr("s."));
}

// ---- Variables: types ------------------------------------------------------

Dashboard VarDashboard(const std::string& list_json) {
  auto d = ParseDashboard(
      StrCat(R"({"panels": [], "templating": {"list": )", list_json, "}}"));
  EXPECT_TRUE(d.ok()) << d.status();
  return *d;
}

TEST(GrafanaVariables, EachType) {
  const Dashboard d = VarDashboard(R"j([
      {"name": "c", "type": "custom", "query": "a : x, b\\,c ,d",
       "current": {"value": "nope"}},
      {"name": "k", "type": "constant", "query": "prod.eu"},
      {"name": "i", "type": "interval", "query": "1m, 10m,1h",
       "current": {"value": "10m", "text": "10m"}},
      {"name": "ia", "type": "interval", "query": "1m", "auto": true,
       "current": {"value": "$__auto_interval_ia"}},
      {"name": "t", "type": "textbox", "query": "dflt"},
      {"name": "t2", "type": "textbox", "query": "dflt",
       "current": {"value": "typed"}},
      {"name": "q", "type": "query", "query": "net.*",
       "regex": "/^(?:core|edge)(\\d+)$/", "sort": 4},
      {"name": "tags", "type": "query", "query": "tag_values(dc)"},
      {"name": "huge", "type": "query", "query": "net.*", "regex": "/a{100000}/"},
      {"name": "bad", "type": "query", "query": "net.*", "regex": "/(/"},
      {"name": "ds", "type": "datasource", "query": "graphite"}])j");
  const auto vars = ResolveVariables(d, {}, FakeFind);
  EXPECT_THAT(Values(Var(vars, "c")), ElementsAre("x", "b,c", "d"));
  EXPECT_EQ(Var(vars, "c").options[0].text, "a");
  // A saved value no longer among the options: the first option.
  EXPECT_THAT(Var(vars, "c").current, ElementsAre("x"));
  EXPECT_THAT(Var(vars, "k").current, ElementsAre("prod.eu"));
  EXPECT_THAT(Values(Var(vars, "i")), ElementsAre("1m", "10m", "1h"));
  EXPECT_THAT(Var(vars, "i").current, ElementsAre("10m"));
  EXPECT_THAT(Var(vars, "ia").problem, HasSubstr("auto interval"));
  EXPECT_THAT(Var(vars, "t").current, ElementsAre("dflt"));
  EXPECT_THAT(Var(vars, "t2").current, ElementsAre("typed"));
  // The regex's group is the value; sort 4 is numerical, descending; the
  // value 1 (core1 and edge1) is listed once.
  EXPECT_THAT(Values(Var(vars, "q")), ElementsAre("2", "1"));
  EXPECT_THAT(Var(vars, "q").current, ElementsAre("2"));
  EXPECT_THAT(Var(vars, "tags").problem, HasSubstr("tag queries"));
  EXPECT_THAT(Var(vars, "huge").problem, HasSubstr("above 99"));
  EXPECT_THAT(Var(vars, "bad").problem, HasSubstr("regex"));
  EXPECT_THAT(Var(vars, "ds").problem, HasSubstr("not supported"));
  EXPECT_THAT(Var(vars, "c").problem, IsEmpty());
  EXPECT_EQ(I("a.$k.$i.$t2.$c", vars), "a.prod.eu.10m.typed.x");
}

TEST(GrafanaVariables, QueryVariablesUseOtherVariablesAndFailClearly) {
  const Dashboard d = VarDashboard(R"j([
      {"name": "sub", "type": "query", "query": "net.$top.if.*",
       "multi": true, "current": {"value": ["eth0"]}},
      {"name": "top", "type": "custom", "query": "edge1,edge2"},
      {"name": "x", "type": "query", "query": "a.$y"},
      {"name": "y", "type": "query", "query": "b.$x"}])j");
  const auto vars = ResolveVariables(d, {}, FakeFind);
  EXPECT_THAT(Values(Var(vars, "sub")), ElementsAre("eth1", "eth0"));
  EXPECT_THAT(Var(vars, "sub").current, ElementsAre("eth0"));
  EXPECT_TRUE(Var(vars, "sub").current_is_list);
  EXPECT_THAT(Var(vars, "x").problem, HasSubstr("depends on it"));
  // The caller's choice of top changes sub's options.
  const auto edge2 = ResolveVariables(d, {{"top", {"edge2"}}}, FakeFind);
  EXPECT_THAT(Values(Var(edge2, "sub")), ElementsAre("xe0"));
  EXPECT_THAT(Var(edge2, "sub").current, ElementsAre("xe0"));
  // graphite-web down: the variable says so, and targets using it are not
  // supported.
  auto down = [](std::string_view) -> absl::StatusOr<std::vector<std::string>> {
    return absl::UnavailableError("connection refused");
  };
  const auto failed = ResolveVariables(d, {}, down);
  EXPECT_THAT(Var(failed, "sub").problem, HasSubstr("connection refused"));
  Interpolated r = Interpolate("a.$sub", failed);
  EXPECT_THAT(r.problems, ElementsAre(HasSubstr("connection refused")));
  EXPECT_THAT(ResolveVariables(d, {}, nullptr)[0].problem,
              HasSubstr("[graphite] url"));
}

TEST(GrafanaSearch, ParsesHitsAndMakesUrlsAbsolute) {
  auto hits = ParseSearch(Fixture("search.json"), "http://g:3000");
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 3u);
  EXPECT_EQ((*hits)[1].uid, "edge-27");
  EXPECT_EQ((*hits)[1].folder, "Network");
  EXPECT_EQ((*hits)[1].url, "http://g:3000/d/edge-27/edge-routers");
  EXPECT_THAT((*hits)[1].tags, ElementsAre("network"));
  EXPECT_EQ((*hits)[0].folder, "");
  EXPECT_FALSE(ParseSearch("{", "http://g").ok());
  EXPECT_FALSE(ParseSearch("{}", "http://g").ok());
}

TEST(GrafanaUrls, PanelAndDashboard) {
  EXPECT_EQ(PanelUrl("http://g:3000", "edge-27", 21),
            "http://g:3000/d/edge-27?viewPanel=21");
  EXPECT_EQ(DashboardUrl("http://g", "a b"), "http://g/d/a%20b");
}

}  // namespace
}  // namespace gralarm::grafana
