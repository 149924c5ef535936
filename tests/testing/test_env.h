#ifndef GRALARM_TESTS_TESTING_TEST_ENV_H_
#define GRALARM_TESTS_TESTING_TEST_ENV_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "gralarm/strings.h"

namespace gralarm::testing {

// A path under the test temporary directory that exists nowhere yet, unique
// in this process and among processes: <tmp>/gralarm-<what>-<pid>-<n>.
inline std::string FreshDir(std::string_view what) {
  static std::atomic<int> n{0};
  std::string dir =
      StrCat(::testing::TempDir(), "/gralarm-", what, "-", getpid(), "-", n++);
  std::filesystem::remove_all(dir);
  return dir;
}

// Polls `done` every 10 ms for up to 30 s (a sanitizer build on a loaded
// machine is slow): true as soon as it holds.
inline bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 3000 && !done(); ++i) usleep(10000);
  return done();
}

}  // namespace gralarm::testing

#endif  // GRALARM_TESTS_TESTING_TEST_ENV_H_
