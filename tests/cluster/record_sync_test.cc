// Versions, tombstones, the apply rule and the stored bytes of replicated
// rules, templates and silences.
#include "gralarm/record_sync.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gralarm/record_version.h"
#include "store/records.h"
#include "testing/alert_service_fixture.h"

namespace gralarm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

RecordVersion V(int64_t ms, std::string node) { return {ms, std::move(node)}; }

TEST(RecordVersion, OrdersByTimeThenNode) {
  EXPECT_LT(V(1, "b"), V(2, "a"));
  EXPECT_LT(V(5, "a"), V(5, "b"));
  EXPECT_LT(V(0, ""), V(0, "a"));
  EXPECT_EQ(V(7, "a"), V(7, "a"));
  EXPECT_FALSE(V(7, "a") < V(7, "a"));
}

TEST(RecordVersion, NextVersionAlwaysPassesTheStoredOne) {
  EXPECT_EQ(NextVersion(std::nullopt, 1000, "a"), V(1000, "a"));
  EXPECT_EQ(NextVersion(V(10, "b"), 1000, "a"), V(1000, "a"));
  // A clock behind the stored version (set back, or the peer's ahead).
  EXPECT_EQ(NextVersion(V(5000, "b"), 1000, "a"), V(5001, "a"));
  // The same millisecond on the same node.
  EXPECT_EQ(NextVersion(V(1000, "a"), 1000, "a"), V(1001, "a"));
  EXPECT_GT(NextVersion(V(1000, "z"), 1000, "a"), V(1000, "z"));
}

TEST(RecordVersion, NewestWinsAndEqualIsAlreadyApplied) {
  EXPECT_TRUE(ShouldApply(std::nullopt, V(0, "")));
  EXPECT_TRUE(ShouldApply(RecordState{V(5, "a"), false}, V(6, "a")));
  EXPECT_TRUE(ShouldApply(RecordState{V(5, "a"), false}, V(5, "b")));
  EXPECT_FALSE(ShouldApply(RecordState{V(5, "a"), false}, V(5, "a")));
  EXPECT_FALSE(ShouldApply(RecordState{V(5, "b"), false}, V(5, "a")));
  // A tombstone is held like a record: an older put does not resurrect it.
  EXPECT_FALSE(ShouldApply(RecordState{V(9, "a"), true}, V(8, "b")));
  EXPECT_TRUE(ShouldApply(RecordState{V(9, "a"), true}, V(10, "b")));
}

TEST(RecordStateCodec, RoundTripAndExactBytes) {
  const RecordState st{V(0x0102030405060708, "ab"), true};
  const std::string bytes = records::EncodeRecordState(st);
  EXPECT_EQ(bytes, std::string("\x01\x01\x08\x07\x06\x05\x04\x03\x02\x01"
                               "\x02"
                               "ab",
                               13));
  RecordState back;
  ASSERT_TRUE(records::DecodeRecordState(bytes, &back).ok());
  EXPECT_EQ(back.version, st.version);
  EXPECT_TRUE(back.deleted);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(records::DecodeRecordState(bytes.substr(0, n), &back).ok())
        << n;
  }
  EXPECT_FALSE(records::DecodeRecordState(bytes + "x", &back).ok());
  std::string bad_flag = bytes;
  bad_flag[1] = 2;
  EXPECT_FALSE(records::DecodeRecordState(bad_flag, &back).ok());
  std::string bad_version = bytes;
  bad_version[0] = 2;
  EXPECT_FALSE(records::DecodeRecordState(bad_version, &back).ok());
}

TEST(SyncEntryCodec, RoundTrip) {
  const std::string bytes =
      records::EncodeSyncEntry(RecordKind::kTemplate, "t1");
  EXPECT_EQ(bytes, std::string("\x01\x02\x02t1", 5));
  RecordKind kind;
  std::string id;
  ASSERT_TRUE(records::DecodeSyncEntry(bytes, &kind, &id).ok());
  EXPECT_EQ(kind, RecordKind::kTemplate);
  EXPECT_EQ(id, "t1");
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(records::DecodeSyncEntry(bytes.substr(0, n), &kind, &id).ok());
  }
  std::string bad_kind = bytes;
  bad_kind[1] = 4;
  EXPECT_FALSE(records::DecodeSyncEntry(bad_kind, &kind, &id).ok());
}

TEST(RecordWire, RoundTrip) {
  ReplicatedRecord rule;
  rule.kind = RecordKind::kRule;
  rule.id = "r1";
  rule.state = {V(12, "a"), false};
  rule.json = R"({"id":"r1","pattern":"a.*"})";
  ReplicatedRecord silence;
  silence.kind = RecordKind::kSilence;
  silence.id = "s1";
  silence.state = {V(13, "b"), false};
  silence.silence = {"s1", "r*", "a.b", 100, 200, "me", "why"};
  ReplicatedRecord gone;
  gone.kind = RecordKind::kTemplate;
  gone.id = "t1";
  gone.state = {V(14, "a"), true};
  nlohmann::json body = {
      {"records",
       {ReplicatedRecordJson(rule), ReplicatedRecordJson(silence),
        ReplicatedRecordJson(gone)}}};
  auto back = ParseReplicatedRecords(body.dump());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].id, "r1");
  EXPECT_EQ(nlohmann::json::parse((*back)[0].json),
            nlohmann::json::parse(rule.json));
  EXPECT_EQ((*back)[0].state.version, V(12, "a"));
  EXPECT_EQ((*back)[1].silence.rule, "r*");
  EXPECT_EQ((*back)[1].silence.ends_at_ms, 200);
  EXPECT_EQ((*back)[1].silence.id, "s1");
  EXPECT_TRUE((*back)[2].state.deleted);
  EXPECT_EQ((*back)[2].kind, RecordKind::kTemplate);
  EXPECT_FALSE(ParseReplicatedRecords(R"({"records":[{"kind":"x"}]})").ok());
  EXPECT_FALSE(ParseReplicatedRecords(
                   R"({"records":[{"kind":"rule","id":"r","updated_ms":1,)"
                   R"("node_id":"a","deleted":false}]})")
                   .ok());  // a put without its value
  EXPECT_FALSE(ParseReplicatedRecords("[]").ok());
}

class ReplicationTest : public testing::AlertServiceFixture {
 protected:
  void UseCluster() {
    auto c = ParseConfig(R"([cluster]
node_id = "b"
peers = ["127.0.0.1:1"]
peer_apis = ["http://127.0.0.1:1"]
)",
                         "t.toml");
    ASSERT_TRUE(c.ok()) << c.status();
    config_ = *c;
  }
  static RuleSpec Spec(std::string_view json) {
    auto spec = ParseRuleJson(json);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }
  static ReplicatedRecord RuleRecord(std::string id, RecordVersion v,
                                     double warning) {
    ReplicatedRecord r;
    r.kind = RecordKind::kRule;
    r.id = id;
    r.state.version = std::move(v);
    r.json = StrCat(R"({"id":")", id, R"(","pattern":"a.*","thresholds":)",
                    R"({"warning":)", warning, "}}");
    return r;
  }
  std::optional<RecordState> Held(RecordKind kind, std::string_view id) {
    auto h = store_->HeldRecord(kind, id);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : std::nullopt;
  }
  double WarningOf(std::string_view id) {
    auto r = engine_->rules()->Find(id);
    return r == nullptr ? -1 : r->params.thresholds[1].value_or(-2);
  }
};

TEST_F(ReplicationTest, ARecordStoredWithoutVersionReadsAsVersionZero) {
  ASSERT_TRUE(store_->PutRuleJson("old", R"({"id":"old"})").ok());
  auto held = Held(RecordKind::kRule, "old");
  ASSERT_TRUE(held);
  EXPECT_EQ(held->version, V(0, ""));
  EXPECT_FALSE(held->deleted);
  EXPECT_FALSE(Held(RecordKind::kRule, "never"));
  // Any version of a peer replaces it.
  EXPECT_TRUE(ShouldApply(held, V(1, "a")));
}

TEST_F(ReplicationTest, LocalWritesAreVersionedAndQueuedForEachPeer) {
  UseCluster();
  int notified = 0;
  service_->set_on_queued([&] { ++notified; });
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "r1", "pattern": "a.*",
                                       "thresholds": {"warning": 1}})"))
                  .ok());
  auto v1 = Held(RecordKind::kRule, "r1");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->version.node_id, "b");
  ASSERT_TRUE(service_->DeleteRule("r1").ok());
  auto v2 = Held(RecordKind::kRule, "r1");
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->deleted);
  EXPECT_GT(v2->version, v1->version);
  auto queue = store_->SyncQueue("http://127.0.0.1:1", 10);
  ASSERT_TRUE(queue.ok());
  ASSERT_EQ(queue->size(), 2u);
  EXPECT_EQ((*queue)[0].id, "r1");
  EXPECT_LT((*queue)[0].seq, (*queue)[1].seq);
  EXPECT_EQ(notified, 2);
  // The tombstone is listed with its version.
  auto all = service_->Records();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE((*all)[0].state.deleted);
  EXPECT_EQ((*all)[0].state.version, v2->version);
}

TEST_F(ReplicationTest, QueuesOfPeersNoLongerConfiguredAreDropped) {
  UseCluster();
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "r1", "pattern": "a.*",
                                       "thresholds": {"warning": 1}})"))
                  .ok());
  ASSERT_TRUE(store_
                  ->WriteRecord(*(*store_->Record(RecordKind::kRule, "r1")),
                                {"http://gone:1", "http://127.0.0.1:1"})
                  .ok());
  auto dropped = store_->DropSyncPeersExcept({"http://127.0.0.1:1"});
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 1u);
  EXPECT_EQ(*store_->SyncQueued("http://gone:1"), 0u);
  EXPECT_EQ(*store_->SyncQueued("http://127.0.0.1:1"), 2u);
}

TEST_F(ReplicationTest, WithoutClusterNothingIsQueued) {
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "r1", "pattern": "a.*",
                                       "thresholds": {"warning": 1}})"))
                  .ok());
  EXPECT_TRUE(Held(RecordKind::kRule, "r1"));
  auto queue = store_->SyncQueue("http://127.0.0.1:1", 10);
  ASSERT_TRUE(queue.ok());
  EXPECT_THAT(*queue, IsEmpty());
}

TEST_F(ReplicationTest, NewerRecordsApplyOnceAndAreNotQueuedAgain) {
  UseCluster();
  auto r = service_->ApplyReplicated({RuleRecord("r1", V(100, "a"), 1)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->applied, 1u);
  EXPECT_EQ(WarningOf("r1"), 1);  // in force
  // The same version again, and an older one: ignored.
  r = service_->ApplyReplicated(
      {RuleRecord("r1", V(100, "a"), 2), RuleRecord("r1", V(99, "z"), 3)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 0u);
  EXPECT_EQ(r->ignored, 2u);
  EXPECT_EQ(WarningOf("r1"), 1);
  // Newer: applied.
  r = service_->ApplyReplicated({RuleRecord("r1", V(100, "c"), 4)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 1u);
  EXPECT_EQ(WarningOf("r1"), 4);
  EXPECT_EQ(Held(RecordKind::kRule, "r1")->version, V(100, "c"));
  // No ping-pong: nothing queued for the peers.
  auto queue = store_->SyncQueue("http://127.0.0.1:1", 10);
  ASSERT_TRUE(queue.ok());
  EXPECT_THAT(*queue, IsEmpty());
  EXPECT_EQ(service_->replication_counts().applied, 2u);
  EXPECT_EQ(service_->replication_counts().ignored, 2u);
}

TEST_F(ReplicationTest, ATombstoneIsNotResurrectedByAnOlderWrite) {
  UseCluster();
  ASSERT_TRUE(
      service_->ApplyReplicated({RuleRecord("r1", V(100, "a"), 1)}).ok());
  ReplicatedRecord del;
  del.kind = RecordKind::kRule;
  del.id = "r1";
  del.state = {V(200, "a"), true};
  auto r = service_->ApplyReplicated({del});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 1u);
  EXPECT_EQ(WarningOf("r1"), -1);
  // The peer that was away sends its older update.
  r = service_->ApplyReplicated({RuleRecord("r1", V(150, "b"), 5)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ignored, 1u);
  EXPECT_EQ(WarningOf("r1"), -1);
  // Tombstones go after the retention.
  auto pruned = store_->PruneTombstones(201);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  EXPECT_FALSE(Held(RecordKind::kRule, "r1"));
}

TEST_F(ReplicationTest, InvalidRecordsAreRefusedByTheApiValidation) {
  UseCluster();
  ReplicatedRecord bad = RuleRecord("r1", V(100, "a"), 1);
  bad.json = R"({"id":"r1","pattern":"a.*","thresholds":{"warning":"x"}})";
  ReplicatedRecord silence;
  silence.kind = RecordKind::kSilence;
  silence.id = "s1";
  silence.state = {V(100, "a"), false};
  silence.silence = {"s1", "r*", "", 200, 100, "me", ""};  // ends first
  auto r = service_->ApplyReplicated({bad, silence});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 0u);
  EXPECT_EQ(r->refused.size(), 2u);
  EXPECT_FALSE(Held(RecordKind::kRule, "r1"));
  EXPECT_FALSE(Held(RecordKind::kSilence, "s1"));
  EXPECT_EQ(service_->replication_counts().refused, 2u);
}

TEST_F(ReplicationTest, TemplatesApplyBeforeTheRulesThatUseThem) {
  UseCluster();
  ReplicatedRecord tmpl;
  tmpl.kind = RecordKind::kTemplate;
  tmpl.id = "t1";
  tmpl.state = {V(100, "a"), false};
  tmpl.json = R"({"name":"t1","thresholds":{"warning":7}})";
  ReplicatedRecord rule;
  rule.kind = RecordKind::kRule;
  rule.id = "r1";
  rule.state = {V(101, "a"), false};
  rule.json = R"({"id":"r1","pattern":"a.*","template":"t1"})";
  // The rule first in the batch.
  auto r = service_->ApplyReplicated({rule, tmpl});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->applied, 2u)
      << (r->refused.empty() ? "" : std::get<2>(r->refused[0]).ToString());
  EXPECT_EQ(WarningOf("r1"), 7);
}

TEST_F(ReplicationTest, ConcurrentWritesConvergeOnTheSameWinner) {
  // Node b wrote r1 at 100; node a at 100 too: "b" > "a" wins on both.
  UseCluster();
  ASSERT_TRUE(
      service_->ApplyReplicated({RuleRecord("r1", V(100, "b"), 1)}).ok());
  auto r = service_->ApplyReplicated({RuleRecord("r1", V(100, "a"), 2)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ignored, 1u);
  EXPECT_EQ(WarningOf("r1"), 1);
}

}  // namespace
}  // namespace gralarm
