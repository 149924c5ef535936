// A store written by the release at commit c9992f9 (its records in JSON's
// CBOR, series states as a memcpy of SeriesState, an unused `spool` column
// family) reads unchanged, migrates once, and new stores hold only the current
// encodings (docs/STORAGE.md).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>

#include "gralarm/alert_engine.h"
#include "gralarm/rule.h"
#include "gralarm/store.h"
#include "gralarm/strings.h"
#include "store/records.h"
#include "testing/test_env.h"

namespace gralarm {
namespace {

namespace fs = std::filesystem;

// tests/store/fixtures/c9992f9: see make_fixture.cc there.
constexpr char kFixture[] = GRALARM_STORE_FIXTURE_DIR;

// The fixture is never opened in place: opening may write.
std::string CopyOfFixture() {
  const std::string dir = testing::FreshDir("store-test");
  fs::copy(kFixture, dir, fs::copy_options::recursive);
  return dir;
}

std::vector<std::string> Families(const std::string& dir) {
  std::vector<std::string> names;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::sort(names.begin(), names.end());
  return names;
}

bool HasSpool(const std::string& dir) {
  const auto names = Families(dir);
  return std::find(names.begin(), names.end(), "spool") != names.end();
}

constexpr int64_t kT = 1767225600000;  // the fixture's clock started here
constexpr uint32_t kT0 = 1767225600;

void ExpectAlert(const AlertRecord& a, std::string_view rule_id,
                 std::string_view rule_name, std::string_view series,
                 Level severity, double value, int64_t since_ms,
                 double last_value, int64_t last_seen_ms,
                 std::map<std::string, std::string> labels, bool silenced,
                 int64_t notified_ms) {
  EXPECT_EQ(a.rule_id, rule_id);
  EXPECT_EQ(a.rule_name, rule_name);
  EXPECT_EQ(a.series, series);
  EXPECT_EQ(a.severity, severity);
  EXPECT_EQ(a.peak, severity);
  EXPECT_FALSE(a.nodata);
  EXPECT_EQ(a.value, value);
  EXPECT_EQ(a.since_ms, since_ms);
  EXPECT_EQ(a.last_value, last_value);
  EXPECT_EQ(a.last_seen_ms, last_seen_ms);
  EXPECT_EQ(a.labels, labels);
  EXPECT_EQ(a.silenced, silenced);
  EXPECT_FALSE(a.held);
  EXPECT_EQ(a.notified_ms, notified_ms);
}

void ExpectEvent(const EventRecord& e, uint64_t seq, std::string_view rule_id,
                 std::string_view series, std::string_view from,
                 std::string_view to, double value, uint32_t ts,
                 int64_t at_ms) {
  EXPECT_EQ(e.seq, seq);
  EXPECT_EQ(e.rule_id, rule_id);
  EXPECT_EQ(e.series, series);
  EXPECT_EQ(e.from, from);
  EXPECT_EQ(e.to, to);
  EXPECT_EQ(e.value, value);
  EXPECT_EQ(e.ts, ts);
  EXPECT_EQ(e.at_ms, at_ms);
}

struct ExpectedState {
  Level level, up_min;
  bool has_prev;
  uint32_t last_ts;
  double prev_value, last_value;
};

// "rule_id|series" -> the state the fixture holds.
const std::map<std::string, ExpectedState>& ExpectedStates() {
  static const auto* states = new std::map<std::string, ExpectedState>{
      {"errors|if.eth9.errors",
       {Level::kMajor, Level::kMajor, true, kT0 + 30, 300, 10}},
      {"util|if.eth0.util",
       {Level::kCritical, Level::kCritical, false, kT0 + 20, 0, 96.5}},
      {"util|if.eth1.util;host=r1",
       {Level::kOk, Level::kWarning, false, kT0 + 30, 0, 10}},
      {"util|if.\xff\xfe.util",
       {Level::kOk, Level::kOk, false, kT0 + 10, 0, 12.25}},
  };
  return *states;
}

// Checks every state of `store` against the fixture's; returns the encoded
// values by "rule_id|series".
std::map<std::string, std::string> ExpectFixtureStates(Store* store) {
  std::map<std::string, std::string> raw;
  absl::Status s =
      store->LoadStates([&](std::string_view rule, std::string_view series,
                            std::string_view value) {
        raw[StrCat(rule, "|", series)] = std::string(value);
      });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(raw.size(), ExpectedStates().size());
  for (const auto& [key, want] : ExpectedStates()) {
    auto it = raw.find(key);
    if (it == raw.end()) {
      ADD_FAILURE() << "no state for " << key;
      continue;
    }
    SeriesState got;
    bool nodata = true;
    if (absl::Status d = DecodeSeriesState(it->second, &got, &nodata);
        !d.ok()) {
      ADD_FAILURE() << key << ": " << d;
      continue;
    }
    EXPECT_FALSE(nodata) << key;
    EXPECT_EQ(got.level, want.level) << key;
    EXPECT_EQ(got.up_min, want.up_min) << key;
    EXPECT_EQ(got.down_max, Level::kOk) << key;
    EXPECT_TRUE(got.has_last_ts) << key;
    EXPECT_EQ(got.has_prev, want.has_prev) << key;
    EXPECT_EQ(got.up_count, 0) << key;
    EXPECT_EQ(got.down_count, 0) << key;
    EXPECT_EQ(got.last_ts, want.last_ts) << key;
    EXPECT_EQ(got.prev_ts, want.has_prev ? want.last_ts : 0) << key;
    EXPECT_EQ(got.prev_value, want.prev_value) << key;
    EXPECT_EQ(got.last_value, want.last_value) << key;
  }
  return raw;
}

void ExpectFixtureRecords(Store* store) {
  auto templates = store->TemplateJsons();
  ASSERT_TRUE(templates.ok()) << templates.status();
  EXPECT_EQ(
      *templates,
      std::vector<std::string>{
          R"({"channels":["hook"],"checks_alert":2,"labels":{"team":"noc"},"name":"net-util","thresholds":{"critical":90.0,"warning":70.0}})"});
  auto rules = store->RuleJsons();
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(
      *rules,
      (std::vector<std::string>{
          R"({"id":"errors","name":"Interface errors","pattern":"if.*.errors","thresholds":{"major":5.0},"transform":"rate"})",
          R"({"id":"util","name":"Interface utilisation","pattern":"if.*.util","template":"net-util"})"}));

  auto silences = store->Silences();
  ASSERT_TRUE(silences.ok()) << silences.status();
  ASSERT_EQ(silences->size(), 1u);
  const SilenceRecord& x = (*silences)[0];
  EXPECT_EQ(x.id, "s1");
  EXPECT_EQ(x.rule, "errors");
  EXPECT_EQ(x.series, "if.eth9.*");
  EXPECT_EQ(x.starts_at_ms, kT);
  EXPECT_EQ(x.ends_at_ms, kT + 86400000);
  EXPECT_EQ(x.created_by, "noc");
  EXPECT_EQ(x.comment, "maintenance");

  auto alerts = store->ActiveAlerts();
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  ASSERT_EQ(alerts->size(), 2u);
  ExpectAlert((*alerts)[0], "errors", "Interface errors", "if.eth9.errors",
              Level::kMajor, 10, kT + 8000, 10, kT + 8000, {},
              /*silenced=*/true, 0);
  ExpectAlert((*alerts)[1], "util", "Interface utilisation", "if.eth0.util",
              Level::kCritical, 96.5, kT + 2000, 96.5, kT + 2000,
              {{"team", "noc"}}, false, kT + 2000);

  auto history = store->History(0, INT64_MAX);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 1u);
  const HistoryRecord& h = (*history)[0];
  EXPECT_EQ(h.rule_id, "util");
  EXPECT_EQ(h.rule_name, "Interface utilisation");
  EXPECT_EQ(h.series, "if.eth1.util;host=r1");
  EXPECT_EQ(h.peak, Level::kWarning);
  EXPECT_EQ(h.severity, Level::kWarning);
  EXPECT_FALSE(h.nodata);
  EXPECT_EQ(h.start_ms, kT + 4000);
  EXPECT_EQ(h.end_ms, kT + 5000);
  EXPECT_EQ(h.last_value, 10);
  EXPECT_EQ(h.labels, (std::map<std::string, std::string>{{"team", "noc"}}));

  auto events = store->Events();
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 4u);
  ExpectEvent((*events)[0], 1, "util", "if.eth0.util", "ok", "critical", 96.5,
              kT0 + 20, kT + 2000);
  ExpectEvent((*events)[1], 2, "util", "if.eth1.util;host=r1", "ok", "warning",
              80, kT0 + 20, kT + 4000);
  ExpectEvent((*events)[2], 3, "util", "if.eth1.util;host=r1", "warning", "ok",
              10, kT0 + 30, kT + 5000);
  ExpectEvent((*events)[3], 4, "errors", "if.eth9.errors", "ok", "major", 10,
              kT0 + 20, kT + 8000);

  EXPECT_EQ(store->OutboxPending(), 3u);
  std::vector<OutboxRecord> outbox;
  ASSERT_TRUE(store
                  ->ScanOutbox([&](const OutboxRecord& r) {
                    outbox.push_back(r);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(outbox.size(), 3u);
  const struct {
    uint64_t seq;
    std::string_view status;
    int64_t ends_ms, created_ms;
  } want[] = {{1, "firing", 0, kT + 2000},
              {2, "firing", 0, kT + 4000},
              {3, "resolved", kT + 5000, kT + 5000}};
  for (size_t i = 0; i < 3; ++i) {
    const OutboxRecord& r = outbox[i];
    EXPECT_EQ(r.seq, want[i].seq);
    EXPECT_EQ(r.channel, "hook");
    EXPECT_EQ(r.status, want[i].status);
    EXPECT_EQ(r.replaces, "");
    EXPECT_EQ(r.ends_ms, want[i].ends_ms);
    EXPECT_EQ(r.created_ms, want[i].created_ms);
    EXPECT_EQ(r.attempts, 0);
    EXPECT_EQ(r.next_attempt_ms, want[i].created_ms);
  }
  ExpectAlert(outbox[0].alert, "util", "Interface utilisation", "if.eth0.util",
              Level::kCritical, 96.5, kT + 2000, 96.5, kT + 2000,
              {{"team", "noc"}}, false, kT + 2000);
  ExpectAlert(outbox[1].alert, "util", "Interface utilisation",
              "if.eth1.util;host=r1", Level::kWarning, 80, kT + 4000, 80,
              kT + 4000, {{"team", "noc"}}, false, kT + 4000);
  ExpectAlert(outbox[2].alert, "util", "Interface utilisation",
              "if.eth1.util;host=r1", Level::kWarning, 80, kT + 4000, 10,
              kT + 5000, {{"team", "noc"}}, false, 0);

  ExpectFixtureStates(store);
}

TEST(StoreFixtureTest, EveryRecordOfTheReleaseAtC9992f9ReadsUnchanged) {
  for (bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "read-only" : "read-write");
    const std::string dir = CopyOfFixture();
    auto store = Store::Open(dir, read_only);
    ASSERT_TRUE(store.ok()) << store.status();
    ExpectFixtureRecords(store->get());
    // The series states are still those the release wrote (version 1).
    for (const auto& [key, value] : ExpectFixtureStates(store->get())) {
      EXPECT_EQ(value.size(), 42u) << key;
      EXPECT_EQ(value[0], 1) << key;
    }
  }
}

TEST(StoreFixtureTest, OpeningForWritingDropsTheSpoolFamilyOnce) {
  const std::string dir = CopyOfFixture();
  ASSERT_TRUE(HasSpool(dir));
  {
    // The release had no target_state family: read-only, it reads as empty.
    auto store = Store::Open(dir, /*read_only=*/true);
    ASSERT_TRUE(store.ok()) << store.status();
    int states = 0;
    ASSERT_TRUE((*store)
                    ->LoadTargetStates(
                        [&](std::string_view, std::string_view) { ++states; })
                    .ok());
    EXPECT_EQ(states, 0);
  }
  EXPECT_TRUE(HasSpool(dir));  // a read-only open changes nothing
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
  }
  EXPECT_FALSE(HasSpool(dir));
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = Store::Open(dir, reopen == 1);
    ASSERT_TRUE(store.ok()) << store.status();
    ExpectFixtureRecords(store->get());
  }
  EXPECT_EQ(Families(dir),
            (std::vector<std::string>{"alerts", "default", "events", "history",
                                      "outbox", "record_versions", "rules",
                                      "series_state", "silences", "sync_outbox",
                                      "target_state", "templates"}));
}

TEST(StoreFixtureTest, OldRecordsReadAsVersionZero) {
  const std::string dir = CopyOfFixture();
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto all = (*store)->Records();
  ASSERT_TRUE(all.ok()) << all.status();
  auto rules = (*store)->RuleJsons();
  auto silences = (*store)->Silences();
  ASSERT_TRUE(rules.ok() && silences.ok());
  size_t n_rules = 0, n_silences = 0;
  for (const ReplicatedRecord& r : *all) {
    EXPECT_EQ(r.state.version, (RecordVersion{0, ""})) << r.id;
    EXPECT_FALSE(r.state.deleted) << r.id;
    n_rules += r.kind == RecordKind::kRule;
    n_silences += r.kind == RecordKind::kSilence;
  }
  EXPECT_EQ(n_rules, rules->size());
  EXPECT_EQ(n_silences, silences->size());
  EXPECT_GT(n_rules + n_silences, 0u);
}

TEST(StoreFixtureTest, OldSeriesStatesAreRewrittenAtTheNextFlush) {
  const std::string dir = CopyOfFixture();
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto config = ParseConfig(
      "[[notify.channels]]\nname = \"hook\"\ntype = \"webhook\"\n"
      "url = \"http://127.0.0.1:9/hook\"\n",
      "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  // The rules as the server builds them from the store.
  auto tmpl = ParseTemplateJson((*store)->TemplateJsons()->at(0));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  std::vector<std::shared_ptr<const Rule>> rules;
  const auto jsons = (*store)->RuleJsons();
  ASSERT_TRUE(jsons.ok()) << jsons.status();
  for (const std::string& json : *jsons) {
    auto spec = ParseRuleJson(json);
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto rule = ResolveRule(
        *spec, spec->template_name.empty() ? nullptr : &*tmpl, **config);
    ASSERT_TRUE(rule.ok()) << rule.status();
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  FakeClock clock(kT + 60000);
  AlertEngine engine(store->get(), &clock, *config);
  engine.SetRules(RuleSet::Build(rules, 1));
  ASSERT_TRUE(engine.Restore().ok());
  EXPECT_EQ(engine.ActiveAlerts().size(), 2u);
  for (const auto& [key, value] : ExpectFixtureStates(store->get()))
    EXPECT_EQ(value.size(), 42u) << key;  // read, not yet rewritten
  ASSERT_TRUE(engine.Flush().ok());
  for (const auto& [key, value] : ExpectFixtureStates(store->get())) {
    EXPECT_EQ(value.size(), kSeriesStateSize) << key;
    EXPECT_EQ(value[0], kSeriesStateVersion) << key;
  }
}

TEST(StoreTest, ANewStoreHasNoSpoolFamilyAndWritesCurrentVersions) {
  const std::string dir = testing::FreshDir("store-test");
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->PutRuleJson("r", R"({"id":"r"})").ok());
    ASSERT_TRUE((*store)->PutTemplateJson("t", R"({"name":"t"})").ok());
    SilenceRecord x;
    x.id = "s";
    ASSERT_TRUE((*store)->PutSilence(x).ok());
    TransitionWrite w;
    w.event.rule_id = "r";
    w.event.series = "a.b";
    w.put_alert = AlertRecord{};
    w.history = HistoryRecord{};
    w.state_key = Store::StateKey("r", "a.b");
    w.state = EncodeSeriesState(SeriesState(), false);
    w.notify.emplace_back();
    ASSERT_TRUE((*store)->Commit(std::move(w)).ok());
  }
  EXPECT_FALSE(HasSpool(dir));
  // Every value starts with its version byte.
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : Families(dir))
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, families,
                                           &handles, &raw)
                  .ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, int> values;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), h));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++values[h->GetName()];
      ASSERT_FALSE(it->value().empty());
      const std::string name = h->GetName();
      EXPECT_EQ(static_cast<uint8_t>(it->value()[0]),
                name == "series_state" ? kSeriesStateVersion
                : name == "alerts"     ? records::kAlertVersion
                : name == "events"     ? records::kEventVersion
                : name == "outbox"     ? records::kOutboxVersion
                                       : records::kRecordVersion)
          << name;
    }
    db->DestroyColumnFamilyHandle(h);
  }
  EXPECT_EQ(values, (std::map<std::string, int>{{"alerts", 1},
                                                {"events", 1},
                                                {"history", 1},
                                                {"outbox", 1},
                                                {"rules", 1},
                                                {"series_state", 1},
                                                {"silences", 1},
                                                {"templates", 1}}));
}

TEST(StoreTest, AValueThatDoesNotDecodeIsSkipped) {
  const std::string dir = testing::FreshDir("store-test");
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status();
    AlertRecord a;
    a.rule_id = "r";
    a.series = "a.good";
    ASSERT_TRUE((*store)->PutAlert(a).ok());
  }
  {
    // A truncated alert of the current version, beside the good one.
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : Families(dir))
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &raw)
            .ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (h->GetName() == "alerts") {
        EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), h,
                            Store::StateKey("r", "a.bad"), "\x01\x00\x03")
                        .ok());
      }
      db->DestroyColumnFamilyHandle(h);
    }
  }
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto alerts = (*store)->ActiveAlerts();
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].series, "a.good");
}

}  // namespace
}  // namespace gralarm
