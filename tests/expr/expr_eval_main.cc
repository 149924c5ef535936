// expr_eval: reads one JSON object on stdin
//   {"target": "sumSeries(a.*)", "step_s": 10,
//    "points": [["a.b", 1.5, 1700000000], ...]}
// evaluates the target over the points (expr::EvaluatePoints) and prints
// graphite-web's /render?format=json shape:
//   [{"target": "<name>", "datapoints": [[value or null, t], ...]}, ...]
// Errors go to stderr with exit status 1 (2 for unreadable input).
#include <cmath>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "expr/evaluate_points.h"
#include "expr/pyformat.h"
#include "expr/catalog.h"
#include "expr/parser.h"

int main() {
  std::string input((std::istreambuf_iterator<char>(std::cin)),
                    std::istreambuf_iterator<char>());
  nlohmann::json request = nlohmann::json::parse(input, nullptr, false);
  if (request.is_discarded() || !request.is_object() ||
      !request.contains("target") || !request["target"].is_string() ||
      !request.contains("step_s") || !request["step_s"].is_number_integer()) {
    std::cerr << "expr_eval: expected {\"target\": ..., \"step_s\": ..., "
                 "\"points\": [[path, value, ts], ...]}\n";
    return 2;
  }
  std::vector<gralarm::expr::InputPoint> points;
  for (const auto& p : request.value("points", nlohmann::json::array())) {
    if (!p.is_array() || p.size() != 3 || !p[0].is_string() ||
        !p[1].is_number() || !p[2].is_number()) {
      std::cerr << "expr_eval: a point is [path, value, timestamp]\n";
      return 2;
    }
    points.push_back({p[0].get<std::string>(), p[1].get<double>(),
                      static_cast<int64_t>(std::floor(p[2].get<double>()))});
  }
  auto target = gralarm::expr::Parse(request["target"].get<std::string>());
  if (target.ok()) {
    if (absl::Status valid = gralarm::expr::Validate(*target); !valid.ok()) {
      target = valid;
    }
  }
  if (!target.ok()) {
    std::cerr << "expr_eval: " << target.status().message() << "\n";
    return 1;
  }
  auto result = gralarm::expr::EvaluatePoints(
      *target, request["step_s"].get<int64_t>(), points);
  if (!result.ok()) {
    std::cerr << "expr_eval: " << result.status().message() << "\n";
    return 1;
  }
  // Written by hand so that values print as Python prints floats (and inf as
  // graphite's 1e9999, NaN as null).
  std::string out = "[";
  bool first_series = true;
  for (const auto& series : *result) {
    if (!first_series) out += ", ";
    first_series = false;
    out += "{\"target\": " + nlohmann::json(series.name).dump() +
           ", \"datapoints\": [";
    bool first_point = true;
    for (const auto& [value, t] : series.datapoints) {
      if (!first_point) out += ", ";
      first_point = false;
      std::string v = "null";
      if (value && std::isinf(*value)) {
        v = *value > 0 ? "1e9999" : "-1e9999";
      } else if (value && !std::isnan(*value)) {
        v = gralarm::expr::PyRepr(*value);
      }
      out += "[" + v + ", " + std::to_string(t) + "]";
    }
    out += "]}";
  }
  out += "]\n";
  std::cout << out;
  return 0;
}
