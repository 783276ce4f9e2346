#!/usr/bin/env bash
# Real-Kafka end-to-end scenarios (SPEC §8): builds kcanary, fetches Apache
# Kafka 4.3.1 from Maven Central (cached in ~/.m2), starts a local 3-broker
# KRaft cluster on 127.0.0.1 and runs the scenarios against ground truth.
# Needs Java 17+ and Maven. Takes about 5 minutes; prints one result table.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
command -v java >/dev/null && command -v mvn >/dev/null || ./deploy/local/kafka-cluster install-prereqs
./deploy/local/kafka-cluster fetch
KCANARY_BIN="$PWD/${KCANARY_BUILD_DIR:-build}/app/kcanary" \
  python3 -m pytest -q -p no:cacheprovider tests/e2e/test_scenarios.py "$@"
