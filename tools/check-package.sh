#!/usr/bin/env bash
# CI step for the Debian package: builds it (tools/package.sh), then installs it
# on this machine with dpkg, checks it and purges it again (tests/packaging/).
# Needs root, as dpkg -i does; no service is started (policy-rc.d, and the
# service only starts where systemd runs as PID 1).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/package.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/packaging
