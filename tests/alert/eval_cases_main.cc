// Reads alert_model.py cases (JSON lines) on stdin and prints, per case, the
// levels after each point and the transitions the C++ evaluator produces, as
// JSON lines
// {"levels": [...], "events": [[i, from, to], ...]}. Used by
// tests/integration/test_alert_model.py to compare against the reference model.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "gralarm/evaluator.h"

int main() {
  using gralarm::Level;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlohmann::json c = nlohmann::json::parse(line);
    const nlohmann::json& rule = c["rule"];
    gralarm::EvalParams p;
    p.direction = rule.value("direction", "above") == "above"
                      ? gralarm::Direction::kAbove
                      : gralarm::Direction::kBelow;
    for (int i = 1; i < gralarm::kNumLevels; ++i) {
      std::string name(gralarm::LevelName(static_cast<Level>(i)));
      if (rule["thresholds"].contains(name)) {
        p.thresholds[i] = rule["thresholds"][name].get<double>();
      }
    }
    p.checks_alert = rule.value("checks_alert", 1);
    p.checks_ok = rule.value("checks_ok", 1);
    p.ok_margin_pct = rule.value("ok_margin_pct", 0.0);
    std::string transform = rule.value("transform", "none");
    p.transform = transform == "rate"    ? gralarm::Transform::kRate
                  : transform == "delta" ? gralarm::Transform::kDelta
                                         : gralarm::Transform::kNone;
    gralarm::SeriesState s;
    nlohmann::json levels = nlohmann::json::array();
    nlohmann::json events = nlohmann::json::array();
    int i = 0;
    for (const auto& point : c["points"]) {
      auto t = gralarm::Offer(p, &s, point[0].get<uint32_t>(),
                              point[1].get<double>());
      if (t) {
        events.push_back(
            {i, gralarm::LevelName(t->from), gralarm::LevelName(t->to)});
      }
      levels.push_back(gralarm::LevelName(s.level));
      ++i;
    }
    std::cout << nlohmann::json{{"levels", levels}, {"events", events}}.dump()
              << "\n";
  }
  return 0;
}
