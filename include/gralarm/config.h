#ifndef GRALARM_CONFIG_H_
#define GRALARM_CONFIG_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gralarm {

// [ingest]: how collectors reach gralarm.
struct IngestOptions {
  // Plaintext protocol, TCP and UDP on the same host:port.
  std::string listen = "0.0.0.0:2003";
  // Pickle protocol listener; empty = off.
  std::string pickle_listen;
  // Lines longer than this (without the line end) are dropped and counted.
  int64_t max_line_bytes = 4096;
  // Connections past this many are refused.
  int64_t max_connections = 10000;
  // A client connection silent this long is closed.
  int64_t idle_timeout_s = 600;
  // NaN/Inf values are forwarded when true, dropped and counted otherwise.
  bool allow_nan = false;
  // Paths carbon-cache cannot decode (not strict UTF-8, or holding Unicode
  // white space) are forwarded when true, dropped and counted (not_utf8)
  // otherwise. Only for destinations that store names as bytes.
  bool allow_non_utf8 = false;
  // Event loops serving ingest; 0 = number of cores.
  int64_t workers = 0;
};

// One [[forward.destinations]] entry: a carbon-cache line receiver.
struct DestinationOptions {
  std::string address;   // host:port as written in the config
  std::string host;      // host part, as used by the hash rings
  uint16_t port = 0;     // port part
  std::string instance;  // carbon instance name; empty = none
};

// How each routing method places a metric; see README "Routing methods".
enum class ForwardMethod {
  kForward,        // every destination
  kCarbonCh,       // carbon-c-relay carbon_ch (md5 ring, positions may collide)
  kCarbonChFixed,  // Graphite carbon-relay >= 0.9.13 (colliding positions move
                   // up)
  kFnv1aCh,        // carbon-c-relay fnv1a_ch
  kJumpFnv1aCh,    // carbon-c-relay jump_fnv1a_ch
  kAnyOf,          // one destination by hash, failing over to the next live one
};

// [forward]: where valid points go.
struct ForwardOptions {
  ForwardMethod method = ForwardMethod::kForward;
  int64_t replication = 1;
  // carbon_ch_fixed only (the config refuses the key for other methods): a
  // replica never goes to a host (DestinationOptions::host, compared as
  // written) that an earlier replica of the metric went to, as Graphite
  // carbon-relay's DIVERSE_REPLICAS (default True since carbon 1.0). With fewer
  // distinct hosts than `replication`, a metric gets one copy per host.
  bool diverse_replicas = true;
  // Points held in memory per destination before the oldest are dropped.
  int64_t queue_points = 1000000;
  std::string spool_dir;
  int64_t spool_max_bytes = 10737418240;
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 10000;
  std::vector<DestinationOptions> destinations;
};

// [store]
struct StoreOptions {
  std::string path = "/var/lib/gralarm";
  int64_t history_retention_days = 90;
  std::string backup_dir;
};

// [api]
struct ApiOptions {
  std::string listen = "127.0.0.1:2080";
  // Writes need "Authorization: Bearer <token>" when either is set; the token
  // wins over the file.
  std::string token;
  // The token is this file's first line; it must exist and hold one (checked
  // at load: a missing or empty file is a config error, never "no token").
  std::string token_file;
  // Host header values the HTTP server answers besides its listen address and
  // localhost (HostAllowed in http_server.h): "name", "name:port", or "*".
  std::vector<std::string> allowed_hosts;
};

// [self_metrics]
struct SelfMetricsOptions {
  // 0 = off; else carbon.relays.<host>.* points go into the stream this often.
  int64_t carbon_interval_s = 60;
  // "{host}" is replaced by the host name with dots turned into underscores.
  std::string carbon_prefix = "carbon.relays.{host}";
};

// [rules]
struct RulesOptions {
  // TOML rule files loaded at start and on SIGHUP; their rules are read-only.
  std::vector<std::string> files;
};

// [evaluation]
struct EvaluationOptions {
  // While no point at all arrived for this long, no-data checks pause.
  int64_t nodata_guard_s = 60;
  // Per-series counters and last values are persisted at least this often.
  int64_t state_flush_ms = 1000;
};

// [graphite]: graphite-web, for charts (/api/v1/graph), metric lookup and the
// graphite_events channel's default url.
struct GraphiteOptions {
  // graphite-web's base URL (http:// or https://, no trailing slash: the
  // parser trims it); empty = off.
  std::string url;
  // Bounds each request to graphite-web.
  int64_t timeout_ms = 10000;
};

// [schedules.NAME]: an alert period. "24x7" always exists.
struct ScheduleOptions {
  std::string name;
  uint8_t days = 0x7f;       // bit 0 = Monday ... bit 6 = Sunday
  int from_minute = 8 * 60;  // minutes after local midnight, inclusive
  int to_minute =
      22 * 60;  // exclusive; below from_minute = the period spans midnight
  std::string timezone = "UTC";
};

// [[notify.channels]]
struct ChannelOptions {
  std::string name;
  std::string type;  // alertmanager | webhook | command | graphite_events
  // graphite_events: filled from [graphite] url when not set.
  std::string url;
  std::vector<std::string> command;
  std::vector<std::string> phones;
  int64_t timeout_ms = 5000;
  int64_t repeat_interval_s = 14400;
  // Grouping (not for alertmanager channels, which group by themselves).
  // Alerts whose labels agree on `group_by` form one group ("rule_id" stands
  // for the alertname label; "..." groups by every label, so each alert is a
  // group of its own); an empty list puts every alert of the channel in one
  // group. A new group's first notification waits group_wait_s for more; then
  // the group is notified at most every group_interval_s, with what changed.
  // Past max_per_minute messages in the last minute, the due groups go out
  // as one digest per group_interval_s (still within max_per_minute).
  // Grouping is on when any of these keys is set (grouped() is true).
  std::optional<std::vector<std::string>> group_by;
  int64_t group_wait_s = 0;
  int64_t group_interval_s = 0;
  int64_t max_per_minute = 0;  // 0 = no limit
  bool grouped() const {
    return group_by.has_value() || group_wait_s > 0 || group_interval_s > 0 ||
           max_per_minute > 0;
  }
};

// [grafana]: the Grafana whose dashboards rules are imported from (README
// "Grafana"). Off when url is empty.
struct GrafanaOptions {
  // Base url, e.g. "http://grafana:3000" (a trailing '/' is removed).
  std::string url;
  // The service-account token sent as "Authorization: Bearer <token>": token,
  // or the first line of token_file (read when the config is loaded, so at
  // start and on every reload; setting both is an error). Never logged.
  std::string token;
  std::string token_file;
  int64_t timeout_ms = 10000;
};

// [cluster]: an active-active pair (README "Redundancy"). Off when node_id is
// empty (the section absent).
struct ClusterOptions {
  // This node's name, unique in the cluster: 1 to 64 of [A-Za-z0-9_.-].
  // Records written here carry it; the lowest node_id among the live nodes
  // sends the notifications of channels other than alertmanager.
  std::string node_id;
  // Where peer copies of client points arrive (host:port). Points read here
  // are evaluated but neither forwarded nor copied again.
  std::string listen = "0.0.0.0:2005";
  // The peers' cluster.listen addresses (host:port), where this node copies
  // every point its clients send.
  std::vector<std::string> peers;
  // The peers' API base URLs (http:// or https://), in the order of `peers`:
  // health, and the rules, templates and silences this node is missing.
  std::vector<std::string> peer_apis;
  // The write token of the peers' APIs (their api.token): peer_token, or the
  // first line of peer_token_file (setting both is an error). Never logged.
  std::string peer_token;
  std::string peer_token_file;
  // A standby sends the notifications of non-alertmanager channels once every
  // node before it has been unreachable for this long.
  int64_t failover_s = 30;
  // Bounds each request to a peer's API.
  int64_t timeout_ms = 5000;
  bool enabled() const { return !node_id.empty(); }
};

// The whole parsed configuration. Built once, then shared read-only by every
// loop.
struct Config {
  std::string source_path;  // file it was read from; empty for defaults
  IngestOptions ingest;
  ForwardOptions forward;
  StoreOptions store;
  ApiOptions api;
  SelfMetricsOptions self_metrics;
  RulesOptions rules;
  EvaluationOptions evaluation;
  GraphiteOptions graphite;
  std::vector<ScheduleOptions> schedules;
  std::vector<ChannelOptions> channels;
  GrafanaOptions grafana;
  ClusterOptions cluster;

  // The schedule or channel of that name, or null.
  const ScheduleOptions* FindSchedule(std::string_view name) const;
  const ChannelOptions* FindChannel(std::string_view name) const;
};

// Parses TOML text. Every problem is reported as "file:line:col: message", one
// per line, in the returned status message (InvalidArgument). Unknown keys are
// errors.
absl::StatusOr<std::shared_ptr<const Config>> ParseConfig(
    std::string_view toml_text, std::string_view file_name);

// Reads and parses a config file; a missing file is NotFound.
absl::StatusOr<std::shared_ptr<const Config>> LoadConfigFile(
    const std::string& path);

// The token in an api.token_file: its first line, surrounding white space
// removed. A file that is missing, unreadable, not a regular file, or whose
// first line is blank is an error naming the path.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Name of a forward method as written in the config ("carbon_ch", ...).
std::string_view ForwardMethodName(ForwardMethod method);

}  // namespace gralarm

#endif  // GRALARM_CONFIG_H_
