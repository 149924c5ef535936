// GET /api/v1/graph: the graphite-web render proxy.
#include "api/graph.h"

#include <atomic>
#include <nlohmann/json.hpp>

#include "gralarm/graphite_web.h"
#include "gralarm/record_json.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

HttpResponse BadGraphParam(std::string_view field, std::string_view message) {
  nlohmann::json j = {{"error",
                       {{"code", "invalid_argument"},
                        {"message", StrCat(field, ": ", message)},
                        {"field", field}}}};
  return HttpResponse{400, "application/json", JsonText(j)};
}

std::string ParamOr(const std::map<std::string, std::string>& q,
                    const char* key, const char* fallback) {
  auto it = q.find(key);
  return it == q.end() || it->second.empty() ? fallback : it->second;
}

// Requests waiting on graphite-web now, process-wide.
std::atomic<int> graphs_in_flight{0};

// Holds one of the kMaxGraphsInFlight places while it lives (when it got one).
class InFlight {
 public:
  InFlight() : held_(graphs_in_flight.fetch_add(1) < kMaxGraphsInFlight) {
    if (!held_) graphs_in_flight.fetch_sub(1);
  }
  ~InFlight() {
    if (held_) graphs_in_flight.fetch_sub(1);
  }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  bool held() const { return held_; }

 private:
  const bool held_;
};

}  // namespace

HttpResponse GraphResponse(const GraphiteOptions& graphite,
                           const std::map<std::string, std::string>& query) {
  if (graphite.url.empty()) {
    return JsonError(400, "graphite_off",
                     "charts need graphite-web: [graphite] url is not set in "
                     "the config");
  }
  auto target = query.find("target");
  if (target == query.end() || target->second.empty()) {
    return BadGraphParam("target", "is required (a Graphite expression)");
  }
  if (target->second.size() > kMaxGraphTargetBytes) {
    return BadGraphParam(
        "target", StrCat("is longer than ", kMaxGraphTargetBytes, " bytes"));
  }
  const std::string from = ParamOr(query, "from", "-6h");
  const std::string until = ParamOr(query, "until", "now");
  for (const auto& [field, value] :
       {std::pair{"from", &from}, std::pair{"until", &until}}) {
    if (!IsGraphiteTime(*value)) {
      return BadGraphParam(
          field,
          "must be now, epoch seconds or a relative time such as -6h, -2d, "
          "now-30min");
    }
  }
  const InFlight place;
  if (!place.held()) {
    return JsonError(503, "unavailable",
                     StrCat(kMaxGraphsInFlight,
                            " chart requests are already waiting for "
                            "graphite-web; try again"));
  }
  auto body = GraphiteWebClient(graphite).Render(target->second, from, until);
  if (!body.ok()) {
    const std::string message = ValidUtf8(std::string(body.status().message()));
    // graphite-web refused the target (an unknown function...): the
    // caller's to fix. Anything else is graphite-web failing.
    if (body.status().code() == absl::StatusCode::kInvalidArgument) {
      return BadGraphParam("target", message);
    }
    return JsonError(502, "bad_gateway", message);
  }
  return HttpResponse{200, "application/json", std::move(*body)};
}

}  // namespace gralarm
