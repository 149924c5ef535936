#include "gralarm/alert_service.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gralarm/glob.h"
#include "gralarm/log.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"

namespace gralarm {
namespace {

std::string RandomId(std::string_view prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("%s%012x", AbslView(prefix),
                         rng() & 0xffffffffffffull);
}

// A rule id from its name: lower case, anything outside [a-z0-9_.-] as '-'.
std::string IdFromName(std::string_view name) {
  std::string id;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' ||
              l == '.' || l == '-';
    id += ok ? l : '-';
    if (id.size() >= 100) break;
  }
  while (!id.empty() && id.back() == '-') id.pop_back();
  return id;
}

bool RuleExists(const RuleSet& rules, std::string_view id) {
  return rules.Find(id) != nullptr || rules.FindInvalid(id) != nullptr;
}

}  // namespace

AlertService::AlertService(
    Store* store, AlertEngine* engine,
    std::function<std::shared_ptr<const Config>()> config,
    std::function<absl::Status()> reload_rules)
    : store_(store),
      engine_(engine),
      config_(std::move(config)),
      reload_rules_(std::move(reload_rules)) {}

absl::Status AlertService::ApplyStoredRulesLocked() { return reload_rules_(); }

absl::Status AlertService::CheckWritableRuleLocked(const RuleSet& rules,
                                                   std::string_view id) {
  auto existing = rules.Find(id);
  if (existing == nullptr && rules.FindInvalid(id) == nullptr) {
    return absl::NotFoundError(StrCat("rule \"", id, "\" not found"));
  }
  if (existing && existing->spec.source == RuleSource::kFile) {
    return absl::FailedPreconditionError(
        StrCat("rule \"", id, "\" comes from ", existing->spec.source_file,
               " and is read-only here: edit the file and send SIGHUP"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const Rule>> AlertService::CreateRule(
    RuleSpec spec) {
  absl::MutexLock lock(&mu_);
  const auto rules = engine_->rules();
  if (spec.id.empty()) {
    std::string base = IdFromName(spec.name);
    spec.id = ValidRuleId(base) && !RuleExists(*rules, base)
                  ? base
                  : RandomId("rule-");
  }
  if (RuleExists(*rules, spec.id)) {
    return absl::AlreadyExistsError(StrCat("rule \"", spec.id,
                                           "\" exists: PUT /api/v1/rules/",
                                           spec.id, " changes it"));
  }
  return PutRuleLocked(std::move(spec));
}

absl::StatusOr<std::shared_ptr<const Rule>> AlertService::ReplaceRule(
    std::string_view id, RuleSpec spec) {
  if (!spec.id.empty() && spec.id != id) {
    return FieldError("id", "differs from the id in the path");
  }
  spec.id = std::string(id);
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckWritableRuleLocked(*engine_->rules(), id);
      !s.ok()) {
    return s;
  }
  return PutRuleLocked(std::move(spec));
}

absl::StatusOr<std::shared_ptr<const Rule>> AlertService::PutRuleLocked(
    RuleSpec spec) {
  const auto rules = engine_->rules();
  const TemplateSpec* tmpl = spec.template_name.empty()
                                 ? nullptr
                                 : rules->FindTemplate(spec.template_name);
  auto resolved = ResolveRule(spec, tmpl, *config_());
  if (!resolved.ok()) return resolved.status();
  spec.source = RuleSource::kApi;
  // What the store held for this id, to put back if the new rules cannot be
  // put in force: the store never keeps a rule the engine refused.
  auto previous = store_->Record(RecordKind::kRule, spec.id);
  if (!previous.ok()) return previous.status();
  ReplicatedRecord record;
  record.kind = RecordKind::kRule;
  record.id = spec.id;
  record.json = RuleSpecToJson(spec);
  if (absl::Status s = WriteLocalLocked(std::move(record)); !s.ok()) {
    return s;
  }
  if (absl::Status s = ApplyStoredRulesLocked(); !s.ok()) {
    absl::Status undo = RestoreLocked(RecordKind::kRule, spec.id, *previous);
    if (!undo.ok()) {
      spdlog::error(
          "rule {}: not put in force ({}), and the stored rule could "
          "not be put back: {}",
          spec.id, s.message(), undo.message());
    }
    return s;
  }
  auto stored = engine_->rules()->Find(spec.id);
  if (stored == nullptr) return absl::InternalError("rule vanished");
  return stored;
}

absl::StatusOr<std::vector<std::shared_ptr<const Rule>>>
AlertService::ImportRules(std::vector<RuleSpec> specs) {
  absl::MutexLock lock(&mu_);
  const auto rules = engine_->rules();
  const auto config = config_();
  auto at = [](size_t i, absl::Status s) {
    s.SetPayload(kImportIndexPayload, absl::Cord(std::to_string(i)));
    return s;
  };
  // The id each origin has now (API rules, in force or stored invalid).
  auto existing = [&](const GrafanaOrigin& o) -> absl::StatusOr<std::string> {
    auto same = [&](const GrafanaOrigin& x) {
      return x.uid == o.uid && x.panel_id == o.panel_id && x.ref_id == o.ref_id;
    };
    for (const auto& r : rules->rules()) {
      if (!r->spec.grafana || !same(*r->spec.grafana)) continue;
      if (r->spec.source == RuleSource::kFile) {
        return absl::FailedPreconditionError(
            StrCat("rule \"", r->spec.id, "\" of ", r->spec.source_file,
                   " was imported from that query: edit the file"));
      }
      return r->spec.id;
    }
    for (const InvalidRule& r : rules->invalid()) {
      if (r.shadowed || r.id.empty()) continue;
      auto spec = ParseRuleJson(r.json);
      if (spec.ok() && spec->grafana && same(*spec->grafana)) return r.id;
    }
    return std::string();
  };
  std::set<std::string> taken;
  for (size_t i = 0; i < specs.size(); ++i) {
    RuleSpec& spec = specs[i];
    if (!spec.grafana || !spec.id.empty()) {
      return at(i, absl::InvalidArgumentError(
                       "an imported rule has a grafana origin and no id"));
    }
    auto id = existing(*spec.grafana);
    if (!id.ok()) return at(i, id.status());
    if (id->empty()) {
      std::string base = IdFromName(spec.name);
      *id = ValidRuleId(base) && !RuleExists(*rules, base) &&
                    !taken.contains(base)
                ? base
                : RandomId("rule-");
    }
    if (!taken.insert(*id).second) {
      return at(i, absl::InvalidArgumentError(StrCat(
                       "two imported rules would be rule \"", *id, "\"")));
    }
    spec.id = *id;
    spec.source = RuleSource::kApi;
    const TemplateSpec* tmpl = spec.template_name.empty()
                                   ? nullptr
                                   : rules->FindTemplate(spec.template_name);
    if (auto resolved = ResolveRule(spec, tmpl, *config); !resolved.ok()) {
      return at(i, resolved.status());
    }
  }
  return PutRulesLocked(specs);
}

absl::StatusOr<std::vector<std::shared_ptr<const Rule>>>
AlertService::PutRulesLocked(const std::vector<RuleSpec>& specs) {
  // Store all, then put them in force at once; put everything back when
  // anything fails.
  std::vector<std::pair<std::string, std::optional<ReplicatedRecord>>> previous;
  auto undo = [&](const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [id, before] : previous) {
      absl::Status u = RestoreLocked(RecordKind::kRule, id, before);
      if (!u.ok()) {
        spdlog::error("rule {} could not be put back after \"{}\": {}", id,
                      why.message(), u.message());
      }
    }
    return why;
  };
  for (const RuleSpec& spec : specs) {
    auto before = store_->Record(RecordKind::kRule, spec.id);
    if (!before.ok()) return undo(before.status());
    previous.emplace_back(spec.id, *before);
    ReplicatedRecord record;
    record.kind = RecordKind::kRule;
    record.id = spec.id;
    record.json = RuleSpecToJson(spec);
    if (absl::Status s = WriteLocalLocked(std::move(record)); !s.ok()) {
      return undo(s);
    }
  }
  if (absl::Status s = ApplyStoredRulesLocked(); !s.ok()) return undo(s);
  std::vector<std::shared_ptr<const Rule>> out;
  const auto now = engine_->rules();
  for (const RuleSpec& spec : specs) {
    auto r = now->Find(spec.id);
    if (r == nullptr) return absl::InternalError("a written rule vanished");
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<std::shared_ptr<const Rule>>>
AlertService::ChangeRules(const std::vector<std::string>& ids,
                          const RuleChange& change) {
  absl::MutexLock lock(&mu_);
  const auto rules = engine_->rules();
  const auto config = config_();
  auto at = [](std::string_view id, absl::Status s) {
    s.SetPayload(kRuleIdPayload, absl::Cord(std::string(id)));
    return s;
  };
  std::set<std::string_view> seen;
  std::vector<RuleSpec> specs;
  specs.reserve(ids.size());
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) {
      return at(id,
                FieldError("ids", StrCat("rule \"", id, "\" is listed twice")));
    }
    if (absl::Status s = CheckWritableRuleLocked(*rules, id); !s.ok()) {
      return at(id, s);
    }
    RuleSpec current;
    if (auto r = rules->Find(id); r != nullptr) {
      current = r->spec;
    } else {
      auto stored = ParseRuleJson(rules->FindInvalid(id)->json);
      if (!stored.ok()) return at(id, stored.status());
      current = std::move(*stored);
    }
    auto changed = change(current);
    if (!changed.ok()) return at(id, changed.status());
    changed->id = id;
    changed->source = RuleSource::kApi;
    const TemplateSpec* tmpl =
        changed->template_name.empty()
            ? nullptr
            : rules->FindTemplate(changed->template_name);
    if (auto resolved = ResolveRule(*changed, tmpl, *config); !resolved.ok()) {
      return at(id, resolved.status());
    }
    specs.push_back(std::move(*changed));
  }
  return PutRulesLocked(specs);
}

absl::Status AlertService::DeleteRule(std::string_view id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckWritableRuleLocked(*engine_->rules(), id);
      !s.ok()) {
    return s;
  }
  ReplicatedRecord tombstone;
  tombstone.kind = RecordKind::kRule;
  tombstone.id = std::string(id);
  tombstone.state.deleted = true;
  if (absl::Status s = WriteLocalLocked(std::move(tombstone)); !s.ok()) {
    return s;
  }
  return ApplyStoredRulesLocked();
}

absl::StatusOr<TemplateSpec> AlertService::CreateTemplate(TemplateSpec spec) {
  absl::MutexLock lock(&mu_);
  return PutTemplateLocked(std::move(spec), /*create=*/true);
}

absl::StatusOr<TemplateSpec> AlertService::ReplaceTemplate(
    std::string_view name, TemplateSpec spec) {
  if (spec.name != name) {
    return FieldError("name", "differs from the name in the path");
  }
  absl::MutexLock lock(&mu_);
  return PutTemplateLocked(std::move(spec), /*create=*/false);
}

absl::StatusOr<TemplateSpec> AlertService::PutTemplateLocked(
    TemplateSpec spec, bool create, bool validate_only) {
  const auto rules = engine_->rules();
  const TemplateSpec* existing = rules->FindTemplate(spec.name);
  if (create && existing != nullptr) {
    return absl::AlreadyExistsError(
        StrCat("template \"", spec.name, "\" exists"));
  }
  if (!create && existing == nullptr) {
    return absl::NotFoundError(
        StrCat("template \"", spec.name, "\" not found"));
  }
  if (existing != nullptr && existing->source == RuleSource::kFile) {
    return absl::FailedPreconditionError(
        StrCat("template \"", spec.name,
               "\" comes from a rule file and is read-only"));
  }
  // Every rule that uses it must still be valid with the new fields.
  const auto config = config_();
  for (const auto& r : rules->rules()) {
    if (r->spec.template_name != spec.name) continue;
    auto resolved = ResolveRule(r->spec, &spec, *config);
    if (!resolved.ok()) {
      return FieldError(
          FieldOf(resolved.status()),
          StrCat("rule \"", r->spec.id,
                 "\" would become invalid: ", resolved.status().message()));
    }
  }
  if (validate_only) return spec;
  ReplicatedRecord record;
  record.kind = RecordKind::kTemplate;
  record.id = spec.name;
  record.json = TemplateSpecToJson(spec);
  if (absl::Status s = WriteLocalLocked(std::move(record)); !s.ok()) {
    return s;
  }
  if (absl::Status s = ApplyStoredRulesLocked(); !s.ok()) return s;
  return spec;
}

absl::Status AlertService::DeleteTemplate(std::string_view name) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = DeleteTemplateCheckLocked(name); !s.ok()) return s;
  ReplicatedRecord tombstone;
  tombstone.kind = RecordKind::kTemplate;
  tombstone.id = std::string(name);
  tombstone.state.deleted = true;
  if (absl::Status s = WriteLocalLocked(std::move(tombstone)); !s.ok()) {
    return s;
  }
  return ApplyStoredRulesLocked();
}

absl::Status AlertService::DeleteTemplateCheckLocked(std::string_view name) {
  const auto rules = engine_->rules();
  const TemplateSpec* t = rules->FindTemplate(name);
  if (t == nullptr) {
    return absl::NotFoundError(StrCat("template \"", name, "\" not found"));
  }
  if (t->source == RuleSource::kFile) {
    return absl::FailedPreconditionError(StrCat(
        "template \"", name, "\" comes from a rule file and is read-only"));
  }
  std::vector<std::string> users;
  for (const auto& r : rules->rules()) {
    if (r->spec.template_name == name) users.push_back(r->spec.id);
  }
  if (!users.empty()) {
    return absl::FailedPreconditionError(StrCat("template \"", name,
                                                "\" is used by rule(s) ",
                                                absl::StrJoin(users, ", ")));
  }
  return absl::OkStatus();
}

absl::Status AlertService::ApplySilencesLocked() {
  auto all = store_->Silences();
  if (!all.ok()) return all.status();
  engine_->SetSilences(*all);
  return absl::OkStatus();
}

absl::Status AlertService::CheckSilence(const SilenceRecord& x) {
  if (x.ends_at_ms <= x.starts_at_ms) {
    return FieldError("ends_at", "must be after starts_at");
  }
  for (auto [field, text] :
       {std::pair{"rule", &x.rule}, std::pair{"series", &x.series}}) {
    if (text->empty()) continue;
    auto g = Glob::Compile(*text);
    if (!g.ok()) return FieldError(field, std::string(g.status().message()));
  }
  if (x.rule.empty() && x.series.empty()) {
    return FieldError("rule", "set rule or series (or both)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SilenceRecord> AlertService::AddSilence(SilenceRecord x) {
  if (absl::Status s = CheckSilence(x); !s.ok()) return s;
  x.id = RandomId("silence-");
  absl::MutexLock lock(&mu_);
  ReplicatedRecord record;
  record.kind = RecordKind::kSilence;
  record.id = x.id;
  record.silence = x;
  if (absl::Status s = WriteLocalLocked(std::move(record)); !s.ok()) return s;
  if (absl::Status s = ApplySilencesLocked(); !s.ok()) return s;
  return x;
}

absl::Status AlertService::DeleteSilence(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto all = store_->Silences();
  if (!all.ok()) return all.status();
  auto it = std::find_if(all->begin(), all->end(),
                         [&](const SilenceRecord& x) { return x.id == id; });
  if (it == all->end()) {
    return absl::NotFoundError(StrCat("silence \"", id, "\" not found"));
  }
  ReplicatedRecord tombstone;
  tombstone.kind = RecordKind::kSilence;
  tombstone.id = std::string(id);
  tombstone.state.deleted = true;
  if (absl::Status s = WriteLocalLocked(std::move(tombstone)); !s.ok()) {
    return s;
  }
  all->erase(it);
  engine_->SetSilences(*all);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SilenceRecord>> AlertService::Silences() {
  auto all = store_->Silences();
  if (!all.ok()) return all.status();
  std::sort(all->begin(), all->end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return all;
}

absl::Status AlertService::LoadSilences() {
  absl::MutexLock lock(&mu_);
  return ApplySilencesLocked();
}

absl::Status AlertService::WriteLocalLocked(ReplicatedRecord record) {
  auto held = store_->HeldRecord(record.kind, record.id);
  if (!held.ok()) return held.status();
  const auto config = config_();
  const ClusterOptions& cluster = config->cluster;
  std::optional<RecordVersion> stored;
  if (*held) stored = (*held)->version;
  record.state.version =
      NextVersion(stored, absl::ToUnixMillis(absl::Now()), cluster.node_id);
  static const std::vector<std::string> kNoPeers;
  const std::vector<std::string>& peers =
      cluster.enabled() ? cluster.peer_apis : kNoPeers;
  if (absl::Status s = store_->WriteRecord(record, peers); !s.ok()) return s;
  if (!peers.empty() && on_queued_) on_queued_();
  return absl::OkStatus();
}

absl::Status AlertService::RestoreLocked(
    RecordKind kind, std::string_view id,
    const std::optional<ReplicatedRecord>& previous) {
  if (!previous) return store_->EraseRecord(kind, id);
  return store_->WriteRecord(*previous, {});
}

absl::StatusOr<std::vector<ReplicatedRecord>> AlertService::Records() {
  return store_->Records();
}

absl::StatusOr<AlertService::ApplyResult> AlertService::ApplyReplicated(
    std::vector<ReplicatedRecord> records) {
  // Templates first (rules may use them), then rules, then template deletes
  // (their rules may go in the same batch), then silences.
  auto phase = [](const ReplicatedRecord& r) {
    switch (r.kind) {
      case RecordKind::kTemplate:
        return r.state.deleted ? 2 : 0;
      case RecordKind::kRule:
        return 1;
      case RecordKind::kSilence:
        return 3;
    }
    return 3;
  };
  std::stable_sort(
      records.begin(), records.end(),
      [&](const auto& a, const auto& b) { return phase(a) < phase(b); });
  absl::MutexLock lock(&mu_);
  ApplyResult result;
  const auto config = config_();
  bool rules_changed = false, silences_changed = false;
  int current_phase = -1;
  // Rules are put in force once a phase (not once a record): a batch is a
  // whole store at a node's start.
  auto end_phase = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (!rules_changed) return absl::OkStatus();
    rules_changed = false;
    return ApplyStoredRulesLocked();
  };
  for (ReplicatedRecord& r : records) {
    if (phase(r) != current_phase) {
      if (absl::Status s = end_phase(); !s.ok()) return s;
      current_phase = phase(r);
    }
    auto held = store_->HeldRecord(r.kind, r.id);
    if (!held.ok()) return held.status();
    if (!ShouldApply(*held, r.state.version)) {
      ++result.ignored;
      continue;
    }
    const auto rules = engine_->rules();
    absl::Status check;
    if (r.kind == RecordKind::kRule) {
      auto in_force = rules->Find(r.id);
      if (in_force && in_force->spec.source == RuleSource::kFile) {
        check = absl::FailedPreconditionError(
            StrCat("rule \"", r.id, "\" comes from ",
                   in_force->spec.source_file, " on this node"));
      } else if (!r.state.deleted) {
        auto spec = ParseRuleJson(r.json);
        if (!spec.ok()) {
          check = spec.status();
        } else if (spec->id != r.id) {
          check = FieldError("id", "differs from the record's id");
        } else {
          spec->source = RuleSource::kApi;
          const TemplateSpec* tmpl =
              spec->template_name.empty()
                  ? nullptr
                  : rules->FindTemplate(spec->template_name);
          auto resolved = ResolveRule(*spec, tmpl, *config);
          check = resolved.status();
          if (check.ok()) r.json = RuleSpecToJson(*spec);
        }
      }
    } else if (r.kind == RecordKind::kTemplate) {
      if (r.state.deleted) {
        if (rules->FindTemplate(r.id) != nullptr) {
          check = DeleteTemplateCheckLocked(r.id);
        }
      } else {
        auto spec = ParseTemplateJson(r.json);
        if (!spec.ok()) {
          check = spec.status();
        } else if (spec->name != r.id) {
          check = FieldError("name", "differs from the record's name");
        } else {
          const bool exists = rules->FindTemplate(r.id) != nullptr;
          auto v = PutTemplateLocked(*spec, /*create=*/!exists,
                                     /*validate_only=*/true);
          check = v.status();
          if (check.ok()) r.json = TemplateSpecToJson(*spec);
        }
      }
    } else if (!r.state.deleted) {
      r.silence.id = r.id;
      check = CheckSilence(r.silence);
    }
    if (!check.ok()) {
      result.refused.emplace_back(r.kind, r.id, std::move(check));
      continue;
    }
    if (absl::Status s = store_->WriteRecord(r, {}); !s.ok()) return s;
    ++result.applied;
    if (r.kind == RecordKind::kSilence) {
      silences_changed = true;
    } else {
      rules_changed = true;
    }
  }
  if (absl::Status s = end_phase(); !s.ok()) return s;
  if (silences_changed) {
    if (absl::Status s = ApplySilencesLocked(); !s.ok()) return s;
  }
  applied_ += result.applied;
  ignored_ += result.ignored;
  refused_ += result.refused.size();
  for (const auto& [kind, id, why] : result.refused) {
    spdlog::warn("cluster: a peer's {} {} is refused: {}", RecordKindName(kind),
                 id, why.message());
  }
  return result;
}

}  // namespace gralarm
