#ifndef GRALARM_TESTS_TESTING_RULE_SETS_H_
#define GRALARM_TESTS_TESTING_RULE_SETS_H_

// Rule sets and scratch directories for unit tests.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gralarm/config.h"
#include "gralarm/rule.h"
#include "gralarm/rule_set.h"
#include "gralarm/strings.h"

namespace gralarm::testing {

// The rules of `jsons` (rule JSON as the API takes it), resolved under
// `config`, as a RuleSet of `generation`; a rule that does not parse or
// resolve fails the test.
inline std::shared_ptr<const RuleSet> RuleSetOf(
    const Config& config, const std::vector<std::string>& jsons,
    uint64_t generation = 1) {
  std::vector<std::shared_ptr<const Rule>> rules;
  for (const std::string& j : jsons) {
    auto spec = ParseRuleJson(j);
    EXPECT_TRUE(spec.ok()) << spec.status();
    if (!spec.ok()) continue;
    auto rule = ResolveRule(*spec, nullptr, config);
    EXPECT_TRUE(rule.ok()) << rule.status();
    if (!rule.ok()) continue;
    rules.push_back(std::make_shared<const Rule>(std::move(*rule)));
  }
  return RuleSet::Build(rules, generation);
}

// A path under the test's temporary directory, unique in the process,
// removed if it exists: `<TempDir>/gralarm-<what>-<pid>-<n>`.
inline std::string FreshTestDir(std::string_view what) {
  static std::atomic<int> n{0};
  std::string dir =
      StrCat(::testing::TempDir(), "/gralarm-", what, "-", getpid(), "-", n++);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_RULE_SETS_H_
