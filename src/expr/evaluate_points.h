#ifndef GRALARM_EXPR_EVALUATE_POINTS_H_
#define GRALARM_EXPR_EVALUATE_POINTS_H_

// Runs a batch of points through a compiled target, step by step, and returns
// what graphite-web's /render?format=json returns for the same points stored
// in whisper files of step `step_s` (docs/TARGETS.md lists where a stream
// differs from a render). Backs POST /api/v1/evaluate and the oracle test.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "expr/ast.h"

namespace gralarm::expr {

struct InputPoint {
  std::string path;
  double value = 0;
  int64_t timestamp = 0;
};

struct OutputSeries {
  std::string name;
  // (value or None, step start) for every step from the first to the last.
  std::vector<std::pair<std::optional<double>, int64_t>> datapoints;
};

// Each point is put on the grid (floor(ts / step_s) * step_s), the last one
// given for a series in a step winning; every step from the first step any
// point falls in to the last is evaluated. Every series of the batch is an
// input from the first step (a render lists every whisper file for its whole
// range; a series is None before its first point). The outputs are the series
// of the last step, in its order. No points: no series.
absl::StatusOr<std::vector<OutputSeries>> EvaluatePoints(
    const Node& target, int64_t step_s, const std::vector<InputPoint>& points);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_EVALUATE_POINTS_H_
