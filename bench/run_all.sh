#!/usr/bin/env bash
# The whole benchmark suite in one command; each part prints its table. About 13 minutes
# on 2 cores. Record the output in bench/RESULTS.md with the date and this command.
#   bash bench/run_all.sh            # uses build/ (built first if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
if [ ! -x "$build/gralarm" ] || [ ! -x "$build/bench/gralarm_bench" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$build" --parallel "$(nproc)"
fi
echo "## $(date -u +%F): $("$build/gralarm" --version) on $(nproc) cores"
echo
echo "### Micro-benchmarks: parser, hash rings, matcher (10,000 and 100,000 rules), match + evaluate"
"$build/bench/gralarm_bench" --benchmark_min_time=0.5
echo
echo "### End to end: gralarm (10,000 rules) vs carbon-c-relay vs the loopback ceiling"
python3 bench/e2e.py --build "$build" --lines 5000000 --series 100000 --connections 1 8 \
  --rules 10000 --loopback
echo
echo "### End to end with target rules: gralarm (10,000 rules, 2,000 of them target rules) vs carbon-c-relay"
python3 bench/e2e.py --build "$build" --lines 5000000 --series 100000 --connections 1 8 \
  --rules 10000 --target-rules 2000
echo
echo "### Breach-to-webhook latency"
python3 bench/latency.py --build "$build" --breaches 1000
echo
echo "### Memory per tracked series"
python3 bench/memory.py --build "$build" --series 1000000
