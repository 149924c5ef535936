#include "gralarm/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace gralarm {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(std::string_view toml) {
  auto c = ParseConfig(toml, "g.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(Config, EmptyFileGivesTheSpecDefaults) {
  auto c = ParseConfig("", "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const Config& cfg = **c;
  EXPECT_EQ(cfg.ingest.listen, "0.0.0.0:2003");
  EXPECT_EQ(cfg.ingest.max_line_bytes, 4096);
  EXPECT_EQ(cfg.ingest.max_connections, 10000);
  EXPECT_EQ(cfg.ingest.idle_timeout_s, 600);
  EXPECT_FALSE(cfg.ingest.allow_nan);
  EXPECT_EQ(cfg.ingest.workers, 0);
  EXPECT_EQ(cfg.forward.method, ForwardMethod::kForward);
  EXPECT_EQ(cfg.forward.replication, 1);
  EXPECT_EQ(cfg.forward.queue_points, 1000000);
  EXPECT_EQ(cfg.forward.spool_max_bytes, 10737418240);
  EXPECT_EQ(cfg.forward.reconnect_min_ms, 100);
  EXPECT_EQ(cfg.forward.reconnect_max_ms, 10000);
  EXPECT_EQ(cfg.store.path, "/var/lib/gralarm");
  EXPECT_EQ(cfg.api.listen, "127.0.0.1:2080");
  EXPECT_EQ(cfg.self_metrics.carbon_interval_s, 60);
  EXPECT_EQ(cfg.self_metrics.carbon_prefix, "carbon.relays.{host}");
}

TEST(Config, ReadsEverySectionWeUse) {
  auto c = ParseConfig(R"(
[ingest]
listen = "127.0.0.1:0"
max_line_bytes = 1024
allow_nan = true
workers = 3
[forward]
method = "jump_fnv1a_ch"
replication = 2
queue_points = 5000
[[forward.destinations]]
address = "10.0.0.1:2103"
instance = "a"
[[forward.destinations]]
address = "[::1]:2203"
[api]
listen = "127.0.0.1:9999"
[self_metrics]
carbon_interval_s = 0
)",
                       "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const Config& cfg = **c;
  EXPECT_EQ(cfg.ingest.workers, 3);
  EXPECT_TRUE(cfg.ingest.allow_nan);
  EXPECT_EQ(cfg.forward.method, ForwardMethod::kJumpFnv1aCh);
  ASSERT_EQ(cfg.forward.destinations.size(), 2u);
  EXPECT_EQ(cfg.forward.destinations[0].host, "10.0.0.1");
  EXPECT_EQ(cfg.forward.destinations[0].port, 2103);
  EXPECT_EQ(cfg.forward.destinations[0].instance, "a");
  EXPECT_EQ(cfg.forward.destinations[1].host, "::1");
  EXPECT_EQ(cfg.forward.destinations[1].port, 2203);
  EXPECT_EQ(cfg.self_metrics.carbon_interval_s, 0);
}

TEST(Config, SyntaxErrorIsReportedWithFileLineAndColumn) {
  EXPECT_THAT(ErrorOf("[ingest]\nlisten = \n"), HasSubstr("g.toml:2:"));
}

// toml++ 3.3.0 reached __builtin_unreachable() on these (UBSan aborts the
// sanitizer build without the fix in gralarm/toml.h).
TEST(Config, NonAsciiCharactersWhereWhitespaceGoesAreParseErrors) {
  for (const char* c :
       {"\u00e9", "\u00a1", "\u00f1", "\u0403", "\u2c50", "\u3001"}) {
    EXPECT_THAT(ErrorOf(std::string(c) + " = 1\n"), HasSubstr("g.toml:1:1:"));
    EXPECT_THAT(ErrorOf(std::string("[ingest]\nlisten = \"a:1\" ") + c),
                HasSubstr("g.toml:2:"));
  }
  // In comments they are fine.
  auto ok = ParseConfig(
      "# caf\u00e9 \u3001\n[ingest]\nlisten = \"127.0.0.1:1\" # \u00f1\n",
      "g.toml");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(Config, UnknownKeyIsReportedWhereItStands) {
  EXPECT_THAT(ErrorOf("[ingest]\nlisten = \"127.0.0.1:1\"\nmax_lines = 3\n"),
              HasSubstr("g.toml:3:1: unknown key \"max_lines\" in [ingest]"));
  EXPECT_THAT(ErrorOf("[ingset]\n"), HasSubstr("unknown key \"ingset\""));
}

TEST(Config, WrongTypeNamesTheKey) {
  EXPECT_THAT(ErrorOf("[ingest]\nworkers = \"two\"\n"),
              HasSubstr("g.toml:2:11: ingest.workers must be an integer"));
  EXPECT_THAT(ErrorOf("[ingest]\nallow_nan = 1\n"),
              HasSubstr("ingest.allow_nan must be true"));
}

TEST(Config, OutOfRangeValueIsRefused) {
  EXPECT_THAT(ErrorOf("[forward]\nqueue_points = 0\n"),
              HasSubstr("forward.queue_points must be between"));
  EXPECT_THAT(
      ErrorOf("[forward]\nreconnect_min_ms = 500\nreconnect_max_ms = 100\n"),
      HasSubstr("reconnect_max_ms must not be below"));
}

TEST(Config, UnknownMethodIsRefused) {
  EXPECT_THAT(
      ErrorOf("[forward]\nmethod = \"round_robin\"\n"),
      HasSubstr("g.toml:2:10: forward.method \"round_robin\" is not one of"));
}

TEST(Config, BadAddressesAreRefused) {
  EXPECT_THAT(ErrorOf("[ingest]\nlisten = \"2003\"\n"),
              HasSubstr("expected host:port"));
  EXPECT_THAT(ErrorOf("[[forward.destinations]]\naddress = \"h:99999\"\n"),
              HasSubstr("bad port"));
  EXPECT_THAT(ErrorOf("[[forward.destinations]]\ninstance = \"a\"\n"),
              HasSubstr("needs an address"));
}

TEST(Config, ReplicationBeyondDestinationsIsRefused) {
  EXPECT_THAT(
      ErrorOf(R"([forward]
method = "carbon_ch"
replication = 3
[[forward.destinations]]
address = "127.0.0.1:1"
[[forward.destinations]]
address = "127.0.0.1:2"
)"),
      HasSubstr("replication (3) exceeds the number of destinations (2)"));
}

TEST(Config, CarbonChFixedRefusesTwoDestinationsOnOneRingKey) {
  const std::string two_caches =
      "[[forward.destinations]]\naddress = \"h1:2004\"\n"
      "[[forward.destinations]]\naddress = \"h1:2104\"\n";
  EXPECT_THAT(ErrorOf("[forward]\nmethod = \"carbon_ch_fixed\"\n" + two_caches),
              HasSubstr("destinations h1:2004 and h1:2104 have the same host "
                        "and instance (none)"));
  // Named instances, as carbon-relay's DESTINATIONS = h1:2004:a, h1:2104:b.
  EXPECT_TRUE(ParseConfig("[forward]\nmethod = \"carbon_ch_fixed\"\n"
                          "[[forward.destinations]]\naddress = \"h1:2004\"\n"
                          "instance = \"a\"\n"
                          "[[forward.destinations]]\naddress = \"h1:2104\"\n"
                          "instance = \"b\"\n",
                          "g.toml")
                  .ok());
  // carbon-c-relay's methods hash the port too.
  EXPECT_TRUE(
      ParseConfig("[forward]\nmethod = \"carbon_ch\"\n" + two_caches, "g.toml")
          .ok());
}

TEST(Config, DuplicateDestinationIsRefused) {
  EXPECT_THAT(ErrorOf("[[forward.destinations]]\naddress = \"127.0.0.1:1\"\n"
                      "[[forward.destinations]]\naddress = \"127.0.0.1:1\"\n"),
              HasSubstr("listed twice"));
}

TEST(Config, NonLoopbackApiWithoutTokenIsRefused) {
  EXPECT_THAT(ErrorOf("[api]\nlisten = \"0.0.0.0:2080\"\n"),
              HasSubstr("not a loopback address: set api.token"));
  EXPECT_TRUE(
      ParseConfig("[api]\nlisten = \"0.0.0.0:2080\"\ntoken = \"s3cret\"\n",
                  "g.toml")
          .ok());
}

// A token file that gives no token must stop the start, never mean "writes
// need no token".
TEST(Config, TokenFileMustExistAndHoldAToken) {
  const std::string dir = ::testing::TempDir();
  const std::string missing = dir + "/gralarm-no-such-token";
  std::remove(missing.c_str());
  std::string e = ErrorOf("[api]\nlisten = \"0.0.0.0:2080\"\ntoken_file = \"" +
                          missing + "\"\n");
  EXPECT_THAT(
      e, HasSubstr("g.toml:3:14: api.token_file " + missing + ": cannot read"));

  const std::string empty = dir + "/gralarm-empty-token";
  std::ofstream(empty) << "  \nsecond-line-is-not-the-token\n";
  EXPECT_THAT(ErrorOf("[api]\ntoken_file = \"" + empty + "\"\n"),
              HasSubstr(": is empty"));
  EXPECT_THAT(ErrorOf("[api]\ntoken_file = \"" + dir + "\"\n"),
              HasSubstr("not a regular file"));

  const std::string good = dir + "/gralarm-good-token";
  std::ofstream(good) << "  s3cret \r\n";
  auto c = ParseConfig(
      "[api]\nlisten = \"0.0.0.0:2080\"\ntoken_file = \"" + good + "\"\n",
      "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(*ReadTokenFile(good), "s3cret");
}

TEST(Config, AllowedHosts) {
  auto c = ParseConfig(
      "[api]\nallowed_hosts = [\"gralarm.example\", \"noc:8080\", \"*\"]\n",
      "g.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT((*c)->api.allowed_hosts,
              ::testing::ElementsAre("gralarm.example", "noc:8080", "*"));
  EXPECT_THAT(
      ErrorOf("[api]\nallowed_hosts = [\"http://x/\"]\n"),
      HasSubstr("g.toml:2:17: api.allowed_hosts: \"http://x/\" is not"));
  EXPECT_THAT(ErrorOf("[api]\nallowed_hosts = \"x\"\n"),
              HasSubstr("must be an array of strings"));
}

TEST(Config, EveryErrorIsReportedNotJustTheFirst) {
  std::string e = ErrorOf("[ingest]\nworkers = -1\nbogus = 1\n");
  EXPECT_THAT(e, HasSubstr("g.toml:2:"));
  EXPECT_THAT(e, HasSubstr("g.toml:3:1: unknown key"));
}

TEST(Config, MissingFileIsNotFound) {
  auto c = LoadConfigFile("/nonexistent/gralarm.toml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gralarm
