#include "api/settings.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_format.h"
#include "gralarm/grafana.h"
#include "gralarm/graphite_web.h"
#include "gralarm/http_client.h"
#include "gralarm/version.h"

namespace gralarm {
namespace {

using json = nlohmann::json;

// A url as shown: no user information, no query (where tokens hide).
std::string ShownUrl(std::string_view url) {
  std::string out = RedactUrl(url);
  if (const size_t q = out.find_first_of("?#"); q != std::string::npos) {
    out.erase(q);
  }
  return out;
}

std::string Clock(int minute) {
  return absl::StrFormat("%02d:%02d", minute / 60, minute % 60);
}

json ScheduleJson(const ScheduleOptions& s) {
  static constexpr const char* kDays[] = {"mon", "tue", "wed", "thu",
                                          "fri", "sat", "sun"};
  json days = json::array();
  for (int d = 0; d < 7; ++d) {
    if (s.days & (1u << d)) days.push_back(kDays[d]);
  }
  return {{"name", s.name},
          {"days", std::move(days)},
          {"from", Clock(s.from_minute)},
          {"to", Clock(s.to_minute)},
          {"timezone", s.timezone}};
}

json ChannelJson(const ChannelOptions& c) {
  json j = {{"name", c.name},
            {"type", c.type},
            {"url", ShownUrl(c.url)},
            {"command", c.command.empty() ? "" : c.command.front()},
            {"phones", c.phones.size()},
            {"repeat_interval_s", c.repeat_interval_s},
            {"group_by", nullptr},
            {"group_wait_s", c.group_wait_s},
            {"group_interval_s", c.group_interval_s},
            {"max_per_minute", c.max_per_minute}};
  if (c.group_by) j["group_by"] = *c.group_by;
  return j;
}

json StateJson(const std::string& url, const ConnectionState& s) {
  return {{"url", ShownUrl(url)}, {"state", s.state}, {"message", s.message}};
}

ConnectionState StateOf(const absl::Status& s) {
  if (s.ok()) return {"ok", ""};
  return {"error", std::string(s.message())};
}

}  // namespace

json SettingsJson(const Config& config, const SettingsState& state) {
  json schedules = json::array();
  const bool has_24x7 =
      std::any_of(config.schedules.begin(), config.schedules.end(),
                  [](const ScheduleOptions& s) { return s.name == "24x7"; });
  if (!has_24x7) {
    ScheduleOptions always;
    always.name = "24x7";
    always.from_minute = 0;
    always.to_minute = 24 * 60;
    schedules.push_back(ScheduleJson(always));
  }
  for (const ScheduleOptions& s : config.schedules) {
    schedules.push_back(ScheduleJson(s));
  }
  json channels = json::array();
  for (const ChannelOptions& c : config.channels) {
    channels.push_back(ChannelJson(c));
  }
  json cluster = nullptr;
  if (state.cluster) {
    json peers = json::array();
    for (const ClusterView::Peer& p : state.cluster->peers) {
      peers.push_back({{"api", p.api}, {"up", p.up}});
    }
    cluster = {{"node_id", config.cluster.node_id},
               {"active", state.cluster->active},
               {"peers", std::move(peers)}};
  }
  json store = {{"path", config.store.path}, {"size_bytes", nullptr}};
  if (state.store_bytes) store["size_bytes"] = *state.store_bytes;
  return {{"version", kVersion},
          {"node_id", config.cluster.node_id},
          {"channels", std::move(channels)},
          {"schedules", std::move(schedules)},
          {"grafana", StateJson(config.grafana.url, state.grafana)},
          {"graphite", StateJson(config.graphite.url, state.graphite)},
          {"store", std::move(store)},
          {"api", {{"token_required", state.token_required}}},
          {"cluster", std::move(cluster)}};
}

ConnectionState ProbeGrafana(const GrafanaOptions& options) {
  if (options.url.empty()) return {"off", ""};
  GrafanaOptions bounded = options;
  bounded.timeout_ms = std::min(options.timeout_ms, kProbeTimeoutMs);
  return StateOf(grafana::GrafanaClient(bounded).Search("").status());
}

ConnectionState ProbeGraphite(const GraphiteOptions& options) {
  if (options.url.empty()) return {"off", ""};
  GraphiteWebClient client(options.url,
                           std::min(options.timeout_ms, kProbeTimeoutMs));
  return StateOf(client.Find("*").status());
}

std::optional<uint64_t> DirectoryBytes(const std::string& dir,
                                       const std::string& skip) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return std::nullopt;
  const fs::path skipped =
      skip.empty() ? fs::path() : fs::weakly_canonical(skip, ec);
  uint64_t total = 0;
  for (; it != end; it.increment(ec)) {
    if (ec) return std::nullopt;
    if (it->is_directory(ec)) {
      if (!skipped.empty() && fs::weakly_canonical(it->path(), ec) == skipped) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_regular_file(ec)) {
      const uintmax_t size = it->file_size(ec);
      if (!ec) total += size;
    }
  }
  return total;
}

}  // namespace gralarm
