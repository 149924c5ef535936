#!/usr/bin/env bash
# Builds gralarm with Debian's gcc and clang in each CMake build type (Release,
# RelWithDebInfo, Debug), warnings as errors, and runs the unit tests of each build.
#   tools/build-matrix.sh [DIR]   # build trees under DIR (default: build-matrix/)
# Integration tests are the README's test command (tools/test.sh); this checks that
# every compiler and optimisation level builds and passes the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-build-matrix}
bash tools/install-deps.sh
results=()
for compiler in gcc clang; do
  if [ "$compiler" = gcc ]; then cc=gcc; cxx=g++; else cc=clang-14; cxx=clang++-14; fi
  for type in Release RelWithDebInfo Debug; do
    dir="$root/$compiler-$type"
    echo "=== $compiler $type ($dir) ==="
    start=$(date +%s)
    CC=$cc CXX=$cxx cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
      -DGRALARM_WERROR=ON >/dev/null
    cmake --build "$dir" --parallel "$(nproc)"
    (cd "$dir" && ctest -E integration --output-on-failure --timeout 600 -j"$(nproc)" >/dev/null)
    results+=("$compiler $type: built, unit tests passed ($(( $(date +%s) - start )) s)")
  done
done
printf '%s\n' "${results[@]}"
