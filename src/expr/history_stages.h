#ifndef GRALARM_EXPR_HISTORY_STAGES_H_
#define GRALARM_EXPR_HISTORY_STAGES_H_

// The stages of graphite-web 1.1.8's functions that read data from before a
// render's start: timeShift and holtWintersForecast /
// holtWintersConfidenceBands / holtWintersAberration (render/functions.py).
// Their History() tells the target engine how many steps of history to
// replay into a new program so that its first live step equals a render
// starting there (docs/TARGETS.md "History functions").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "expr/stage.h"

namespace gralarm::expr {

// The most steps a timeShift ring or a Holt-Winters season may hold per
// series (16 bytes a slot for Holt-Winters: 1.6 MB a series).
inline constexpr int64_t kMaxHistorySlots = 100'000;

// timeShift's shift argument, read as graphite reads it.
struct TimeShiftSpec {
  // The shift as the output name shows it: a text without a sign gets '-'.
  std::string text;
  // Whole steps back: the shift's seconds rounded up to steps (graphite-web
  // fetches whisper from `from - shift`; with `from` on the step grid the
  // first shifted point is ceil(shift / step) steps back).
  int64_t steps = 0;
};

// Parses `text` for a program of step `step_s`. Errors (InvalidArgument):
// empty or malformed text, a forward shift ('+' with a non-zero length: a
// stream cannot see the future), more than kMaxHistorySlots steps.
absl::StatusOr<TimeShiftSpec> ParseTimeShift(std::string_view text,
                                             int64_t step_s);

// holtWinters*'s bootstrapInterval and seasonality, read as graphite reads
// them.
struct HoltWintersSpec {
  // seasonality // step_s (Python's integer division): the season's slots.
  int64_t season_steps = 0;
  // The bootstrap interval in steps, rounded up: the history replayed.
  int64_t bootstrap_steps = 0;
};

// Errors (InvalidArgument): malformed intervals, a negative bootstrap, a
// season of fewer than 2 steps (graphite 1.1.8 fails the render with an
// IndexError on the first value) or more than kMaxHistorySlots.
absl::StatusOr<HoltWintersSpec> ParseHoltWinters(std::string_view bootstrap,
                                                 std::string_view seasonality,
                                                 int64_t step_s);

// timeShift(seriesList, timeShift, resetEnd=True, alignDST=False): each
// series' value `steps` steps earlier, named `timeShift(<name>, "<text>")`
// (graphite's format, with its space), keeping the series' path expression
// (graphite only renames the re-fetched series). resetEnd does not change
// any value of a backward shift; alignDST=True is refused at compile time.
class TimeShiftStage : public Stage {
 public:
  explicit TimeShiftStage(TimeShiftSpec spec) : spec_(std::move(spec)) {}

  // KeyedStates entries: varint32 ring length (= steps), varint32 head, then
  // the ring's values (fixed8 present, double) oldest first from the head.
  void EncodeState(std::string* out) const override;
  bool DecodeState(coding::Reader* in) override;

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;
  int64_t OwnLookback() const override { return spec_.steps; }

 private:
  struct State {
    std::vector<Value> ring;  // the last `steps` inputs
    uint32_t head = 0;        // the oldest
  };
  TimeShiftSpec spec_;
  KeyedStates<State> states_;
};

// holtWintersForecast, holtWintersConfidenceBands, holtWintersAberration:
// graphite's holtWintersAnalysis recursion (alpha = gamma = 0.1, beta =
// 0.0035) run step by step over each input series, from the program's first
// evaluated step (graphite's i == 0: the first value seeds the intercept and
// the prediction) on.
class HoltWintersStage : public Stage {
 public:
  enum class Output {
    kForecast,    // holtWintersForecast(s): the prediction
    kBands,       // holtWintersConfidenceLower(s), ...Upper(s), per series
    kAberration,  // holtWintersAberration(s): the value's distance outside
  };
  HoltWintersStage(Output output, HoltWintersSpec spec, double delta)
      : output_(output), spec_(spec), delta_(delta) {}

  // KeyedStates entries: fixed8 + double intercept (present or not), double
  // slope, fixed8 + double next prediction, varint32 season length (must be
  // the stage's), varint32 head, then the season's seasonals and deviations
  // (doubles), each oldest first from the head.
  void EncodeState(std::string* out) const override;
  bool DecodeState(coding::Reader* in) override;

 protected:
  void Reshape() override;
  void Compute(const StepContext& ctx) override;
  // After a season of missing values every slot is 0 and the intercept and
  // prediction are None: the state a series starts with.
  int64_t OwnLookback() const override { return spec_.season_steps; }
  int64_t OwnHistory() const override { return spec_.bootstrap_steps; }

 private:
  struct State {
    Value intercept;  // None after a missing value (graphite's intercepts[-1])
    double slope = 0;
    Value next_pred;
    std::vector<double> seasonals;   // seasonals[i - L .. i - 1]
    std::vector<double> deviations;  // deviations[i - L .. i - 1]
    uint32_t head = 0;               // the oldest slot of both
  };
  struct Step {
    Value prediction;
    double deviation = 0;
  };
  Step Advance(const StepContext& ctx, State* s, Value actual) const;

  Output output_;
  HoltWintersSpec spec_;
  double delta_;
  KeyedStates<State> states_;
};

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_HISTORY_STAGES_H_
