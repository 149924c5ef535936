#include "gralarm/store.h"

#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "gralarm/log.h"
#include "gralarm/strings.h"
#include "store/coding.h"
#include "store/records.h"

// Keys and values are docs/STORAGE.md's.

namespace gralarm {
namespace {

using coding::DecodeBigEndian;
using coding::PutBigEndian;

// By Store::Family.
const char* const kFamilyNames[] = {
    "default",  "rules",        "templates",       "series_state",
    "alerts",   "history",      "events",          "outbox",
    "silences", "target_state", "record_versions", "sync_outbox"};

// Column families of earlier releases that are dropped when a store is opened
// for writing (docs/STORAGE.md "Migrations").
const char* const kDroppedFamilies[] = {"spool"};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound())
    return absl::NotFoundError(StrCat(what, ": ", s.ToString()));
  return absl::InternalError(StrCat(what, ": ", s.ToString()));
}

// A value that does not decode is skipped; say so, a few times a minute.
void LogSkipped(std::string_view family, const absl::Status& s) {
  static LogLimiter limiter(5, std::chrono::seconds(60));
  uint64_t suppressed = 0;
  if (!limiter.Allow(&suppressed)) return;
  spdlog::warn("store: a record of {} is skipped: {}{}", family, s.message(),
               suppressed > 0 ? StrCat(" (", suppressed, " more not logged)")
                              : std::string());
}

// Decodes `value` with `decode`; false (logged) when it does not decode.
template <typename T>
bool DecodeOrSkip(std::string_view family, const rocksdb::Slice& value,
                  absl::Status (*decode)(std::string_view, T*), T* out) {
  absl::Status s = decode(value.ToStringView(), out);
  if (s.ok()) return true;
  LogSkipped(family, s);
  return false;
}

}  // namespace

std::string Store::StateKey(std::string_view rule_id, std::string_view series) {
  std::string key(rule_id);
  key.push_back('\0');
  key.append(series);
  return key;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   bool read_only) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.keep_log_file_num = 5;
  // Memtables hold every write until flushed. The per-series states are one
  // small write per series a second at most: small memtables keep that cost
  // near nothing per tracked series (RocksDB's 64 MiB default, twice, is
  // ~130 bytes a series at 1,000,000 series). All memtables together stay
  // under 48 MiB.
  options.db_write_buffer_size = 48 << 20;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = 8 << 20;
  cf_options.max_write_buffer_number = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : kFamilyNames) families.emplace_back(name, cf_options);
  // Column families of earlier releases: RocksDB opens a store for writing
  // only with all of its families, so they are opened, then dropped. A store
  // opened read-only is left as it is (its other families are enough).
  if (!read_only) {
    std::vector<std::string> existing;  // none for a new store
    if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
      for (const char* name : kDroppedFamilies) {
        if (std::find(existing.begin(), existing.end(), name) ==
            existing.end()) {
          continue;
        }
        families.emplace_back(name, cf_options);
      }
    }
  }
  std::unique_ptr<Store> store(new Store());
  // Read-only, the families added by later releases may be missing: only
  // those present are opened (the others read as empty).
  std::vector<bool> present(families.size(), true);
  if (read_only) {
    std::vector<std::string> existing;
    if (rocksdb::DB::ListColumnFamilies(options, path, &existing).ok()) {
      std::vector<rocksdb::ColumnFamilyDescriptor> kept;
      for (size_t i = 0; i < families.size(); ++i) {
        present[i] = std::find(existing.begin(), existing.end(),
                               families[i].name) != existing.end();
        if (present[i]) kept.push_back(families[i]);
      }
      families = std::move(kept);
    }
  }
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(options, path, families,
                                               &store->handles_, &store->db_)
                : rocksdb::DB::Open(options, path, families, &store->handles_,
                                    &store->db_);
  if (!s.ok())
    return FromRocks(s, StrCat("cannot open store ", path, " (store.path)"));
  if (read_only && store->handles_.size() < present.size()) {
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    size_t next = 0;
    for (bool p : present) all.push_back(p ? store->handles_[next++] : nullptr);
    store->handles_ = std::move(all);
  }
  while (store->handles_.size() > kNumFamilies) {
    rocksdb::ColumnFamilyHandle* h = store->handles_.back();
    const std::string name = h->GetName();
    if (absl::Status d = FromRocks(store->db_->DropColumnFamily(h),
                                   StrCat("store ", path, ": drop ", name));
        !d.ok()) {
      return d;
    }
    store->db_->DestroyColumnFamilyHandle(h);
    store->handles_.pop_back();
    spdlog::info("store {}: dropped the unused column family {}", path, name);
  }
  // Notifications waiting from before, and where their numbering goes on.
  {
    std::unique_ptr<rocksdb::Iterator> ob(
        store->db_->NewIterator(rocksdb::ReadOptions(), store->cf(kOutbox)));
    uint64_t pending = 0;
    for (ob->SeekToFirst(); ob->Valid(); ob->Next()) {
      ++pending;
      if (ob->key().size() == 8) {
        store->next_outbox_seq_ =
            DecodeBigEndian(ob->key().ToStringView(), 8) + 1;
      }
    }
    store->outbox_pending_ = pending;
  }
  // Sync outbox entries are numbered on from the highest one waiting.
  if (store->cf(kSyncOutbox) != nullptr) {
    std::unique_ptr<rocksdb::Iterator> so(store->db_->NewIterator(
        rocksdb::ReadOptions(), store->cf(kSyncOutbox)));
    for (so->SeekToFirst(); so->Valid(); so->Next()) {
      const std::string_view key = so->key().ToStringView();
      if (key.size() < 9) continue;
      const uint64_t seq = DecodeBigEndian(key.substr(key.size() - 8), 8);
      if (seq >= store->next_sync_seq_) store->next_sync_seq_ = seq + 1;
    }
  }
  // Events are numbered on from the last one written.
  std::unique_ptr<rocksdb::Iterator> it(
      store->db_->NewIterator(rocksdb::ReadOptions(), store->cf(kEvents)));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    store->next_event_seq_ = DecodeBigEndian(it->key().ToStringView(), 8) + 1;
  }
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  delete db_;
}

absl::Status Store::Commit(TransitionWrite w) {
  rocksdb::WriteBatch batch;
  w.event.seq = next_event_seq_.fetch_add(1);
  std::string event_key;
  PutBigEndian(&event_key, w.event.seq, 8);
  batch.Put(cf(kEvents), event_key, records::EncodeEvent(w.event));
  const std::string alert_key = StateKey(w.event.rule_id, w.event.series);
  if (w.put_alert)
    batch.Put(cf(kAlerts), alert_key, records::EncodeAlert(*w.put_alert));
  if (w.delete_alert) batch.Delete(cf(kAlerts), alert_key);
  if (w.history) {
    std::string key;
    PutBigEndian(&key, static_cast<uint64_t>(w.history->end_ms), 8);
    PutBigEndian(&key, history_seq_.fetch_add(1), 4);
    key += alert_key;
    batch.Put(cf(kHistory), key, records::EncodeHistory(*w.history));
  }
  if (!w.state_key.empty()) batch.Put(cf(kSeriesState), w.state_key, w.state);
  PutOutbox(&batch, &w.notify);
  absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                             "store: commit transition");
  WroteOutbox(w.notify);
  if (s.ok()) outbox_pending_ += w.notify.size();
  return s;
}

absl::Status Store::SaveStates(
    const std::vector<std::pair<std::string, std::string>>& states) {
  if (states.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : states)
    batch.Put(cf(kSeriesState), key, value);
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "store: save states");
}

absl::Status Store::LoadStates(
    const std::function<void(std::string_view, std::string_view,
                             std::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kSeriesState)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    size_t zero = key.find('\0');
    if (zero == std::string_view::npos) continue;
    fn(key.substr(0, zero), key.substr(zero + 1), it->value().ToStringView());
  }
  return FromRocks(it->status(), "store: load states");
}

absl::Status Store::DeleteState(std::string_view rule_id,
                                std::string_view series) {
  return FromRocks(db_->Delete(rocksdb::WriteOptions(), cf(kSeriesState),
                               StateKey(rule_id, series)),
                   "store: delete state");
}

absl::Status Store::SaveTargetStates(
    const std::vector<std::pair<std::string, std::string>>& states) {
  if (states.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const auto& [id, value] : states) batch.Put(cf(kTargetState), id, value);
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "store: save target states");
}

absl::Status Store::LoadTargetStates(
    const std::function<void(std::string_view, std::string_view)>& fn) {
  if (cf(kTargetState) == nullptr) return absl::OkStatus();
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kTargetState)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    fn(it->key().ToStringView(), it->value().ToStringView());
  }
  return FromRocks(it->status(), "store: load target states");
}

absl::Status Store::DeleteTargetState(std::string_view rule_id) {
  return FromRocks(
      db_->Delete(rocksdb::WriteOptions(), cf(kTargetState), rule_id),
      "store: delete target state");
}

absl::StatusOr<std::vector<AlertRecord>> Store::ActiveAlerts() {
  std::vector<AlertRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlerts)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    AlertRecord a;
    if (DecodeOrSkip("alerts", it->value(), records::DecodeAlert, &a))
      out.push_back(std::move(a));
  }
  if (absl::Status s = FromRocks(it->status(), "store: alerts"); !s.ok())
    return s;
  return out;
}

absl::StatusOr<std::vector<HistoryRecord>> Store::History(int64_t from_ms,
                                                          int64_t to_ms) {
  std::vector<HistoryRecord> out;
  std::string start;
  PutBigEndian(&start, static_cast<uint64_t>(std::max<int64_t>(from_ms, 0)), 8);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kHistory)));
  for (it->Seek(start); it->Valid(); it->Next()) {
    if (static_cast<int64_t>(DecodeBigEndian(it->key().ToStringView(), 8)) >
        to_ms)
      break;
    HistoryRecord h;
    if (DecodeOrSkip("history", it->value(), records::DecodeHistory, &h))
      out.push_back(std::move(h));
  }
  if (absl::Status s = FromRocks(it->status(), "store: history"); !s.ok())
    return s;
  return out;
}

absl::StatusOr<std::vector<EventRecord>> Store::Events() {
  std::vector<EventRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kEvents)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EventRecord e;
    if (DecodeOrSkip("events", it->value(), records::DecodeEvent, &e))
      out.push_back(std::move(e));
  }
  if (absl::Status s = FromRocks(it->status(), "store: events"); !s.ok())
    return s;
  return out;
}

absl::Status Store::ScanHistory(
    int64_t from_ms, int64_t to_ms, std::string_view after_key,
    const std::function<bool(std::string_view, const HistoryRecord&)>& fn,
    const std::function<bool(std::string_view, std::string_view)>& key_filter) {
  std::string start;
  PutBigEndian(&start, static_cast<uint64_t>(std::max<int64_t>(from_ms, 0)), 8);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kHistory)));
  if (!after_key.empty() && after_key > std::string_view(start)) {
    it->Seek(rocksdb::Slice(after_key.data(), after_key.size()));
    if (it->Valid() && it->key().ToStringView() == after_key) it->Next();
  } else {
    it->Seek(start);
  }
  for (; it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (static_cast<int64_t>(DecodeBigEndian(key, 8)) > to_ms) break;
    if (key_filter && key.size() > 12) {
      // end (8 bytes), sequence (4), then "rule_id\0series".
      const std::string_view state_key = key.substr(12);
      const size_t zero = state_key.find('\0');
      if (zero != std::string_view::npos &&
          !key_filter(state_key.substr(0, zero), state_key.substr(zero + 1))) {
        continue;
      }
    }
    HistoryRecord h;
    if (DecodeOrSkip("history", it->value(), records::DecodeHistory, &h) &&
        !fn(key, h)) {
      break;
    }
  }
  return FromRocks(it->status(), "store: history");
}

absl::Status Store::ScanEvents(
    uint64_t after_seq, const std::function<bool(const EventRecord&)>& fn) {
  std::string start;
  PutBigEndian(&start, after_seq + 1, 8);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kEvents)));
  for (it->Seek(start); it->Valid(); it->Next()) {
    EventRecord e;
    if (DecodeOrSkip("events", it->value(), records::DecodeEvent, &e) &&
        !fn(e)) {
      break;
    }
  }
  return FromRocks(it->status(), "store: events");
}

absl::StatusOr<uint64_t> Store::PruneHistory(int64_t before_ms) {
  std::string begin(8, '\0'), end;
  PutBigEndian(&end, static_cast<uint64_t>(std::max<int64_t>(before_ms, 0)), 8);
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kHistory)));
  for (it->SeekToFirst(); it->Valid() && it->key().compare(end) < 0; it->Next())
    ++n;
  if (n == 0) return n;
  absl::Status s = FromRocks(
      db_->DeleteRange(rocksdb::WriteOptions(), cf(kHistory), begin, end),
      "store: prune history");
  if (!s.ok()) return s;
  return n;
}

absl::Status Store::PutValue(Family f, std::string_view key,
                             std::string_view value) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(f),
                            rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())),
                   StrCat("store: put ", kFamilyNames[f]));
}

absl::Status Store::DeleteValue(Family f, std::string_view key) {
  return FromRocks(db_->Delete(rocksdb::WriteOptions(), cf(f),
                               rocksdb::Slice(key.data(), key.size())),
                   StrCat("store: delete from ", kFamilyNames[f]));
}

absl::StatusOr<std::vector<std::string>> Store::Values(Family f) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(f)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string json;
    if (DecodeOrSkip(kFamilyNames[f], it->value(), records::DecodeJsonText,
                     &json)) {
      out.push_back(std::move(json));
    }
  }
  if (absl::Status s =
          FromRocks(it->status(), StrCat("store: ", kFamilyNames[f]));
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status Store::PutRuleJson(std::string_view id, std::string_view json) {
  return PutValue(kRules, id, records::EncodeJsonText(json));
}
absl::Status Store::DeleteRuleJson(std::string_view id) {
  return DeleteValue(kRules, id);
}
absl::StatusOr<std::vector<std::string>> Store::RuleJsons() {
  return Values(kRules);
}
absl::StatusOr<std::optional<std::string>> Store::RuleJson(
    std::string_view id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kRules),
                               rocksdb::Slice(id.data(), id.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (absl::Status st = FromRocks(s, "store: get rules"); !st.ok()) return st;
  std::string json;
  if (absl::Status d = records::DecodeJsonText(value, &json); !d.ok()) {
    return d;
  }
  return json;
}
absl::Status Store::PutTemplateJson(std::string_view name,
                                    std::string_view json) {
  return PutValue(kTemplates, name, records::EncodeJsonText(json));
}
absl::Status Store::DeleteTemplateJson(std::string_view name) {
  return DeleteValue(kTemplates, name);
}
absl::StatusOr<std::vector<std::string>> Store::TemplateJsons() {
  return Values(kTemplates);
}

absl::Status Store::PutSilence(const SilenceRecord& x) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(kSilences), x.id,
                            records::EncodeSilence(x)),
                   "store: put silence");
}

absl::Status Store::DeleteSilence(std::string_view id) {
  return FromRocks(db_->Delete(rocksdb::WriteOptions(), cf(kSilences),
                               rocksdb::Slice(id.data(), id.size())),
                   "store: delete silence");
}

absl::StatusOr<std::vector<SilenceRecord>> Store::Silences() {
  std::vector<SilenceRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kSilences)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SilenceRecord x;
    if (DecodeOrSkip("silences", it->value(), records::DecodeSilence, &x))
      out.push_back(std::move(x));
  }
  if (absl::Status s = FromRocks(it->status(), "store: silences"); !s.ok()) {
    return s;
  }
  return out;
}

absl::Status Store::PutAlert(const AlertRecord& alert) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(kAlerts),
                            StateKey(alert.rule_id, alert.series),
                            records::EncodeAlert(alert)),
                   "store: put alert");
}

absl::Status Store::Checkpoint(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(),
                                      ec);
  if (ec) {
    return absl::InternalError(StrCat("backup: cannot create the parent of ",
                                      dir, ": ", ec.message()));
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
  if (!s.ok()) return FromRocks(s, "backup");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir),
                   StrCat("backup to ", dir));
}

namespace {

std::string SeqKey(uint64_t seq) {
  std::string key;
  PutBigEndian(&key, seq, 8);
  return key;
}

}  // namespace

void Store::PutOutbox(rocksdb::WriteBatch* batch,
                      std::vector<OutboxRecord>* records) {
  if (records->empty()) return;
  {
    absl::MutexLock lock(&outbox_mu_);
    for (OutboxRecord& r : *records) {
      r.seq = next_outbox_seq_.fetch_add(1);
      outbox_writing_.insert(r.seq);
    }
  }
  for (const OutboxRecord& r : *records) {
    batch->Put(cf(kOutbox), SeqKey(r.seq), records::EncodeOutbox(r));
  }
}

void Store::WroteOutbox(const std::vector<OutboxRecord>& records) {
  if (records.empty()) return;
  absl::MutexLock lock(&outbox_mu_);
  for (const OutboxRecord& r : records) outbox_writing_.erase(r.seq);
}

uint64_t Store::OutboxWrittenBelow() const {
  absl::MutexLock lock(&outbox_mu_);
  return outbox_writing_.empty() ? next_outbox_seq_.load()
                                 : *outbox_writing_.begin();
}

absl::Status Store::Enqueue(std::vector<OutboxRecord> records) {
  if (records.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  PutOutbox(&batch, &records);
  absl::Status s =
      FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "store: outbox");
  WroteOutbox(records);
  if (s.ok()) outbox_pending_ += records.size();
  return s;
}

absl::Status Store::ScanOutbox(
    const std::function<bool(const OutboxRecord&)>& fn, uint64_t from_seq) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kOutbox)));
  for (it->Seek(SeqKey(from_seq)); it->Valid(); it->Next()) {
    OutboxRecord r;
    if (DecodeOrSkip("outbox", it->value(), records::DecodeOutbox, &r) &&
        !fn(r)) {
      break;
    }
  }
  return FromRocks(it->status(), "store: outbox");
}

absl::Status Store::UpdateOutbox(const OutboxRecord& record) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(kOutbox),
                            SeqKey(record.seq), records::EncodeOutbox(record)),
                   "store: outbox");
}

absl::Status Store::RemoveOutbox(uint64_t seq) {
  absl::Status s =
      FromRocks(db_->Delete(rocksdb::WriteOptions(), cf(kOutbox), SeqKey(seq)),
                "store: outbox");
  if (s.ok() && outbox_pending_ > 0) --outbox_pending_;
  return s;
}

namespace {

// record_versions key: the kind's byte, then the id.
std::string VersionKey(RecordKind kind, std::string_view id) {
  std::string key(1, static_cast<char>(kind));
  key.append(id);
  return key;
}

// sync_outbox keys: the peer, NUL, then the be64 sequence.
std::string SyncPrefix(std::string_view peer) {
  std::string key(peer);
  key.push_back('\0');
  return key;
}

}  // namespace

absl::StatusOr<std::optional<RecordState>> Store::HeldRecord(
    RecordKind kind, std::string_view id) {
  auto r = Record(kind, id);
  if (!r.ok()) return r.status();
  if (!*r) return std::nullopt;
  return (*r)->state;
}

absl::Status Store::WriteRecord(const ReplicatedRecord& r,
                                const std::vector<std::string>& peers) {
  const Family f = r.kind == RecordKind::kRule       ? kRules
                   : r.kind == RecordKind::kTemplate ? kTemplates
                                                     : kSilences;
  rocksdb::WriteBatch batch;
  if (r.state.deleted) {
    batch.Delete(cf(f), r.id);
  } else if (r.kind == RecordKind::kSilence) {
    SilenceRecord x = r.silence;
    x.id = r.id;
    batch.Put(cf(f), r.id, records::EncodeSilence(x));
  } else {
    batch.Put(cf(f), r.id, records::EncodeJsonText(r.json));
  }
  batch.Put(cf(kRecordVersions), VersionKey(r.kind, r.id),
            records::EncodeRecordState(r.state));
  for (const std::string& peer : peers) {
    std::string key = SyncPrefix(peer);
    PutBigEndian(&key, next_sync_seq_.fetch_add(1), 8);
    batch.Put(cf(kSyncOutbox), key, records::EncodeSyncEntry(r.kind, r.id));
  }
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   StrCat("store: write ", RecordKindName(r.kind), " ", r.id));
}

absl::Status Store::EraseRecord(RecordKind kind, std::string_view id) {
  const Family f = kind == RecordKind::kRule       ? kRules
                   : kind == RecordKind::kTemplate ? kTemplates
                                                   : kSilences;
  rocksdb::WriteBatch batch;
  batch.Delete(cf(f), rocksdb::Slice(id.data(), id.size()));
  batch.Delete(cf(kRecordVersions), VersionKey(kind, id));
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "store: erase record");
}

absl::StatusOr<std::optional<ReplicatedRecord>> Store::Record(
    RecordKind kind, std::string_view id) {
  const Family f = kind == RecordKind::kRule       ? kRules
                   : kind == RecordKind::kTemplate ? kTemplates
                                                   : kSilences;
  ReplicatedRecord out;
  out.kind = kind;
  out.id = std::string(id);
  bool has_version = false;
  if (cf(kRecordVersions) != nullptr) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kRecordVersions),
                                 VersionKey(kind, id), &value);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "store: get version");
    if (s.ok()) {
      if (absl::Status d = records::DecodeRecordState(value, &out.state);
          !d.ok()) {
        return d;
      }
      has_version = true;
    }
  }
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(f),
                               rocksdb::Slice(id.data(), id.size()), &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "store: get record");
  if (s.IsNotFound()) {
    // A tombstone, or nothing. (A version entry that says "present" without
    // its record cannot be written: WriteRecord writes both at once.)
    if (!has_version) return std::nullopt;
    out.state.deleted = true;
    return out;
  }
  out.state.deleted = false;
  absl::Status d = kind == RecordKind::kSilence
                       ? records::DecodeSilence(value, &out.silence)
                       : records::DecodeJsonText(value, &out.json);
  if (!d.ok()) return d;
  return out;
}

absl::StatusOr<std::vector<ReplicatedRecord>> Store::Records() {
  std::vector<ReplicatedRecord> out;
  // The content families give the ids held; tombstones come from versions.
  for (const auto& [kind, f] : {std::pair{RecordKind::kTemplate, kTemplates},
                                std::pair{RecordKind::kRule, kRules},
                                std::pair{RecordKind::kSilence, kSilences}}) {
    std::vector<std::string> ids;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(f)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ids.emplace_back(it->key().ToStringView());
    if (absl::Status s = FromRocks(it->status(), "store: records"); !s.ok())
      return s;
    if (cf(kRecordVersions) != nullptr) {
      const std::string prefix(1, static_cast<char>(kind));
      std::unique_ptr<rocksdb::Iterator> v(
          db_->NewIterator(rocksdb::ReadOptions(), cf(kRecordVersions)));
      for (v->Seek(prefix); v->Valid() && v->key().starts_with(prefix);
           v->Next()) {
        RecordState st;
        if (!DecodeOrSkip("record_versions", v->value(),
                          records::DecodeRecordState, &st) ||
            !st.deleted) {
          continue;
        }
        ids.emplace_back(v->key().ToStringView().substr(1));
      }
      if (absl::Status s = FromRocks(v->status(), "store: records"); !s.ok())
        return s;
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const std::string& id : ids) {
      auto r = Record(kind, id);
      if (!r.ok()) {
        LogSkipped(kFamilyNames[f], r.status());
        continue;
      }
      if (*r) out.push_back(std::move(**r));
    }
  }
  return out;
}

absl::StatusOr<uint64_t> Store::PruneTombstones(int64_t before_ms) {
  if (cf(kRecordVersions) == nullptr) return 0;
  rocksdb::WriteBatch batch;
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kRecordVersions)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    RecordState st;
    if (!records::DecodeRecordState(it->value().ToStringView(), &st).ok())
      continue;
    if (!st.deleted || st.version.updated_ms >= before_ms) continue;
    batch.Delete(cf(kRecordVersions), it->key());
    ++n;
  }
  if (absl::Status s = FromRocks(it->status(), "store: tombstones"); !s.ok())
    return s;
  if (n == 0) return n;
  if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                                 "store: prune tombstones");
      !s.ok()) {
    return s;
  }
  return n;
}

absl::StatusOr<std::vector<Store::SyncEntry>> Store::SyncQueue(
    std::string_view peer, size_t max) {
  std::vector<SyncEntry> out;
  if (cf(kSyncOutbox) == nullptr) return out;
  const std::string prefix = SyncPrefix(peer);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kSyncOutbox)));
  for (it->Seek(prefix);
       it->Valid() && it->key().starts_with(prefix) && out.size() < max;
       it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) continue;
    SyncEntry e;
    e.seq = DecodeBigEndian(key.substr(prefix.size()), 8);
    absl::Status d =
        records::DecodeSyncEntry(it->value().ToStringView(), &e.kind, &e.id);
    if (!d.ok()) {
      LogSkipped("sync_outbox", d);
      // Never delivered; removed with the next delivered batch.
      e.id.clear();
    }
    out.push_back(std::move(e));
  }
  if (absl::Status s = FromRocks(it->status(), "store: sync outbox"); !s.ok())
    return s;
  return out;
}

absl::Status Store::RemoveSyncEntries(std::string_view peer,
                                      const std::vector<SyncEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  for (const SyncEntry& e : entries) {
    std::string key = SyncPrefix(peer);
    PutBigEndian(&key, e.seq, 8);
    batch.Delete(cf(kSyncOutbox), key);
  }
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                   "store: remove sync entries");
}

absl::StatusOr<uint64_t> Store::DropSyncPeersExcept(
    const std::vector<std::string>& peers) {
  if (cf(kSyncOutbox) == nullptr) return 0;
  rocksdb::WriteBatch batch;
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kSyncOutbox)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view peer = key.substr(0, key.find('\0'));
    if (std::find(peers.begin(), peers.end(), peer) != peers.end()) continue;
    batch.Delete(cf(kSyncOutbox), it->key());
    ++n;
  }
  if (absl::Status s = FromRocks(it->status(), "store: sync outbox"); !s.ok())
    return s;
  if (n == 0) return n;
  if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch),
                                 "store: drop sync entries");
      !s.ok()) {
    return s;
  }
  return n;
}

absl::StatusOr<uint64_t> Store::SyncQueued(std::string_view peer) {
  if (cf(kSyncOutbox) == nullptr) return 0;
  const std::string prefix = SyncPrefix(peer);
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kSyncOutbox)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    ++n;
  }
  if (absl::Status s = FromRocks(it->status(), "store: sync outbox"); !s.ok())
    return s;
  return n;
}

}  // namespace gralarm
