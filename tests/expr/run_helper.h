#ifndef GRALARM_TESTS_EXPR_RUN_HELPER_H_
#define GRALARM_TESTS_EXPR_RUN_HELPER_H_

// Runs a target over hand-written grids: every input series is known from the
// first step; kNa marks a missing value.

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "expr/program.h"
#include "gtest/gtest.h"

namespace gralarm::expr::testing {

inline constexpr double kNa = std::numeric_limits<double>::quiet_NaN();

using Grid = std::vector<std::pair<std::string, std::vector<double>>>;
// Output series: name, then one value per step (kNa for None).
using Out = std::vector<std::pair<std::string, std::vector<double>>>;

inline Out RunGrid(const Node& target, const Grid& inputs, int64_t step_s = 10,
                   std::string* error = nullptr) {
  auto program = Program::Compile(target, step_s);
  if (!program.ok()) {
    if (error != nullptr) *error = std::string(program.status().message());
    return {};
  }
  size_t steps = 0;
  std::vector<int32_t> slots;
  for (const auto& [name, values] : inputs) {
    slots.push_back((*program)->Slot(name));
    steps = std::max(steps, values.size());
  }
  Out out;
  for (size_t k = 0; k < steps; ++k) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto& values = inputs[i].second;
      if (k < values.size() && !std::isnan(values[k])) {
        (*program)->Set(slots[i], values[k]);
      }
    }
    auto result = (*program)->Evaluate(static_cast<int64_t>(k) * step_s);
    if (!result.ok()) {
      if (error != nullptr) *error = std::string(result.status().message());
      return {};
    }
    if (k == 0) {
      for (const Series& s : **result) out.push_back({s.name, {}});
    }
    EXPECT_EQ((*result)->size(), out.size()) << "shape changed at step " << k;
    for (size_t i = 0; i < out.size() && i < (*result)->size(); ++i) {
      const Series& s = (**result)[i];
      EXPECT_EQ(s.name, out[i].first);
      out[i].second.push_back(s.value.ok ? s.value.v : kNa);
    }
  }
  return out;
}

// Values equal (kNa matching kNa), within 1e-12 relative.
inline void ExpectValues(const std::vector<double>& actual,
                         const std::vector<double>& expected,
                         const std::string& what = "") {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i]))
          << what << " step " << i << ": " << actual[i];
    } else {
      EXPECT_NEAR(actual[i], expected[i],
                  1e-12 * std::max(1.0, std::fabs(expected[i])))
          << what << " step " << i;
    }
  }
}

}  // namespace gralarm::expr::testing

#endif  // GRALARM_TESTS_EXPR_RUN_HELPER_H_
