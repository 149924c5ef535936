#ifndef GRALARM_ALERT_SERVICE_H_
#define GRALARM_ALERT_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_engine.h"
#include "gralarm/config.h"
#include "gralarm/record_version.h"
#include "gralarm/rule.h"
#include "gralarm/store.h"

namespace gralarm {

// The one writer of API rules, templates and silences. Each write validates,
// stores and puts in force under one mutex, so writes take effect one at a
// time and in the order they are answered: a check ("is this id free?") and
// the write it allows are never split by another write, and a write that
// returns OK is in force (in the store and in the engine) when it returns.
//
// Errors, for the API to map:
//   InvalidArgument     a field is wrong (FieldOf() names it)       -> 400
//   NotFound            the rule, template or silence does not exist -> 404
//   AlreadyExists       create of an id or name that exists          -> 409
//   FailedPrecondition  read-only (from a rule file), or still in use -> 409
//   anything else       the store or the rule load failed             -> 500
// Thread-safe.
// The index of the spec at fault in an ImportRules error.
inline constexpr char kImportIndexPayload[] = "gralarm.import_index";
// The id of the rule at fault in a ChangeRules error.
inline constexpr char kRuleIdPayload[] = "gralarm.rule_id";

class AlertService {
 public:
  // `config` returns the config in force; `reload_rules` rebuilds the rules in
  // force from the rule files and the store (Server::ReloadRules). Neither
  // may call back into this service. `store` and `engine` are not owned.
  AlertService(Store* store, AlertEngine* engine,
               std::function<std::shared_ptr<const Config>()> config,
               std::function<absl::Status()> reload_rules);

  // Stores `spec` as a new API rule and puts it in force. An empty id is made
  // from the name (or a random "rule-..." when that one is taken or not a
  // valid id); an id that exists (in force, from a file, or stored and
  // invalid) is AlreadyExists. Returns the rule as now in force.
  absl::StatusOr<std::shared_ptr<const Rule>> CreateRule(RuleSpec spec);
  // Replaces the API rule `id` (NotFound when there is none; a rule from a
  // rule file is FailedPrecondition). `spec.id` must be empty or `id`.
  absl::StatusOr<std::shared_ptr<const Rule>> ReplaceRule(std::string_view id,
                                                          RuleSpec spec);
  // Removes the API rule `id` (stored invalid rules too); its alerts end.
  absl::Status DeleteRule(std::string_view id);

  // Stores rules imported from Grafana, all or none: each spec must have
  // `grafana` set and an empty id. A spec whose (uid, panel_id, ref_id) is
  // that of an API rule replaces that rule (same id); the others are created
  // (ids as CreateRule makes them). Every spec is validated before anything
  // is stored; an error names the spec by its index in the status payload
  // kImportIndexPayload (and FieldOf() gives the field). A rule from a rule
  // file with the same origin is FailedPrecondition. Returns the rules as now
  // in force, in the order of `specs`.
  absl::StatusOr<std::vector<std::shared_ptr<const Rule>>> ImportRules(
      std::vector<RuleSpec> specs);

  // Changes many API rules at once, all or none: `change` maps each rule's
  // spec as stored (a rule in force, or a stored rule that no longer
  // resolves) to its new spec (id and source are kept). Every new spec is
  // validated before anything is stored; an error names the rule in the
  // status payload kRuleIdPayload: an id listed twice (InvalidArgument,
  // field "ids"), no such rule (NotFound), a rule from a rule file
  // (FailedPrecondition), or what `change` or the validation refused
  // (InvalidArgument with its field). Returns the rules as now in force, in
  // the order of `ids`.
  using RuleChange = std::function<absl::StatusOr<RuleSpec>(const RuleSpec&)>;
  absl::StatusOr<std::vector<std::shared_ptr<const Rule>>> ChangeRules(
      const std::vector<std::string>& ids, const RuleChange& change);

  // Templates: the same, by name. A replacement must leave every rule that
  // uses the template valid; a template still in use is not deleted.
  absl::StatusOr<TemplateSpec> CreateTemplate(TemplateSpec spec);
  absl::StatusOr<TemplateSpec> ReplaceTemplate(std::string_view name,
                                               TemplateSpec spec);
  absl::Status DeleteTemplate(std::string_view name);

  // Stores a new silence (`id` is assigned) and puts every stored silence in
  // force. Needs rule or series (Graphite globs) and ends_ms > starts_ms.
  absl::StatusOr<SilenceRecord> AddSilence(SilenceRecord silence);
  absl::Status DeleteSilence(std::string_view id);
  // The stored silences, by id.
  absl::StatusOr<std::vector<SilenceRecord>> Silences();
  // Puts the stored silences in force (at start).
  absl::Status LoadSilences();

  // ---- Replication (README "Rules, templates and silences").
  // Every write above stores the record with a new version (NextVersion, with
  // cluster.node_id) and, when a [cluster] is configured, queues it for each
  // of cluster.peer_apis (Store::WriteRecord); `on_queued`, when set, is then
  // called (under this service's lock: it must only signal). Set it before
  // the first write.
  void set_on_queued(std::function<void()> on_queued) {
    on_queued_ = std::move(on_queued);
  }

  // What ApplyReplicated did with a batch.
  struct ApplyResult {
    uint64_t applied = 0;  // newer than what was held: now in force
    uint64_t ignored = 0;  // not newer (already applied, or older)
    // Refused by the validation of an API write: (kind, id, why).
    std::vector<std::tuple<RecordKind, std::string, absl::Status>> refused;
  };
  // Applies records written on a peer: each one whose version is newer than
  // what is held (ShouldApply) is validated as an API write of it would be,
  // stored with its version (not queued again for any peer), and put in
  // force. Templates are applied first, then rules, then template deletes,
  // then silences, whatever their order in `records`. An error is a store or
  // rule load failure (nothing after it applied).
  absl::StatusOr<ApplyResult> ApplyReplicated(
      std::vector<ReplicatedRecord> records);
  // Records of peers applied, ignored and refused so far (ApplyReplicated).
  struct ReplicationCounts {
    uint64_t applied = 0, ignored = 0, refused = 0;
  };
  ReplicationCounts replication_counts() const {
    return {applied_.load(), ignored_.load(), refused_.load()};
  }
  // Every record held, tombstones included (Store::Records).
  absl::StatusOr<std::vector<ReplicatedRecord>> Records();

 private:
  // Stores, then rebuilds the rules in force. Caller holds mu_.
  absl::Status ApplyStoredRulesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplySilencesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The rule `id` (not from a file) may be written: NotFound or
  // FailedPrecondition otherwise.
  absl::Status CheckWritableRuleLocked(const RuleSet& rules,
                                       std::string_view id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<const Rule>> PutRuleLocked(RuleSpec spec)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores validated API rules (ids set), then puts them in force at once;
  // puts back what the store held when anything fails. Returns them as now
  // in force, in the order of `specs`.
  absl::StatusOr<std::vector<std::shared_ptr<const Rule>>> PutRulesLocked(
      const std::vector<RuleSpec>& specs) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `create`: the template must not exist; else it must. Writes nothing when
  // `validate_only`.
  absl::StatusOr<TemplateSpec> PutTemplateLocked(TemplateSpec spec, bool create,
                                                 bool validate_only = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeleteTemplateCheckLocked(std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::Status CheckSilence(const SilenceRecord& x);
  // Stores a local write of `record` with its next version, queued for the
  // peers.
  absl::Status WriteLocalLocked(ReplicatedRecord record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts `previous` (what was held before a write, none: nothing) back.
  absl::Status RestoreLocked(RecordKind kind, std::string_view id,
                             const std::optional<ReplicatedRecord>& previous)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Store* const store_;
  AlertEngine* const engine_;
  const std::function<std::shared_ptr<const Config>()> config_;
  const std::function<absl::Status()> reload_rules_;
  // Held from validation to the write being in force. First in the lock
  // order: taken before Server::config_mu_ (reload_rules_, config_) and the
  // engine's locks.
  absl::Mutex mu_;
  std::function<void()> on_queued_;
  std::atomic<uint64_t> applied_{0}, ignored_{0}, refused_{0};
};

}  // namespace gralarm

#endif  // GRALARM_ALERT_SERVICE_H_
