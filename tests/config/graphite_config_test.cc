#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gralarm/config.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(std::string_view toml) {
  auto c = ParseConfig(toml, "g.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(GraphiteConfig, OffByDefault) {
  auto c = ParseConfig("", "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->graphite.url, "");
  EXPECT_EQ((*c)->graphite.timeout_ms, 10000);
}

TEST(GraphiteConfig, ReadsUrlAndTimeoutTrimmingTrailingSlashes) {
  auto c = ParseConfig(R"([graphite]
url = "https://graphite.example:8443/graphite//"
timeout_ms = 2500
)",
                       "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->graphite.url, "https://graphite.example:8443/graphite");
  EXPECT_EQ((*c)->graphite.timeout_ms, 2500);
  EXPECT_TRUE(ParseConfig("[graphite]\nurl = \"\"\n", "g.toml").ok());
}

TEST(GraphiteConfig, RefusesWhatIsNotAnHttpBaseUrl) {
  EXPECT_THAT(ErrorOf("[graphite]\nurl = \"graphite:8080\"\n"),
              HasSubstr("g.toml:2:7: graphite.url \"graphite:8080\" must start "
                        "with http:// or https://"));
  EXPECT_THAT(ErrorOf("[graphite]\nurl = \"http://\"\n"),
              HasSubstr("has no host"));
  EXPECT_THAT(ErrorOf("[graphite]\nurl = \"http://g /x\"\n"),
              HasSubstr("white space"));
  EXPECT_THAT(ErrorOf("[graphite]\nurl = \"http://g/render?x=1\"\n"),
              HasSubstr("query"));
  EXPECT_THAT(ErrorOf("[graphite]\ntimeout_ms = 0\n"),
              HasSubstr("graphite.timeout_ms must be between 1 and 600000"));
  EXPECT_THAT(ErrorOf("[graphite]\nuser = \"x\"\n"),
              HasSubstr("unknown key \"user\" in [graphite]"));
}

TEST(GraphiteConfig, AGraphiteEventsChannelDefaultsToGraphiteUrl) {
  auto c = ParseConfig(R"([[notify.channels]]
name = "events"
type = "graphite_events"
[[notify.channels]]
name = "other"
type = "graphite_events"
url = "http://other:8080/"
[graphite]
url = "http://graphite:8080"
)",
                       "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->FindChannel("events")->url, "http://graphite:8080");
  EXPECT_EQ((*c)->FindChannel("other")->url, "http://other:8080");
}

TEST(GraphiteConfig, AGraphiteEventsChannelNeedsSomeUrl) {
  EXPECT_THAT(ErrorOf(R"([[notify.channels]]
name = "events"
type = "graphite_events"
)"),
              HasSubstr("notify.channels \"events\": a graphite_events "
                        "channel needs a url, or [graphite] url to default "
                        "to"));
  EXPECT_THAT(ErrorOf(R"([[notify.channels]]
name = "events"
type = "graphite_events"
url = "graphite"
)"),
              HasSubstr("must start with http:// or https://"));
  EXPECT_THAT(ErrorOf(R"([[notify.channels]]
name = "events"
type = "graphite_events"
url = "http://g"
group_wait_s = 30
)"),
              HasSubstr("not for graphite_events channels"));
  EXPECT_THAT(ErrorOf(R"([[notify.channels]]
name = "x"
type = "pager"
)"),
              HasSubstr("type must be alertmanager, webhook, command or "
                        "graphite_events"));
}

}  // namespace
}  // namespace gralarm
