#include "gralarm/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "gralarm/store.h"
#include "gralarm/version.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result RunGralarm(std::vector<std::string> args, std::string input = "") {
  std::vector<char*> argv;
  static std::string name = "gralarm";
  argv.push_back(name.data());
  for (auto& a : args) argv.push_back(a.data());
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = RunCli(static_cast<int>(argv.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

std::string WriteTemp(const std::string& text) {
  static int n = 0;
  std::string path = ::testing::TempDir() + "/cli_test_" +
                     std::to_string(getpid()) + "_" + std::to_string(n++) +
                     ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, VersionPrintsTheVersion) {
  Result r = RunGralarm({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string("gralarm ") + kVersion + "\n");
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunGralarm({}).code, kExitUsage);
  EXPECT_EQ(RunGralarm({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(RunGralarm({"serve", "--bogus"}).code, kExitUsage);
  EXPECT_EQ(RunGralarm({"check-config", "-c"}).code, kExitUsage);
}

TEST(Cli, HelpListsEveryCommand) {
  Result r = RunGralarm({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* c : {"serve", "check-config", "match", "--version"}) {
    EXPECT_THAT(r.out, HasSubstr(c));
  }
}

TEST(Cli, CheckConfigAcceptsAGoodFile) {
  std::string path =
      WriteTemp("[[forward.destinations]]\naddress = \"127.0.0.1:2103\"\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitOk) << r.err;
}

TEST(Cli, CheckConfigPrintsFileLineColumnAndExitsOne) {
  std::string path = WriteTemp("[ingest]\nworkers = \"x\"\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err,
              HasSubstr(path + ":2:11: ingest.workers must be an integer"));
}

TEST(Cli, MatchPrintsDestinationsForArgumentsAndStdin) {
  std::string path = WriteTemp(
      "[forward]\nmethod = \"carbon_ch\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2103\"\ninstance = "
      "\"a\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2203\"\ninstance = "
      "\"b\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2303\"\ninstance = "
      "\"c\"\n");
  // Routes as printed by Debian's carbon-c-relay 3.7 -t for the same cluster.
  Result r = RunGralarm({"match", "-c", path, "a.b.c", "foo.bar"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "a.b.c\n  destinations: 127.0.0.1:2103=a\n  rules: -\n"
            "foo.bar\n  destinations: 127.0.0.1:2303=c\n  rules: -\n");
  Result s = RunGralarm({"match", "-c", path}, "a.b.c 1 1700000000\nfoo.bar\n");
  EXPECT_EQ(s.out, r.out);
}

TEST(Cli, MatchNamesDestinationsAsTheServerDoes) {
  std::string path = WriteTemp(
      "[[forward.destinations]]\naddress = \"[::1]:2103\"\ninstance = \"a\"\n"
      "[[forward.destinations]]\naddress = \"[fd00:0::7]:2203\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2303\"\n");
  Result r = RunGralarm({"match", "-c", path, "a.b"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  // As in /metrics and the API: the host as the rings hash it.
  EXPECT_EQ(r.out,
            "a.b\n  destinations: [::1]:2103=a [fd00:0::7]:2203 "
            "127.0.0.1:2303\n  rules: -\n");
  // Only any_of depends on which destinations are up.
  EXPECT_THAT(r.err, Not(HasSubstr("every destination up")));
}

TEST(Cli, MatchSaysAnyOfIsRoutedWithEveryDestinationUp) {
  std::string path = WriteTemp(
      "[forward]\nmethod = \"any_of\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2103\"\n"
      "[[forward.destinations]]\naddress = \"127.0.0.1:2203\"\n");
  Result r = RunGralarm({"match", "-c", path, "a.b"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.err, HasSubstr("routed with every destination up"));
  EXPECT_THAT(r.out, HasSubstr("a.b\n  destinations: 127.0.0.1:"));
}

TEST(Cli, MatchPrintsTheRulesEachMetricMatches) {
  std::string rules = WriteTemp(R"(
[[rules]]
id = "util"
pattern = "cgnat.*.ethtrunk*.{input,output}.util_pct"
thresholds = { warning = 70, critical = 95 }
[[rules]]
id = "one"
pattern = "cgnat.r1.ethtrunk1.input.util_pct"
thresholds = { warning = 1 }
)");
  std::string path =
      WriteTemp("[rules]\nfiles = [\"" + rules +
                "\"]\n"
                "[[forward.destinations]]\naddress = \"127.0.0.1:2103\"\n");
  Result r =
      RunGralarm({"match", "-c", path, "cgnat.r1.ethtrunk1.input.util_pct",
                  "cgnat.r2.ethtrunk7.output.util_pct", "cgnat.r1.cpu"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(
      r.out,
      "cgnat.r1.ethtrunk1.input.util_pct\n  destinations: 127.0.0.1:2103\n"
      "  rules: util one\n"
      "cgnat.r2.ethtrunk7.output.util_pct\n  destinations: 127.0.0.1:2103\n"
      "  rules: util\n"
      "cgnat.r1.cpu\n  destinations: 127.0.0.1:2103\n  rules: -\n");
}

TEST(Cli, CheckConfigReportsRuleFileErrorsWithTheirPlace) {
  std::string rules = WriteTemp(
      "[[rules]]\nid = \"bad\"\npattern = \"a.b\"\n"
      "thresholds = { warning = 90, critical = 80 }\n");
  std::string path = WriteTemp("[rules]\nfiles = [\"" + rules + "\"]\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err,
              HasSubstr(rules + ":4:1: rule \"bad\": thresholds: must rise"));
}

TEST(Cli, CheckConfigReportsEveryRuleFileErrorAtItsField) {
  std::string rules = WriteTemp(
      "[[rules]]\nid = \"bad\"\npattern = \"a.b\"\n"
      "checks_alert = \"x\"\nchecks_ok = \"y\"\n"
      "thresholds = { warning = 1 }\n"
      "[[rules]]\nid = \"worse\"\npattern = \"a.c\"\n"
      "  channels = [\"nope\"]\nschedule = \"nope\"\n"
      "thresholds = { warning = 1 }\n");
  std::string path = WriteTemp("[rules]\nfiles = [\"" + rules + "\"]\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err,
            rules + ":4:1: rule \"bad\": checks_alert: must be an integer\n" +
                rules + ":5:1: rule \"bad\": checks_ok: must be an integer\n");
  // Once the file parses, what does not resolve is reported the same way.
  std::ofstream(rules) << "[[rules]]\nid = \"worse\"\npattern = \"a.c\"\n"
                          "  channels = [\"nope\"]\nschedule = \"nope\"\n"
                          "thresholds = { warning = 1 }\n";
  r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.err,
            rules + ":4:3: rule \"worse\": channels: unknown channel " +
                "\"nope\"\n" + rules +
                ":5:1: rule \"worse\": schedule: unknown schedule \"nope\"\n");
}

TEST(Cli, CheckConfigWarnsOfNoDestinationsAndExitsZero) {
  std::string path = WriteTemp("[store]\npath = \"" + ::testing::TempDir() +
                               "/cli-no-store\"\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "warning: " + path +
                       ": no [[forward.destinations]]: points are received "
                       "and evaluated but forwarded nowhere\n");
  EXPECT_THAT(r.out, HasSubstr(path + ": ok (1 warning)\n"));
}

TEST(Cli, CheckConfigAcceptsTargetRulesAndMatchNamesTheirInputs) {
  std::string rules = WriteTemp(R"toml(
[[templates]]
name = "pct"
checks_alert = 2
[[rules]]
id = "sessions-pct"
template = "pct"
target = "asPercent(sumSeries(cgnat.*.sessions.active), sumSeries(cgnat.*.sessions.max))"
step_s = 60
lateness_s = 30
emit_prefix = "gralarm.derived"
thresholds = { major = 85, critical = 95 }
[[rules]]
id = "active"
pattern = "cgnat.*.sessions.active"
thresholds = { warning = 1000000 }
)toml");
  std::string path =
      WriteTemp("[rules]\nfiles = [\"" + rules +
                "\"]\n"
                "[[forward.destinations]]\naddress = \"127.0.0.1:2103\"\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr(path + ": ok\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("warning")));
  r = RunGralarm({"match", "-c", path, "cgnat.r1.sessions.active",
                  "cgnat.r1.sessions.max"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "cgnat.r1.sessions.active\n  destinations: 127.0.0.1:2103\n"
            "  rules: active\n  target rules (input): sessions-pct\n"
            "cgnat.r1.sessions.max\n  destinations: 127.0.0.1:2103\n"
            "  rules: -\n  target rules (input): sessions-pct\n");
}

TEST(Cli, CheckConfigReportsABadTargetAtItsKeyWithTheParsersMessage) {
  std::string rules = WriteTemp(
      "[[rules]]\nid = \"open\"\nthresholds = { major = 1 }\n"
      "  target = \"sumSeries(a.*.x\"\n"
      "[[rules]]\nid = \"unknown\"\nthresholds = { major = 1 }\n"
      "target = \"fooBar(a.*.x)\"\n"
      "[[rules]]\nid = \"picks\"\nthresholds = { major = 1 }\n"
      "target = \"highestMax(a.*.x, 2)\"\n");
  std::string path = WriteTemp("[rules]\nfiles = [\"" + rules + "\"]\n");
  Result r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_EQ(r.out, "");
  std::vector<std::string> lines = absl::StrSplit(r.err, '\n');
  ASSERT_EQ(lines.size(), 4u) << r.err;  // three errors and the final ""
  EXPECT_THAT(lines[0],
              ::testing::StartsWith(rules + ":4:3: rule \"open\": target: "
                                            "column "));
  EXPECT_THAT(lines[1], ::testing::StartsWith(
                            rules + ":8:1: rule \"unknown\": target: "));
  EXPECT_THAT(lines[1], HasSubstr("fooBar"));
  EXPECT_THAT(lines[2],
              ::testing::StartsWith(rules + ":12:1: rule \"picks\": target: "));
  EXPECT_THAT(lines[2], HasSubstr("highestMax"));
  // The other target fields, each at its key.
  std::ofstream(rules, std::ios::trunc)
      << "[[rules]]\nid = \"t\"\ntarget = \"sumSeries(a.*.x)\"\n"
         "thresholds = { major = 1 }\nstep_s = 0\n"
         "[[rules]]\nid = \"p\"\npattern = \"a.b\"\n"
         "thresholds = { major = 1 }\n  emit_prefix = \"d\"\n";
  r = RunGralarm({"check-config", "-c", path});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_THAT(r.err, HasSubstr(rules + ":5:1: rule \"t\": step_s: "));
  EXPECT_THAT(r.err,
              HasSubstr(rules + ":10:3: rule \"p\": emit_prefix: only for a "
                                "target rule"));
}

// A config whose store holds an API rule naming channel "pager", and the
// path of that config without the channel.
std::pair<std::string, std::string> StoreWithAPagedRule(std::string* store) {
  *store = ::testing::TempDir() + "/cli-store-" + std::to_string(getpid());
  std::filesystem::remove_all(*store);
  {
    auto s = Store::Open(*store);
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->PutRuleJson("paged", R"({"id": "paged", "pattern": "a.*",
        "channels": ["pager"], "thresholds": {"warning": 1}})")
                    .ok());
  }
  const std::string base = "[store]\npath = \"" + *store +
                           "\"\n[[forward.destinations]]\naddress = "
                           "\"127.0.0.1:2103\"\n";
  return {
      WriteTemp(base + "[[notify.channels]]\nname = \"pager\"\n"
                       "type = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n"),
      WriteTemp(base)};
}

TEST(Cli, CheckConfigWarnsOfApiRulesTheConfigWouldLeaveInvalid) {
  std::string store;
  auto [with, without] = StoreWithAPagedRule(&store);
  Result ok = RunGralarm({"check-config", "-c", with});
  EXPECT_EQ(ok.code, kExitOk) << ok.err;
  EXPECT_EQ(ok.err, "");
  EXPECT_EQ(ok.out, with + ": ok\n");
  Result r = RunGralarm({"check-config", "-c", without});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err,
            "warning: store: rule \"paged\" is invalid and not in force: "
            "channels: unknown channel \"pager\"\n");
  EXPECT_EQ(r.out, without + ": ok (1 warning)\n");
}

TEST(Cli, MatchReadsTheApiRulesOfTheStore) {
  std::string store;
  auto [with, without] = StoreWithAPagedRule(&store);
  Result r = RunGralarm({"match", "-c", with, "a.b"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "a.b\n  destinations: 127.0.0.1:2103\n  rules: paged\n");
  EXPECT_EQ(r.err, "");
  // Where the rule does not resolve, it matches nothing, and match says why.
  r = RunGralarm({"match", "-c", without, "a.b"});
  EXPECT_EQ(r.out, "a.b\n  destinations: 127.0.0.1:2103\n  rules: -\n");
  EXPECT_THAT(r.err, HasSubstr("warning: store: rule \"paged\" is invalid"));
  // Without a store, match says the rules come from the rule files only.
  std::filesystem::remove_all(store);
  r = RunGralarm({"match", "-c", with, "a.b"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.err, HasSubstr("rules from rules.files only"));
}

}  // namespace
}  // namespace gralarm
