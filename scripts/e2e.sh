#!/usr/bin/env bash
# Real-Kafka end-to-end scenarios (SPEC §8): builds kcanary, fetches Apache
# Kafka 4.3.1 from Maven Central (cached in ~/.m2), starts a local 3-broker
# KRaft cluster on 127.0.0.1 and runs S1-S7 against ground truth. Needs Java
# 17+ and Maven (installed by install-deps.sh). About 6 minutes; prints one
# table: scenario, class, ground truth, kcanary, verdict. Extra arguments go
# to pytest (e.g. -k s2).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${KCANARY_SKIP_BUILD:-0}" = 1 ] || ./scripts/build.sh
./deploy/local/kafka-cluster fetch
KCANARY_BIN="$PWD/${KCANARY_BUILD_DIR:-build}/app/kcanary" \
  python3 -m pytest -q -p no:cacheprovider tests/e2e/test_scenarios.py "$@"
