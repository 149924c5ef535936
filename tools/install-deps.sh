#!/usr/bin/env bash
# Installs every build, test and demo dependency of gralarm from Debian bookworm's
# packages. Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  libuv1-dev libabsl-dev librocksdb-dev prometheus-cpp-dev libcivetweb-dev
  libfmt-dev libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev
  libhttp-parser-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev clang-format
  tzdata
  # the web page's charts, compiled into the binary (CMake reads /usr/share/javascript/dygraphs)
  libjs-dygraphs
  # real peers for tests, demo and benchmarks
  graphite-carbon python3-whisper graphite-web carbon-c-relay prometheus
  python3 python3-pytest curl procps
  chromium chromium-driver python3-selenium fonts-dejavu-core prometheus-alertmanager
  # the Debian package and its checks (tools/package.sh, tests/packaging)
  dpkg-dev systemd strace adduser
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Debian's graphite-carbon would start a system carbon-cache on :2003, the port gralarm
  # owns: hold service starts back for the length of this install only.
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -z "$created_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi
