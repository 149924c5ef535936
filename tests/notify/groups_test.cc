#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "gralarm/notify_groups.h"
#include "gralarm/notify_payload.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

uint64_t next_seq = 1;

OutboxRecord Record(std::string rule, std::string series, Level level,
                    std::string status = "firing") {
  OutboxRecord r;
  r.seq = next_seq++;
  r.channel = "sms";
  r.status = std::move(status);
  r.alert.rule_id = std::move(rule);
  r.alert.rule_name = "Link util";
  r.alert.series = std::move(series);
  r.alert.severity = level;
  r.alert.since_ms = kStart;
  r.alert.last_value = 97;
  r.created_ms = kStart;
  return r;
}

ChannelOptions Channel(int64_t wait, int64_t interval, int64_t max) {
  ChannelOptions c;
  c.name = "sms";
  c.type = "command";
  c.command = {"sms",        "{count}",   "{firing}",
               "{resolved}", "{summary}", "{series}"};
  c.group_by = std::vector<std::string>{"rule_id"};
  c.group_wait_s = wait;
  c.group_interval_s = interval;
  c.max_per_minute = max;
  return c;
}

TEST(GroupLabelsTest, GroupByPicksLabels) {
  AlertRecord a;
  a.rule_id = "cpu";
  a.series = "srv.a.cpu";
  a.severity = Level::kCritical;
  a.labels = {{"team", "noc"}};
  using M = std::map<std::string, std::string>;
  EXPECT_EQ(GroupLabelsOf(a, {"rule_id"}), (M{{"alertname", "cpu"}}));
  EXPECT_EQ(GroupLabelsOf(a, {"team", "severity", "absent"}),
            (M{{"severity", "critical"}, {"team", "noc"}}));
  EXPECT_EQ(GroupLabelsOf(a, {}), M{});
  EXPECT_EQ(GroupLabelsOf(a, {"..."}).size(), 4u);
  EXPECT_EQ(GroupKeyOf({{"alertname", "cpu"}, {"team", "noc"}}),
            "{}:{alertname=\"cpu\", team=\"noc\"}");
}

TEST(GroupBatcherTest, ALoneAlertGoesAtOnceWithTheDefaultWait) {
  GroupBatcher b;
  const ChannelOptions c = Channel(0, 60, 0);
  b.Add(Record("cpu", "a", Level::kCritical), c, kStart);
  int64_t next = kNever;
  auto m = b.Take(c, kStart, 0, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->alerts.size(), 1u);
  EXPECT_EQ(m->group_key, "{}:{alertname=\"cpu\"}");
  EXPECT_FALSE(m->digest);
  b.Done(*m, kStart);
  EXPECT_TRUE(b.empty());
}

TEST(GroupBatcherTest, WaitThenIntervalWithOnlyTheLatestStateOfEachAlert) {
  GroupBatcher b;
  const ChannelOptions c = Channel(10, 60, 0);
  b.Add(Record("cpu", "a", Level::kCritical), c, kStart);
  int64_t next = kNever;
  EXPECT_FALSE(b.Take(c, kStart + 5000, 0, &next).has_value());
  EXPECT_EQ(next, kStart + 10000);
  b.Add(Record("cpu", "b", Level::kWarning), c, kStart + 6000);
  b.Add(Record("cpu", "a", Level::kCritical, "resolved"), c, kStart + 7000);
  b.Add(Record("disk", "a", Level::kMajor), c, kStart + 8000);  // own group
  auto m = b.Take(c, kStart + 10000, 0, &next);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->alerts.size(), 2u);
  EXPECT_EQ(m->alerts[0].record.alert.series, "a");
  EXPECT_EQ(m->alerts[0].record.status, "resolved");
  EXPECT_EQ(m->alerts[0].seqs.size(), 2u);
  b.Done(*m, kStart + 10000);
  next = kNever;
  EXPECT_FALSE(b.Take(c, kStart + 10000, 0, &next).has_value());
  EXPECT_EQ(next, kStart + 18000);  // the disk group's wait
  auto disk = b.Take(c, kStart + 18000, 0, &next);
  ASSERT_TRUE(disk.has_value());
  b.Done(*disk, kStart + 18000);
  // The cpu group changes again: notified one interval after the last.
  OutboxRecord up = Record("cpu", "b", Level::kCritical);
  up.replaces = "warning";
  b.Add(up, c, kStart + 20000);
  next = kNever;
  EXPECT_FALSE(b.Take(c, kStart + 20000, 0, &next).has_value());
  EXPECT_EQ(next, kStart + 70000);
  m = b.Take(c, kStart + 70000, 0, &next);
  ASSERT_TRUE(m.has_value());
  ASSERT_EQ(m->alerts.size(), 1u);
  // The receiver knew "b" as warning: that label set ends.
  EXPECT_EQ(m->alerts[0].record.replaces, "warning");
}

TEST(GroupBatcherTest, TheLabelSetTheReceiverKnewEndsOnce) {
  GroupBatcher b;
  const ChannelOptions c = Channel(0, 60, 0);
  OutboxRecord up = Record("cpu", "a", Level::kCritical);
  up.replaces = "warning";  // the receiver knew it as warning
  b.Add(up, c, kStart);
  b.Add(Record("cpu", "a", Level::kMajor), c, kStart);
  int64_t next = kNever;
  auto m = b.Take(c, kStart, 0, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->alerts[0].record.alert.severity, Level::kMajor);
  EXPECT_EQ(m->alerts[0].record.replaces, "warning");
  // Back to warning: nothing ended for the receiver.
  b.Add(Record("cpu", "a", Level::kWarning), c, kStart);
  b.Failed(std::move(*m), kStart, 1000);
  m = b.Take(c, kStart, 0, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->alerts[0].record.alert.severity, Level::kWarning);
  EXPECT_EQ(m->alerts[0].record.replaces, "");
  EXPECT_EQ(m->alerts[0].seqs.size(), 3u);
}

TEST(GroupBatcherTest, PastTheLimitDueGroupsGoOutAsOneDigestAnInterval) {
  GroupBatcher b;
  ChannelOptions c = Channel(0, 5, 3);
  c.group_by = std::vector<std::string>{"series"};
  int64_t now = kStart;
  int sent = 0;
  size_t alerts = 0;
  std::vector<int64_t> times;
  // 100 series change every 100 ms for 20 s; messages are taken as they fall
  // due.
  for (int step = 0; step < 200; ++step, now += 100) {
    b.Add(Record("cpu", StrCat("s", step % 100), Level::kCritical), c, now);
    int64_t next = kNever;
    while (auto m = b.Take(c, now, 0, &next)) {
      ++sent;
      alerts += m->alerts.size();
      times.push_back(now);
      b.Done(*m, now);
    }
  }
  for (; now < kStart + 200000; now += 100) {
    int64_t next = kNever;
    while (auto m = b.Take(c, now, 0, &next)) {
      ++sent;
      alerts += m->alerts.size();
      times.push_back(now);
      EXPECT_TRUE(m->digest || m->alerts.size() == 1);
      b.Done(*m, now);
    }
  }
  EXPECT_TRUE(b.empty());
  // Never more than 3 a minute; every series told at least once.
  for (size_t i = 3; i < times.size(); ++i) {
    EXPECT_GE(times[i] - times[i - 3], 60000) << i;
  }
  EXPECT_GE(alerts, 100u);
  EXPECT_LE(sent, 12);
}

TEST(GroupBatcherTest, AFullDigestLeavesTheGroupsItDidNotCarryDue) {
  GroupBatcher b;
  ChannelOptions c = Channel(0, 5, 1);
  c.group_by = std::vector<std::string>{"series"};
  int64_t next = kNever;
  b.Add(Record("cpu", "s0", Level::kCritical), c, kStart);
  auto first = b.Take(c, kStart, 2, &next);
  ASSERT_TRUE(first.has_value());
  b.Done(*first, kStart);
  for (const char* series : {"s1", "s2", "s3"})
    b.Add(Record("cpu", series, Level::kCritical), c, kStart + 1000);
  // Past the limit: nothing now, then one digest, at most 2 alerts in it.
  EXPECT_FALSE(b.Take(c, kStart + 1000, 2, &next).has_value());
  auto digest = b.Take(c, kStart + 60000, 2, &next);
  ASSERT_TRUE(digest.has_value());
  EXPECT_TRUE(digest->digest);
  EXPECT_EQ(digest->alerts.size(), 2u);
  EXPECT_EQ(digest->groups.size(), 2u);  // s3 was not carried
  b.Done(*digest, kStart + 60000);
  auto rest = b.Take(c, kStart + 120000, 2, &next);
  ASSERT_TRUE(rest.has_value());
  ASSERT_EQ(rest->alerts.size(), 1u);
  EXPECT_EQ(rest->alerts[0].record.alert.series, "s3");
  EXPECT_TRUE(b.empty());
}

TEST(GroupBatcherTest, AWebhookMessageCarriesAtMost500AndTheRestWaits) {
  GroupBatcher b;
  ChannelOptions c = Channel(0, 5, 0);
  for (int i = 0; i < 1200; ++i) {
    b.Add(Record("cpu", StrCat("s", i), Level::kCritical), c, kStart);
  }
  int64_t next = kNever;
  auto m = b.Take(c, kStart, GroupBatcher::kMaxAlerts, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->alerts.size(), 500u);
  EXPECT_EQ(m->truncated, 700u);
  b.Done(*m, kStart);
  EXPECT_FALSE(b.Take(c, kStart + 4999, 500, &next).has_value());
  m = b.Take(c, kStart + 5000, 500, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->truncated, 200u);
}

TEST(GroupBatcherTest, AFailedMessageComesBackUpdatedAndOldAlertsExpire) {
  GroupBatcher b;
  const ChannelOptions c = Channel(0, 0, 0);
  b.Add(Record("cpu", "a", Level::kCritical), c, kStart);
  int64_t next = kNever;
  auto m = b.Take(c, kStart, 0, &next);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(b.Failed(std::move(*m), kStart + 10, 1000).empty());
  m = b.Take(c, kStart + 10, 0, &next);
  ASSERT_TRUE(m.has_value());
  const auto expired = b.Failed(std::move(*m), kStart + 5000, 1000);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_TRUE(b.empty());
}

TEST(GroupPayloadTest, WebhookCarriesTheGroupAndCommandTheCounts) {
  auto config = ParseConfig(R"([[notify.channels]]
name = "sms"
type = "command"
command = ["sms", "{count}", "{firing}", "{resolved}", "{summary}", "{series}"]
group_by = ["rule_id"]
group_interval_s = 60
max_per_minute = 20
)",
                            "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const ChannelOptions& c = (*config)->channels[0];
  EXPECT_TRUE(c.grouped());
  GroupBatcher b;
  b.Add(Record("cgnat-ethtrunk-util", "MXULPPS1", Level::kWarning), c, kStart);
  b.Add(Record("cgnat-ethtrunk-util", "MXULPPS2", Level::kCritical), c, kStart);
  b.Add(Record("cgnat-ethtrunk-util", "MXULPPS3", Level::kCritical, "resolved"),
        c, kStart);
  int64_t next = kNever;
  auto m = b.Take(c, kStart, 0, &next);
  ASSERT_TRUE(m.has_value());
  const json hook = json::parse(GroupWebhookPayload(*m, "sms", **config));
  EXPECT_EQ(hook["version"], "4");
  EXPECT_EQ(hook["groupKey"], "{}:{alertname=\"cgnat-ethtrunk-util\"}");
  EXPECT_EQ(hook["groupLabels"], (json{{"alertname", "cgnat-ethtrunk-util"}}));
  EXPECT_EQ(hook["status"], "firing");
  EXPECT_EQ(hook["truncatedAlerts"], 0);
  ASSERT_EQ(hook["alerts"].size(), 3u);
  EXPECT_EQ(hook["alerts"][0]["labels"]["series"], "MXULPPS2");
  EXPECT_EQ(hook["alerts"][2]["status"], "resolved");
  EXPECT_EQ(hook["commonLabels"], (json{{"alertname", "cgnat-ethtrunk-util"}}));
  EXPECT_EQ(
      GroupCommandArgs(c, *m),
      (std::vector<std::string>{
          "sms", "3", "2", "1",
          "1 critical, 1 warning, 1 resolved: cgnat-ethtrunk-util on "
          "MXULPPS2, cgnat-ethtrunk-util on MXULPPS1, cgnat-ethtrunk-util on "
          "MXULPPS3",
          "MXULPPS2"}));
}

TEST(GroupConfigTest, AlertmanagerChannelsCannotBeGrouped) {
  auto config = ParseConfig(R"([[notify.channels]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:9093"
group_wait_s = 10
)",
                            "t.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("Alertmanager groups by itself"),
            std::string::npos);
  auto plain = ParseConfig(R"([[notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:9000"
)",
                           "t.toml");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE((*plain)->channels[0].grouped());
}

}  // namespace
}  // namespace gralarm
