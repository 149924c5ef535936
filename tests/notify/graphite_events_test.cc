#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gralarm/notify_payload.h"
#include "gralarm/strings.h"
#include "notify/channel.h"
#include "testing/http_receiver.h"

namespace gralarm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1767225600000;  // 2026-01-01T00:00:00Z

OutboxRecord Transition(std::string status, Level severity,
                        std::string replaces = "") {
  OutboxRecord r;
  r.channel = "events";
  r.status = std::move(status);
  r.alert.rule_id = "cpu";
  r.alert.rule_name = "CPU load";
  r.alert.series = "servers.web1.cpu";
  r.alert.severity = severity;
  r.alert.since_ms = kStart;
  r.alert.last_value = 97.5;
  r.replaces = std::move(replaces);
  r.created_ms = kStart + 60000;
  return r;
}

std::shared_ptr<const Config> Parse(const std::string& toml) {
  auto c = ParseConfig(toml, "t.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : std::make_shared<const Config>();
}

TEST(GraphiteEventPayload, TellsTheTransitionAsGraphiteWebStoresIt) {
  json e =
      json::parse(GraphiteEventPayload(Transition("firing", Level::kWarning)));
  EXPECT_EQ(e["what"], "CPU load: ok -> warning");
  EXPECT_EQ(e["tags"], json({"gralarm", "cpu", "warning"}));
  EXPECT_EQ(e["data"], "servers.web1.cpu = 97.5");
  EXPECT_EQ(e["when"], (kStart + 60000) / 1000);

  e = json::parse(
      GraphiteEventPayload(Transition("firing", Level::kCritical, "warning")));
  EXPECT_EQ(e["what"], "CPU load: warning -> critical");
  EXPECT_EQ(e["tags"], json({"gralarm", "cpu", "critical"}));

  OutboxRecord clear = Transition("resolved", Level::kCritical);
  clear.ends_ms = kStart + 120000;
  clear.alert.last_value = 12;
  e = json::parse(GraphiteEventPayload(clear));
  EXPECT_EQ(e["what"], "CPU load: critical -> ok");
  // The level it had, so that a query by severity shows where it ended.
  EXPECT_EQ(e["tags"], json({"gralarm", "cpu", "critical"}));
  EXPECT_EQ(e["data"], "servers.web1.cpu = 12");
  EXPECT_EQ(e["when"], (kStart + 120000) / 1000);

  OutboxRecord nodata = Transition("firing", Level::kOk);
  nodata.alert.nodata = true;
  e = json::parse(GraphiteEventPayload(nodata));
  EXPECT_EQ(e["what"], "CPU load: ok -> nodata");
  EXPECT_EQ(e["tags"][2], "nodata");
}

TEST(GraphiteEventPayload, WhatFitsGraphiteWebsColumn) {
  OutboxRecord r = Transition("firing", Level::kMajor);
  // Byte 255 is in the middle of the "\xc3\xa9".
  r.alert.rule_name = std::string(254, 'x') + "\xc3\xa9";
  const json e = json::parse(GraphiteEventPayload(r));
  const std::string what = e["what"];
  EXPECT_EQ(what, std::string(254, 'x'));  // not cut inside the sequence
}

TEST(GraphiteEventsChannel, PostsEachTransitionToEvents) {
  testing::HttpReceiver graphite;
  auto config = Parse(StrCat(R"([graphite]
url = "http://127.0.0.1:)",
                             graphite.port(), R"(/"
[[notify.channels]]
name = "events"
type = "graphite_events"
)"));
  auto channel = MakeChannel(config, "events", nullptr);
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_NE(dynamic_cast<GraphiteEventsChannel*>(channel->get()), nullptr);
  EXPECT_FALSE((*channel)->resends_active());

  const OutboxRecord r = Transition("firing", Level::kCritical, "warning");
  DeliveryResult d = (*channel)->Send(r);
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;
  // A reminder is no transition: nothing is posted.
  OutboxRecord reminder = r;
  reminder.reminder = true;
  d = (*channel)->Send(reminder);
  EXPECT_EQ(d.outcome, Delivery::kDelivered) << d.error;

  const auto requests = graphite.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].first, "/events/");
  EXPECT_EQ(requests[0].second, GraphiteEventPayload(r));
}

TEST(GraphiteEventsChannel, RetriesWhileGraphiteFailsAndDropsRefusals) {
  testing::HttpReceiver graphite({500, 400}, 200, "bad event");
  auto config = Parse(StrCat(R"([[notify.channels]]
name = "events"
type = "graphite_events"
url = "http://127.0.0.1:)",
                             graphite.port(), R"("
)"));
  auto channel = *MakeChannel(config, "events", nullptr);
  const OutboxRecord r = Transition("firing", Level::kWarning);
  EXPECT_EQ(channel->Send(r).outcome, Delivery::kRetry);
  const DeliveryResult refused = channel->Send(r);
  EXPECT_EQ(refused.outcome, Delivery::kRejected);
  EXPECT_THAT(refused.error, HasSubstr("HTTP 400: bad event"));
  EXPECT_EQ(channel->Send(r).outcome, Delivery::kDelivered);

  // No graphite-web at all: a retry.
  auto down = Parse(R"([[notify.channels]]
name = "events"
type = "graphite_events"
url = "http://127.0.0.1:1"
timeout_ms = 500
)");
  EXPECT_EQ((*MakeChannel(down, "events", nullptr))->Send(r).outcome,
            Delivery::kRetry);
}

TEST(GraphiteEventsChannel, AGroupIsOneEventPerAlert) {
  testing::HttpReceiver graphite;
  auto config = Parse(StrCat(R"([[notify.channels]]
name = "events"
type = "graphite_events"
url = "http://127.0.0.1:)",
                             graphite.port(), R"("
)"));
  auto channel = *MakeChannel(config, "events", nullptr);
  GroupMessage m;
  GroupedAlert a;
  a.record = Transition("firing", Level::kWarning);
  m.alerts.push_back(a);
  a.record.alert.series = "servers.web2.cpu";
  m.alerts.push_back(a);
  EXPECT_EQ(channel->SendGroup(m).outcome, Delivery::kDelivered);
  const auto requests = graphite.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(json::parse(requests[1].second)["data"], "servers.web2.cpu = 97.5");
}

}  // namespace
}  // namespace gralarm
