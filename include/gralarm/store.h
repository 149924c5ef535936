#ifndef GRALARM_STORE_H_
#define GRALARM_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gralarm/alert_model.h"
#include "gralarm/evaluator.h"
#include "gralarm/record_version.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace gralarm {

// Everything one transition changes, written atomically (one WAL record).
struct TransitionWrite {
  EventRecord event;
  std::vector<OutboxRecord> notify;  // notifications due for this transition
  std::optional<AlertRecord> put_alert;  // the alert as it is now
  bool delete_alert = false;             // the alert ended ...
  std::optional<HistoryRecord> history;  // ... into this history entry
  std::string state_key;                 // StateKey(rule_id, series)
  std::string state;  // EncodeSeriesState() of the state after the transition
};

// The value of a (rule, series) state in the store (docs/STORAGE.md,
// "series_state"): version kSeriesStateVersion, kSeriesStateSize bytes
// without a forecast window; with one (a forecast rule's), its last forecast
// and points follow.
inline constexpr uint8_t kSeriesStateVersion = 3;
inline constexpr size_t kSeriesStateSize = 33;
std::string EncodeSeriesState(const SeriesState& state, bool nodata,
                              const ForecastWindow* forecast = nullptr);
// Reads the current version and versions 2 and 1 (the first release's
// layout); sets `*legacy` (when given) to whether the value is of an earlier
// version, which the caller should write again in the current one. A
// forecast window in the value is restored into `*forecast` when given (and
// ignored otherwise); `*forecast` is emptied when the value has none.
// Anything else, truncated input included, is a DataLossError.
absl::Status DecodeSeriesState(std::string_view in, SeriesState* state,
                               bool* nodata, bool* legacy = nullptr,
                               ForecastWindow* forecast = nullptr);

// The one RocksDB database of gralarm (store.path), with a column family per
// kind of record; docs/STORAGE.md describes every key and value. Writes go
// through the WAL, so a record is durable against a crash of the process
// (kill -9) once the call returns. Safe to use from any thread. A record that
// does not decode is skipped (and logged) by the calls that read it.
class Store {
 public:
  // `read_only` opens a store another process may be writing (a consistent view
  // as of the open), for inspection. Opening a store of an earlier release
  // for writing migrates it (docs/STORAGE.md "Migrations").
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     bool read_only = false);
  ~Store();

  // "rule_id\0series": the key of per-(rule, series) records.
  static std::string StateKey(std::string_view rule_id,
                              std::string_view series);

  absl::Status Commit(TransitionWrite write);

  // Per-(rule, series) states, written in one batch.
  absl::Status SaveStates(
      const std::vector<std::pair<std::string, std::string>>& states);
  absl::Status LoadStates(const std::function<void(
                              std::string_view rule_id, std::string_view series,
                              std::string_view state)>& fn);
  absl::Status DeleteState(std::string_view rule_id, std::string_view series);

  // The saved state of each target rule (TargetEngine), by rule id:
  // written in one batch, visited, deleted. A store opened read-only without
  // that column family (an earlier release's) has none.
  absl::Status SaveTargetStates(
      const std::vector<std::pair<std::string, std::string>>& states);
  absl::Status LoadTargetStates(
      const std::function<void(std::string_view rule_id,
                               std::string_view state)>& fn);
  absl::Status DeleteTargetState(std::string_view rule_id);

  absl::StatusOr<std::vector<AlertRecord>> ActiveAlerts();
  // History, oldest first, ending in [from_ms, to_ms].
  absl::StatusOr<std::vector<HistoryRecord>> History(int64_t from_ms,
                                                     int64_t to_ms);
  absl::StatusOr<std::vector<EventRecord>> Events();
  // Visits history entries that ended in [from_ms, to_ms], oldest first,
  // starting after `after_key` (empty: from the start), until `fn` returns
  // false. Keys are stable: entries are only ever added after existing ones or
  // removed.
  // `key_filter`, when given, is asked first with the entry's rule id and
  // series, so entries it refuses are skipped without being decoded.
  absl::Status ScanHistory(
      int64_t from_ms, int64_t to_ms, std::string_view after_key,
      const std::function<bool(std::string_view key, const HistoryRecord&)>& fn,
      const std::function<bool(std::string_view rule_id,
                               std::string_view series)>& key_filter = nullptr);
  // Visits events with seq > after_seq, oldest first, until `fn` returns false.
  absl::Status ScanEvents(uint64_t after_seq,
                          const std::function<bool(const EventRecord&)>& fn);
  // Removes history entries that ended before `before_ms`; returns how many.
  absl::StatusOr<uint64_t> PruneHistory(int64_t before_ms);

  // Rules and templates created through the API, as their JSON, by id / name.
  absl::Status PutRuleJson(std::string_view id, std::string_view json);
  absl::Status DeleteRuleJson(std::string_view id);
  absl::StatusOr<std::vector<std::string>> RuleJsons();
  // The stored JSON of rule `id`, or none.
  absl::StatusOr<std::optional<std::string>> RuleJson(std::string_view id);
  absl::Status PutTemplateJson(std::string_view name, std::string_view json);
  absl::Status DeleteTemplateJson(std::string_view name);
  absl::StatusOr<std::vector<std::string>> TemplateJsons();

  absl::Status PutSilence(const SilenceRecord& silence);
  absl::Status DeleteSilence(std::string_view id);
  absl::StatusOr<std::vector<SilenceRecord>> Silences();
  // Notifications: written with transitions (Commit) or alone (Enqueue);
  // visited in seq order; updated after a failed attempt; removed once
  // delivered or expired.
  absl::Status Enqueue(std::vector<OutboxRecord> records);
  // Visits records with seq >= from_seq, in seq order, until `fn` returns
  // false.
  absl::Status ScanOutbox(const std::function<bool(const OutboxRecord&)>& fn,
                          uint64_t from_seq = 0);
  // Every outbox record with a smaller seq has been written (or its write
  // failed): a scan that stops there never misses a record that becomes
  // visible later. Seqs are taken before a write and concurrent writes land in
  // any order, so records above it may still appear below visible ones.
  uint64_t OutboxWrittenBelow() const;
  absl::Status UpdateOutbox(const OutboxRecord& record);
  absl::Status RemoveOutbox(uint64_t seq);
  uint64_t OutboxPending() const { return outbox_pending_.load(); }

  // A consistent, openable copy of the whole database at `dir` (which must not
  // exist; its parent is created).
  absl::Status Checkpoint(const std::string& dir);

  // Writes an active alert as it is now (its silenced or held flag changed).
  absl::Status PutAlert(const AlertRecord& alert);

  // ---- Replicated records: API rules, templates and silences with their
  // versions (README "Rules, templates and silences"; docs/STORAGE.md
  // "record_versions", "sync_outbox").

  // What is held of (kind, id): its version entry; (0, "") for a record
  // stored without one (an earlier release's); none when neither the record
  // nor its tombstone is held.
  absl::StatusOr<std::optional<RecordState>> HeldRecord(RecordKind kind,
                                                        std::string_view id);
  // In one batch: the record's content (put, or deleted for a tombstone), its
  // version entry, and an entry in the sync outbox of each of `peers` (the
  // peers' API URLs).
  absl::Status WriteRecord(const ReplicatedRecord& record,
                           const std::vector<std::string>& peers);
  // Removes the record and its version entry, as if never written (the undo
  // of the first write of a record that could not be put in force).
  absl::Status EraseRecord(RecordKind kind, std::string_view id);
  // The record as held, content included; none as HeldRecord.
  absl::StatusOr<std::optional<ReplicatedRecord>> Record(RecordKind kind,
                                                         std::string_view id);
  // Every record held, tombstones included: templates, rules, then silences.
  absl::StatusOr<std::vector<ReplicatedRecord>> Records();
  // Removes the tombstones whose version is older than `before_ms`; returns
  // how many.
  absl::StatusOr<uint64_t> PruneTombstones(int64_t before_ms);

  // A record waiting to be sent to a peer: its kind and id (what is sent is
  // the record as held when it is sent).
  struct SyncEntry {
    uint64_t seq = 0;
    RecordKind kind = RecordKind::kRule;
    std::string id;
  };
  // The first `max` entries waiting for `peer`, oldest first.
  absl::StatusOr<std::vector<SyncEntry>> SyncQueue(std::string_view peer,
                                                   size_t max);
  // Removes these entries of `peer` (delivered).
  absl::Status RemoveSyncEntries(std::string_view peer,
                                 const std::vector<SyncEntry>& entries);
  // Removes the entries of every peer not in `peers` (no longer configured:
  // at its return it takes what it is missing itself); returns how many.
  absl::StatusOr<uint64_t> DropSyncPeersExcept(
      const std::vector<std::string>& peers);
  // How many entries wait for `peer`.
  absl::StatusOr<uint64_t> SyncQueued(std::string_view peer);

 private:
  enum Family {
    kDefault,
    kRules,
    kTemplates,
    kSeriesState,
    kAlerts,
    kHistory,
    kEvents,
    kOutbox,
    kSilences,
    kTargetState,
    kRecordVersions,
    kSyncOutbox,
    kNumFamilies
  };
  Store() = default;
  rocksdb::ColumnFamilyHandle* cf(Family f) const { return handles_[f]; }
  absl::Status PutValue(Family f, std::string_view key, std::string_view value);
  absl::Status DeleteValue(Family f, std::string_view key);
  absl::StatusOr<std::vector<std::string>> Values(Family f);

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::atomic<uint64_t> next_event_seq_{1};
  std::atomic<uint32_t> history_seq_{0};
  std::atomic<uint64_t> next_outbox_seq_{1};
  std::atomic<uint64_t> outbox_pending_{0};
  std::atomic<uint64_t> next_sync_seq_{1};
  // Outbox seqs taken by a write still in progress (see OutboxWrittenBelow).
  mutable absl::Mutex outbox_mu_;
  std::set<uint64_t> outbox_writing_ ABSL_GUARDED_BY(outbox_mu_);
  // Numbers the records and registers them as being written; WroteOutbox()
  // must follow once the batch is written (or failed).
  void PutOutbox(rocksdb::WriteBatch* batch,
                 std::vector<OutboxRecord>* records);
  void WroteOutbox(const std::vector<OutboxRecord>& records);
};

}  // namespace gralarm

#endif  // GRALARM_STORE_H_
