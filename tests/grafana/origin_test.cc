// The Grafana origin of a rule: its JSON field "grafana" (read, written,
// validated), kept in stored alerts, and sent as Alertmanager's generatorURL;
// the [grafana] config section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gralarm/config.h"
#include "gralarm/notify_payload.h"
#include "gralarm/rule.h"
#include "gralarm/strings.h"
#include "store/records.h"

namespace gralarm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kRule[] = R"j({"name": "r", "target": "sumSeries(a.*)",
    "thresholds": {"warning": 1},
    "grafana": {"uid": "edge-27", "panel_id": 21, "ref_id": "C",
                "url": "http://g:3000/d/edge-27?viewPanel=21"}})j";

TEST(GrafanaOrigin, ReadAndWritten) {
  auto spec = ParseRuleJson(kRule);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(spec->grafana.has_value());
  EXPECT_EQ(spec->grafana->uid, "edge-27");
  EXPECT_EQ(spec->grafana->panel_id, 21);
  EXPECT_EQ(spec->grafana->ref_id, "C");
  EXPECT_EQ(spec->grafana->url, "http://g:3000/d/edge-27?viewPanel=21");
  const json out = json::parse(RuleSpecToJson(*spec));
  EXPECT_EQ(out["grafana"],
            json::parse(R"({"uid": "edge-27", "panel_id": 21, "ref_id": "C",
                "url": "http://g:3000/d/edge-27?viewPanel=21"})"));
  auto again = ParseRuleJson(RuleSpecToJson(*spec));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->grafana, spec->grafana);
  // Absent on other rules.
  auto plain = ParseRuleJson(
      R"({"name": "p", "pattern": "a.b", "thresholds": {"warning": 1}})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->grafana.has_value());
  EXPECT_FALSE(json::parse(RuleSpecToJson(*plain)).contains("grafana"));
}

TEST(GrafanaOrigin, Validated) {
  for (const char* bad : {
           R"("x")",
           R"({"panel_id": 1, "ref_id": "A"})",
           R"({"uid": "u", "ref_id": "A"})",
           R"({"uid": "u", "panel_id": -1, "ref_id": "A"})",
           R"({"uid": "u", "panel_id": 1.5, "ref_id": "A"})",
           R"({"uid": "u", "panel_id": 1})",
           R"({"uid": "a b", "panel_id": 1, "ref_id": "A"})",
           R"({"uid": "u", "panel_id": 1, "ref_id": "A", "url": "ftp://x"})",
           R"({"uid": "u", "panel_id": 1, "ref_id": "A", "other": 1})",
       }) {
    auto spec = ParseRuleJson(
        StrCat(R"({"name": "r", "pattern": "a", "grafana": )", bad, "}"));
    ASSERT_FALSE(spec.ok()) << bad;
    EXPECT_EQ(FieldOf(spec.status()), "grafana") << bad;
  }
  auto t = ParseTemplateJson(
      R"({"name": "t", "grafana": {"uid": "u", "panel_id": 1, "ref_id": "A"}})");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(FieldOf(t.status()), "grafana");
}

TEST(GrafanaOrigin, StoredAlertsKeepTheGeneratorUrl) {
  AlertRecord a;
  a.rule_id = "r";
  a.series = "s";
  a.severity = Level::kWarning;
  a.generator_url = "http://g:3000/d/edge-27?viewPanel=21";
  const std::string encoded = records::EncodeAlert(a);
  EXPECT_EQ(encoded[1] & 16, 16);
  AlertRecord b;
  ASSERT_TRUE(records::DecodeAlert(encoded, &b).ok());
  EXPECT_EQ(b.generator_url, a.generator_url);
  // Without one, the value is as before the field existed: bit 4 clear,
  // nothing after the labels.
  a.generator_url.clear();
  const std::string plain = records::EncodeAlert(a);
  EXPECT_EQ(plain[1] & 16, 0);
  ASSERT_TRUE(records::DecodeAlert(plain, &b).ok());
  EXPECT_EQ(b.generator_url, "");
  // The bit without the string is corrupt.
  std::string truncated = plain;
  truncated[1] = static_cast<char>(truncated[1] | 16);
  EXPECT_FALSE(records::DecodeAlert(truncated, &b).ok());
}

TEST(GrafanaOrigin, GeneratorUrlOfAlertmanagerAndWebhook) {
  auto config = ParseConfig(R"([api]
listen = "127.0.0.1:2080"
)",
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  OutboxRecord r;
  r.channel = "hook";
  r.status = "firing";
  r.alert.rule_id = "r";
  r.alert.series = "s";
  r.alert.severity = Level::kWarning;
  r.alert.generator_url = "http://g:3000/d/edge-27?viewPanel=21";
  const json am = json::parse(AlertmanagerPayload(r, **config));
  EXPECT_EQ(am[0]["generatorURL"], "http://g:3000/d/edge-27?viewPanel=21");
  const json hook = json::parse(WebhookPayload(r, **config));
  EXPECT_EQ(hook["alerts"][0]["generatorURL"],
            "http://g:3000/d/edge-27?viewPanel=21");
  r.alert.generator_url.clear();
  EXPECT_EQ(json::parse(AlertmanagerPayload(r, **config))[0]["generatorURL"],
            "http://127.0.0.1:2080/");
}

TEST(GrafanaConfig, Section) {
  auto c = ParseConfig(R"([grafana]
url = "http://grafana:3000/"
token = "s3cret"
timeout_ms = 2500
)",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->grafana.url, "http://grafana:3000");
  EXPECT_EQ((*c)->grafana.token, "s3cret");
  EXPECT_EQ((*c)->grafana.timeout_ms, 2500);
  auto defaults = ParseConfig("", "t.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)->grafana.url, "");
  EXPECT_EQ((*defaults)->grafana.timeout_ms, 10000);

  const std::string file = (std::filesystem::temp_directory_path() /
                            StrCat("gralarm-grafana-token-", getpid()))
                               .string();
  std::ofstream(file) << "  from-file  \nsecond line\n";
  auto f = ParseConfig(
      StrCat("[grafana]\nurl = \"http://g\"\ntoken_file = \"", file, "\"\n"),
      "t.toml");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->grafana.token, "from-file");
  auto both = ParseConfig(
      StrCat("[grafana]\ntoken = \"x\"\ntoken_file = \"", file, "\"\n"),
      "t.toml");
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("not both"));
  std::filesystem::remove(file);
  auto missing =
      ParseConfig(StrCat("[grafana]\ntoken_file = \"", file, "\"\n"), "t.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("grafana.token_file"));
  EXPECT_THAT(missing.status().message(), HasSubstr("t.toml:2:"));
  auto bad_url = ParseConfig("[grafana]\nurl = \"grafana:3000\"\n", "t.toml");
  ASSERT_FALSE(bad_url.ok());
  EXPECT_THAT(bad_url.status().message(), HasSubstr("grafana.url"));
  EXPECT_FALSE(ParseConfig("[grafana]\nnope = 1\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("[grafana]\ntimeout_ms = 1\n", "t.toml").ok());
}

}  // namespace
}  // namespace gralarm
