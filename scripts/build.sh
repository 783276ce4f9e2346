#!/usr/bin/env bash
# Installs dependencies and builds kcanary into ./build (or $KCANARY_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build="${KCANARY_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DKCANARY_WERROR="${KCANARY_WERROR:-OFF}" >/dev/null
cmake --build "$build" -j"$(nproc)"
