#!/usr/bin/env bash
# Installs, builds and runs gralarm with conf/gralarm.toml in front of a local
# carbon-cache (Debian's graphite-carbon, line receiver on 127.0.0.1:2103) whose
# whisper files go to var/demo/. Collectors send to port 2003 as they would to
# carbon-cache. Ctrl-C stops gralarm (it delivers what it holds) and then carbon-cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --parallel "$(nproc)" --target gralarm

demo="$root/var/demo"
mkdir -p "$demo/storage/log" "$demo/conf"
cat > "$demo/conf/storage-schemas.conf" <<SCHEMAS
[carbon]
pattern = ^carbon\.
retentions = 60s:90d

[default]
pattern = .*
retentions = 10s:1d,1m:30d,5m:1y
SCHEMAS
cat > "$demo/conf/carbon.conf" <<CARBON
[cache]
STORAGE_DIR = $demo/storage/
LOCAL_DATA_DIR = $demo/storage/whisper/
WHITELISTS_DIR = $demo/storage/lists/
CONF_DIR = $demo/conf/
LOG_DIR = $demo/storage/log/
PID_DIR = $demo/storage/
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 5000
MAX_CREATES_PER_MINUTE = 600
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = 2103
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = 2104
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = 7102
CARBON_METRIC_INTERVAL = 60
CARBON

rm -f "$demo/storage/carbon-cache.pid"
carbon-cache --config="$demo/conf/carbon.conf" --pidfile="$demo/storage/carbon-cache.pid" \
  --nodaemon start >"$demo/carbon-cache.out" 2>&1 &
carbon_pid=$!
trap 'kill -TERM "$carbon_pid" 2>/dev/null; wait "$carbon_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>/dev/tcp/127.0.0.1/2103) 2>/dev/null && break
  sleep 0.1
done

cat <<INFO
carbon-cache: 127.0.0.1:2103, whisper files under $demo/storage/whisper
gralarm:      plaintext on :2003 (TCP and UDP), http://127.0.0.1:2080/metrics
try:          echo "demo.hello 95 \$(date +%s)" > /dev/tcp/127.0.0.1/2003
              (a critical alert of rule demo-hello; see it with
               build/gralarm alerts -c $demo/gralarm.toml)
INFO
# The demo's own copy of conf/gralarm.toml: its store under var/demo, the example rules.
sed -e "s|^path = \"/var/lib/gralarm\"|path = \"$demo/store\"|" \
    -e "s|^files = \[\]|files = [\"$root/conf/rules/example.toml\"]|" \
    conf/gralarm.toml > "$demo/gralarm.toml"
./build/gralarm serve -c "$demo/gralarm.toml"
