#include "gralarm/target_engine.h"

#include <algorithm>
#include <charconv>

#include "absl/container/flat_hash_set.h"

#include "expr/program.h"
#include "gralarm/log.h"
#include "gralarm/strings.h"
#include "store/coding.h"

namespace gralarm {
namespace {

// The value of a target rule's saved state (docs/STORAGE.md "target_state").
constexpr uint8_t kTargetStateVersion = 1;

// Steps without points evaluated one by one after a gap, at most.
constexpr int64_t kMaxGapSteps = 1440;

// floor(ts / step) * step, for negative timestamps too.
int64_t StepOf(int64_t ts, int64_t step) {
  int64_t q = ts / step;
  if (ts % step != 0 && ts < 0) --q;
  return q * step;
}

}  // namespace

std::string EmitName(std::string_view prefix, std::string_view output) {
  std::string out;
  out.reserve(prefix.size() + 1 + output.size());
  out.append(prefix);
  out.push_back('.');
  for (char c : output) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                      c == '-';
    out.push_back(keep ? c : '_');
  }
  return out;
}

std::string EmitLine(const EmittedPoint& p) {
  std::string out = p.name;
  char buf[64];
  out.push_back(' ');
  auto r = std::to_chars(buf, buf + sizeof(buf), p.value);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
  out.push_back(' ');
  r = std::to_chars(buf, buf + sizeof(buf), p.ts);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
  out.push_back('\n');
  return out;
}

TargetEngine::TargetRule::~TargetRule() = default;

TargetEngine::TargetEngine(AlertEngine* engine, Store* store,
                           const Clock* clock)
    : engine_(engine),
      store_(store),
      clock_(clock),
      snapshot_(
          std::make_shared<Snapshot>(Snapshot{RuleSet::Build({}, 0), {}})) {}

TargetEngine::~TargetEngine() = default;

std::shared_ptr<const TargetEngine::Snapshot> TargetEngine::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void TargetEngine::SetRules(std::shared_ptr<const RuleSet> rules) {
  const auto old = snapshot();
  absl::flat_hash_map<std::string, std::shared_ptr<TargetRule>> old_by_id;
  for (size_t i = 0; i < old->by_index.size(); ++i) {
    if (old->by_index[i] == nullptr) continue;
    old_by_id[old->rules->rules()[i]->spec.id] = old->by_index[i];
  }
  auto next = std::make_shared<Snapshot>();
  next->rules = rules;
  next->by_index.resize(rules->rules().size());
  for (size_t i = 0; i < rules->rules().size(); ++i) {
    const std::shared_ptr<const Rule>& rule = rules->rules()[i];
    if (!rule->is_target() || !rule->enabled) continue;
    if (auto it = old_by_id.find(rule->spec.id); it != old_by_id.end()) {
      std::shared_ptr<TargetRule> tr = it->second;
      absl::MutexLock lock(&tr->mu);
      if (tr->rule->target->canonical == rule->target->canonical &&
          tr->rule->target->step_s == rule->target->step_s) {
        tr->rule = rule;  // lateness or alerting fields may have changed
        next->by_index[i] = std::move(tr);
        old_by_id.erase(it);
        continue;
      }
    }
    auto program =
        expr::Program::Compile(*rule->target->tree, rule->target->step_s);
    if (!program.ok()) {  // it compiled when the rule was resolved
      spdlog::error("target rule {}: {}", rule->spec.id,
                    program.status().message());
      continue;
    }
    auto tr = std::make_shared<TargetRule>();
    absl::MutexLock lock(&tr->mu);
    tr->rule = rule;
    tr->program = *std::move(program);
    tr->last_input_ms = clock_->NowMs();
    next->by_index[i] = std::move(tr);
  }
  // Rules gone or changed: their programs, open steps and saved state go.
  for (const auto& [id, tr] : old_by_id) {
    if (store_ == nullptr) continue;
    if (absl::Status s = store_->DeleteTargetState(id); !s.ok()) {
      spdlog::error("{}", s.message());
    }
  }
  {
    absl::MutexLock lock(&mu_);
    snapshot_ = std::move(next);
  }
  generation_.store(rules->generation(), std::memory_order_release);
}

bool TargetEngine::Offer(const Snapshot& snapshot, std::string_view name,
                         int64_t ts, double value) {
  thread_local RuleSet::Matches matches;
  snapshot.rules->MatchTargets(name, &matches);
  if (matches.empty()) return false;
  const int64_t now = clock_->NowMs();
  for (uint32_t index : matches) {
    TargetRule* tr = snapshot.by_index[index].get();
    if (tr == nullptr) continue;
    absl::MutexLock lock(&tr->mu);
    const RuleTarget& target = *tr->rule->target;
    const int64_t step = StepOf(ts, target.step_s);
    if (step <= tr->completed) {
      points_late_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const int32_t slot = tr->program->Slot(name);
    if (slot < 0) continue;
    tr->buckets[step].push_back({slot, value});
    tr->last_input_ms = now;
    tr->dirty = true;
    if (ts <= tr->watermark) continue;
    tr->watermark = ts;
    // The last step t with t + step_s + lateness_s <= watermark.
    const int64_t through = StepOf(
        tr->watermark - target.step_s - target.lateness_s, target.step_s);
    if (through > tr->completed) CompleteThrough(*tr, through);
  }
  return true;
}

void TargetEngine::CompleteThrough(TargetRule& tr, int64_t through) {
  const int64_t step_s = tr.rule->target->step_s;
  const std::optional<int64_t> last = tr.program->last_step();
  // Every step from the one after the last evaluated (the first with a point
  // before any) is evaluated, those without points too: a render has them,
  // and functions give them values (transformNull, keepLastValue...).
  int64_t next = last                 ? *last + step_s
                 : tr.buckets.empty() ? through + step_s
                                      : tr.buckets.begin()->first;
  static const std::vector<TargetRulePoint> kNone;
  while (next <= through) {
    if (!tr.buckets.empty() && tr.buckets.begin()->first <= next) {
      auto node = tr.buckets.extract(tr.buckets.begin());
      Evaluate(tr, node.key(), node.mapped());
      next = node.key() + step_s;
      continue;
    }
    // A long gap: its first steps are left to the program, which runs them
    // with every input missing (as many as can still change an output).
    const int64_t gap_end =
        tr.buckets.empty()
            ? through
            : std::min(through, tr.buckets.begin()->first - step_s);
    if ((gap_end - next) / step_s >= kMaxGapSteps) {
      next = gap_end - (kMaxGapSteps - 1) * step_s;
    }
    Evaluate(tr, next, kNone);
    next += step_s;
  }
  tr.completed = std::max(tr.completed, through);
  tr.dirty = true;
}

void TargetEngine::Evaluate(TargetRule& tr, int64_t step,
                            const std::vector<TargetRulePoint>& points) {
  for (const TargetRulePoint& p : points) tr.program->Set(p.slot, p.value);
  auto outputs = tr.program->Evaluate(step);
  if (!outputs.ok()) {
    spdlog::error("target rule {}: step {}: {}", tr.rule->spec.id, step,
                  outputs.status().message());
    return;
  }
  const RuleTarget& target = *tr.rule->target;
  std::vector<EmittedPoint> emitted;
  // A series of the rule is its output name: when several outputs share one
  // (aliasByMetric over a.*.cpu and b.*.cpu...), the first in Graphite's order
  // is the series; the others are dropped and logged.
  absl::flat_hash_set<std::string_view> names;
  const bool several = (*outputs)->size() > 1;
  for (const expr::Series& s : **outputs) {
    if (several && !names.insert(s.name).second) {
      uint64_t suppressed = 0;
      if (duplicate_log_.Allow(&suppressed)) {
        spdlog::warn(
            "target rule {}: several output series are named \"{}\"; only "
            "the first is evaluated and emitted (give them distinct names, "
            "e.g. with aliasByNode)",
            tr.rule->spec.id, s.name);
      }
      outputs_duplicate_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (!s.value.ok) continue;
    engine_->OfferTarget(tr.rule, s.name, step, s.value.v);
    if (!target.emit_prefix.empty()) {
      emitted.push_back(
          {EmitName(target.emit_prefix, s.name), s.value.v, step});
    }
  }
  if (!emitted.empty() && emitter_) emitter_(std::move(emitted));
}

void TargetEngine::Tick() {
  const auto snap = snapshot();
  const int64_t now = clock_->NowMs();
  for (const std::shared_ptr<TargetRule>& tr : snap->by_index) {
    if (tr == nullptr) continue;
    absl::MutexLock lock(&tr->mu);
    if (tr->buckets.empty()) continue;
    const RuleTarget& target = *tr->rule->target;
    if (now - tr->last_input_ms < (target.step_s + target.lateness_s) * 1000) {
      continue;
    }
    CompleteThrough(*tr, tr->buckets.rbegin()->first);
  }
}

absl::Status TargetEngine::Flush() {
  if (store_ == nullptr) return absl::OkStatus();
  const auto snap = snapshot();
  std::vector<std::pair<std::string, std::string>> states;
  for (const std::shared_ptr<TargetRule>& tr : snap->by_index) {
    if (tr == nullptr) continue;
    absl::MutexLock lock(&tr->mu);
    if (!tr->dirty) continue;
    tr->dirty = false;
    std::string v;
    coding::PutFixed8(&v, kTargetStateVersion);
    coding::PutLengthPrefixed(&v, tr->rule->target->canonical);
    coding::PutInt64(&v, tr->rule->target->step_s);
    coding::PutInt64(&v, tr->watermark);
    coding::PutInt64(&v, tr->completed);
    coding::PutLengthPrefixed(&v, tr->program->EncodeState());
    coding::PutVarint32(&v, static_cast<uint32_t>(tr->buckets.size()));
    for (const auto& [step, points] : tr->buckets) {
      coding::PutInt64(&v, step);
      coding::PutVarint32(&v, static_cast<uint32_t>(points.size()));
      for (const TargetRulePoint& p : points) {
        coding::PutVarint32(&v, static_cast<uint32_t>(p.slot));
        coding::PutDouble(&v, p.value);
      }
    }
    states.emplace_back(tr->rule->spec.id, std::move(v));
  }
  return store_->SaveTargetStates(states);
}

absl::Status TargetEngine::Restore() {
  if (store_ == nullptr) return absl::OkStatus();
  const auto snap = snapshot();
  const int64_t now = clock_->NowMs();
  std::vector<std::string> drop;
  size_t restored = 0;
  absl::Status s = store_->LoadTargetStates([&](std::string_view id,
                                                std::string_view bytes) {
    std::shared_ptr<TargetRule> tr;
    for (size_t i = 0; i < snap->by_index.size(); ++i) {
      if (snap->by_index[i] != nullptr &&
          snap->rules->rules()[i]->spec.id == id) {
        tr = snap->by_index[i];
      }
    }
    if (tr == nullptr) {
      spdlog::info("target rule {}: saved state dropped (rule not in force)",
                   id);
      drop.emplace_back(id);
      return;
    }
    absl::MutexLock lock(&tr->mu);
    coding::Reader r(bytes);
    uint8_t version = 0;
    std::string_view canonical, program_state;
    int64_t step_s = 0, watermark = 0, completed = 0;
    uint32_t nbuckets = 0;
    bool ok = r.GetFixed8(&version) && version == kTargetStateVersion &&
              r.GetLengthPrefixed(&canonical) && r.GetInt64(&step_s) &&
              r.GetInt64(&watermark) && r.GetInt64(&completed) &&
              r.GetLengthPrefixed(&program_state);
    if (ok && (canonical != tr->rule->target->canonical ||
               step_s != tr->rule->target->step_s)) {
      spdlog::info(
          "target rule {}: saved state dropped (its target or step_s "
          "changed)",
          id);
      drop.emplace_back(id);
      return;
    }
    std::map<int64_t, std::vector<TargetRulePoint>> buckets;
    ok = ok && r.GetVarint32(&nbuckets);
    for (uint32_t b = 0; ok && b < nbuckets; ++b) {
      int64_t step = 0;
      uint32_t n = 0;
      ok = r.GetInt64(&step) && r.GetVarint32(&n) && n <= r.remaining() / 9;
      auto& points = buckets[step];
      for (uint32_t k = 0; ok && k < n; ++k) {
        uint32_t slot = 0;
        double value = 0;
        ok = r.GetVarint32(&slot) && r.GetDouble(&value);
        points.push_back({static_cast<int32_t>(slot), value});
      }
    }
    auto program = expr::Program::Compile(*tr->rule->target->tree,
                                          tr->rule->target->step_s);
    ok = ok && r.remaining() == 0 && program.ok() &&
         (*program)->DecodeState(program_state).ok();
    for (const auto& [step, points] : buckets) {
      for (const TargetRulePoint& p : points) {
        ok = ok && p.slot >= 0 &&
             static_cast<size_t>(p.slot) < (*program)->input_count();
      }
    }
    if (!ok) {
      spdlog::warn("target rule {}: saved state does not decode; dropped", id);
      drop.emplace_back(id);
      return;
    }
    tr->program = *std::move(program);
    tr->buckets = std::move(buckets);
    tr->watermark = watermark;
    tr->completed = completed;
    tr->last_input_ms = now;
    tr->dirty = false;
    ++restored;
  });
  if (!s.ok()) return s;
  for (const std::string& id : drop) {
    if (absl::Status d = store_->DeleteTargetState(id); !d.ok()) return d;
  }
  if (restored > 0) spdlog::info("restored {} target rule states", restored);
  return absl::OkStatus();
}

}  // namespace gralarm
