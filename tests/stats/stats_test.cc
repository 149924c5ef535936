#include "gralarm/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gralarm/carbon_self_metrics.h"

namespace gralarm {
namespace {

using ::testing::HasSubstr;

StatsSnapshot Sample() {
  StatsSnapshot s;
  s.points_received[0] = 10;
  s.points_received[1] = 5;
  s.lines_invalid[InvalidReasonIndex(LineVerdict::kPath)] = 2;
  StatsSnapshot::Destination d;
  d.name = "127.0.0.1:2103";
  d.points_forwarded = 14;
  d.points_dropped[0] = 1;
  d.queue_points = 3;
  d.up = true;
  s.destinations.push_back(d);
  s.rules = 7;
  s.rules_invalid = 2;
  s.series_tracked = 9;
  s.alerts_active[3] = 2;
  s.transitions[0] = 5;
  return s;
}

TEST(Stats, RendersTheSpecNamesAndLabels) {
  std::string text = RenderPrometheus(Sample(), "1.2.3");
  EXPECT_THAT(text, HasSubstr("# TYPE gralarm_points_received_total counter"));
  EXPECT_THAT(text,
              HasSubstr("gralarm_points_received_total{proto=\"tcp\"} 10"));
  EXPECT_THAT(text,
              HasSubstr("gralarm_lines_invalid_total{reason=\"path\"} 2"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "gralarm_points_forwarded_total{destination=\"127.0.0.1:2103\"} 14"));
  EXPECT_THAT(text, HasSubstr("gralarm_points_dropped_total{destination=\"127."
                              "0.0.1:2103\",reason=\"queue_full\"} 1"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "gralarm_forward_queue_points{destination=\"127.0.0.1:2103\"} 3"));
  EXPECT_THAT(
      text,
      HasSubstr("gralarm_destination_up{destination=\"127.0.0.1:2103\"} 1"));
  EXPECT_THAT(text, HasSubstr("gralarm_build_info{version=\"1.2.3\"} 1"));
  EXPECT_THAT(text, HasSubstr("gralarm_rules 7"));
  EXPECT_THAT(text, HasSubstr("gralarm_rules_invalid 2"));
  EXPECT_THAT(text, HasSubstr("gralarm_series_tracked 9"));
  EXPECT_THAT(text,
              HasSubstr("gralarm_alerts_active{severity=\"critical\"} 2"));
  EXPECT_THAT(text, HasSubstr("gralarm_alerts_active{severity=\"nodata\"} 0"));
  EXPECT_THAT(text, HasSubstr("gralarm_alert_transitions_total{to=\"ok\"} 5"));
}

TEST(Stats, ClusterMetricsOnlyWithACluster) {
  StatsSnapshot s = Sample();
  std::string text = RenderPrometheus(s, "1.2.3");
  EXPECT_THAT(text, ::testing::Not(HasSubstr("gralarm_cluster")));
  s.cluster = true;
  s.cluster_active = false;
  s.cluster_peers_up = {{"http://10.0.0.1:2080", true}};
  text = RenderPrometheus(s, "1.2.3");
  EXPECT_THAT(text, HasSubstr("gralarm_cluster_active 0"));
  EXPECT_THAT(
      text,
      HasSubstr("gralarm_cluster_peer_up{peer=\"http://10.0.0.1:2080\"} 1"));
}

TEST(Stats, PeerLinksAreReportedApartFromTheCarbonDestinations) {
  StatsSnapshot s = Sample();
  DestinationCounters c;
  c.points_forwarded = 40;
  c.points_dropped[static_cast<int>(DropReason::kSpoolFull)] = 2;
  c.spool_bytes = 300;
  s.AddPeer("10.0.0.2:2005", c);
  IngestCounters in;
  in.points_received[0] = 6;
  in.lines_invalid[InvalidReasonIndex(LineVerdict::kFields)] = 1;
  s.AddPeerIngest(in);
  EXPECT_EQ(s.destinations.size(), 1u);
  EXPECT_EQ(s.TotalForwarded(), 14u);
  EXPECT_EQ(s.TotalReceived(), 15u);
  const std::string text = RenderPrometheus(s, "1.2.3");
  EXPECT_THAT(text, HasSubstr("gralarm_peer_points_copied_total{peer=\"10.0.0."
                              "2:2005\"} 40"));
  EXPECT_THAT(text, HasSubstr("gralarm_peer_points_dropped_total{peer=\"10.0.0."
                              "2:2005\",reason=\"spool_full\"} 2"));
  EXPECT_THAT(
      text, HasSubstr("gralarm_peer_spool_bytes{peer=\"10.0.0.2:2005\"} 300"));
  EXPECT_THAT(text, HasSubstr("gralarm_peer_up{peer=\"10.0.0.2:2005\"} 0"));
  EXPECT_THAT(text, HasSubstr("\ngralarm_peer_points_received_total 6\n"));
  EXPECT_THAT(text, HasSubstr("\ngralarm_peer_lines_invalid_total 1\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("destination=\"10.0.0.2:2005\"")));
}

TEST(CarbonSelfMetrics, ReportsIncreasesPerIntervalAndTheQueueAsIs) {
  CarbonSelfMetrics m(
      ExpandCarbonPrefix("carbon.relays.{host}", "relay1.example.com"));
  StatsSnapshot s = Sample();
  EXPECT_EQ(m.Lines(s, 100),
            "carbon.relays.relay1_example_com.metricsReceived 15 100\n"
            "carbon.relays.relay1_example_com.metricsSent 14 100\n"
            "carbon.relays.relay1_example_com.metricsDropped 1 100\n"
            "carbon.relays.relay1_example_com.metricsInvalid 2 100\n"
            "carbon.relays.relay1_example_com.metricsQueued 3 100\n"
            "carbon.relays.relay1_example_com.alertsActive 2 100\n");
  s.points_received[0] += 7;
  s.destinations[0].points_forwarded += 6;
  s.destinations[0].queue_points = 4;
  s.alerts_active[3] = 1;  // one critical
  s.alerts_active[4] = 1;  // one nodata
  EXPECT_EQ(m.Lines(s, 160),
            "carbon.relays.relay1_example_com.metricsReceived 7 160\n"
            "carbon.relays.relay1_example_com.metricsSent 6 160\n"
            "carbon.relays.relay1_example_com.metricsDropped 0 160\n"
            "carbon.relays.relay1_example_com.metricsInvalid 0 160\n"
            "carbon.relays.relay1_example_com.metricsQueued 4 160\n"
            "carbon.relays.relay1_example_com.alertsActive 2 160\n");
}

}  // namespace
}  // namespace gralarm
