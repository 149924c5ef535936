#include "gralarm/store.h"

#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gralarm/strings.h"

namespace gralarm {
namespace {

using nlohmann::json;

const char* const kFamilyNames[] = {
    "default", "rules",  "templates", "series_state", "alerts",
    "history", "events", "outbox",    "spool",        "silences"};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound())
    return absl::NotFoundError(StrCat(what, ": ", s.ToString()));
  return absl::InternalError(StrCat(what, ": ", s.ToString()));
}

void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

Level LevelOf(const json& j) {
  Level l = Level::kOk;
  if (j.is_string()) ParseLevel(j.get<std::string>(), &l);
  return l;
}

json AlertToJson(const AlertRecord& a) {
  json j{{"rule_id", a.rule_id},
         {"rule_name", a.rule_name},
         {"series", a.series},
         {"severity", LevelName(a.severity)},
         {"peak", LevelName(a.peak)},
         {"nodata", a.nodata},
         {"value", a.value},
         {"since_ms", a.since_ms},
         {"last_value", a.last_value},
         {"last_seen_ms", a.last_seen_ms},
         {"labels", a.labels},
         {"silenced", a.silenced},
         {"held", a.held},
         {"notified_ms", a.notified_ms}};
  // Written only when set, so other records keep their encoding.
  if (a.flapping) j["flapping"] = true;
  return j;
}

AlertRecord AlertFromJson(const json& j) {
  AlertRecord a;
  a.rule_id = j.value("rule_id", "");
  a.rule_name = j.value("rule_name", "");
  a.series = j.value("series", "");
  a.severity = LevelOf(j.value("severity", json("ok")));
  a.peak = LevelOf(j.value("peak", json("ok")));
  a.nodata = j.value("nodata", false);
  a.value = j.value("value", 0.0);
  a.since_ms = j.value("since_ms", int64_t{0});
  a.last_value = j.value("last_value", 0.0);
  a.last_seen_ms = j.value("last_seen_ms", int64_t{0});
  a.labels = j.value("labels", std::map<std::string, std::string>{});
  a.silenced = j.value("silenced", false);
  a.held = j.value("held", false);
  a.notified_ms = j.value("notified_ms", int64_t{0});
  a.flapping = j.value("flapping", false);
  return a;
}

json HistoryToJson(const HistoryRecord& h) {
  return json{{"rule_id", h.rule_id},
              {"rule_name", h.rule_name},
              {"series", h.series},
              {"peak", LevelName(h.peak)},
              {"severity", LevelName(h.severity)},
              {"nodata", h.nodata},
              {"start_ms", h.start_ms},
              {"end_ms", h.end_ms},
              {"last_value", h.last_value},
              {"labels", h.labels}};
}

HistoryRecord HistoryFromJson(const json& j) {
  HistoryRecord h;
  h.rule_id = j.value("rule_id", "");
  h.rule_name = j.value("rule_name", "");
  h.series = j.value("series", "");
  h.peak = LevelOf(j.value("peak", json("ok")));
  h.severity = LevelOf(j.value("severity", json("ok")));
  h.nodata = j.value("nodata", false);
  h.start_ms = j.value("start_ms", int64_t{0});
  h.end_ms = j.value("end_ms", int64_t{0});
  h.last_value = j.value("last_value", 0.0);
  h.labels = j.value("labels", std::map<std::string, std::string>{});
  return h;
}

json EventToJson(const EventRecord& e) {
  return json{{"seq", e.seq},   {"rule_id", e.rule_id}, {"series", e.series},
              {"from", e.from}, {"to", e.to},           {"value", e.value},
              {"ts", e.ts},     {"at_ms", e.at_ms}};
}

EventRecord EventFromJson(const json& j) {
  EventRecord e;
  e.seq = j.value("seq", uint64_t{0});
  e.rule_id = j.value("rule_id", "");
  e.series = j.value("series", "");
  e.from = j.value("from", "");
  e.to = j.value("to", "");
  e.value = j.value("value", 0.0);
  e.ts = j.value("ts", uint32_t{0});
  e.at_ms = j.value("at_ms", int64_t{0});
  return e;
}

// Records are stored as CBOR, which keeps every byte of a series name
// (names need not be UTF-8, and JSON text would refuse or alter them). Values
// written as JSON text by earlier versions start with '{' and still read.
std::string Encode(const json& j) {
  std::string out;
  json::to_cbor(j, out);
  return out;
}

json ParseStored(const rocksdb::Slice& s) {
  if (!s.empty() && s[0] == '{') {
    return json::parse(s.data(), s.data() + s.size(), nullptr,
                       /*allow_exceptions=*/false);
  }
  return json::from_cbor(s.data(), s.data() + s.size(), /*strict=*/true,
                         /*allow_exceptions=*/false);
}

}  // namespace

std::string AlertRecord::SeverityName() const {
  return nodata ? "nodata" : std::string(LevelName(severity));
}

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
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : kFamilyNames) {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = 8 << 20;
    cf.max_write_buffer_number = 2;
    families.emplace_back(name, cf);
  }
  std::unique_ptr<Store> store(new Store());
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(options, path, families,
                                               &store->handles_, &store->db_)
                : rocksdb::DB::Open(options, path, families, &store->handles_,
                                    &store->db_);
  if (!s.ok())
    return FromRocks(s, StrCat("cannot open store ", path, " (store.path)"));
  // Notifications waiting from before, and where their numbering goes on.
  {
    std::unique_ptr<rocksdb::Iterator> ob(
        store->db_->NewIterator(rocksdb::ReadOptions(), store->cf(kOutbox)));
    uint64_t pending = 0;
    for (ob->SeekToFirst(); ob->Valid(); ob->Next()) {
      ++pending;
      if (ob->key().size() == 8) {
        store->next_outbox_seq_ = GetBigEndian(ob->key().ToStringView(), 8) + 1;
      }
    }
    store->outbox_pending_ = pending;
  }
  // Events are numbered on from the last one written.
  std::unique_ptr<rocksdb::Iterator> it(
      store->db_->NewIterator(rocksdb::ReadOptions(), store->cf(kEvents)));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    store->next_event_seq_ = GetBigEndian(it->key().ToStringView(), 8) + 1;
  }
  return store;
}

Store::~Store() {
  if (db_ == nullptr) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  delete db_;
}

absl::Status Store::Commit(TransitionWrite w) {
  rocksdb::WriteBatch batch;
  w.event.seq = next_event_seq_.fetch_add(1);
  std::string event_key;
  PutBigEndian(&event_key, w.event.seq, 8);
  batch.Put(cf(kEvents), event_key, Encode(EventToJson(w.event)));
  const std::string alert_key = StateKey(w.event.rule_id, w.event.series);
  if (w.put_alert)
    batch.Put(cf(kAlerts), alert_key, Encode(AlertToJson(*w.put_alert)));
  if (w.delete_alert) batch.Delete(cf(kAlerts), alert_key);
  if (w.history) {
    std::string key;
    PutBigEndian(&key, static_cast<uint64_t>(w.history->end_ms), 8);
    PutBigEndian(&key, history_seq_.fetch_add(1), 4);
    key += alert_key;
    batch.Put(cf(kHistory), key, Encode(HistoryToJson(*w.history)));
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

absl::StatusOr<std::vector<AlertRecord>> Store::ActiveAlerts() {
  std::vector<AlertRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlerts)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    json j = ParseStored(it->value());
    if (j.is_object()) out.push_back(AlertFromJson(j));
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
    if (static_cast<int64_t>(GetBigEndian(it->key().ToStringView(), 8)) > to_ms)
      break;
    json j = ParseStored(it->value());
    if (j.is_object()) out.push_back(HistoryFromJson(j));
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
    json j = ParseStored(it->value());
    if (j.is_object()) out.push_back(EventFromJson(j));
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
    if (static_cast<int64_t>(GetBigEndian(key, 8)) > to_ms) break;
    if (key_filter && key.size() > 12) {
      // end (8 bytes), sequence (4), then "rule_id\0series".
      const std::string_view state_key = key.substr(12);
      const size_t zero = state_key.find('\0');
      if (zero != std::string_view::npos &&
          !key_filter(state_key.substr(0, zero), state_key.substr(zero + 1))) {
        continue;
      }
    }
    json j = ParseStored(it->value());
    if (j.is_object() && !fn(key, HistoryFromJson(j))) break;
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
    json j = ParseStored(it->value());
    if (j.is_object() && !fn(EventFromJson(j))) break;
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
    out.push_back(it->value().ToString());
  }
  if (absl::Status s =
          FromRocks(it->status(), StrCat("store: ", kFamilyNames[f]));
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status Store::PutRuleJson(std::string_view id, std::string_view json) {
  return PutValue(kRules, id, json);
}
absl::Status Store::DeleteRuleJson(std::string_view id) {
  return DeleteValue(kRules, id);
}
absl::StatusOr<std::vector<std::string>> Store::RuleJsons() {
  return Values(kRules);
}
absl::Status Store::PutTemplateJson(std::string_view name,
                                    std::string_view json) {
  return PutValue(kTemplates, name, json);
}
absl::Status Store::DeleteTemplateJson(std::string_view name) {
  return DeleteValue(kTemplates, name);
}
absl::StatusOr<std::vector<std::string>> Store::TemplateJsons() {
  return Values(kTemplates);
}

absl::Status Store::PutSilence(const SilenceRecord& x) {
  json j = {{"id", x.id},
            {"rule", x.rule},
            {"series", x.series},
            {"starts_at_ms", x.starts_at_ms},
            {"ends_at_ms", x.ends_at_ms},
            {"created_by", x.created_by},
            {"comment", x.comment}};
  return FromRocks(
      db_->Put(rocksdb::WriteOptions(), cf(kSilences), x.id, Encode(j)),
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
    json j = ParseStored(it->value());
    if (!j.is_object()) continue;
    SilenceRecord x;
    x.id = j.value("id", "");
    x.rule = j.value("rule", "");
    x.series = j.value("series", "");
    x.starts_at_ms = j.value("starts_at_ms", int64_t{0});
    x.ends_at_ms = j.value("ends_at_ms", int64_t{0});
    x.created_by = j.value("created_by", "");
    x.comment = j.value("comment", "");
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
                            Encode(AlertToJson(alert))),
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

json OutboxToJson(const OutboxRecord& r) {
  return json{{"seq", r.seq},           {"channel", r.channel},
              {"status", r.status},     {"alert", AlertToJson(r.alert)},
              {"ends_ms", r.ends_ms},   {"created_ms", r.created_ms},
              {"attempts", r.attempts}, {"next_attempt_ms", r.next_attempt_ms},
              {"replaces", r.replaces}, {"reminder", r.reminder}};
}

OutboxRecord OutboxFromJson(const json& j) {
  OutboxRecord r;
  r.seq = j.value("seq", uint64_t{0});
  r.channel = j.value("channel", "");
  r.status = j.value("status", "");
  if (j.contains("alert") && j["alert"].is_object())
    r.alert = AlertFromJson(j["alert"]);
  r.ends_ms = j.value("ends_ms", int64_t{0});
  r.created_ms = j.value("created_ms", int64_t{0});
  r.attempts = j.value("attempts", 0);
  r.next_attempt_ms = j.value("next_attempt_ms", int64_t{0});
  r.replaces = j.value("replaces", "");
  r.reminder = j.value("reminder", false);
  return r;
}

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
    batch->Put(cf(kOutbox), SeqKey(r.seq), Encode(OutboxToJson(r)));
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
    json j = ParseStored(it->value());
    if (j.is_object() && !fn(OutboxFromJson(j))) break;
  }
  return FromRocks(it->status(), "store: outbox");
}

absl::Status Store::UpdateOutbox(const OutboxRecord& record) {
  return FromRocks(db_->Put(rocksdb::WriteOptions(), cf(kOutbox),
                            SeqKey(record.seq), Encode(OutboxToJson(record))),
                   "store: outbox");
}

absl::Status Store::RemoveOutbox(uint64_t seq) {
  absl::Status s =
      FromRocks(db_->Delete(rocksdb::WriteOptions(), cf(kOutbox), SeqKey(seq)),
                "store: outbox");
  if (s.ok() && outbox_pending_ > 0) --outbox_pending_;
  return s;
}

}  // namespace gralarm
