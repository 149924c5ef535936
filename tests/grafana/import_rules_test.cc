// AlertService::ImportRules: rules of Grafana queries stored all or none,
// updated in place when their (uid, panel, ref) comes again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "gralarm/alert_service.h"
#include "gralarm/clock.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"
#include "testing/alert_service_fixture.h"

namespace gralarm {
namespace {

class ImportRulesTest : public testing::AlertServiceFixture {
 protected:
  static RuleSpec Imported(const std::string& ref, double warning,
                           const std::string& extra = "") {
    auto spec = ParseRuleJson(StrCat(
        R"j({"name": "Dash / Panel / )j", ref,
        R"j(", "target": "sumSeries(a.*.x)", "thresholds": {"warning": )j",
        warning, "}", extra,
        R"j(, "grafana": {"uid": "d1", "panel_id": 7, "ref_id": ")j", ref,
        R"j(", "url": "http://g/d/d1?viewPanel=7"}})j"));
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  std::vector<std::string> StoredIds() {
    std::vector<std::string> ids;
    for (const auto& r : engine_->rules()->rules()) ids.push_back(r->spec.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
};

TEST_F(ImportRulesTest, CreatesThenUpdatesTheSameRules) {
  auto first = service_->ImportRules({Imported("A", 1), Imported("B", 2)});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0]->spec.id, "dash---panel---a");
  EXPECT_EQ((*first)[1]->spec.id, "dash---panel---b");
  EXPECT_EQ((*first)[1]->spec.grafana->ref_id, "B");
  auto again = service_->ImportRules({Imported("B", 5), Imported("C", 3)});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0]->spec.id, "dash---panel---b");
  EXPECT_EQ(*(*again)[0]->params.thresholds[1], 5);
  EXPECT_EQ(StoredIds(),
            (std::vector<std::string>{"dash---panel---a", "dash---panel---b",
                                      "dash---panel---c"}));
}

TEST_F(ImportRulesTest, OneBadRuleStoresNothing) {
  ASSERT_TRUE(service_->ImportRules({Imported("A", 1)}).ok());
  auto bad = service_->ImportRules(
      {Imported("A", 9), Imported("B", 2, R"j(, "template": "nope")j")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(bad.status()), "template");
  auto index = bad.status().GetPayload(kImportIndexPayload);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(std::string(*index), "1");
  EXPECT_EQ(StoredIds(), std::vector<std::string>{"dash---panel---a"});
  EXPECT_EQ(*engine_->rules()->Find("dash---panel---a")->params.thresholds[1],
            1);
  RuleSpec no_origin = Imported("B", 2);
  no_origin.grafana.reset();
  EXPECT_FALSE(service_->ImportRules({no_origin}).ok());
}

TEST_F(ImportRulesTest, ARefusedReloadPutsEveryStoredRuleBack) {
  ASSERT_TRUE(service_->ImportRules({Imported("A", 1)}).ok());
  fail_reload_ = true;
  EXPECT_FALSE(
      service_->ImportRules({Imported("A", 4), Imported("B", 2)}).ok());
  fail_reload_ = false;
  auto stored = store_->RuleJsons();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  auto spec = ParseRuleJson((*stored)[0]);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ((*(*spec).fields.thresholds)[1], 1);
}

}  // namespace
}  // namespace gralarm
