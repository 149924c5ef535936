#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (AddressSanitizer + UndefinedBehaviorSanitizer)
# in build-fuzz/ and runs each for SECONDS (default 60) on its corpus in fuzz/corpus/<name>/,
# to which libFuzzer adds every input that reaches new code. A crash, leak, sanitizer report
# or timeout fails the run and leaves the input as build-fuzz/<name>-crash-*.
#   tools/fuzz.sh [SECONDS] [TARGET...]     # targets: line_parser pickle rules http_api store_codec expr_parse grafana_dashboard graphite_web
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(line_parser pickle rules http_api store_codec expr_parse grafana_dashboard graphite_web)

bash tools/install-deps.sh
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRALARM_WERROR=ON \
  -DGRALARM_FUZZ=ON -DGRALARM_BUILD_TESTS=OFF -DGRALARM_BUILD_BENCH=OFF
cmake --build build-fuzz --parallel "$(nproc)" --target $(printf '%s_fuzzer ' "${targets[@]}")

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  echo "=== fuzzing $t for ${seconds} s ==="
  mkdir -p "fuzz/corpus/$t"
  (cd build-fuzz && "./fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 \
     -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
     -artifact_prefix="$PWD/${t}-" "../fuzz/corpus/$t")
done
