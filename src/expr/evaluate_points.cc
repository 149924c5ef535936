#include "expr/evaluate_points.h"

#include <algorithm>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "expr/program.h"

namespace gralarm::expr {

namespace {

int64_t FloorStep(int64_t ts, int64_t step) {
  int64_t q = ts / step;
  if (ts % step != 0 && ts < 0) --q;
  return q * step;
}

// At most this many steps in one batch.
constexpr int64_t kMaxSteps = 1'000'000;

}  // namespace

absl::StatusOr<std::vector<OutputSeries>> EvaluatePoints(
    const Node& target, int64_t step_s, const std::vector<InputPoint>& points) {
  auto program = Program::Compile(target, step_s);
  if (!program.ok()) return program.status();
  Program& p = **program;
  std::vector<OutputSeries> result;
  if (points.empty()) return result;

  std::vector<size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<int64_t> bucket(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    bucket[i] = FloorStep(points[i].timestamp, step_s);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bucket[a] < bucket[b]; });
  const int64_t first = bucket[order.front()];
  const int64_t last = bucket[order.back()];
  if ((last - first) / step_s >= kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the points span more than ", kMaxSteps, " steps of ", step_s, "s"));
  }
  const size_t steps = static_cast<size_t>((last - first) / step_s) + 1;
  // Every series is an input from the first step, as every whisper file is
  // listed for the whole range of a render (None before its first point).
  std::vector<int32_t> slots(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    slots[i] = p.Slot(points[i].path);
  }

  // Output series by (name, occurrence of the name in a step's output).
  struct Track {
    std::vector<std::optional<double>> values;
  };
  absl::flat_hash_map<std::pair<std::string, size_t>, Track> tracks;
  std::vector<std::pair<std::string, size_t>> final_keys;
  absl::flat_hash_map<std::string, size_t> seen;
  size_t next = 0;
  for (size_t k = 0; k < steps; ++k) {
    const int64_t t = first + static_cast<int64_t>(k) * step_s;
    for (; next < order.size() && bucket[order[next]] == t; ++next) {
      const int32_t slot = slots[order[next]];
      if (slot >= 0) p.Set(slot, points[order[next]].value);
    }
    auto out = p.Evaluate(t);
    if (!out.ok()) return out.status();
    seen.clear();
    final_keys.clear();
    for (const Series& s : **out) {
      std::pair<std::string, size_t> key(s.name, seen[s.name]++);
      Track& track = tracks[key];
      track.values.resize(steps);
      if (s.value.ok) track.values[k] = s.value.v;
      final_keys.push_back(std::move(key));
    }
  }
  for (const auto& key : final_keys) {
    OutputSeries series;
    series.name = key.first;
    const Track& track = tracks[key];
    for (size_t k = 0; k < steps; ++k) {
      series.datapoints.emplace_back(track.values[k],
                                     first + static_cast<int64_t>(k) * step_s);
    }
    result.push_back(std::move(series));
  }
  return result;
}

}  // namespace gralarm::expr
