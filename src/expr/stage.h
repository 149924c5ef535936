#ifndef GRALARM_EXPR_STAGE_H_
#define GRALARM_EXPR_STAGE_H_

// A stage of a compiled target: one call or path of the expression, producing
// a list of series (names and the current step's values) from its children's
// lists. The list's shape (names, order) only changes when a new input series
// appears; Reshape() rebuilds it then, and Compute() produces the values of
// every step without allocating.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "expr/series.h"
#include "store/coding.h"

namespace gralarm::expr {

struct StepContext {
  int64_t t = 0;                // the step's start, a multiple of step_s
  int64_t step_s = 0;           // the grid
  bool first = false;           // the program's first evaluated step
  bool inputs_missing = false;  // a skipped step: every input value is None
};

class Stage {
 public:
  virtual ~Stage() = default;

  // Runs the children, reshapes when one of them (or this stage) changed
  // shape, then computes the step's values unless `compute` is false.
  void Run(const StepContext& ctx, bool compute);

  const std::vector<Series>& out() const { return out_; }
  // Asks for a reshape at the next Run (the path stage: a new input series).
  void MarkShapeChanged() { dirty_ = true; }

  // The number of consecutive all-None steps after which this stage's state
  // no longer changes (0 when it has none), children included.
  int64_t Lookback() const;

  // Per-series state, keyed by series name (see KeyedStates).
  virtual void EncodeState(std::string* out) const { (void)out; }
  virtual bool DecodeState(coding::Reader* in) {
    (void)in;
    return true;
  }

  void AddChild(Stage* child) { children_.push_back(child); }
  const std::vector<Stage*>& children() const { return children_; }

 protected:
  virtual void Reshape() = 0;
  virtual void Compute(const StepContext& ctx) = 0;
  virtual int64_t OwnLookback() const { return 0; }

  const std::vector<Series>& in(size_t i) const { return children_[i]->out(); }

  std::vector<Series> out_;

 private:
  std::vector<Stage*> children_;
  bool dirty_ = true;
  bool shape_changed_ = false;
};

// Per-series state S of a stage whose output series i comes from input series
// i. States follow their series by (name, occurrence among equal names) when
// the input list reshapes or when the state is decoded after a restart.
template <typename S>
class KeyedStates {
 public:
  void Remap(const std::vector<Series>& in) {
    absl::flat_hash_map<std::string, std::deque<S>> old;
    for (size_t i = 0; i < names_.size(); ++i) {
      old[names_[i]].push_back(std::move(states_[i]));
    }
    names_.clear();
    states_.clear();
    names_.reserve(in.size());
    states_.reserve(in.size());
    for (const Series& s : in) {
      names_.push_back(s.name);
      auto it = old.find(s.name);
      if (it != old.end() && !it->second.empty()) {
        states_.push_back(std::move(it->second.front()));
        it->second.pop_front();
      } else {
        states_.push_back(S{});
      }
    }
  }

  S& operator[](size_t i) { return states_[i]; }
  size_t size() const { return states_.size(); }

  template <typename Encode>
  void EncodeAll(std::string* out, Encode encode) const {
    coding::PutVarint32(out, static_cast<uint32_t>(states_.size()));
    for (size_t i = 0; i < states_.size(); ++i) {
      coding::PutLengthPrefixed(out, names_[i]);
      encode(states_[i], out);
    }
  }

  // Reads states written by EncodeAll and gives them to the series of the
  // current shape with the same keys (other entries are dropped).
  template <typename Decode>
  bool DecodeAll(coding::Reader* in, Decode decode) {
    uint32_t n;
    if (!in->GetVarint32(&n)) return false;
    std::vector<std::string> names;
    std::vector<S> states;
    for (uint32_t i = 0; i < n; ++i) {
      std::string name;
      S s{};
      if (!in->GetString(&name) || !decode(in, &s)) return false;
      names.push_back(std::move(name));
      states.push_back(std::move(s));
    }
    std::vector<Series> current;
    for (const std::string& name : names_) current.push_back({name, "", {}});
    names_ = std::move(names);
    states_ = std::move(states);
    Remap(current);
    return true;
  }

 private:
  std::vector<std::string> names_;
  std::vector<S> states_;
};

// graphite's formatPathExpressions: the distinct path expressions of the
// series of `lists`, in order, joined by ','.
std::string FormatPathExpressions(
    const std::vector<const std::vector<Series>*>& lists);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_STAGE_H_
