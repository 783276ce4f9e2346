#!/usr/bin/env bash
# Sets up, builds and runs `kcanary run`. With no arguments it monitors an
# embedded mock Kafka cluster; any arguments are passed on (e.g. -b host:9092).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec "./${KCANARY_BUILD_DIR:-build}/app/kcanary" run "$@"
