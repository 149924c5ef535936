#ifndef GRALARM_API_SETTINGS_H_
#define GRALARM_API_SETTINGS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gralarm/api.h"
#include "gralarm/config.h"

namespace gralarm {

// Whether a peer service (Grafana, graphite-web) answers, as GET
// /api/v1/settings shows it.
struct ConnectionState {
  std::string state;    // "ok", "error" or "off" (no url configured)
  std::string message;  // why, for "error"
};

// What GET /api/v1/settings shows besides the config.
struct SettingsState {
  ConnectionState grafana, graphite;
  std::optional<uint64_t> store_bytes;  // none when the walk failed
  std::optional<ClusterView> cluster;
  bool token_required = false;
};

// The read-only view of what is in force (README "HTTP API and web page",
// GET /api/v1/settings). Holds no secret: urls lose their user information
// and query, commands keep their program only, phone numbers are counted.
nlohmann::json SettingsJson(const Config& config, const SettingsState& state);

// GET <grafana>/api/search?limit=1 with the configured token (so a refused
// token shows), bounded by min(timeout_ms, kProbeTimeoutMs).
ConnectionState ProbeGrafana(const GrafanaOptions& options);
// GET <graphite-web>/metrics/find?query=* (the top level of its tree).
ConnectionState ProbeGraphite(const GraphiteOptions& options);
inline constexpr int64_t kProbeTimeoutMs = 3000;

// The bytes of the regular files under `dir`, those under `skip` (a
// directory of backups inside it) aside; none when `dir` cannot be read.
std::optional<uint64_t> DirectoryBytes(const std::string& dir,
                                       const std::string& skip);

}  // namespace gralarm

#endif  // GRALARM_API_SETTINGS_H_
