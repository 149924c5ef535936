// POST /api/v1/rules/bulk's parts: the body's shape (ParseBulkRuleChange), the
// change of one rule (ApplyBulkRuleChange), the service's all-or-none write
// (AlertService::ChangeRules); and GET /api/v1/settings' view.
#include "api/rule_bulk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/settings.h"
#include "gralarm/alert_service.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"
#include "testing/alert_service_fixture.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;

TEST(ParseBulkRuleChange, TakesIdsAndTheFieldsToSet) {
  auto c = ParseBulkRuleChange(
      R"({"ids": ["a", "b.c"], "set": {"checks_alert": 3, "channels": null}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ids, (std::vector<std::string>{"a", "b.c"}));
  EXPECT_EQ(c->set["checks_alert"], 3);
  EXPECT_TRUE(c->set["channels"].is_null());
}

TEST(ParseBulkRuleChange, RefusesWhatIsNotABulkChange) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"[1]", ""},
      {R"({"ids": ["a"], "set": {"enabled": false}, "x": 1})", "x"},
      {R"({"set": {"enabled": false}})", "ids"},
      {R"({"ids": [], "set": {"enabled": false}})", "ids"},
      {R"({"ids": ["A B"], "set": {"enabled": false}})", "ids"},
      {R"({"ids": [7], "set": {"enabled": false}})", "ids"},
      {R"({"ids": ["a"]})", "set"},
      {R"({"ids": ["a"], "set": {}})", "set"},
      {R"({"ids": ["a"], "set": {"pattern": "x.*"}})", "set.pattern"},
      {R"({"ids": ["a"], "set": {"id": "b"}})", "set.id"},
  };
  for (const auto& [body, field] : cases) {
    auto c = ParseBulkRuleChange(body);
    ASSERT_FALSE(c.ok()) << body;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_EQ(FieldOf(c.status()), field) << body;
  }
  std::string many = R"({"set": {"enabled": true}, "ids": [)";
  for (size_t i = 0; i <= kMaxBulkRules; ++i) {
    many += StrCat(i ? "," : "", "\"r", i, "\"");
  }
  many += "]}";
  EXPECT_EQ(FieldOf(ParseBulkRuleChange(many).status()), "ids");
}

TEST(ApplyBulkRuleChange, SetsAndUnsetsFieldsAndKeepsTheRest) {
  auto spec = ParseRuleJson(
      R"({"id": "r", "name": "R", "pattern": "a.*", "thresholds":
          {"warning": 5}, "checks_alert": 2, "channels": ["sms"]})");
  ASSERT_TRUE(spec.ok());
  auto changed = ApplyBulkRuleChange(
      *spec, nlohmann::json::parse(R"({"checks_ok": 4, "channels": null})"));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->name, "R");
  EXPECT_EQ(changed->pattern, "a.*");
  const std::string json = RuleSpecToJson(*changed);
  EXPECT_THAT(json, HasSubstr(R"("checks_alert":2)"));
  EXPECT_THAT(json, HasSubstr(R"("checks_ok":4)"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("channels")));
  auto bad = ApplyBulkRuleChange(
      *spec, nlohmann::json::parse(R"({"checks_alert": "three"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(BulkErrorField(FieldOf(bad.status()),
                           nlohmann::json::parse(R"({"checks_alert": 1})")),
            "set.checks_alert");
  EXPECT_EQ(BulkErrorField("thresholds.warning",
                           nlohmann::json::parse(R"({"direction": "below"})")),
            "thresholds.warning");
}

class ChangeRulesTest : public testing::AlertServiceFixture {
 protected:
  void Create(const std::string& id, const std::string& thresholds) {
    auto spec = ParseRuleJson(StrCat(R"({"id": ")", id,
                                     R"(", "pattern": "a.*", "thresholds": )",
                                     thresholds, "}"));
    ASSERT_TRUE(spec.ok()) << spec.status();
    ASSERT_TRUE(service_->CreateRule(*spec).ok());
  }
  AlertService::RuleChange Set(const std::string& json) {
    return [set = nlohmann::json::parse(json)](const RuleSpec& spec) {
      return ApplyBulkRuleChange(spec, set);
    };
  }
  int ChecksAlert(const std::string& id) {
    auto r = engine_->rules()->Find(id);
    return r ? static_cast<int>(r->spec.fields.checks_alert.value_or(1)) : -1;
  }
};

TEST_F(ChangeRulesTest, ChangesEveryRuleAtOnce) {
  for (int i = 0; i < 20; ++i) Create(StrCat("r", i), R"({"warning": 5})");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(StrCat("r", i));
  auto out = service_->ChangeRules(ids, Set(R"({"checks_alert": 3})"));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 20u);
  EXPECT_EQ((*out)[7]->spec.id, "r7");
  for (const std::string& id : ids) EXPECT_EQ(ChecksAlert(id), 3) << id;
  // Stored, not only in force.
  auto json = store_->RuleJson("r19");
  ASSERT_TRUE(json.ok() && json->has_value());
  EXPECT_THAT(**json, HasSubstr(R"("checks_alert":3)"));
}

TEST_F(ChangeRulesTest, OneRuleRefusingChangesNothing) {
  Create("a", R"({"warning": 5})");
  Create("b", R"({"warning": 70, "critical": 95})");  // rising: not "below"
  Create("c", R"({"warning": 5})");
  auto out = service_->ChangeRules(
      {"a", "b", "c"}, Set(R"({"checks_alert": 4, "direction": "below"})"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(*out.status().GetPayload(kRuleIdPayload)), "b");
  for (const char* id : {"a", "b", "c"}) EXPECT_EQ(ChecksAlert(id), 1) << id;
  auto json = store_->RuleJson("a");
  ASSERT_TRUE(json.ok() && json->has_value());
  EXPECT_THAT(**json, ::testing::Not(HasSubstr("checks_alert")));
}

TEST_F(ChangeRulesTest, UnknownAndRepeatedIdsAreRefused) {
  Create("a", R"({"warning": 5})");
  auto unknown = service_->ChangeRules({"a", "zz"}, Set(R"({"checks_ok": 2})"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(*unknown.status().GetPayload(kRuleIdPayload)), "zz");
  auto twice = service_->ChangeRules({"a", "a"}, Set(R"({"checks_ok": 2})"));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(twice.status()), "ids");
  EXPECT_EQ(ChecksAlert("a"), 1);
}

TEST_F(ChangeRulesTest, AStoreOrLoadFailurePutsEveryRuleBack) {
  Create("a", R"({"warning": 5})");
  Create("b", R"({"warning": 5})");
  fail_reload_ = true;
  auto out = service_->ChangeRules({"a", "b"}, Set(R"({"checks_alert": 9})"));
  EXPECT_FALSE(out.ok());
  fail_reload_ = false;
  for (const char* id : {"a", "b"}) {
    auto json = store_->RuleJson(id);
    ASSERT_TRUE(json.ok() && json->has_value());
    EXPECT_THAT(**json, ::testing::Not(HasSubstr("checks_alert"))) << id;
  }
}

TEST(SettingsJson, ShowsWhatIsInForceWithoutSecrets) {
  auto config = ParseConfig(R"(
[schedules.office]
days = ["mon", "fri"]
from = "08:30"
to = "18:00"
timezone = "Europe/Madrid"
[[notify.channels]]
name = "sms"
type = "command"
command = ["/usr/local/bin/sms", "--key", "s3cret"]
phones = ["+34600000000", "+34600000001"]
[[notify.channels]]
name = "hook"
type = "webhook"
url = "https://user:pw@hooks.example/x?token=s3cret"
group_by = ["rule_id"]
)",
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  SettingsState state;
  state.grafana = {"error", "Grafana at http://g does not answer"};
  state.graphite = {"off", ""};
  state.store_bytes = 1234;
  const nlohmann::json j = SettingsJson(**config, state);
  EXPECT_THAT(j.dump(), ::testing::Not(HasSubstr("s3cret")));
  EXPECT_THAT(j.dump(), ::testing::Not(HasSubstr("+346")));
  EXPECT_THAT(j.dump(), ::testing::Not(HasSubstr("pw@")));
  EXPECT_EQ(j["channels"][0]["command"], "/usr/local/bin/sms");
  EXPECT_EQ(j["channels"][0]["phones"], 2);
  EXPECT_EQ(j["channels"][1]["url"], "https://hooks.example/x");
  EXPECT_EQ(j["channels"][1]["group_by"][0], "rule_id");
  EXPECT_EQ(j["schedules"][0]["name"], "24x7");
  EXPECT_EQ(j["schedules"][1]["days"], nlohmann::json({"mon", "fri"}));
  EXPECT_EQ(j["schedules"][1]["from"], "08:30");
  EXPECT_EQ(j["schedules"][1]["timezone"], "Europe/Madrid");
  EXPECT_EQ(j["grafana"]["state"], "error");
  EXPECT_EQ(j["store"]["size_bytes"], 1234);
  EXPECT_TRUE(j["cluster"].is_null());
}

TEST(DirectoryBytes, CountsFilesButNotTheBackups) {
  const std::string dir = ::testing::TempDir() + "/gralarm-dirbytes";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sub");
  std::filesystem::create_directories(dir + "/backups/x");
  std::ofstream(dir + "/a") << std::string(100, 'a');
  std::ofstream(dir + "/sub/b") << std::string(20, 'b');
  std::ofstream(dir + "/backups/x/c") << std::string(1000, 'c');
  EXPECT_EQ(DirectoryBytes(dir, dir + "/backups"), 120u);
  EXPECT_EQ(DirectoryBytes(dir, ""), 1120u);
  EXPECT_FALSE(DirectoryBytes(dir + "/missing", "").has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gralarm
