#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (AddressSanitizer + UndefinedBehaviorSanitizer)
# in build-fuzz/ and runs each for SECONDS (default 60) on its corpus in fuzz/corpus/<name>/,
# to which libFuzzer adds every input that reaches new code. A crash, leak, sanitizer report
# or timeout fails the run and leaves the input as build-fuzz/<name>-crash-*. Targets run
# side by side, one a core (FUZZ_JOBS=N to change); each one's log is build-fuzz/<name>.log.
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
# A libFuzzer process uses one core: as many targets run at once as there are
# cores (FUZZ_JOBS overrides), each for SECONDS, each writing its own log, shown
# when its group ends.
jobs=${FUZZ_JOBS:-$(nproc)}
failed=()
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  group=("${targets[@]:i:jobs}")
  pids=()
  for t in "${group[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    (cd build-fuzz && exec "./fuzz/${t}_fuzzer" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$PWD/${t}-" "../fuzz/corpus/$t") > "build-fuzz/${t}.log" 2>&1 &
    pids+=($!)
  done
  for j in "${!group[@]}"; do
    t=${group[$j]}
    rc=0
    wait "${pids[$j]}" || rc=$?
    echo "=== fuzzing $t for ${seconds} s (exit $rc) ==="
    cat "build-fuzz/${t}.log"
    [ "$rc" -eq 0 ] || failed+=("$t")
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing failed: ${failed[*]} (inputs kept as build-fuzz/<target>-crash-*)" >&2
  exit 1
fi
