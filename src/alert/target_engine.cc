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
// Version 2 adds history_complete; version 1 is read as complete.
constexpr uint8_t kTargetStateVersion = 2;

// Retries of a failed history load: 5 s, doubling, at most 5 min.
constexpr int64_t kFirstRetryMs = 5000;
constexpr int64_t kMaxRetryMs = 300000;

// Steps without points evaluated one by one after a gap, at most.
constexpr int64_t kMaxGapSteps = 1440;

// floor(ts / step) * step, for negative timestamps too.
int64_t StepOf(int64_t ts, int64_t step) {
  int64_t q = ts / step;
  if (ts % step != 0 && ts < 0) --q;
  return q * step;
}

// One point of a history answer.
struct HistoryPoint {
  std::string_view name;
  int64_t ts;
  double value;
};

// Appends the points of a /render?format=json answer to `out`; the names
// point into `series`, which must outlive them.
absl::Status ParseHistory(std::string_view text,
                          std::vector<RenderSeries>* series,
                          std::vector<HistoryPoint>* out) {
  auto parsed = ParseRenderAnswer(text);
  if (!parsed.ok()) {
    return absl::DataLossError(
        StrCat("graphite-web /render: ", parsed.status().message()));
  }
  *series = std::move(*parsed);
  for (const RenderSeries& s : *series) {
    for (const auto& [ts, value] : s.points)
      out->push_back({s.target, ts, value});
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view HistoryStateName(HistoryState s) {
  switch (s) {
    case HistoryState::kNotNeeded:
      return "not_needed";
    case HistoryState::kUnconfigured:
      return "unconfigured";
    case HistoryState::kLoading:
      return "loading";
    case HistoryState::kLoaded:
      return "loaded";
    case HistoryState::kFailed:
      return "failed";
  }
  return "unknown";
}

int64_t HoldLimitS(int64_t step_s) { return std::max<int64_t>(6 * step_s, 30); }

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

TargetEngine::~TargetEngine() { StopHistoryLoader(); }

std::shared_ptr<const TargetEngine::Snapshot> TargetEngine::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

void TargetEngine::SetRules(std::shared_ptr<const RuleSet> rules) {
  const auto old = snapshot();
  const bool graphite = this->graphite() != nullptr;
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
    if (const int64_t h = tr->program->history_steps(); h > 0 && !graphite) {
      spdlog::warn(
          "target rule {}: its target reads {} steps of history, but no "
          "[graphite] url is configured: evaluating without it",
          rule->spec.id, h);
      tr->history_state = HistoryState::kUnconfigured;
    } else if (h > 0) {
      // Loaded by the loader; the first live steps wait for it.
      tr->history_state = HistoryState::kLoading;
      tr->holding = true;
      tr->hold_since_ms = tr->last_input_ms;
    } else {
      tr->history_complete = true;
    }
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
  absl::MutexLock lock(&loader_mu_);
  loader_wake_ = true;
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
    if (tr->holding) CheckHold(*tr, now);
    if (ts <= tr->watermark) continue;
    tr->watermark = ts;
    CompleteByWatermark(*tr);
  }
  return true;
}

void TargetEngine::CompleteByWatermark(TargetRule& tr) {
  if (tr.holding || tr.watermark == INT64_MIN) return;
  const RuleTarget& target = *tr.rule->target;
  // The last step t with t + step_s + lateness_s <= watermark.
  const int64_t through =
      StepOf(tr.watermark - target.step_s - target.lateness_s, target.step_s);
  if (through > tr.completed) CompleteThrough(tr, through);
}

void TargetEngine::CheckHold(TargetRule& tr, int64_t now_ms) {
  const int64_t limit_s = HoldLimitS(tr.rule->target->step_s);
  if (now_ms - tr.hold_since_ms < limit_s * 1000) return;
  tr.holding = false;
  spdlog::warn(
      "target rule {}: its history from graphite-web has not arrived within "
      "{} s; evaluating without it",
      tr.rule->spec.id, limit_s);
  CompleteByWatermark(tr);
}

void TargetEngine::LoadFailed(TargetRule& tr, std::string error,
                              int64_t now_ms) {
  tr.history_backoff_ms =
      tr.history_backoff_ms == 0
          ? kFirstRetryMs
          : std::min(kMaxRetryMs, tr.history_backoff_ms * 2);
  tr.history_state = HistoryState::kFailed;
  tr.history_error = std::move(error);
  tr.history_next_ms = now_ms + tr.history_backoff_ms;
  tr.history_complete = false;
  tr.holding = false;
  tr.dirty = true;
  history_loads_error_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error(
      "target rule {}: history not loaded: {}; evaluating without it, retry "
      "in {} s",
      tr.rule->spec.id, tr.history_error, tr.history_backoff_ms / 1000);
  CompleteByWatermark(tr);
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
    if (tr->holding) CheckHold(*tr, now);
    if (tr->buckets.empty() || tr->holding) continue;
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
    coding::PutFixed8(&v, tr->history_complete ? 1 : 0);
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
  const bool graphite = this->graphite() != nullptr;
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
    uint8_t history_complete = 1;  // version 1: complete
    bool ok = r.GetFixed8(&version) &&
              (version == 1 || version == kTargetStateVersion) &&
              r.GetLengthPrefixed(&canonical) && r.GetInt64(&step_s) &&
              r.GetInt64(&watermark) && r.GetInt64(&completed) &&
              (version == 1 || r.GetFixed8(&history_complete)) &&
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
    // A rule needing history loads the steps it was down for (or all of
    // it, when its state lacks it or the gap is longer): see
    // LoadPendingHistory.
    tr->history_complete = history_complete != 0;
    if (tr->program->history_steps() > 0 && graphite) {
      tr->history_state = HistoryState::kLoading;
      tr->holding = true;
      tr->hold_since_ms = now;
    }
    ++restored;
  });
  if (!s.ok()) return s;
  for (const std::string& id : drop) {
    if (absl::Status d = store_->DeleteTargetState(id); !d.ok()) return d;
  }
  if (restored > 0) spdlog::info("restored {} target rule states", restored);
  return absl::OkStatus();
}

void TargetEngine::SetGraphite(
    std::shared_ptr<const GraphiteWebClient> client) {
  const bool configured = client != nullptr;
  {
    absl::MutexLock lock(&mu_);
    graphite_ = std::move(client);
  }
  if (!configured) return;
  // Rules that ran without history for want of a url load it now.
  const auto snap = snapshot();
  const int64_t now = clock_->NowMs();
  for (const std::shared_ptr<TargetRule>& tr : snap->by_index) {
    if (tr == nullptr) continue;
    absl::MutexLock lock(&tr->mu);
    if (tr->history_state != HistoryState::kUnconfigured) continue;
    tr->history_state = HistoryState::kLoading;
    tr->history_next_ms = now;
    tr->holding = true;
    tr->hold_since_ms = now;
  }
  absl::MutexLock lock(&loader_mu_);
  loader_wake_ = true;
}

std::shared_ptr<const GraphiteWebClient> TargetEngine::graphite() const {
  absl::MutexLock lock(&mu_);
  return graphite_;
}

void TargetEngine::StartHistoryLoader() {
  if (loader_.joinable()) return;
  {
    absl::MutexLock lock(&loader_mu_);
    loader_stop_ = false;
  }
  loader_ = std::thread([this] { LoaderLoop(); });
}

void TargetEngine::StopHistoryLoader() {
  if (!loader_.joinable()) return;
  {
    absl::MutexLock lock(&loader_mu_);
    loader_stop_ = true;
  }
  loader_.join();
}

void TargetEngine::LoaderLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&loader_mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(loader_mu_) {
        return loader_stop_ || loader_wake_;
      };
      loader_mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Seconds(1));
      if (loader_stop_) return;
      loader_wake_ = false;
    }
    LoadPendingHistory();
  }
}

int TargetEngine::LoadPendingHistory() {
  const auto snap = snapshot();
  int attempts = 0;
  for (const std::shared_ptr<TargetRule>& tr_ptr : snap->by_index) {
    if (tr_ptr == nullptr) continue;
    TargetRule& tr = *tr_ptr;
    // 1. Under the rule's mutex: is a load due, and of which steps.
    std::string id;
    std::vector<std::string> globs;
    int64_t step_s = 0, first = 0, cur = 0, end = 0;
    bool full = true;
    std::optional<int64_t> last_step;
    {
      absl::MutexLock lock(&tr.mu);
      const HistoryState st = tr.history_state;
      if (st != HistoryState::kLoading && st != HistoryState::kFailed) continue;
      const int64_t now = clock_->NowMs();
      if (tr.history_next_ms > now) continue;
      id = tr.rule->spec.id;
      if (graphite() == nullptr) {  // the url went (a reload)
        spdlog::warn(
            "target rule {}: its target reads {} steps of history, but no "
            "[graphite] url is configured: evaluating without it",
            id, tr.program->history_steps());
        tr.history_state = HistoryState::kUnconfigured;
        tr.history_error.clear();
        tr.holding = false;
        CompleteByWatermark(tr);
        continue;
      }
      step_s = tr.rule->target->step_s;
      const int64_t h = tr.program->history_steps();
      last_step = tr.program->last_step();
      // The current step (never one already evaluated): the history is
      // replayed before it; its points and those of later open steps join
      // the live ones (which win). Carbon has no point after now.
      cur = StepOf(now / 1000, step_s);
      if (last_step) cur = std::max(cur, *last_step + step_s);
      end = cur + step_s;
      // A program whose state holds its history needs only the steps since
      // its last one, when they are fewer than its history.
      full = !(last_step && tr.history_complete &&
               (cur - *last_step) / step_s - 1 <= h);
      first = full ? cur - h * step_s : *last_step + step_s;
      if (!tr.holding) {
        tr.holding = true;
        tr.hold_since_ms = now;
      }
      tr.history_state = HistoryState::kLoading;
      for (const Glob* g : tr.program->globs()) globs.push_back(g->pattern());
    }
    ++attempts;
    // 2. The HTTP calls, no lock held. Whisper returns the points after
    // `from` up to `until`, each step at its start: from = first - step,
    // until = end - 1 give the steps [first, end).
    std::vector<HistoryPoint> points;
    std::vector<std::vector<RenderSeries>> answers(globs.size());
    absl::Status status;
    const auto client = graphite();
    if (first < end) {
      for (size_t g = 0; g < globs.size() && status.ok(); ++g) {
        if (client == nullptr) {
          status = absl::FailedPreconditionError("no [graphite] url");
          break;
        }
        auto text =
            client->Render(globs[g], StrCat(first - step_s), StrCat(end - 1));
        status = text.ok() ? ParseHistory(*text, &answers[g], &points)
                           : text.status();
      }
    }
    // 3. Under the rule's mutex again: replay, unless live evaluation went
    // on meanwhile (the hold expired): then the answer is stale.
    absl::MutexLock lock(&tr.mu);
    const int64_t now = clock_->NowMs();
    if (!status.ok()) {
      LoadFailed(tr, std::string(status.message()), now);
      continue;
    }
    if (tr.program->last_step() != last_step) {
      LoadFailed(tr,
                 StrCat("the answer took longer than ", HoldLimitS(step_s),
                        " s (live evaluation went on)"),
                 now);
      continue;
    }
    std::unique_ptr<expr::Program> fresh;
    expr::Program* program = tr.program.get();
    if (full) {
      auto compiled = expr::Program::Compile(*tr.rule->target->tree, step_s);
      if (!compiled.ok()) {
        LoadFailed(tr, std::string(compiled.status().message()), now);
        continue;
      }
      fresh = *std::move(compiled);
      // The buffered points keep their slots.
      for (const std::string& name : tr.program->input_names()) {
        fresh->Slot(name);
      }
      program = fresh.get();
    }
    // On the rule's grid, each series' last point of a step wins (graphite
    // may answer with another step when the whisper retention differs).
    std::map<int64_t, std::vector<TargetRulePoint>> grid;
    for (const HistoryPoint& p : points) {
      const int64_t step = StepOf(p.ts, step_s);
      if (step < first || step >= end) continue;
      const int32_t slot = program->Slot(p.name);
      if (slot < 0) continue;
      grid[step].push_back({slot, p.value});
    }
    // Replayed, without alerting or emitting: the steps before the current
    // one and the first open one, up to the last with a point (the points may
    // carry past timestamps: a step with no point yet may still come live). No
    // point at all (the series are new to graphite-web): the program is left as
    // it is.
    int64_t replay_end =
        grid.empty() ? first : std::min(cur, grid.rbegin()->first + step_s);
    if (!tr.buckets.empty()) {
      replay_end = std::min(replay_end, tr.buckets.begin()->first);
    }
    int64_t replayed = 0;
    absl::Status replay;
    for (int64_t step = first; step < replay_end && replay.ok();
         step += step_s) {
      if (auto it = grid.find(step); it != grid.end()) {
        for (const TargetRulePoint& p : it->second) {
          program->Set(p.slot, p.value);
        }
      }
      auto out = program->Evaluate(step);
      if (!out.ok()) replay = out.status();
      ++replayed;
    }
    if (!replay.ok()) {
      LoadFailed(tr, StrCat("replaying its history: ", replay.message()), now);
      if (!full) {  // the program is part-way: start it again from scratch
        tr.history_next_ms = now;
      }
      continue;
    }
    // The points of later steps go into their buckets before the live ones
    // (the live ones win).
    for (auto& [step, pts] : grid) {
      if (step < replay_end) continue;
      auto& bucket = tr.buckets[step];
      bucket.insert(bucket.begin(), pts.begin(), pts.end());
    }
    // A full load with no point keeps a program that already ran (the
    // fresh one would start empty); otherwise the fresh one, whose slots the
    // grid's points (now in the buckets too) refer to, takes over.
    if (fresh && (!grid.empty() || !last_step)) tr.program = std::move(fresh);
    if (replayed > 0) {
      tr.completed = std::max(tr.completed, replay_end - step_s);
    }
    tr.history_state = HistoryState::kLoaded;
    tr.history_error.clear();
    tr.history_loaded_steps = replayed;
    tr.history_backoff_ms = 0;
    tr.history_next_ms = 0;
    tr.history_complete = true;
    tr.holding = false;
    tr.dirty = true;
    history_loads_ok_.fetch_add(1, std::memory_order_relaxed);
    spdlog::info(
        "target rule {}: {} history loaded from graphite-web ({} steps, {} "
        "points)",
        id, full ? "its" : "the missed", replayed, points.size());
    CompleteByWatermark(tr);
  }
  return attempts;
}

std::optional<TargetHistoryStatus> TargetEngine::HistoryStatus(
    std::string_view rule_id) const {
  const auto snap = snapshot();
  for (size_t i = 0; i < snap->by_index.size(); ++i) {
    if (snap->by_index[i] == nullptr ||
        snap->rules->rules()[i]->spec.id != rule_id) {
      continue;
    }
    TargetRule& tr = *snap->by_index[i];
    absl::MutexLock lock(&tr.mu);
    TargetHistoryStatus s;
    s.state = tr.history_state;
    s.steps = tr.program->history_steps();
    s.loaded_steps = tr.history_loaded_steps;
    s.error = tr.history_error;
    if (s.state == HistoryState::kFailed) s.next_retry_ms = tr.history_next_ms;
    return s;
  }
  return std::nullopt;
}

}  // namespace gralarm
