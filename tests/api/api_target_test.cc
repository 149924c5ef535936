// The API of target rules: POST /api/v1/evaluate (answers, refusals, the write
// checks it takes) and target rules through /api/v1/rules (create, GET, PUT,
// list, series, match), against a real store, engine and service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gralarm/alert_service.h"
#include "gralarm/api.h"
#include "gralarm/clock.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"
#include "gralarm/target_engine.h"

namespace gralarm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

// A server without its network parts: the store, the engines and the
// service, as Server wires them.
class Backend : public ApiBackend {
 public:
  Backend(const std::string& dir, std::shared_ptr<const Config> config)
      : config_(std::move(config)),
        store_(*Store::Open(dir)),
        engine_(store_.get(), &clock_, config_),
        targets_(&engine_, store_.get(), &clock_),
        service_(
            store_.get(), &engine_, [this] { return config_; },
            [this]() -> absl::Status {
              auto rules = LoadRules(*config_, store_.get(), ++generation_);
              if (!rules.ok()) return rules.status();
              engine_.SetRules(*rules);
              targets_.SetRules(*rules);
              return absl::OkStatus();
            }) {}

  std::shared_ptr<const Config> config() override { return config_; }
  const AlertEngine& alert_engine() override { return engine_; }
  AlertService& alert_service() override { return service_; }
  absl::Status ScanHistory(
      int64_t, int64_t, std::string_view,
      const std::function<bool(std::string_view, const HistoryRecord&)>&,
      const std::function<bool(std::string_view, std::string_view)>&) override {
    return absl::OkStatus();
  }
  absl::Status ScanEvents(
      uint64_t, const std::function<bool(const EventRecord&)>&) override {
    return absl::OkStatus();
  }
  absl::Status Checkpoint(const std::string&) override {
    return absl::UnimplementedError("not in this test");
  }
  std::vector<std::string> Route(std::string_view) override { return {}; }

  // A raw point, as the ingest loop offers it to the target rules.
  void Point(std::string_view name, int64_t ts, double value) {
    clock_.Advance(100);
    targets_.Offer(*targets_.snapshot(), name, ts, value);
  }
  AlertService& service() { return service_; }
  AlertEngine& engine() { return engine_; }

 private:
  FakeClock clock_{kStart};
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  AlertEngine engine_;
  TargetEngine targets_;
  AlertService service_;
  std::atomic<uint64_t> generation_{0};
};

class ApiTargetTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(""); }

  void Open(const std::string& config_text) {
    static std::atomic<int> n{0};
    api_.reset();
    backend_.reset();
    dir_ = StrCat(::testing::TempDir(), "/gralarm-api-target-test-", getpid(),
                  "-", n++);
    std::filesystem::remove_all(dir_);
    auto config = ParseConfig(config_text, "t.toml");
    ASSERT_TRUE(config.ok()) << config.status();
    backend_ = std::make_unique<Backend>(dir_, *config);
    ASSERT_TRUE(backend_->service().LoadSilences().ok());
    api_ = std::make_unique<Api>(backend_.get());
  }

  void TearDown() override {
    api_.reset();
    backend_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse Call(std::string method, std::string path, std::string body = "",
                    std::string content_type = "application/json",
                    std::string authorization = "") {
    HttpRequest r;
    r.method = std::move(method);
    const size_t q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query = path.substr(q + 1);
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    r.authorization = std::move(authorization);
    r.host = "127.0.0.1:2080";
    return api_->Handle(r);
  }

  static json Body(const HttpResponse& r) {
    return json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }

  std::string dir_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTargetTest, EvaluateAnswersTheOutputSeries) {
  const HttpResponse r = Call("POST", "/api/v1/evaluate", R"j({
      "target": "alias(sumSeries(a.*.x), \"sum (a)\")", "step_s": 60,
      "points": [["a.1.x", 3, 1767225600], ["a.2.x", 4, 1767225610],
                 ["a.1.x", 5, 1767225720], ["b.1.x", 1000, 1767225600]]})j");
  ASSERT_EQ(r.status, 200) << r.body;
  const json out = Body(r);
  ASSERT_TRUE(out.is_array()) << r.body;
  ASSERT_EQ(out.size(), 1u) << r.body;
  EXPECT_EQ(out[0]["target"], "sum (a)");
  // Every step from the first point's to the last's; null where none.
  EXPECT_EQ(out[0]["datapoints"],
            json::parse("[[7.0, 1767225600], [null, 1767225660],"
                        " [5.0, 1767225720]]"));
  // Without points: no series; step_s defaults to 60.
  const HttpResponse empty =
      Call("POST", "/api/v1/evaluate", R"j({"target": "sumSeries(a.*.x)"})j");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(Body(empty).is_array());
  // Tags are not part of a path's name.
  const HttpResponse tagged = Call("POST", "/api/v1/evaluate", R"j({
      "target": "a.b", "step_s": 10, "points": [["a.b;dc=mad", 2, 100]]})j");
  ASSERT_EQ(tagged.status, 200) << tagged.body;
  EXPECT_EQ(Body(tagged), json::parse(R"j([{"target": "a.b",
                                           "datapoints": [[2.0, 100]]}])j"));
}

TEST_F(ApiTargetTest, EvaluateRefusesABadTargetAtItsFieldWithTheColumn) {
  const HttpResponse r =
      Call("POST", "/api/v1/evaluate", R"j({"target": "sumSeries(a.*.x"})j");
  ASSERT_EQ(r.status, 400) << r.body;
  const json e = Body(r)["error"];
  EXPECT_EQ(e["field"], "target");
  EXPECT_EQ(e["code"], "invalid_argument");
  EXPECT_THAT(e["message"].get<std::string>(), HasSubstr("column"));
  const HttpResponse unknown =
      Call("POST", "/api/v1/evaluate", R"j({"target": "fooBar(a.b)"})j");
  ASSERT_EQ(unknown.status, 400);
  EXPECT_EQ(Body(unknown)["error"]["field"], "target");
  EXPECT_THAT(Body(unknown)["error"]["message"].get<std::string>(),
              HasSubstr("fooBar"));
  // Missing, not a string, other fields.
  for (const char* body :
       {R"({})", R"({"target": 5})", R"({"target": ""})", "[]", "not json"}) {
    const HttpResponse bad = Call("POST", "/api/v1/evaluate", body);
    EXPECT_EQ(bad.status, 400) << body;
    EXPECT_EQ(Body(bad)["error"]["field"],
              std::string(body) == "[]" || std::string(body) == "not json"
                  ? ""
                  : "target")
        << body;
  }
  for (auto [body, field] :
       std::initializer_list<std::pair<const char*, const char*>>{
           {R"({"target": "a.b", "step_s": 0})", "step_s"},
           {R"({"target": "a.b", "step_s": "60"})", "step_s"},
           {R"({"target": "a.b", "step_s": 86401})", "step_s"},
           {R"({"target": "a.b", "points": {}})", "points"},
           {R"({"target": "a.b", "points": [["a.b", 1]]})", "points"},
           {R"({"target": "a.b", "points": [["a.b", "1", 5]]})", "points"},
           {R"({"target": "a.b", "points": [["a.b", 1, 5.5]]})", "points"},
           {R"({"target": "a.b", "points": [["a.b", 1, -1]]})", "points"},
           {R"({"target": "a.b", "points": [["", 1, 5]]})", "points"},
           {R"({"target": "a.b", "lateness_s": 5})", "lateness_s"}}) {
    const HttpResponse bad = Call("POST", "/api/v1/evaluate", body);
    EXPECT_EQ(bad.status, 400) << body;
    EXPECT_EQ(Body(bad)["error"]["field"], field) << body;
  }
}

TEST_F(ApiTargetTest, EvaluateRefusesTooManyPointsOrSteps) {
  json points = json::array();
  for (int i = 0; i <= 100000; ++i) points.push_back({"a.b", 1, 100 + i % 60});
  const HttpResponse many =
      Call("POST", "/api/v1/evaluate",
           json{{"target", "a.b"}, {"step_s", 60}, {"points", points}}.dump());
  ASSERT_EQ(many.status, 400) << many.body.substr(0, 200);
  EXPECT_EQ(Body(many)["error"]["field"], "points");
  EXPECT_THAT(Body(many)["error"]["message"].get<std::string>(),
              HasSubstr("100000"));
  points.erase(points.begin());  // 100,000 points are fine
  EXPECT_EQ(
      Call("POST", "/api/v1/evaluate",
           json{{"target", "a.b"}, {"step_s", 60}, {"points", points}}.dump())
          .status,
      200);
  // Two points 100,001 steps apart.
  const HttpResponse wide = Call("POST", "/api/v1/evaluate",
                                 R"j({"target": "a.b", "step_s": 1,
           "points": [["a.b", 1, 0], ["a.b", 1, 100001]]})j");
  ASSERT_EQ(wide.status, 400) << wide.body;
  EXPECT_EQ(Body(wide)["error"]["field"], "points");
}

TEST_F(ApiTargetTest, EvaluateTakesTheChecksOfAWrite) {
  const std::string body = R"j({"target": "a.b"})j";
  EXPECT_EQ(Call("POST", "/api/v1/evaluate", body, "text/plain").status, 415);
  EXPECT_EQ(Call("POST", "/api/v1/evaluate", body, "").status, 415);
  EXPECT_EQ(
      Call("POST", "/api/v1/evaluate", body, "Application/JSON; charset=utf-8")
          .status,
      200);
  EXPECT_EQ(Call("GET", "/api/v1/evaluate").status, 405);
  HttpRequest cross;
  cross.method = "POST";
  cross.path = "/api/v1/evaluate";
  cross.body = body;
  cross.content_type = "application/json";
  cross.host = "127.0.0.1:2080";
  cross.origin = "http://evil.example";
  EXPECT_EQ(api_->Handle(cross).status, 403);
  Open("[api]\ntoken = \"s3cret\"\n");
  EXPECT_EQ(Call("POST", "/api/v1/evaluate", body).status, 401);
  EXPECT_EQ(
      Call("POST", "/api/v1/evaluate", body, "application/json", "Bearer no")
          .status,
      401);
  EXPECT_EQ(Call("POST", "/api/v1/evaluate", body, "application/json",
                 "Bearer s3cret")
                .status,
            200);
}

TEST_F(ApiTargetTest, TargetRulesRoundTripThroughTheRulesApi) {
  const std::string target =
      "asPercent(sumSeries(a.*.used), sumSeries(a.*.max))";
  const json create = {{"id", "pct"},
                       {"name", "CGNAT \"sessions\" (%)"},
                       {"target", target},
                       {"step_s", 10},
                       {"emit_prefix", "gralarm.derived"},
                       {"thresholds", {{"major", 85}, {"critical", 95}}},
                       {"labels", {{"team", "noc"}}},
                       {"checks_alert", 2}};
  const HttpResponse created = Call("POST", "/api/v1/rules", create.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  json rule = Body(created);
  EXPECT_EQ(rule["target"], target);
  EXPECT_EQ(rule["step_s"], 10);
  EXPECT_EQ(rule["lateness_s"], 5);  // the default in force: step_s / 2
  EXPECT_EQ(rule["emit_prefix"], "gralarm.derived");
  EXPECT_FALSE(rule.contains("pattern"));
  EXPECT_EQ(rule["valid"], true);

  const HttpResponse got = Call("GET", "/api/v1/rules/pct");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Body(got), rule);
  // The list finds it by a part of its target.
  const json list = Body(Call("GET", "/api/v1/rules?q=a.*.max"));
  ASSERT_EQ(list["items"].size(), 1u) << list;
  EXPECT_EQ(list["items"][0], rule);
  EXPECT_TRUE(Body(Call("GET", "/api/v1/rules?q=nothing"))["items"].empty());

  // What GET answers, PUT back with one change, is the same rule changed.
  json put = rule;
  for (const char* k : {"source", "read_only", "valid"}) put.erase(k);
  put["thresholds"] = {{"major", 90}};
  put["lateness_s"] = 0;
  const HttpResponse replaced = Call("PUT", "/api/v1/rules/pct", put.dump());
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  rule = Body(replaced);
  EXPECT_EQ(rule["target"], target);
  EXPECT_EQ(rule["thresholds"], json({{"major", 90.0}}));
  EXPECT_EQ(rule["lateness_s"], 0);
  EXPECT_EQ(rule["labels"], json({{"team", "noc"}}));
  EXPECT_EQ(Body(Call("GET", "/api/v1/rules/pct")), rule);

  // A bad target in a PUT: 400 at the field, the rule in force unchanged.
  put["target"] = "asPercent(sumSeries(a.*.used)";
  const HttpResponse bad = Call("PUT", "/api/v1/rules/pct", put.dump());
  ASSERT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"]["field"], "target");
  EXPECT_THAT(Body(bad)["error"]["message"].get<std::string>(),
              HasSubstr("column"));
  EXPECT_EQ(Body(Call("GET", "/api/v1/rules/pct")), rule);
  // A rule turned into a pattern rule loses its target fields.
  put = {{"pattern", "a.*.used"}, {"thresholds", {{"major", 1}}}};
  const HttpResponse pattern = Call("PUT", "/api/v1/rules/pct", put.dump());
  ASSERT_EQ(pattern.status, 200) << pattern.body;
  EXPECT_EQ(Body(pattern)["pattern"], "a.*.used");
  for (const char* k : {"target", "step_s", "lateness_s", "emit_prefix"}) {
    EXPECT_FALSE(Body(pattern).contains(k)) << k;
  }
  // Both, or step_s on a pattern rule: 400 at the field.
  put = {{"id", "both"},
         {"pattern", "a"},
         {"target", "a"},
         {"thresholds", {{"major", 1}}}};
  EXPECT_EQ(Body(Call("POST", "/api/v1/rules", put.dump()))["error"]["field"],
            "target");
  put = {{"id", "p"},
         {"pattern", "a"},
         {"step_s", 60},
         {"thresholds", {{"major", 1}}}};
  EXPECT_EQ(Body(Call("POST", "/api/v1/rules", put.dump()))["error"]["field"],
            "step_s");
}

TEST_F(ApiTargetTest, SeriesAndMatchOfATargetRule) {
  ASSERT_EQ(Call("POST", "/api/v1/rules", R"j({"id": "sum",
                 "target": "sumSeries(a.*.x)", "step_s": 60, "lateness_s": 0,
                 "thresholds": {"major": 100}})j")
                .status,
            201);
  const json none = Body(Call("GET", "/api/v1/rules/sum/series"));
  EXPECT_TRUE(none["items"].empty()) << none;
  backend_->Point("a.1.x", 60, 70);
  backend_->Point("a.2.x", 61, 50);
  backend_->Point("a.1.x", 120, 1);  // completes step 60: 120
  const json series = Body(Call("GET", "/api/v1/rules/sum/series"));
  ASSERT_EQ(series["items"].size(), 1u) << series;
  EXPECT_EQ(series["items"][0]["series"], "sumSeries(a.*.x)");
  EXPECT_EQ(series["items"][0]["level"], "major");
  EXPECT_EQ(series["items"][0]["last_value"], 120.0);
  EXPECT_EQ(series["items"][0]["last_ts"], 60);
  const json alerts = Body(Call("GET", "/api/v1/alerts?rule=sum"));
  ASSERT_EQ(alerts["items"].size(), 1u) << alerts;
  EXPECT_EQ(alerts["items"][0]["series"], "sumSeries(a.*.x)");
  // The output is found by its own name, with its glob characters.
  const json by_series =
      Body(Call("GET", "/api/v1/alerts?series=sumSeries(a.*.x)"));
  EXPECT_EQ(by_series["items"].size(), 1u) << by_series;

  const json m = Body(Call("GET", "/api/v1/match?metric=a.mad1.x"));
  EXPECT_EQ(m["target_rules"], json::array({"sum"}));
  EXPECT_EQ(m["rules"], json::array());
  EXPECT_EQ(Call("DELETE", "/api/v1/rules/sum", "", "").status, 204);
  EXPECT_EQ(Call("GET", "/api/v1/rules/sum/series").status, 404);
  EXPECT_TRUE(Body(Call("GET", "/api/v1/alerts"))["items"].empty());
}

TEST_F(ApiTargetTest, SeriesFiltersAndSilencesTakeAnOutputNameAsWritten) {
  ASSERT_EQ(Call("POST", "/api/v1/rules", R"j({"id": "br",
                 "target": "sumSeries(b.{1,2}.x)", "step_s": 60,
                 "lateness_s": 0, "thresholds": {"major": 1}})j")
                .status,
            201);
  backend_->Point("b.1.x", 60, 5);
  backend_->Point("b.1.x", 120, 5);
  // As a glob, "sumSeries(b.{1,2}.x)" spells sumSeries(b.1.x) and
  // sumSeries(b.2.x); the filter takes the name it is, too.
  const json alerts =
      Body(Call("GET", "/api/v1/alerts?series=sumSeries(b.%7B1,2%7D.x)"));
  ASSERT_EQ(alerts["items"].size(), 1u) << alerts;
  EXPECT_EQ(alerts["items"][0]["series"], "sumSeries(b.{1,2}.x)");
  EXPECT_EQ(alerts["items"][0]["silenced"], false);
  const HttpResponse silence = Call("POST", "/api/v1/silences", R"j({
      "series": "sumSeries(b.{1,2}.x)", "starts_at": "2025-01-01T00:00:00Z",
      "ends_at": "2099-01-01T00:00:00Z"})j");
  ASSERT_EQ(silence.status, 201) << silence.body;
  EXPECT_EQ(Body(Call("GET", "/api/v1/alerts"))["items"][0]["silenced"], true);
}

}  // namespace
}  // namespace gralarm
