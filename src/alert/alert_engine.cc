#include "gralarm/alert_engine.h"

#include "absl/hash/hash.h"
#include "gralarm/line_parser.h"
#include "gralarm/schedule.h"
#include "gralarm/strings.h"

namespace gralarm {
AlertEngine::AlertEngine(Store* store, const Clock* clock,
                         std::shared_ptr<const Config> config)
    : store_(store),
      clock_(clock),
      rules_(RuleSet::Build({}, 0)),
      config_(std::move(config)) {}

std::shared_ptr<const RuleSet> AlertEngine::rules() const {
  absl::MutexLock lock(&rules_mu_);
  return rules_;
}

std::shared_ptr<const Config> AlertEngine::config() const {
  absl::MutexLock lock(&rules_mu_);
  return config_;
}

void AlertEngine::SetSilences(const std::vector<SilenceRecord>& silences) {
  auto compiled = std::make_shared<std::vector<CompiledSilence>>();
  for (const SilenceRecord& x : silences) {
    CompiledSilence c{x, std::nullopt, std::nullopt};
    bool usable = true;
    for (auto [text, out] :
         {std::pair{&x.rule, &c.rule}, std::pair{&x.series, &c.series}}) {
      if (text->empty()) continue;  // an empty field matches everything
      auto g = Glob::Compile(*text);
      if (!g.ok()) {
        usable = false;
        break;
      }
      *out = std::move(*g);
    }
    if (!usable) {
      spdlog::warn("silence {}: unusable pattern, ignored", x.id);
      continue;
    }
    compiled->push_back(std::move(c));
  }
  {
    absl::MutexLock lock(&rules_mu_);
    silences_ = std::move(compiled);
  }
  const int64_t now = clock_->NowMs();
  ForEachRuleState(
      [&](std::string_view path, const SeriesEntry& entry, RuleState& rs) {
        RefreshSilenced(rs, path, entry, now);
      });
}

void AlertEngine::RefreshSilenced(RuleState& rs, std::string_view path,
                                  const SeriesEntry& entry, int64_t now) {
  if (!rs.active || rs.silenced == Silenced(rs, path, now)) return;
  // A silence began or ended: the alert is tracked as before; only its
  // notification follows the flag. An alert still active when its silence
  // ends is notified then.
  rs.silenced = !rs.silenced;
  if (!rs.silenced && !rs.held) {
    NotifyNow(rs, path, entry, "silenced", now);
    return;
  }
  if (absl::Status s =
          store_->PutAlert(ToRecord(rs, path, entry.last_arrival_ms));
      !s.ok()) {
    spdlog::error("{}", s.message());
  }
}

void AlertEngine::NotifyNow(RuleState& rs, std::string_view path,
                            const SeriesEntry& entry, std::string_view why,
                            int64_t now) {
  TransitionWrite w;
  w.event = EventRecord{
      0,     rs.rule->spec.id,    std::string(path), std::string(why),
      "due", rs.state.last_value, rs.state.last_ts,  now};
  w.notify =
      Notifications(rs, path, /*resolved=*/false, rs.state.last_value, now);
  const bool notified = !w.notify.empty();
  if (notified) {
    rs.notified_ms = now;
    for (OutboxRecord& r : w.notify) r.alert.notified_ms = now;
  }
  w.put_alert = ToRecord(rs, path, entry.last_arrival_ms);
  if (absl::Status s = store_->Commit(std::move(w)); !s.ok()) {
    spdlog::error("{}", s.message());
  } else if (notified && notify_hook_) {
    notify_hook_();
  }
}

void AlertEngine::Reminders(const RuleState& rs, std::string_view path,
                            const SeriesEntry& entry, const Config& config,
                            int64_t now, std::vector<OutboxRecord>* out) const {
  if (!rs.active || rs.silenced || rs.held || rs.notified_ms <= 0 ||
      rs.flapping()) {
    return;
  }
  const int64_t base = rs.notified_ms;
  const int64_t before = std::max(last_tick_ms_, base);
  for (const std::string& name : rs.rule->channels) {
    const ChannelOptions* c = config.FindChannel(name);
    // Alertmanager re-sends by itself; a graphite event marks a transition,
    // which a reminder is not.
    if (c == nullptr || c->type == "alertmanager" ||
        c->type == "graphite_events" || c->repeat_interval_s <= 0) {
      continue;
    }
    const int64_t interval = c->repeat_interval_s * 1000;
    if ((now - base) / interval <= (before - base) / interval) continue;
    OutboxRecord r;
    r.channel = name;
    r.status = "firing";
    r.reminder = true;
    r.alert = ToRecord(rs, path, entry.last_arrival_ms);
    r.created_ms = now;
    r.next_attempt_ms = now;
    out->push_back(std::move(r));
  }
}

std::vector<AlertEngine::Notifiable> AlertEngine::NotifiableAlerts() const {
  std::vector<Notifiable> out;
  ForEachRuleState([&](std::string_view path, const SeriesEntry& entry,
                       const RuleState& rs) {
    if (!rs.active || rs.silenced || rs.held) return;
    out.push_back(
        {ToRecord(rs, path, entry.last_arrival_ms), rs.rule->channels});
  });
  return out;
}

bool AlertEngine::Silenced(const RuleState& rs, std::string_view path,
                           int64_t now) const {
  std::shared_ptr<const std::vector<CompiledSilence>> silences;
  {
    absl::MutexLock lock(&rules_mu_);
    silences = silences_;
  }
  if (!silences) return false;
  const std::string_view name = MetricName(path);
  for (const CompiledSilence& x : *silences) {
    if (now < x.record.starts_at_ms || now >= x.record.ends_at_ms) continue;
    // A series glob also matches the name it spells: the output of a target
    // rule is named by its expression, whose braces and brackets are glob
    // characters ("sumSeries(a.{b,c}.x)").
    if ((!x.rule || x.rule->Matches(rs.rule->spec.id)) &&
        (!x.series || x.series->Matches(name) || x.record.series == name)) {
      return true;
    }
  }
  return false;
}

void AlertEngine::SetConfig(std::shared_ptr<const Config> config) {
  absl::MutexLock lock(&rules_mu_);
  config_ = std::move(config);
}

uint64_t AlertEngine::PathHash(std::string_view path) {
  return absl::HashOf(AbslView(path));
}

void AlertEngine::SetRules(std::shared_ptr<const RuleSet> rules) {
  {
    absl::MutexLock lock(&rules_mu_);
    rules_ = rules;
  }
  generation_.store(rules->generation(), std::memory_order_release);
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.series.begin(); it != shard.series.end();) {
      Rebuild(*rules, it->first, &it->second);
      if (it->second.rules.empty()) {
        series_tracked_.fetch_sub(1);
        shard.series.erase(it++);
      } else {
        ++it;
      }
    }
  }
}

void AlertEngine::Rebuild(const RuleSet& rules, std::string_view path,
                          SeriesEntry* entry) {
  RuleSet::Matches matches;
  rules.Match(MetricName(path), &matches);
  RuleStates next;
  next.reserve(matches.size());
  for (uint32_t index : matches) {
    const auto& rule = rules.rules()[index];
    RuleState rs;
    for (RuleState& old : entry->rules) {
      if (old.rule && !old.target && old.rule->spec.id == rule->spec.id) {
        rs = std::move(old);
        old.rule = nullptr;
        break;
      }
    }
    rs.rule = rule;
    next.push_back(std::move(rs));
  }
  // Target rules' states: their series are the rule's outputs, kept while
  // the rule is in force.
  for (RuleState& old : entry->rules) {
    if (old.rule == nullptr || !old.target) continue;
    std::shared_ptr<const Rule> rule = rules.Find(old.rule->spec.id);
    if (rule == nullptr || !rule->is_target() || !rule->enabled) continue;
    old.rule = std::move(rule);
    next.push_back(std::move(old));
    old.rule = nullptr;
  }
  for (RuleState& old : entry->rules) {
    if (old.rule == nullptr) continue;
    if (old.flapping()) flapping_.fetch_sub(1);
    old.flap.reset();
    if (old.active) EndAlert(old, path, "rule removed or no longer matching");
    absl::MutexLock write(&WriteMuOf(path));
    if (absl::Status s = store_->DeleteState(old.rule->spec.id, path);
        !s.ok()) {
      spdlog::error("{}", s.message());
    }
  }
  rule_series_.fetch_add(next.size());
  rule_series_.fetch_sub(entry->rules.size());
  entry->rules = std::move(next);
  entry->generation = rules.generation();
}

AlertEngine::RuleState& AlertEngine::TargetStateOf(
    SeriesEntry* entry, const std::shared_ptr<const Rule>& rule) {
  for (RuleState& rs : entry->rules) {
    if (rs.target && rs.rule->spec.id == rule->spec.id) return rs;
  }
  RuleState rs;
  rs.rule = rule;
  rs.target = true;
  entry->rules.push_back(std::move(rs));
  rule_series_.fetch_add(1);
  return entry->rules.back();
}

void AlertEngine::OfferState(RuleState& rs, std::string_view path, uint32_t ts,
                             double value) {
  if (rs.nodata) {
    rs.nodata = false;
    Apply(rs, path, AlertState::kNoData, rs.alert_state(), value, ts);
  }
  const AlertState before = rs.alert_state();
  auto t = gralarm::Offer(rs.rule->params, &rs.state, ts, value);
  rs.dirty = true;
  if (t) Apply(rs, path, before, rs.alert_state(), rs.state.last_value, ts);
}

bool AlertEngine::Offer(const RuleSet& rules, std::string_view path,
                        std::string_view name, uint32_t ts, double value,
                        uint64_t path_hash) {
  const int64_t now = clock_->NowMs();
  // One store a second at most: loops share this line only that often.
  if (now - last_point_ms_.load(std::memory_order_relaxed) >= 1000) {
    last_point_ms_.store(now, std::memory_order_relaxed);
  }
  Shard& shard = ShardOf(path_hash);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.series.find(AbslView(path));
  SeriesEntry* entry;
  if (it == shard.series.end()) {
    RuleSet::Matches matches;
    rules.Match(name, &matches);
    if (matches.empty()) return false;
    entry = &shard.series.try_emplace(std::string(path)).first->second;
    series_tracked_.fetch_add(1);
    Rebuild(rules, path, entry);
  } else {
    entry = &it->second;
    if (entry->generation < rules.generation()) Rebuild(rules, path, entry);
  }
  bool matched = false;
  for (RuleState& rs : entry->rules) {
    // The series is also an output of a target rule: those states follow the
    // rule's outputs only.
    if (rs.target) continue;
    if (!matched) entry->last_arrival_ms = now;
    matched = true;
    OfferState(rs, path, ts, value);
  }
  return matched;
}

void AlertEngine::OfferTarget(const std::shared_ptr<const Rule>& rule,
                              std::string_view series, int64_t ts,
                              double value) {
  const auto rules = this->rules();
  const std::shared_ptr<const Rule> in_force = rules->Find(rule->spec.id);
  if (in_force == nullptr || !in_force->is_target() || !in_force->enabled) {
    return;
  }
  const int64_t now = clock_->NowMs();
  Shard& shard = ShardOf(PathHash(series));
  absl::MutexLock lock(&shard.mu);
  auto it = shard.series.find(AbslView(series));
  SeriesEntry* entry;
  if (it == shard.series.end()) {
    entry = &shard.series.try_emplace(std::string(series)).first->second;
    series_tracked_.fetch_add(1);
    Rebuild(*rules, series, entry);
  } else {
    entry = &it->second;
    if (entry->generation < rules->generation()) Rebuild(*rules, series, entry);
  }
  entry->last_arrival_ms = now;
  RuleState& rs = TargetStateOf(entry, in_force);
  OfferState(rs, series, static_cast<uint32_t>(std::max<int64_t>(ts, 0)),
             value);
}

void AlertEngine::CountActive(AlertState state, int delta) {
  if (state != AlertState::kOk) alerts_active_[Index(state)].fetch_add(delta);
}

AlertRecord AlertEngine::ToRecord(const RuleState& rs, std::string_view path,
                                  int64_t last_seen) const {
  AlertRecord a;
  a.rule_id = rs.rule->spec.id;
  a.rule_name = rs.rule->spec.name;
  a.series = std::string(path);
  a.severity = rs.state.level;
  a.peak = rs.peak;
  a.nodata = rs.nodata;
  a.value = rs.raise_value;
  a.since_ms = rs.since_ms;
  a.last_value = rs.state.last_value;
  a.last_seen_ms = last_seen;
  a.labels = rs.rule->labels;
  if (rs.rule->spec.grafana) a.generator_url = rs.rule->spec.grafana->url;
  a.held = rs.held;
  a.silenced = rs.silenced;
  a.notified_ms = rs.notified_ms;
  a.flapping = rs.flapping();
  return a;
}

void AlertEngine::Apply(RuleState& rs, std::string_view path, AlertState from,
                        AlertState to, double value, uint32_t ts) {
  const int64_t now = clock_->NowMs();
  const bool notify = FlapChange(rs, now) != FlapTracker::Verdict::kSuppressed;
  Change change = ChangeLife(rs, path, from, to, value, ts, now);
  if (notify) NotifyChange(rs, path, from, value, now, &change);
  CommitChange(rs, path, from, to, std::move(change.write));
}

AlertEngine::Change AlertEngine::ChangeLife(RuleState& rs,
                                            std::string_view path,
                                            AlertState from, AlertState to,
                                            double value, uint32_t ts,
                                            int64_t now) {
  Change c;
  const bool was_active = rs.active;
  const bool now_active = rs.alert_state() != AlertState::kOk;
  c.write.event = EventRecord{0,
                              rs.rule->spec.id,
                              std::string(path),
                              std::string(AlertStateName(from)),
                              std::string(AlertStateName(to)),
                              value,
                              ts,
                              now};
  // Re-count the alert under its new state.
  if (was_active) CountActive(from, -1);
  if (!was_active && now_active) {
    rs.active = true;
    rs.since_ms = now;
    rs.peak = Level::kOk;
    rs.raise_value = value;
    rs.held = !ScheduleOpen(*config(), rs.rule->schedule, now);
  }
  const bool silenced_before = rs.silenced;
  rs.silenced = now_active && Silenced(rs, path, now);
  if (now_active) {
    rs.peak = std::max(rs.peak, rs.state.level);
    c.raised = true;
    c.was_active = was_active;
    CountActive(rs.alert_state(), +1);
    return c;  // put_alert is written once notifications are known
  }
  if (!was_active) return c;
  c.write.delete_alert = true;
  c.write.history = HistoryRecord{rs.rule->spec.id,
                                  rs.rule->spec.name,
                                  std::string(path),
                                  rs.peak,
                                  LevelOf(from),
                                  from == AlertState::kNoData,
                                  rs.since_ms,
                                  now,
                                  value,
                                  rs.rule->labels};
  // The alert as it ended: its state, peak and flags as they were.
  c.ended = rs;
  c.ended->state.level = LevelOf(from);
  c.ended->nodata = from == AlertState::kNoData;
  c.ended->silenced = silenced_before;
  rs.active = false;
  rs.held = false;
  rs.notified_ms = 0;
  return c;
}

void AlertEngine::NotifyChange(RuleState& rs, std::string_view path,
                               AlertState from, double value, int64_t now,
                               Change* c) {
  if (c->raised) {
    c->write.notify = Notifications(rs, path, /*resolved=*/false, value, now);
    if (c->write.notify.empty()) return;
    // The severity label changed: the label set receivers knew ends.
    if (c->was_active && rs.notified_ms > 0) {
      for (OutboxRecord& r : c->write.notify) {
        r.replaces = std::string(AlertStateName(from));
      }
    }
    if (rs.flap) rs.flap->Told(rs.alert_state(), /*firing=*/true);
    rs.notified_ms = now;
    for (OutboxRecord& r : c->write.notify) r.alert.notified_ms = now;
  } else if (c->ended) {
    // An alert held by its schedule was never notified as firing: no
    // resolve either (Notifications() skips held and silenced ones).
    c->write.notify =
        Notifications(*c->ended, path, /*resolved=*/true, value, now);
    if (!c->write.notify.empty() && rs.flap) {
      rs.flap->Told(from, /*firing=*/false);
    }
  }
}

void AlertEngine::CommitChange(RuleState& rs, std::string_view path,
                               AlertState from, AlertState to,
                               TransitionWrite w) {
  if (rs.active) w.put_alert = ToRecord(rs, path, w.event.at_ms);
  w.state_key = Store::StateKey(rs.rule->spec.id, path);
  w.state = EncodeState(rs);
  rs.dirty = false;
  transitions_[Index(to)].fetch_add(1);
  const bool notified = !w.notify.empty();
  absl::Status commit;
  {
    absl::MutexLock write(&WriteMuOf(path));
    commit = store_->Commit(std::move(w));
  }
  if (commit.ok() && notified && notify_hook_) notify_hook_();
  if (!commit.ok()) {
    uint64_t suppressed = 0;
    if (store_error_log_.Allow(&suppressed)) {
      spdlog::error("{} (transition {} {} {} -> {} not persisted)",
                    commit.message(), rs.rule->spec.id, path,
                    AlertStateName(from), AlertStateName(to));
    }
  }
}

std::vector<OutboxRecord> AlertEngine::Notifications(const RuleState& rs,
                                                     std::string_view path,
                                                     bool resolved,
                                                     double value,
                                                     int64_t now) {
  std::vector<OutboxRecord> out;
  if (rs.silenced || rs.held) return out;
  for (const std::string& channel : rs.rule->channels) {
    OutboxRecord r;
    r.channel = channel;
    r.status = resolved ? "resolved" : "firing";
    r.alert = ToRecord(rs, path, now);
    r.alert.last_value = value;
    r.ends_ms = resolved ? now : 0;
    r.created_ms = now;
    r.next_attempt_ms = now;
    out.push_back(std::move(r));
  }
  return out;
}

void AlertEngine::EndAlert(RuleState& rs, std::string_view path,
                           std::string_view reason) {
  spdlog::info("alert {} {} ends: {}", rs.rule->spec.id, path, reason);
  const AlertState from = rs.alert_state();
  rs.state.level = Level::kOk;
  rs.nodata = false;
  Apply(rs, path, from, AlertState::kOk, rs.state.last_value, rs.state.last_ts);
}

void AlertEngine::Tick() {
  const int64_t now = clock_->NowMs();
  const auto cfg = config();
  const int64_t guard_ms = cfg->evaluation.nodata_guard_s * 1000;
  const int64_t last_point = last_point_ms_.load(std::memory_order_relaxed);
  // An ingest outage must not page for every series: pause while nothing
  // arrives, and count silence only from when points flow again. Before the
  // first point since start the checks wait too, but that is no outage: only
  // a stop of points that had been flowing is logged, and then its end.
  const bool silent = guard_ms > 0 && now - last_point >= guard_ms + 1000;
  if (silent) {
    if (!guard_paused_ && last_point != 0) {
      spdlog::warn("no point arrived for {} s: no-data checks paused",
                   cfg->evaluation.nodata_guard_s);
      guard_logged_ = true;
    }
    guard_paused_ = true;
  } else if (guard_paused_) {
    guard_paused_ = false;
    guard_resumed_ms_ = now;
    if (guard_logged_) {
      spdlog::info("points arrive again: no-data checks resume");
      guard_logged_ = false;
    }
  }
  if (last_tick_ms_ == 0) last_tick_ms_ = now;
  std::vector<OutboxRecord> reminders;
  ForEachRuleState([&](std::string_view path, const SeriesEntry& entry,
                       RuleState& rs) {
    RefreshSilenced(rs, path, entry, now);
    if (rs.flap && rs.flap->BecameStable(rs.rule->flap, now)) {
      FlapEnded(rs, path, now, &reminders);
    }
    if (rs.active && rs.held && ScheduleOpen(*cfg, rs.rule->schedule, now)) {
      // The period opened: the alert is due for notification now.
      rs.held = false;
      NotifyNow(rs, path, entry, "held", now);
    }
    Reminders(rs, path, entry, *cfg, now, &reminders);
    if (silent || rs.nodata || rs.rule->nodata_after_s <= 0) return;
    const int64_t quiet_since =
        std::max(entry.last_arrival_ms, guard_resumed_ms_);
    const int64_t deadline = quiet_since + rs.rule->nodata_after_s * 1000;
    // Only a series that fell silent while others kept arriving has no
    // data: points must have reached the proxy after its deadline
    // (last_point_ms_ moves in steps of a second).
    if (now >= deadline && last_point + 1000 >= deadline) {
      const AlertState from = rs.alert_state();
      rs.nodata = true;
      Apply(rs, path, from, AlertState::kNoData, rs.state.last_value,
            rs.state.last_ts);
    }
  });
  last_tick_ms_ = now;
  if (reminders.empty()) return;
  if (absl::Status s = store_->Enqueue(std::move(reminders)); !s.ok()) {
    spdlog::error("{} (reminders not queued)", s.message());
  } else if (notify_hook_) {
    notify_hook_();
  }
}

FlapTracker::Verdict AlertEngine::FlapChange(RuleState& rs, int64_t now) {
  if (!rs.rule->flap.on()) {
    if (rs.flapping()) flapping_.fetch_sub(1);
    rs.flap.reset();
    return FlapTracker::Verdict::kNotify;
  }
  if (!rs.flap) rs.flap = std::make_shared<FlapTracker>();
  const FlapTracker::Verdict v = rs.flap->Change(rs.rule->flap, now);
  if (v == FlapTracker::Verdict::kStartedFlapping) flapping_.fetch_add(1);
  return v;
}

void AlertEngine::FlapEnded(RuleState& rs, std::string_view path, int64_t now,
                            std::vector<OutboxRecord>* out) {
  flapping_.fetch_sub(1);
  const FlapTracker& f = *rs.flap;
  std::vector<OutboxRecord> notify;
  if (rs.active) {
    notify =
        Notifications(rs, path, /*resolved=*/false, rs.state.last_value, now);
    if (!notify.empty()) rs.notified_ms = now;
    for (OutboxRecord& r : notify) {
      r.alert.notified_ms = now;
      // The label set receivers were last told firing ends.
      if (f.told_firing() && f.told() != r.alert.state()) {
        r.replaces = std::string(AlertStateName(*f.told()));
      }
    }
  } else if (f.told()) {
    // Resolved, under the label set receivers were last told.
    RuleState ended = rs;
    ended.active = true;
    ended.silenced = false;
    ended.held = false;
    ended.nodata = *f.told() == AlertState::kNoData;
    if (!ended.nodata) ended.state.level = LevelOf(*f.told());
    notify =
        Notifications(ended, path, /*resolved=*/true, rs.state.last_value, now);
  }
  if (!notify.empty() && rs.flap) {
    rs.flap->Told(notify.front().alert.state(), /*firing=*/rs.active);
  }
  for (OutboxRecord& r : notify) out->push_back(std::move(r));
}

std::string AlertEngine::EncodeState(const RuleState& rs) {
  return EncodeSeriesState(rs.state, rs.nodata);
}

bool AlertEngine::DecodeState(std::string_view bytes, RuleState* rs) {
  bool legacy = false;
  if (!DecodeSeriesState(bytes, &rs->state, &rs->nodata, &legacy).ok())
    return false;
  // A state of an earlier encoding is written in the current one at the next
  // flush.
  if (legacy) rs->dirty = true;
  return true;
}

absl::Status AlertEngine::Flush() {
  // One write a shard: what is copied out at a time stays small (a copy of
  // every state at once would cost as much memory again as the states).
  absl::Status status;
  std::vector<std::pair<std::string, std::string>> dirty;
  for (Shard& shard : shards_) {
    dirty.clear();
    shard.mu.Lock();
    for (auto& [path, entry_in_map] : shard.series) {
      SeriesEntry* entry = &entry_in_map;
      for (RuleState& rs : entry->rules) {
        if (!rs.dirty) continue;
        rs.dirty = false;
        dirty.emplace_back(Store::StateKey(rs.rule->spec.id, path),
                           EncodeState(rs));
      }
    }
    if (dirty.empty()) {
      shard.mu.Unlock();
      continue;
    }
    // Hand over hand: write_mu is held before the shard lock is released, so
    // a transition committed after the copy (it takes write_mu for its
    // write) lands after this write and is never overwritten by it. Points
    // that change no level do not wait: only store writes take write_mu.
    absl::MutexLock write(&shard.write_mu);
    shard.mu.Unlock();
    if (flush_pause_) flush_pause_();
    if (absl::Status s = store_->SaveStates(dirty); !s.ok()) status = s;
  }
  return status;
}

absl::Status AlertEngine::Restore() {
  const auto rules = this->rules();
  const int64_t now = clock_->NowMs();
  auto alerts = store_->ActiveAlerts();
  if (!alerts.ok()) return alerts.status();
  absl::flat_hash_map<std::string, AlertRecord> by_key;
  for (AlertRecord& a : *alerts)
    by_key[Store::StateKey(a.rule_id, a.series)] = std::move(a);
  std::vector<std::tuple<std::string, std::string, std::string>> stale;
  size_t restored = 0;
  absl::Status s =
      store_->LoadStates([&](std::string_view rule_id, std::string_view path,
                             std::string_view bytes) {
        Shard& shard = ShardOf(PathHash(path));
        absl::MutexLock lock(&shard.mu);
        const std::shared_ptr<const Rule> rule = rules->Find(rule_id);
        const bool target = rule != nullptr && rule->is_target();
        auto it = shard.series.find(AbslView(path));
        if (it == shard.series.end()) {
          SeriesEntry entry;
          Rebuild(*rules, path, &entry);
          if (target && rule->enabled) TargetStateOf(&entry, rule);
          if (entry.rules.empty()) {
            stale.emplace_back(std::string(rule_id), std::string(path), "");
            return;
          }
          entry.last_arrival_ms = now;
          it = shard.series.emplace(std::string(path), std::move(entry)).first;
          series_tracked_.fetch_add(1);
        } else if (target && rule->enabled) {
          TargetStateOf(&it->second, rule);
        }
        for (RuleState& rs : it->second.rules) {
          if (rs.rule->spec.id != rule_id) continue;
          if (!DecodeState(bytes, &rs)) break;
          auto a = by_key.find(Store::StateKey(rule_id, path));
          if (a != by_key.end()) {
            rs.active = true;
            rs.since_ms = a->second.since_ms;
            rs.peak = a->second.peak;
            rs.raise_value = a->second.value;
            rs.held = a->second.held;
            rs.silenced = a->second.silenced;
            rs.notified_ms = a->second.notified_ms;
            CountActive(rs.alert_state(), +1);
            by_key.erase(a);
          }
          ++restored;
          return;
        }
        stale.emplace_back(std::string(rule_id), std::string(path), "");
      });
  if (!s.ok()) return s;
  for (const auto& [rule_id, path, unused] : stale) {
    if (absl::Status d = store_->DeleteState(rule_id, path); !d.ok()) return d;
  }
  spdlog::info("restored {} series states and {} active alerts", restored,
               alerts->size() - by_key.size());
  for (const auto& [key, a] : by_key) {
    if (rules->Find(a.rule_id) != nullptr) {
      spdlog::warn("active alert {} {} has no state to resume from", a.rule_id,
                   a.series);
      continue;
    }
    // Its rule is no longer in force (deleted, or invalid): the alert ends
    // into history, as it would have had the rule gone while running. Nothing
    // is notified: the rule's channels are not in force either.
    spdlog::info("alert {} {} ends: its rule is not in force", a.rule_id,
                 a.series);
    TransitionWrite w;
    w.event = EventRecord{0,
                          a.rule_id,
                          a.series,
                          std::string(AlertStateName(a.state())),
                          std::string(AlertStateName(AlertState::kOk)),
                          a.last_value,
                          0,
                          now};
    w.delete_alert = true;
    w.history = HistoryRecord{a.rule_id,    a.rule_name, a.series,   a.peak,
                              a.severity,   a.nodata,    a.since_ms, now,
                              a.last_value, a.labels};
    if (absl::Status c = store_->Commit(std::move(w)); !c.ok()) return c;
  }
  return absl::OkStatus();
}

std::vector<AlertRecord> AlertEngine::ActiveAlerts() const {
  std::vector<AlertRecord> out;
  ForEachRuleState([&](std::string_view path, const SeriesEntry& entry,
                       const RuleState& rs) {
    if (rs.active) out.push_back(ToRecord(rs, path, entry.last_arrival_ms));
  });
  return out;
}

EngineCounters AlertEngine::Counters() const {
  EngineCounters c;
  c.series_tracked = series_tracked_.load();
  c.rule_series = rule_series_.load();
  for (AlertState state : kAllAlertStates) {
    c.alerts_active[Index(state)] = alerts_active_[Index(state)].load();
    c.transitions[Index(state)] = transitions_[Index(state)].load();
  }
  c.flapping = static_cast<uint64_t>(std::max<int64_t>(0, flapping_.load()));
  return c;
}

std::vector<AlertEngine::SeriesView> AlertEngine::SeriesOf(
    std::string_view rule_id) const {
  std::vector<SeriesView> out;
  ForEachRuleState([&](std::string_view path, const SeriesEntry& entry,
                       const RuleState& rs) {
    if (rs.rule->spec.id != rule_id) return;
    out.push_back({std::string(path), rs.state, rs.nodata,
                   entry.last_arrival_ms, rs.flapping()});
  });
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.series < b.series; });
  return out;
}

}  // namespace gralarm
