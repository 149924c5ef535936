#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::string FreshPath(std::string_view what) {
  static std::atomic<int> n{0};
  std::string path = StrCat(::testing::TempDir(), "/gralarm-loader-test-",
                            getpid(), "-", n++, what);
  std::filesystem::remove_all(path);
  return path;
}

std::string WriteFile(const std::string& text) {
  std::string path = FreshPath(".toml");
  std::ofstream(path) << text;
  return path;
}

constexpr char kChannelAndSchedule[] = R"(
[schedules.daytime]
from = "08:00"
to = "22:00"
[[notify.channels]]
name = "pager"
type = "webhook"
url = "http://127.0.0.1:9/"
)";

std::shared_ptr<const Config> MakeConfig(const std::string& toml) {
  auto c = ParseConfig(toml, "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

std::vector<std::string> Ids(const RuleSet& set) {
  std::vector<std::string> ids;
  for (const auto& r : set.rules()) ids.push_back(r->spec.id);
  return ids;
}

class RuleLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = *Store::Open(FreshPath("-store")); }
  void PutRule(const std::string& id, const std::string& json) {
    ASSERT_TRUE(store_->PutRuleJson(id, json).ok());
  }
  std::unique_ptr<Store> store_;
};

TEST_F(RuleLoaderTest, StoredRulesThatNoLongerResolveAreInvalidOthersLoad) {
  const std::string t = R"("thresholds": {"warning": 1})";
  ASSERT_TRUE(store_->PutTemplateJson("tmpl", R"({"name": "tmpl"})").ok());
  PutRule("ok", R"({"id": "ok", "pattern": "a.*", "template": "tmpl",
                    "channels": ["pager"], "schedule": "daytime", )" +
                    t + "}");
  PutRule("no-channel",
          R"({"id": "no-channel", "pattern": "b.*", "channels": ["gone"], )" +
              t + "}");
  PutRule("no-schedule",
          R"({"id": "no-schedule", "pattern": "c.*", "schedule": "gone", )" +
              t + "}");
  PutRule("no-template",
          R"({"id": "no-template", "pattern": "d.*", "template": "gone", )" +
              t + "}");
  PutRule("garbled", R"({"id": "garbled", "pattern": "e.*", "colour": 1})");

  auto set = LoadRules(*MakeConfig(kChannelAndSchedule), store_.get(), 7);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(Ids(**set), ElementsAre("ok"));
  EXPECT_EQ((*set)->generation(), 7u);
  std::map<std::string, std::pair<std::string, std::string>> invalid;
  for (const InvalidRule& r : (*set)->invalid()) {
    EXPECT_FALSE(r.shadowed);
    EXPECT_THAT(r.json, HasSubstr(r.id));
    invalid[r.id] = {r.field, r.reason};
  }
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(invalid["no-channel"],
            P("channels", "channels: unknown channel \"gone\""));
  EXPECT_EQ(invalid["no-schedule"],
            P("schedule", "schedule: unknown schedule \"gone\""));
  EXPECT_EQ(invalid["no-template"],
            P("template", "template: unknown template \"gone\""));
  EXPECT_EQ(invalid["garbled"].first, "colour");
  EXPECT_THAT(invalid["garbled"].second, HasSubstr("does not parse"));
  EXPECT_EQ(invalid.size(), 4u);
  EXPECT_NE((*set)->FindInvalid("no-channel"), nullptr);
  EXPECT_EQ((*set)->FindInvalid("ok"), nullptr);
  ASSERT_EQ((*set)->warnings().size(), 4u);
  EXPECT_THAT((*set)->warnings(),
              testing::Contains(
                  "store: rule \"no-channel\" is invalid and not in force: "
                  "channels: unknown channel \"gone\""));
  // The invalid rules never match.
  RuleSet::Matches m;
  (*set)->Match("b.x", &m);
  EXPECT_THAT(m, IsEmpty());
}

TEST_F(RuleLoaderTest, AConfigThatDropsAChannelLeavesItsRulesInvalidOnly) {
  PutRule("paged", R"({"id": "paged", "pattern": "a.*", "channels": ["pager"],
                       "thresholds": {"warning": 1}})");
  PutRule("quiet", R"({"id": "quiet", "pattern": "b.*",
                       "thresholds": {"warning": 1}})");
  auto before = LoadRules(*MakeConfig(kChannelAndSchedule), store_.get(), 1);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(Ids(**before), UnorderedElementsAre("paged", "quiet"));
  EXPECT_THAT((*before)->invalid(), IsEmpty());
  EXPECT_THAT((*before)->warnings(), IsEmpty());

  auto after = LoadRules(*MakeConfig(""), store_.get(), 2);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(Ids(**after), ElementsAre("quiet"));
  ASSERT_EQ((*after)->invalid().size(), 1u);
  EXPECT_EQ((*after)->invalid()[0].id, "paged");
  EXPECT_EQ((*after)->invalid()[0].reason,
            "channels: unknown channel \"pager\"");

  // Given back its channel, the rule is in force again.
  auto again = LoadRules(*MakeConfig(kChannelAndSchedule), store_.get(), 3);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(Ids(**again), UnorderedElementsAre("paged", "quiet"));
}

TEST_F(RuleLoaderTest, EveryErrorOfAStoredRuleIsInItsReason) {
  PutRule("bad", R"({"id": "bad", "pattern": "a.*", "channels": ["gone"],
                     "schedule": "gone", "checks_alert": 0,
                     "thresholds": {"warning": 1}})");
  auto set = LoadRules(*MakeConfig(kChannelAndSchedule), store_.get(), 1);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ((*set)->invalid().size(), 1u);
  const std::string& reason = (*set)->invalid()[0].reason;
  EXPECT_THAT(reason, HasSubstr("checks_alert: must be between 1 and 10000"));
  EXPECT_THAT(reason, HasSubstr("schedule: unknown schedule \"gone\""));
  EXPECT_THAT(reason, HasSubstr("channels: unknown channel \"gone\""));
}

TEST_F(RuleLoaderTest, AFileRuleWinsOverAStoredRuleAndTemplateOfItsName) {
  const std::string file = WriteFile(R"([[templates]]
name = "tmpl"
checks_alert = 2

[[rules]]
id = "dup"
pattern = "file.*"
template = "tmpl"
thresholds = { warning = 1 }
)");
  PutRule("dup", R"({"id": "dup", "pattern": "api.*",
                     "thresholds": {"warning": 1}})");
  ASSERT_TRUE(
      store_->PutTemplateJson("tmpl", R"({"name": "tmpl", "checks_alert": 5})")
          .ok());
  auto set =
      LoadRules(*MakeConfig(StrCat("[rules]\nfiles = [\"", file, "\"]\n")),
                store_.get(), 1);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_THAT(Ids(**set), ElementsAre("dup"));
  EXPECT_EQ((*set)->rules()[0]->spec.pattern, "file.*");
  EXPECT_EQ((*set)->rules()[0]->params.checks_alert, 2);
  ASSERT_EQ((*set)->invalid().size(), 1u);
  EXPECT_TRUE((*set)->invalid()[0].shadowed);
  EXPECT_EQ((*set)->FindInvalid("dup"), nullptr);
  EXPECT_THAT((*set)->warnings(),
              testing::Contains(HasSubstr("template \"tmpl\" is also defined "
                                          "in " +
                                          file)));
}

TEST_F(RuleLoaderTest, AFileRuleThatDoesNotResolveFailsTheLoadAtEachField) {
  const std::string file = WriteFile(R"([[templates]]
name = "tmpl"
checks_ok = 0

[[rules]]
id = "bad"
pattern = "a.*"
template = "tmpl"
  checks_alert = 0
schedule = "nope"
channels = ["nope"]
thresholds = { warning = 9, critical = 1 }

[[rules]]
id = "good"
pattern = "b.*"
thresholds = { warning = 1 }
)");
  PutRule("api", R"({"id": "api", "pattern": "c.*",
                     "thresholds": {"warning": 1}})");
  auto set =
      LoadRules(*MakeConfig(StrCat("[rules]\nfiles = [\"", file, "\"]\n")),
                store_.get(), 1);
  ASSERT_FALSE(set.ok());
  const std::string text(set.status().message());
  EXPECT_THAT(text, HasSubstr(file + ":9:3: rule \"bad\": checks_alert: "));
  EXPECT_THAT(text, HasSubstr(file + ":10:1: rule \"bad\": schedule: unknown "
                                     "schedule \"nope\""));
  EXPECT_THAT(text, HasSubstr(file + ":11:1: rule \"bad\": channels: unknown "
                                     "channel \"nope\""));
  EXPECT_THAT(text,
              HasSubstr(file + ":12:1: rule \"bad\": thresholds: must rise"));
  // A value the template gives is placed at the template's key.
  EXPECT_THAT(text, HasSubstr(file + ":3:1: rule \"bad\" (from template "
                                     "\"tmpl\"): checks_ok: "));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
}

TEST(RuleFile, ReportsEveryParseErrorOfEveryTableAtItsField) {
  auto file = ParseRuleFile(R"([[templates]]
name = "t"
direction = "up"

[[rules]]
id = "one"
pattern = "a.*"
checks_alert = "three"
    direction = "sideways"
colour = "red"

[[rules]]
checks_ok = true
)",
                            "r.toml");
  ASSERT_FALSE(file.ok());
  const std::string text(file.status().message());
  EXPECT_THAT(text, HasSubstr("r.toml:3:1: template: direction: must be "));
  EXPECT_THAT(text, HasSubstr("r.toml:8:1: rule \"one\": checks_alert: must be "
                              "an integer"));
  EXPECT_THAT(text, HasSubstr("r.toml:9:5: rule \"one\": direction: must be "));
  EXPECT_THAT(text, HasSubstr("r.toml:10:1: rule \"one\": colour: unknown "
                              "field"));
  EXPECT_THAT(text, HasSubstr("r.toml:13:1: rule: checks_ok: must be an "
                              "integer"));
  // A missing field is placed at its table's header.
  EXPECT_THAT(text, HasSubstr("r.toml:12:1: rule: id: rules in files need an "
                              "id"));
  EXPECT_THAT(text, HasSubstr("r.toml:12:1: rule: pattern: is required"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6) << text;
}

}  // namespace
}  // namespace gralarm
