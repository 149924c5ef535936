#include "gralarm/stats.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace gralarm {

std::string_view ProtoName(int proto) {
  static constexpr std::string_view kNames[kNumProtos] = {"tcp", "udp",
                                                          "pickle"};
  return (proto >= 0 && proto < kNumProtos) ? kNames[proto] : "unknown";
}

std::string_view DropReasonName(int reason) {
  static constexpr std::string_view kNames[kNumDropReasons] = {
      "queue_full", "shutdown", "spool_full", "rejected"};
  return (reason >= 0 && reason < kNumDropReasons) ? kNames[reason] : "unknown";
}

void StatsSnapshot::AddIngest(const IngestCounters& c) {
  for (int i = 0; i < kNumProtos; ++i) {
    points_received[i] += c.points_received[i].load(std::memory_order_relaxed);
    connections[i] += c.connections[i].load(std::memory_order_relaxed);
  }
  for (int i = 0; i < kNumInvalidReasons; ++i) {
    lines_invalid[i] += c.lines_invalid[i].load(std::memory_order_relaxed);
  }
  connections_refused += c.connections_refused.load(std::memory_order_relaxed);
  for (int i = 0; i < kNumPickleErrors; ++i) {
    pickle_frames_invalid[i] +=
        c.pickle_frames_invalid[i].load(std::memory_order_relaxed);
  }
}

void StatsSnapshot::AddDestination(std::string name,
                                   const DestinationCounters& c) {
  Destination d;
  d.name = std::move(name);
  d.points_forwarded = c.points_forwarded.load(std::memory_order_relaxed);
  for (int i = 0; i < kNumDropReasons; ++i) {
    d.points_dropped[i] = c.points_dropped[i].load(std::memory_order_relaxed);
  }
  d.queue_points = c.queue_points.load(std::memory_order_relaxed);
  d.spool_bytes = c.spool_bytes.load(std::memory_order_relaxed);
  d.up = c.up.load(std::memory_order_relaxed);
  destinations.push_back(std::move(d));
}

void StatsSnapshot::AddPeer(std::string name, const DestinationCounters& c) {
  AddDestination(std::move(name), c);
  peers.push_back(std::move(destinations.back()));
  destinations.pop_back();
}

void StatsSnapshot::AddPeerIngest(const IngestCounters& c) {
  for (int i = 0; i < kNumProtos; ++i) {
    peer_points_received +=
        c.points_received[i].load(std::memory_order_relaxed);
  }
  for (int i = 0; i < kNumInvalidReasons; ++i) {
    peer_lines_invalid += c.lines_invalid[i].load(std::memory_order_relaxed);
  }
}

uint64_t StatsSnapshot::TotalReceived() const {
  uint64_t n = 0;
  for (uint64_t v : points_received) n += v;
  return n;
}
uint64_t StatsSnapshot::TotalInvalid() const {
  uint64_t n = 0;
  for (uint64_t v : lines_invalid) n += v;
  return n;
}
uint64_t StatsSnapshot::TotalForwarded() const {
  uint64_t n = 0;
  for (const Destination& d : destinations) n += d.points_forwarded;
  return n;
}
uint64_t StatsSnapshot::TotalDropped() const {
  uint64_t n = 0;
  for (const Destination& d : destinations) {
    for (uint64_t v : d.points_dropped) n += v;
  }
  return n;
}
int64_t StatsSnapshot::TotalQueued() const {
  int64_t n = 0;
  for (const Destination& d : destinations) n += d.queue_points;
  return n;
}

int64_t StatsSnapshot::TotalAlertsActive() const {
  int64_t n = 0;
  for (int64_t active : alerts_active) n += active;
  return n;
}

namespace {

prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = "gralarm_" + std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddSample(prometheus::MetricFamily* f,
               std::vector<std::pair<std::string, std::string>> labels,
               double value) {
  prometheus::ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({std::move(k), std::move(v)});
  if (f->type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f->metric.push_back(std::move(m));
}

}  // namespace

std::string RenderPrometheus(const StatsSnapshot& s, std::string_view version) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;

  auto received =
      Family("points_received_total",
             "Valid points received, by ingest protocol.", MetricType::Counter);
  auto connections =
      Family("connections", "Open client connections, by protocol.",
             MetricType::Gauge);
  for (int i = 0; i < kNumProtos; ++i) {
    AddSample(&received, {{"proto", std::string(ProtoName(i))}},
              static_cast<double>(s.points_received[i]));
    AddSample(&connections, {{"proto", std::string(ProtoName(i))}},
              static_cast<double>(s.connections[i]));
  }
  auto invalid =
      Family("lines_invalid_total", "Invalid lines dropped, by reason.",
             MetricType::Counter);
  for (int i = 0; i < kNumInvalidReasons; ++i) {
    AddSample(&invalid, {{"reason", std::string(InvalidReasonName(i))}},
              static_cast<double>(s.lines_invalid[i]));
  }
  auto refused = Family("connections_refused_total",
                        "Client connections refused at ingest.max_connections.",
                        MetricType::Counter);
  AddSample(&refused, {}, static_cast<double>(s.connections_refused));
  auto pickle = Family("pickle_frames_invalid_total",
                       "Pickle frames dropped whole, by reason (opcode, "
                       "malformed, limit, too_large).",
                       MetricType::Counter);
  for (int i = 0; i < kNumPickleErrors; ++i) {
    AddSample(&pickle, {{"reason", std::string(PickleErrorName(i))}},
              static_cast<double>(s.pickle_frames_invalid[i]));
  }

  auto forwarded =
      Family("points_forwarded_total", "Points written to a destination.",
             MetricType::Counter);
  auto dropped =
      Family("points_dropped_total",
             "Points dropped on the way to a destination, by reason.",
             MetricType::Counter);
  auto queued = Family("forward_queue_points",
                       "Points waiting in a destination's memory queue.",
                       MetricType::Gauge);
  auto spool = Family("spool_bytes", "Bytes in a destination's disk spool.",
                      MetricType::Gauge);
  auto up = Family("destination_up", "1 while the destination is connected.",
                   MetricType::Gauge);
  for (const auto& d : s.destinations) {
    AddSample(&forwarded, {{"destination", d.name}},
              static_cast<double>(d.points_forwarded));
    for (int r = 0; r < kNumDropReasons; ++r) {
      AddSample(
          &dropped,
          {{"destination", d.name}, {"reason", std::string(DropReasonName(r))}},
          static_cast<double>(d.points_dropped[r]));
    }
    AddSample(&queued, {{"destination", d.name}},
              static_cast<double>(d.queue_points));
    AddSample(&spool, {{"destination", d.name}},
              static_cast<double>(d.spool_bytes));
    AddSample(&up, {{"destination", d.name}}, d.up ? 1.0 : 0.0);
  }
  auto peer_received =
      Family("peer_points_received_total",
             "Valid points read on cluster.listen (copies from the peers).",
             MetricType::Counter);
  AddSample(&peer_received, {}, static_cast<double>(s.peer_points_received));
  auto peer_invalid = Family("peer_lines_invalid_total",
                             "Invalid lines read on cluster.listen, dropped.",
                             MetricType::Counter);
  AddSample(&peer_invalid, {}, static_cast<double>(s.peer_lines_invalid));
  auto peer_copied = Family("peer_points_copied_total",
                            "Points copied to a peer (confirmed as for a "
                            "destination).",
                            MetricType::Counter);
  auto peer_dropped = Family("peer_points_dropped_total",
                             "Points dropped on the way to a peer, by reason.",
                             MetricType::Counter);
  auto peer_queued = Family("peer_queue_points",
                            "Points waiting in a peer link's memory queue.",
                            MetricType::Gauge);
  auto peer_spool =
      Family("peer_spool_bytes", "Bytes in a peer link's disk spool.",
             MetricType::Gauge);
  auto peer_up = Family("peer_up", "1 while the peer link is connected.",
                        MetricType::Gauge);
  for (const auto& d : s.peers) {
    AddSample(&peer_copied, {{"peer", d.name}},
              static_cast<double>(d.points_forwarded));
    for (int r = 0; r < kNumDropReasons; ++r) {
      AddSample(&peer_dropped,
                {{"peer", d.name}, {"reason", std::string(DropReasonName(r))}},
                static_cast<double>(d.points_dropped[r]));
    }
    AddSample(&peer_queued, {{"peer", d.name}},
              static_cast<double>(d.queue_points));
    AddSample(&peer_spool, {{"peer", d.name}},
              static_cast<double>(d.spool_bytes));
    AddSample(&peer_up, {{"peer", d.name}}, d.up ? 1.0 : 0.0);
  }
  auto rules = Family("rules", "Threshold rules in force.", MetricType::Gauge);
  AddSample(&rules, {}, static_cast<double>(s.rules));
  auto rules_invalid =
      Family("rules_invalid",
             "Stored rules not in force: they no longer resolve against the "
             "configuration (GET /api/v1/rules shows why).",
             MetricType::Gauge);
  AddSample(&rules_invalid, {}, static_cast<double>(s.rules_invalid));
  auto tracked =
      Family("series_tracked", "Series matched by at least one rule.",
             MetricType::Gauge);
  AddSample(&tracked, {}, static_cast<double>(s.series_tracked));
  auto late = Family("target_points_late_total",
                     "Points for a step of a target rule that had already "
                     "completed (not applied).",
                     MetricType::Counter);
  AddSample(&late, {}, static_cast<double>(s.target_points_late));
  auto duplicate = Family("target_outputs_duplicate_total",
                          "Output series of a target rule dropped because an "
                          "earlier output of the same step had the same name.",
                          MetricType::Counter);
  AddSample(&duplicate, {}, static_cast<double>(s.target_outputs_duplicate));
  auto history = Family("target_history_loads_total",
                        "History loads of target rules from graphite-web "
                        "/render, by result (ok, error).",
                        MetricType::Counter);
  AddSample(&history, {{"result", "ok"}},
            static_cast<double>(s.target_history_loads_ok));
  AddSample(&history, {{"result", "error"}},
            static_cast<double>(s.target_history_loads_error));
  auto active =
      Family("alerts_active", "Active alerts, by severity.", MetricType::Gauge);
  for (AlertState state : kAllAlertStates) {
    if (state == AlertState::kOk) continue;
    AddSample(&active, {{"severity", std::string(AlertStateName(state))}},
              static_cast<double>(s.alerts_active[Index(state)]));
  }
  auto transitions = Family("alert_transitions_total",
                            "Alert state transitions, by the state entered.",
                            MetricType::Counter);
  for (AlertState state : kAllAlertStates) {
    AddSample(&transitions, {{"to", std::string(AlertStateName(state))}},
              static_cast<double>(s.transitions[Index(state)]));
  }
  auto notifications = Family("notifications_total",
                              "Notification deliveries, by channel and result "
                              "(delivered, failed attempt, rejected, expired, "
                              "resent, left_to_peer).",
                              MetricType::Counter);
  for (const auto& [key, n] : s.notifications) {
    AddSample(&notifications, {{"channel", key.first}, {"result", key.second}},
              static_cast<double>(n));
  }
  auto outbox = Family("outbox_pending", "Notifications waiting in the outbox.",
                       MetricType::Gauge);
  AddSample(&outbox, {}, static_cast<double>(s.outbox_pending));
  auto sync_received =
      Family("sync_records_received_total",
             "Rules, templates and silences received from peers, by result "
             "(applied, ignored: not newer than the one held, refused).",
             MetricType::Counter);
  AddSample(&sync_received, {{"result", "applied"}},
            static_cast<double>(s.sync_applied));
  AddSample(&sync_received, {{"result", "ignored"}},
            static_cast<double>(s.sync_ignored));
  AddSample(&sync_received, {{"result", "refused"}},
            static_cast<double>(s.sync_refused));
  auto sync_queued =
      Family("sync_records_queued", "Records waiting to be sent to a peer API.",
             MetricType::Gauge);
  auto sync_sent =
      Family("sync_records_sent_total", "Records delivered to a peer API.",
             MetricType::Counter);
  auto sync_up = Family("sync_peer_up",
                        "1 while the last request to the peer API succeeded.",
                        MetricType::Gauge);
  for (const auto& p : s.sync_peers) {
    AddSample(&sync_queued, {{"peer", p.peer}}, static_cast<double>(p.queued));
    AddSample(&sync_sent, {{"peer", p.peer}}, static_cast<double>(p.sent));
    AddSample(&sync_up, {{"peer", p.peer}}, p.up ? 1.0 : 0.0);
  }
  for (auto* f : {&sync_received, &sync_queued, &sync_sent, &sync_up})
    families.push_back(std::move(*f));
  auto cluster_peer_up =
      Family("cluster_peer_up",
             "1 while the peer's API answers /healthz as a cluster "
             "node.",
             MetricType::Gauge);
  auto cluster_active =
      Family("cluster_active",
             "1 while this node sends the notifications of channels other "
             "than alertmanager; 0 while it holds them (standby).",
             MetricType::Gauge);
  auto outputs_held = Family(
      "target_outputs_held",
      "Target-rule output points this standby holds instead of forwarding.",
      MetricType::Gauge);
  auto outputs_left = Family(
      "target_outputs_left_to_peer_total",
      "Held target-rule output points dropped: the active node had time to "
      "forward them.",
      MetricType::Counter);
  auto outputs_held_dropped =
      Family("target_outputs_held_dropped_total",
             "Held target-rule output points dropped because the bound of "
             "held points was reached.",
             MetricType::Counter);
  if (s.cluster) {
    for (const auto& [peer, is_up] : s.cluster_peers_up)
      AddSample(&cluster_peer_up, {{"peer", peer}}, is_up ? 1.0 : 0.0);
    AddSample(&cluster_active, {}, s.cluster_active ? 1.0 : 0.0);
    AddSample(&outputs_held, {}, static_cast<double>(s.target_outputs_held));
    AddSample(&outputs_left, {},
              static_cast<double>(s.target_outputs_left_to_peer));
    AddSample(&outputs_held_dropped, {},
              static_cast<double>(s.target_outputs_held_dropped));
  }
  auto build = Family("build_info", "Always 1; the version is a label.",
                      MetricType::Gauge);
  AddSample(&build, {{"version", std::string(version)}}, 1.0);

  for (auto* f : {&received,      &invalid,
                  &connections,   &refused,
                  &pickle,        &forwarded,
                  &spool,         &dropped,
                  &queued,        &up,
                  &peer_received, &peer_invalid,
                  &peer_copied,   &peer_dropped,
                  &peer_queued,   &peer_spool,
                  &peer_up,       &rules,
                  &rules_invalid, &tracked,
                  &late,          &duplicate,
                  &history,       &active,
                  &transitions,   &notifications,
                  &outbox,        &build}) {
    families.push_back(std::move(*f));
  }
  if (s.cluster) {
    families.push_back(std::move(cluster_peer_up));
    families.push_back(std::move(cluster_active));
    families.push_back(std::move(outputs_held));
    families.push_back(std::move(outputs_left));
    families.push_back(std::move(outputs_held_dropped));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace gralarm
