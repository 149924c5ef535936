#ifndef GRALARM_TESTS_TESTING_ALERT_SERVICE_FIXTURE_H_
#define GRALARM_TESTS_TESTING_ALERT_SERVICE_FIXTURE_H_

// A fixture with an AlertService over a fresh store in a temporary directory
// (removed after the test), an AlertEngine on a FakeClock and the default
// config. Its reload puts the stored rules in force, or fails while
// fail_reload_ is set.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "gralarm/alert_service.h"
#include "gralarm/clock.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"

namespace gralarm::testing {

class AlertServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = StrCat(::testing::TempDir(), "/gralarm-service-test-", getpid(), "-",
                  n++);
    std::filesystem::remove_all(dir_);
    config_ = *ParseConfig("", "t.toml");
    store_ = *Store::Open(dir_);
    engine_ = std::make_unique<AlertEngine>(store_.get(), &clock_, config_);
    service_ = std::make_unique<AlertService>(
        store_.get(), engine_.get(), [this] { return config_; },
        [this]() -> absl::Status {
          if (fail_reload_) return absl::UnavailableError("reload failed");
          auto rules = LoadRules(*config_, store_.get(), ++generation_);
          if (!rules.ok()) return rules.status();
          engine_->SetRules(*rules);
          return absl::OkStatus();
        });
    ASSERT_TRUE(service_->LoadSilences().ok());
  }

  void TearDown() override {
    service_.reset();
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  FakeClock clock_{1767225600000};
  std::shared_ptr<const Config> config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AlertEngine> engine_;
  std::unique_ptr<AlertService> service_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> fail_reload_{false};
};

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_ALERT_SERVICE_FIXTURE_H_
