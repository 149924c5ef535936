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
  // The steps of input history before a step that a render of the target
  // with `from` at that step reads (windows, shifts, bootstrap intervals),
  // children included: replaying that many steps of history gives the state
  // graphite-web computes.
  int64_t History() const;

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
  // This stage's part of History(); by default its lookback.
  virtual int64_t OwnHistory() const { return OwnLookback(); }

  const std::vector<Series>& in(size_t i) const { return children_[i]->out(); }

  std::vector<Series> out_;

 private:
  std::vector<Stage*> children_;
  bool dirty_ = true;
  bool shape_changed_ = false;
};

// Per-series state S of a stage whose output series i comes from input series
// i. States follow their series by (key, occurrence among equal keys) when
// the input list reshapes or when the state is decoded after a restart.
template <typename S>
class KeyedStates {
 public:
  void Remap(const std::vector<Series>& in) {
    std::vector<uint64_t> keys;
    keys.reserve(in.size());
    for (const Series& s : in) keys.push_back(s.key);
    Assign(std::move(keys));
  }

  S& operator[](size_t i) { return states_[i]; }
  size_t size() const { return states_.size(); }

  template <typename Encode>
  void EncodeAll(std::string* out, Encode encode) const {
    coding::PutVarint32(out, static_cast<uint32_t>(states_.size()));
    for (size_t i = 0; i < states_.size(); ++i) {
      coding::PutFixed64(out, keys_[i]);
      encode(states_[i], out);
    }
  }

  // Reads states written by EncodeAll and gives them to the series of the
  // current shape with the same keys (other entries are dropped).
  template <typename Decode>
  bool DecodeAll(coding::Reader* in, Decode decode) {
    uint32_t n;
    if (!in->GetVarint32(&n)) return false;
    std::vector<uint64_t> keys;
    std::vector<S> states;
    for (uint32_t i = 0; i < n; ++i) {
      uint64_t key;
      S s{};
      if (!in->GetFixed64(&key) || !decode(in, &s)) return false;
      keys.push_back(key);
      states.push_back(std::move(s));
    }
    std::vector<uint64_t> current = std::move(keys_);
    keys_ = std::move(keys);
    states_ = std::move(states);
    Assign(std::move(current));
    return true;
  }

 private:
  void Assign(std::vector<uint64_t> keys) {
    absl::flat_hash_map<uint64_t, std::deque<S>> old;
    for (size_t i = 0; i < keys_.size(); ++i) {
      old[keys_[i]].push_back(std::move(states_[i]));
    }
    states_.clear();
    states_.reserve(keys.size());
    for (uint64_t key : keys) {
      auto it = old.find(key);
      if (it != old.end() && !it->second.empty()) {
        states_.push_back(std::move(it->second.front()));
        it->second.pop_front();
      } else {
        states_.push_back(S{});
      }
    }
    keys_ = std::move(keys);
  }

  std::vector<uint64_t> keys_;
  std::vector<S> states_;
};

// The state encoding of one Value: fixed8 present (0 or 1), then the double.
void PutValue(std::string* out, Value v);
bool GetValue(coding::Reader* in, Value* v);

// A ring of Values (the oldest at `head`): varint32 length, varint32 head,
// then the values from slot 0. GetValueRing refuses a ring whose length is
// not `length` or whose head is outside it.
void PutValueRing(std::string* out, const std::vector<Value>& ring,
                  uint32_t head);
bool GetValueRing(coding::Reader* in, uint32_t length, std::vector<Value>* ring,
                  uint32_t* head);

// graphite's formatPathExpressions: the distinct path expressions of the
// series of `lists`, in order, joined by ','.
std::string FormatPathExpressions(
    const std::vector<const std::vector<Series>*>& lists);

}  // namespace gralarm::expr

#endif  // GRALARM_EXPR_STAGE_H_
