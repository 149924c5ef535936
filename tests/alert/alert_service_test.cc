#include "gralarm/alert_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/synchronization/barrier.h"
#include "gralarm/clock.h"
#include "gralarm/strings.h"
#include "testing/alert_service_fixture.h"

namespace gralarm {
namespace {

constexpr int kClients = 8;

class AlertServiceTest : public testing::AlertServiceFixture {
 protected:
  static RuleSpec Spec(std::string_view json) {
    auto spec = ParseRuleJson(json);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  // Runs fn(k) on kClients threads that start together.
  static void Race(const std::function<void(int)>& fn) {
    absl::Barrier* start = new absl::Barrier(kClients);
    std::vector<std::thread> threads;
    for (int k = 0; k < kClients; ++k) {
      threads.emplace_back([&, k] {
        if (start->Block()) delete start;
        fn(k);
      });
    }
    for (auto& t : threads) t.join();
  }
};

TEST_F(AlertServiceTest, ARuleThatCannotBePutInForceIsNotLeftInTheStore) {
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "kept", "pattern": "a.*",
                                       "thresholds": {"warning": 1}})"))
                  .ok());
  const auto before = store_->RuleJsons();
  ASSERT_TRUE(before.ok());
  fail_reload_ = true;
  EXPECT_FALSE(service_
                   ->ReplaceRule("kept", Spec(R"({"pattern": "b.*",
                                       "thresholds": {"warning": 2}})"))
                   .ok());
  EXPECT_FALSE(service_
                   ->CreateRule(Spec(R"({"id": "new", "pattern": "c.*",
                                       "thresholds": {"warning": 3}})"))
                   .ok());
  const auto after = store_->RuleJsons();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);  // the old "kept", and no "new"
  fail_reload_ = false;
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "new", "pattern": "c.*",
                                       "thresholds": {"warning": 3}})"))
                  .ok());
}

TEST_F(AlertServiceTest, ConcurrentCreatesOfOneIdGiveOneRuleAndAlreadyExists) {
  for (int round = 0; round < 20; ++round) {
    const std::string id = StrCat("race-", round);
    std::vector<absl::StatusCode> codes(kClients);
    Race([&](int k) {
      codes[k] = service_
                     ->CreateRule(Spec(StrCat(R"({"id": ")", id,
                                              R"(", "pattern": "a.*",
                         "thresholds": {"warning": )",
                                              10 + k, "}}")))
                     .status()
                     .code();
    });
    int created = 0, winner = -1;
    for (int k = 0; k < kClients; ++k) {
      if (codes[k] == absl::StatusCode::kOk) {
        ++created;
        winner = k;
      } else {
        EXPECT_EQ(codes[k], absl::StatusCode::kAlreadyExists);
      }
    }
    ASSERT_EQ(created, 1) << id;
    // What is in force and stored is the winner's rule.
    auto rule = engine_->rules()->Find(id);
    ASSERT_NE(rule, nullptr);
    const auto& warning =
        rule->params.thresholds[static_cast<int>(Level::kWarning)];
    ASSERT_TRUE(warning.has_value());
    EXPECT_EQ(*warning, 10 + winner);
  }
}

TEST_F(AlertServiceTest, ConcurrentSilencesAreAllStoredAndInForce) {
  ASSERT_TRUE(service_
                  ->CreateRule(Spec(R"({"id": "r", "pattern": "s.*.*",
                                        "thresholds": {"warning": 10}})"))
                  .ok());
  const auto rules = engine_->rules();
  for (int i = 0; i < 50; ++i) {
    const std::string path = StrCat("s.", i, ".a");
    engine_->Offer(*rules, path, path, 1700000000, 99);
  }
  ASSERT_EQ(engine_->ActiveAlerts().size(), 50u);
  Race([&](int k) {
    for (int i = k; i < 50; i += kClients) {
      SilenceRecord x;
      x.series = StrCat("s.", i, ".*");
      x.starts_at_ms = clock_.NowMs() - 1000;
      x.ends_at_ms = clock_.NowMs() + 3600 * 1000;
      EXPECT_TRUE(service_->AddSilence(x).ok());
    }
  });
  auto silences = service_->Silences();
  ASSERT_TRUE(silences.ok());
  EXPECT_EQ(silences->size(), 50u);
  for (const AlertRecord& a : engine_->ActiveAlerts()) {
    EXPECT_TRUE(a.silenced) << a.series;
  }
}

TEST_F(AlertServiceTest, WritesOfWhatDoesNotExistOrIsWrongSayWhy) {
  EXPECT_EQ(service_->DeleteRule("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_
                ->ReplaceRule("nope", Spec(R"({"pattern": "a.*",
                                    "thresholds": {"warning": 1}})"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  auto differs = service_->ReplaceRule(
      "a",
      Spec(R"({"id": "b", "pattern": "a.*", "thresholds": {"warning": 1}})"));
  EXPECT_EQ(FieldOf(differs.status()), "id");
  EXPECT_EQ(service_->DeleteSilence("nope").code(),
            absl::StatusCode::kNotFound);
  SilenceRecord backwards;
  backwards.rule = "r";
  backwards.starts_at_ms = 2000;
  backwards.ends_at_ms = 1000;
  EXPECT_EQ(FieldOf(service_->AddSilence(backwards).status()), "ends_at");
  SilenceRecord neither;
  neither.ends_at_ms = 1000;
  EXPECT_EQ(FieldOf(service_->AddSilence(neither).status()), "rule");
  // A name and no id: the id comes from the name.
  auto named = service_->CreateRule(Spec(
      R"({"name": "Disk Full!", "pattern": "d.*", "thresholds": {"critical": 9}})"));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ((*named)->spec.id, "disk-full");
  EXPECT_TRUE(service_->DeleteRule("disk-full").ok());
  EXPECT_EQ(engine_->rules()->Find("disk-full"), nullptr);
}

}  // namespace
}  // namespace gralarm
