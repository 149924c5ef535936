#!/usr/bin/env bash
# Installs the dependencies, builds gralarm and runs every test: the unit tests and the
# integration tests with the real carbon-cache, carbon-c-relay and promtool.
#   tools/test.sh              # RelWithDebInfo build in build/
#   tools/test.sh --sanitize   # AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
# Test files run side by side (most of an integration test's time is spent waiting on
# the processes it started); fewer under the sanitizers, whose builds take more CPU.
jobs=3
# Warnings are errors here (and in CI); a plain build only reports them.
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRALARM_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  jobs=2
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DGRALARM_SANITIZE=ON -DGRALARM_BUILD_BENCH=OFF
              -DGRALARM_WERROR=ON)
  # Leak checks on; a failed UBSan check aborts the test.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

bash tools/install-deps.sh
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir" --parallel "$(nproc)"
cd "$build_dir"
status=0
ctest --output-on-failure --timeout 1500 --parallel "$jobs" || status=$?
# The page's browser tests keep what they saw (CI keeps the folder as an artefact).
if [ -d screenshots ]; then
  echo "screenshots of the web page: $PWD/screenshots ($(ls screenshots | wc -l) files)"
fi
exit "$status"
