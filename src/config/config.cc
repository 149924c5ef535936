// TOML configuration loading. toml++ is used header-only without exceptions in
// this translation unit alone, so nothing here throws.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "gralarm/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gralarm/net_address.h"
#include "gralarm/strings.h"
#include "gralarm/toml.h"

namespace gralarm {
namespace {

// Collects "file:line:col: message" lines.
class Errors {
 public:
  explicit Errors(std::string_view file) : file_(file) {}

  void Add(const toml::source_region& where, std::string_view message) {
    lines_.push_back(StrCat(file_, ":", where.begin.line, ":",
                            where.begin.column, ": ", message));
  }
  void AddAtStart(std::string_view message) {
    lines_.push_back(StrCat(file_, ":1:1: ", message));
  }
  bool empty() const { return lines_.empty(); }
  std::string Joined() const { return absl::StrJoin(lines_, "\n"); }

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

// Reads the keys of one table, checking types and remembering which keys were
// known, so that Finish() can report the unknown ones.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string section, Errors* errors)
      : table_(table), section_(std::move(section)), errors_(errors) {}

  void Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
    const toml::node* node = Known(key);
    if (node == nullptr) return;
    if (auto v = node->value_exact<int64_t>()) {
      if (*v < min || *v > max) {
        errors_->Add(node->source(), StrCat(Name(key), " must be between ", min,
                                            " and ", max, ", not ", *v));
        return;
      }
      *out = *v;
    } else {
      errors_->Add(node->source(), StrCat(Name(key), " must be an integer"));
    }
  }

  void Bool(std::string_view key, bool* out) {
    const toml::node* node = Known(key);
    if (node == nullptr) return;
    if (auto v = node->value_exact<bool>()) {
      *out = *v;
    } else {
      errors_->Add(node->source(), StrCat(Name(key), " must be true or false"));
    }
  }

  // Returns the node when present and a string, for callers that validate
  // further.
  const toml::node* String(std::string_view key, std::string* out) {
    const toml::node* node = Known(key);
    if (node == nullptr) return nullptr;
    if (auto v = node->value_exact<std::string>()) {
      *out = *v;
      return node;
    }
    errors_->Add(node->source(), StrCat(Name(key), " must be a string"));
    return nullptr;
  }

  void StringList(std::string_view key, std::vector<std::string>* out) {
    const toml::node* node = Known(key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      errors_->Add(node->source(),
                   StrCat(Name(key), " must be an array of strings"));
      return;
    }
    out->clear();
    for (const toml::node& item : *array) {
      if (auto v = item.value_exact<std::string>()) {
        out->push_back(*v);
      } else {
        errors_->Add(item.source(),
                     StrCat(Name(key), " must hold strings only"));
      }
    }
  }

  // A nested table or array of tables the caller reads itself.
  const toml::node* Node(std::string_view key) { return Known(key); }

  // Reports every key that no accessor asked for.
  void Finish() {
    for (auto&& [key, node] : table_) {
      if (!known_.contains(std::string(key.str()))) {
        errors_->Add(key.source(), StrCat("unknown key \"", key.str(),
                                          "\" in [", section_, "]"));
      }
    }
  }

  std::string Name(std::string_view key) const {
    return StrCat(section_, ".", key);
  }

 private:
  const toml::node* Known(std::string_view key) {
    known_.insert(std::string(key));
    return table_.get(key);
  }

  const toml::table& table_;
  std::string section_;
  Errors* errors_;
  std::set<std::string> known_;
};

const toml::table* SubTable(TableReader& parent, std::string_view key,
                            Errors* errors) {
  const toml::node* node = parent.Node(key);
  if (node == nullptr) return nullptr;
  if (const toml::table* t = node->as_table()) return t;
  errors->Add(node->source(), StrCat("[", key, "] must be a table"));
  return nullptr;
}

void CheckAddress(const toml::node* node, const std::string& text,
                  std::string_view what, bool allow_empty, Errors* errors) {
  if (node == nullptr || (allow_empty && text.empty())) return;
  auto hp = ParseHostPort(text);
  if (!hp.ok())
    errors->Add(node->source(), StrCat(what, ": ", hp.status().message()));
}

void ReadIngest(const toml::table& t, IngestOptions* o, Errors* errors) {
  TableReader r(t, "ingest", errors);
  CheckAddress(r.String("listen", &o->listen), o->listen, "ingest.listen",
               false, errors);
  CheckAddress(r.String("pickle_listen", &o->pickle_listen), o->pickle_listen,
               "ingest.pickle_listen", true, errors);
  r.Int("max_line_bytes", &o->max_line_bytes, 64, 16 << 20);
  r.Int("max_connections", &o->max_connections, 1, 1000000);
  r.Int("idle_timeout_s", &o->idle_timeout_s, 0, 86400 * 7);
  r.Bool("allow_nan", &o->allow_nan);
  r.Bool("allow_non_utf8", &o->allow_non_utf8);
  r.Int("workers", &o->workers, 0, 256);
  r.Finish();
}

bool ParseForwardMethod(std::string_view name, ForwardMethod* out) {
  for (ForwardMethod m :
       {ForwardMethod::kForward, ForwardMethod::kCarbonCh,
        ForwardMethod::kCarbonChFixed, ForwardMethod::kFnv1aCh,
        ForwardMethod::kJumpFnv1aCh, ForwardMethod::kAnyOf}) {
    if (ForwardMethodName(m) == name) {
      *out = m;
      return true;
    }
  }
  return false;
}

void ReadForward(const toml::table& t, ForwardOptions* o, Errors* errors) {
  TableReader r(t, "forward", errors);
  std::string method = std::string(ForwardMethodName(o->method));
  if (const toml::node* node = r.String("method", &method)) {
    if (!ParseForwardMethod(method, &o->method)) {
      errors->Add(
          node->source(),
          StrCat("forward.method \"", method,
                 "\" is not one of forward, carbon_ch, carbon_ch_fixed, "
                 "fnv1a_ch, jump_fnv1a_ch, any_of"));
    }
  }
  r.Int("replication", &o->replication, 1, 64);
  r.Bool("diverse_replicas", &o->diverse_replicas);
  if (const toml::node* node = t.get("diverse_replicas");
      node != nullptr && o->method != ForwardMethod::kCarbonChFixed) {
    const bool replicated = o->method != ForwardMethod::kForward &&
                            o->method != ForwardMethod::kAnyOf;
    errors->Add(
        node->source(),
        StrCat("forward.diverse_replicas applies to carbon_ch_fixed only "
               "(Graphite carbon-relay's DIVERSE_REPLICAS); ",
               ForwardMethodName(o->method),
               replicated ? " places replicas on distinct destinations "
                            "whatever their host, as carbon-c-relay does"
                          : " has no replicas"));
  }
  r.Int("queue_points", &o->queue_points, 1, int64_t{1} << 34);
  r.String("spool_dir", &o->spool_dir);
  r.Int("spool_max_bytes", &o->spool_max_bytes, 0, int64_t{1} << 50);
  r.Int("reconnect_min_ms", &o->reconnect_min_ms, 1, 3600000);
  r.Int("reconnect_max_ms", &o->reconnect_max_ms, 1, 3600000);
  if (o->reconnect_max_ms < o->reconnect_min_ms) {
    errors->Add(t.source(),
                "forward.reconnect_max_ms must not be below reconnect_min_ms");
  }
  if (const toml::node* node = r.Node("destinations")) {
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      errors->Add(node->source(),
                  "forward.destinations must be an array of tables "
                  "([[forward.destinations]])");
    } else {
      o->destinations.clear();
      for (const toml::node& item : *array) {
        const toml::table* dt = item.as_table();
        if (dt == nullptr) {
          errors->Add(item.source(),
                      "each forward.destinations entry must be a table");
          continue;
        }
        DestinationOptions d;
        TableReader dr(*dt, "forward.destinations", errors);
        const toml::node* addr = dr.String("address", &d.address);
        dr.String("instance", &d.instance);
        dr.Finish();
        if (addr == nullptr) {
          errors->Add(dt->source(),
                      "forward.destinations entry needs an address");
          continue;
        }
        auto hp = ParseHostPort(d.address);
        if (!hp.ok()) {
          errors->Add(addr->source(), std::string(hp.status().message()));
          continue;
        }
        d.host = hp->host;
        d.port = hp->port;
        o->destinations.push_back(std::move(d));
      }
    }
  }
  r.Finish();
}

void ReadStore(const toml::table& t, StoreOptions* o, Errors* errors) {
  TableReader r(t, "store", errors);
  r.String("path", &o->path);
  r.Int("history_retention_days", &o->history_retention_days, 1, 36500);
  r.String("backup_dir", &o->backup_dir);
  r.Finish();
}

void ReadApi(const toml::table& t, ApiOptions* o, Errors* errors) {
  TableReader r(t, "api", errors);
  CheckAddress(r.String("listen", &o->listen), o->listen, "api.listen", false,
               errors);
  r.String("token", &o->token);
  if (const toml::node* node = r.String("token_file", &o->token_file);
      node != nullptr && !o->token_file.empty()) {
    // Fail closed: a token file that cannot give a token must not mean
    // "writes need no token".
    if (auto token = ReadTokenFile(o->token_file); !token.ok()) {
      errors->Add(node->source(), std::string(token.status().message()));
    }
  }
  const toml::node* hosts = r.Node("allowed_hosts");
  r.StringList("allowed_hosts", &o->allowed_hosts);
  for (const std::string& h : o->allowed_hosts) {
    const bool bad =
        h.empty() || h.find_first_of(" \t\r\n/\\@,;?#%") != std::string::npos;
    if (bad) {
      errors->Add(hosts->source(),
                  StrCat("api.allowed_hosts: \"", h,
                         "\" is not a host name, \"name:port\" or \"*\""));
    }
  }
  r.Finish();
}

// Why `url` is not a base URL gralarm can call (http:// or https://, a host,
// no white space), or empty when it is.
std::string HttpUrlProblem(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return "must start with http:// or https://";
  }
  if (rest.empty() || rest.front() == '/') return "has no host";
  for (char ch : url) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
      return "must not hold white space or control characters";
    }
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return "must not hold a query (?) or fragment (#)";
  }
  return "";
}

void TrimTrailingSlashes(std::string* url) {
  while (url->size() > 1 && url->back() == '/') url->pop_back();
}

void ReadGraphite(const toml::table& t, GraphiteOptions* o, Errors* errors) {
  TableReader r(t, "graphite", errors);
  if (const toml::node* node = r.String("url", &o->url);
      node != nullptr && !o->url.empty()) {
    if (std::string why = HttpUrlProblem(o->url); !why.empty()) {
      errors->Add(node->source(), StrCat("graphite.url \"", o->url, "\" ", why,
                                         " (graphite-web's base URL, e.g. "
                                         "http://graphite:8080; empty = off)"));
    }
    TrimTrailingSlashes(&o->url);
  }
  r.Int("timeout_ms", &o->timeout_ms, 1, 600000);
  r.Finish();
}

bool ValidNodeId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '_' &&
        ch != '.' && ch != '-') {
      return false;
    }
  }
  return true;
}

void ReadCluster(const toml::table& t, ClusterOptions* o, Errors* errors) {
  TableReader r(t, "cluster", errors);
  const toml::node* id = r.String("node_id", &o->node_id);
  if (id == nullptr) {
    errors->Add(t.source(), "cluster.node_id is required in [cluster]");
  } else if (!ValidNodeId(o->node_id)) {
    errors->Add(id->source(),
                StrCat("cluster.node_id \"", o->node_id,
                       "\" must be 1 to 64 of A-Z a-z 0-9 _ . -"));
  }
  CheckAddress(r.String("listen", &o->listen), o->listen, "cluster.listen",
               false, errors);
  r.StringList("peers", &o->peers);
  for (const std::string& peer : o->peers) {
    auto hp = ParseHostPort(peer);
    if (!hp.ok()) {
      errors->Add(t.source(), StrCat("cluster.peers \"", peer,
                                     "\": ", hp.status().message()));
    }
  }
  r.StringList("peer_apis", &o->peer_apis);
  for (std::string& url : o->peer_apis) {
    if (std::string why = HttpUrlProblem(url); !why.empty()) {
      errors->Add(t.source(), StrCat("cluster.peer_apis \"", url, "\" ", why,
                                     " (a peer's API base URL, e.g. "
                                     "http://10.0.0.2:2080)"));
    }
    TrimTrailingSlashes(&url);
  }
  if (o->peers.empty()) {
    errors->Add(t.source(), "cluster.peers needs the peer's cluster.listen "
                            "address (host:port)");
  }
  if (o->peer_apis.size() != o->peers.size()) {
    errors->Add(t.source(),
                StrCat("cluster.peer_apis has ", o->peer_apis.size(),
                       " URLs for ", o->peers.size(),
                       " cluster.peers: give each peer's API URL, in the "
                       "same order"));
  }
  const toml::node* token = r.String("peer_token", &o->peer_token);
  const toml::node* token_file = r.String("peer_token_file", &o->peer_token_file);
  if (token != nullptr && token_file != nullptr && !o->peer_token.empty() &&
      !o->peer_token_file.empty()) {
    errors->Add(token_file->source(),
                "set cluster.peer_token or cluster.peer_token_file, not both");
  } else if (token_file != nullptr && !o->peer_token_file.empty()) {
    auto read = ReadTokenFile(o->peer_token_file);
    if (!read.ok()) {
      errors->Add(token_file->source(),
                  StrCat("cluster.peer_token_file: ", read.status().message()));
    } else {
      o->peer_token = *std::move(read);
    }
  }
  r.Int("failover_s", &o->failover_s, 1, 86400);
  r.Int("timeout_ms", &o->timeout_ms, 1, 600000);
  r.Finish();
}

void ReadGrafana(const toml::table& t, GrafanaOptions* o, Errors* errors) {
  TableReader r(t, "grafana", errors);
  if (const toml::node* node = r.String("url", &o->url);
      node != nullptr && !o->url.empty()) {
    if (std::string why = HttpUrlProblem(o->url); !why.empty()) {
      errors->Add(node->source(),
                  StrCat("grafana.url \"", o->url, "\" ", why,
                         " (Grafana's base URL, e.g. http://grafana:3000; "
                         "empty = off)"));
    }
    TrimTrailingSlashes(&o->url);
  }
  const toml::node* token = r.String("token", &o->token);
  if (const toml::node* node = r.String("token_file", &o->token_file);
      node != nullptr && !o->token_file.empty()) {
    if (token != nullptr && !o->token.empty()) {
      errors->Add(node->source(), "grafana: set token or token_file, not both");
    } else if (auto read = ReadTokenFile(o->token_file); !read.ok()) {
      std::string message(read.status().message());
      if (message.starts_with("api.")) message.replace(0, 4, "grafana.");
      errors->Add(node->source(), message);
    } else {
      o->token = *std::move(read);
    }
  }
  r.Int("timeout_ms", &o->timeout_ms, 100, 300000);
  r.Finish();
}

void ReadSelfMetrics(const toml::table& t, SelfMetricsOptions* o,
                     Errors* errors) {
  TableReader r(t, "self_metrics", errors);
  r.Int("carbon_interval_s", &o->carbon_interval_s, 0, 86400);
  r.String("carbon_prefix", &o->carbon_prefix);
  r.Finish();
}

void ReadRules(const toml::table& t, RulesOptions* o, Errors* errors) {
  TableReader r(t, "rules", errors);
  r.StringList("files", &o->files);
  r.Finish();
}

void ReadEvaluation(const toml::table& t, EvaluationOptions* o,
                    Errors* errors) {
  TableReader r(t, "evaluation", errors);
  r.Int("nodata_guard_s", &o->nodata_guard_s, 0, 86400);
  r.Int("state_flush_ms", &o->state_flush_ms, 10, 3600000);
  r.Finish();
}

// "HH:MM" -> minutes after midnight; 24:00 is allowed as the end of a day.
bool ParseClock(std::string_view text, int* minutes) {
  if (text.size() != 5 || text[2] != ':') return false;
  auto digit = [&](int i) { return text[i] >= '0' && text[i] <= '9'; };
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4)) return false;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

void ReadSchedules(const toml::table& t, std::vector<ScheduleOptions>* out,
                   Errors* errors) {
  static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu",
                                               "fri", "sat", "sun"};
  for (auto&& [key, node] : t) {
    const std::string name(key.str());
    const toml::table* st = node.as_table();
    if (st == nullptr) {
      errors->Add(node.source(),
                  StrCat("[schedules.", name, "] must be a table"));
      continue;
    }
    if (name == "24x7") {
      errors->Add(key.source(),
                  "schedule \"24x7\" is built in and cannot be redefined");
      continue;
    }
    ScheduleOptions s;
    s.name = name;
    TableReader r(*st, StrCat("schedules.", name), errors);
    std::vector<std::string> days;
    if (const toml::node* d = r.Node("days")) {
      r.StringList("days", &days);
      s.days = 0;
      for (const std::string& day : days) {
        auto it = std::find(std::begin(kDays), std::end(kDays), day);
        if (it == std::end(kDays)) {
          errors->Add(d->source(),
                      StrCat("schedules.", name, ".days: \"", day,
                             "\" is not one of mon, tue, wed, thu, fri, "
                             "sat, sun"));
          continue;
        }
        s.days |= static_cast<uint8_t>(1u << (it - std::begin(kDays)));
      }
    }
    std::string from = "08:00", to = "22:00";
    if (const toml::node* n = r.String("from", &from);
        n && !ParseClock(from, &s.from_minute)) {
      errors->Add(n->source(),
                  StrCat(r.Name("from"), " must be HH:MM, not \"", from, "\""));
    }
    if (const toml::node* n = r.String("to", &to);
        n && !ParseClock(to, &s.to_minute)) {
      errors->Add(n->source(),
                  StrCat(r.Name("to"), " must be HH:MM, not \"", to, "\""));
    }
    if (const toml::node* n = r.String("timezone", &s.timezone)) {
      absl::TimeZone tz;
      if (!absl::LoadTimeZone(s.timezone, &tz)) {
        errors->Add(n->source(),
                    StrCat(r.Name("timezone"), ": unknown time zone \"",
                           s.timezone, "\" (is tzdata installed?)"));
      }
    }
    r.Finish();
    out->push_back(std::move(s));
  }
}

void ReadNotify(const toml::table& t, std::vector<ChannelOptions>* out,
                Errors* errors) {
  TableReader r(t, "notify", errors);
  if (const toml::node* node = r.Node("channels")) {
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      errors->Add(node->source(),
                  "notify.channels must be an array of tables "
                  "([[notify.channels]])");
    } else {
      for (const toml::node& item : *array) {
        const toml::table* ct = item.as_table();
        if (ct == nullptr) {
          errors->Add(item.source(),
                      "each notify.channels entry must be a table");
          continue;
        }
        ChannelOptions c;
        TableReader cr(*ct, "notify.channels", errors);
        const toml::node* name = cr.String("name", &c.name);
        const toml::node* type = cr.String("type", &c.type);
        cr.String("url", &c.url);
        cr.StringList("command", &c.command);
        cr.StringList("phones", &c.phones);
        cr.Int("timeout_ms", &c.timeout_ms, 1, 600000);
        cr.Int("repeat_interval_s", &c.repeat_interval_s, 0, 86400 * 30);
        const toml::node* group_by = cr.Node("group_by");
        if (group_by != nullptr) {
          c.group_by.emplace();
          cr.StringList("group_by", &*c.group_by);
        }
        cr.Int("group_wait_s", &c.group_wait_s, 0, 86400);
        cr.Int("group_interval_s", &c.group_interval_s, 0, 86400);
        cr.Int("max_per_minute", &c.max_per_minute, 0, 100000);
        cr.Finish();
        if (name == nullptr || c.name.empty()) {
          errors->Add(ct->source(), "notify.channels entry needs a name");
          continue;
        }
        if (c.type != "alertmanager" && c.type != "webhook" &&
            c.type != "command" && c.type != "graphite_events") {
          errors->Add(type ? type->source() : ct->source(),
                      StrCat("notify.channels \"", c.name,
                             "\": type must be alertmanager, webhook, "
                             "command or graphite_events"));
          continue;
        }
        if (c.type == "graphite_events" && !c.url.empty()) {
          if (std::string why = HttpUrlProblem(c.url); !why.empty()) {
            errors->Add(ct->source(),
                        StrCat("notify.channels \"", c.name, "\": url \"",
                               c.url, "\" ", why,
                               " (graphite-web's base URL; events are POSTed "
                               "to <url>/events/)"));
            continue;
          }
          TrimTrailingSlashes(&c.url);
        }
        // A graphite_events channel without a url takes [graphite] url
        // (Validate).
        const bool url_required =
            c.type == "alertmanager" || c.type == "webhook";
        if (c.type == "command" ? c.command.empty()
                                : url_required && c.url.empty()) {
          errors->Add(ct->source(),
                      StrCat("notify.channels \"", c.name,
                             "\": ", c.type == "command" ? "command" : "url",
                             " is required for type ", c.type));
          continue;
        }
        if (c.type == "graphite_events" && c.grouped()) {
          errors->Add(ct->source(),
                      StrCat("notify.channels \"", c.name,
                             "\": group_by, group_wait_s, group_interval_s "
                             "and max_per_minute are not for graphite_events "
                             "channels (each transition is its own event)"));
          continue;
        }
        if (c.type == "alertmanager" && c.grouped()) {
          errors->Add(ct->source(),
                      StrCat("notify.channels \"", c.name,
                             "\": group_by, group_wait_s, group_interval_s "
                             "and max_per_minute are not for alertmanager "
                             "channels (Alertmanager groups by itself)"));
          continue;
        }
        for (const ChannelOptions& other : *out) {
          if (other.name == c.name) {
            errors->Add(ct->source(), StrCat("notify.channels \"", c.name,
                                             "\" is defined twice"));
          }
        }
        out->push_back(std::move(c));
      }
    }
  }
  r.Finish();
}

// Cross-field checks that need the whole file.
void Validate(const toml::table& root, Config* c, Errors* errors) {
  const ForwardOptions& f = c->forward;
  const toml::source_region where =
      root.contains("forward") ? root.get("forward")->source() : root.source();
  if (f.method != ForwardMethod::kForward &&
      f.method != ForwardMethod::kAnyOf && !f.destinations.empty() &&
      f.replication > static_cast<int64_t>(f.destinations.size())) {
    errors->Add(where, StrCat("forward.replication (", f.replication,
                              ") exceeds the number of destinations (",
                              f.destinations.size(), ")"));
  }
  std::set<std::string> seen;
  // carbon_ch_fixed places a destination on the ring by (host, instance), as
  // carbon-relay does: two that share both would take the same positions.
  std::map<std::pair<std::string, std::string>, std::string> ring_keys;
  for (const DestinationOptions& d : f.destinations) {
    std::string key = StrCat(d.host, ":", d.port, "=", d.instance);
    if (!seen.insert(key).second) {
      errors->Add(where, StrCat("destination ", d.address,
                                (d.instance.empty() ? "" : "=" + d.instance),
                                " is listed twice"));
      continue;
    }
    if (f.method != ForwardMethod::kCarbonChFixed) continue;
    auto [it, inserted] =
        ring_keys.emplace(std::make_pair(d.host, d.instance), d.address);
    if (!inserted) {
      errors->Add(
          where,
          StrCat("destinations ", it->second, " and ", d.address,
                 " have the same host and instance",
                 d.instance.empty() ? " (none)" : StrCat(" (", d.instance, ")"),
                 ": carbon_ch_fixed places destinations on its ring by host "
                 "and instance, as carbon-relay does, so give each an "
                 "instance name (the carbon-cache instance it feeds)"));
    }
  }
  for (ChannelOptions& ch : c->channels) {
    if (ch.type != "graphite_events" || !ch.url.empty()) continue;
    if (c->graphite.url.empty()) {
      const toml::source_region notify_where =
          root.contains("notify") ? root.get("notify")->source()
                                  : root.source();
      errors->Add(notify_where,
                  StrCat("notify.channels \"", ch.name,
                         "\": a graphite_events channel needs a url, or "
                         "[graphite] url to default to"));
      continue;
    }
    ch.url = c->graphite.url;
  }
  if (c->api.token.empty() && c->api.token_file.empty()) {
    auto hp = ParseHostPort(c->api.listen);
    if (hp.ok() && !IsLoopbackHost(hp->host)) {
      const toml::source_region api_where =
          root.contains("api") ? root.get("api")->source() : root.source();
      errors->Add(api_where,
                  StrCat("api.listen ", c->api.listen,
                         " is not a loopback address: set api.token or "
                         "api.token_file, or listen on 127.0.0.1"));
    }
  }
}

}  // namespace

const ScheduleOptions* Config::FindSchedule(std::string_view name) const {
  for (const ScheduleOptions& s : schedules) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ChannelOptions* Config::FindChannel(std::string_view name) const {
  for (const ChannelOptions& c : channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(StrCat("api.token_file ", path,
                                      ": cannot read: ", std::strerror(errno)));
  }
  struct stat st;
  std::string text;
  absl::Status status;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(
        StrCat("api.token_file ", path, ": not a regular file"));
  } else {
    // The first line is all that counts; 4 KiB is plenty for it.
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      status = absl::UnavailableError(StrCat(
          "api.token_file ", path, ": cannot read: ", std::strerror(errno)));
    } else {
      text.assign(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  if (!status.ok()) return status;
  text = text.substr(0, text.find('\n'));
  const size_t begin = text.find_first_not_of(" \t\r\f\v");
  if (begin == std::string::npos) {
    return absl::FailedPreconditionError(
        StrCat("api.token_file ", path,
               ": is empty (its first line must hold the token)"));
  }
  const size_t end = text.find_last_not_of(" \t\r\f\v");
  return text.substr(begin, end - begin + 1);
}

std::string_view ForwardMethodName(ForwardMethod method) {
  switch (method) {
    case ForwardMethod::kForward:
      return "forward";
    case ForwardMethod::kCarbonCh:
      return "carbon_ch";
    case ForwardMethod::kCarbonChFixed:
      return "carbon_ch_fixed";
    case ForwardMethod::kFnv1aCh:
      return "fnv1a_ch";
    case ForwardMethod::kJumpFnv1aCh:
      return "jump_fnv1a_ch";
    case ForwardMethod::kAnyOf:
      return "any_of";
  }
  return "forward";
}

absl::StatusOr<std::shared_ptr<const Config>> ParseConfig(
    std::string_view toml_text, std::string_view file_name) {
  Errors errors(file_name);
  toml::parse_result parsed = toml::parse(toml_text, file_name);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    errors.Add(e.source(), e.description());
    return absl::InvalidArgumentError(errors.Joined());
  }
  const toml::table& root = parsed.table();
  auto config = std::make_shared<Config>();
  config->source_path = std::string(file_name);

  TableReader top(root, "top level", &errors);
  if (const toml::table* t = SubTable(top, "ingest", &errors)) {
    ReadIngest(*t, &config->ingest, &errors);
  }
  if (const toml::table* t = SubTable(top, "forward", &errors)) {
    ReadForward(*t, &config->forward, &errors);
  }
  if (const toml::table* t = SubTable(top, "store", &errors)) {
    ReadStore(*t, &config->store, &errors);
  }
  if (const toml::table* t = SubTable(top, "api", &errors)) {
    ReadApi(*t, &config->api, &errors);
  }
  if (const toml::table* t = SubTable(top, "grafana", &errors)) {
    ReadGrafana(*t, &config->grafana, &errors);
  }
  if (const toml::table* t = SubTable(top, "self_metrics", &errors)) {
    ReadSelfMetrics(*t, &config->self_metrics, &errors);
  }
  if (const toml::table* t = SubTable(top, "rules", &errors)) {
    ReadRules(*t, &config->rules, &errors);
  }
  if (const toml::table* t = SubTable(top, "evaluation", &errors)) {
    ReadEvaluation(*t, &config->evaluation, &errors);
  }
  if (const toml::table* t = SubTable(top, "schedules", &errors)) {
    ReadSchedules(*t, &config->schedules, &errors);
  }
  if (const toml::table* t = SubTable(top, "notify", &errors)) {
    ReadNotify(*t, &config->channels, &errors);
  }
  if (const toml::table* t = SubTable(top, "graphite", &errors)) {
    ReadGraphite(*t, &config->graphite, &errors);
  }
  if (const toml::table* t = SubTable(top, "cluster", &errors)) {
    ReadCluster(*t, &config->cluster, &errors);
  }
  top.Finish();
  Validate(root, config.get(), &errors);
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Joined());
  return std::shared_ptr<const Config>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const Config>> LoadConfigFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(StrCat(path, ":1:1: cannot open config file"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace gralarm
