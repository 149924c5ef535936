#ifndef GRALARM_TESTS_TESTING_TARGET_ENGINE_FIXTURE_H_
#define GRALARM_TESTS_TESTING_TARGET_ENGINE_FIXTURE_H_

// A fixture with a TargetEngine over an AlertEngine and a fresh store in a
// temporary directory (removed after the test), on a FakeClock starting at
// `start_ms`. Emitted points are kept as lines in emitted_. Open() (run by
// SetUp) opens the store and engines again, as a restart does.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gralarm/alert_engine.h"
#include "gralarm/clock.h"
#include "gralarm/config.h"
#include "gralarm/store.h"
#include "gralarm/target_engine.h"
#include "testing/rule_sets.h"

namespace gralarm::testing {

class TargetEngineFixture : public ::testing::Test {
 protected:
  TargetEngineFixture(int64_t start_ms, std::shared_ptr<const Config> config)
      : clock_(start_ms), config_(std::move(config)) {}

  void SetUp() override {
    dir_ = FreshTestDir("target-test");
    Open();
  }
  void TearDown() override {
    targets_.reset();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  virtual void Open() {
    targets_.reset();
    engine_.reset();
    store_.reset();
    store_ = *Store::Open(dir_);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    targets_ =
        std::make_unique<TargetEngine>(engine_.get(), store_.get(), &clock_);
    targets_->SetEmitter([this](std::vector<EmittedPoint> points) {
      for (const EmittedPoint& p : points) emitted_.push_back(EmitLine(p));
    });
  }
  // Puts `rules` in force in both engines.
  void SetRules(std::shared_ptr<const RuleSet> rules) {
    engine_->SetRules(rules);
    targets_->SetRules(rules);
  }

  std::string dir_;
  FakeClock clock_;
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::unique_ptr<TargetEngine> targets_;
  std::vector<std::string> emitted_;
};

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_TARGET_ENGINE_FIXTURE_H_
