#!/usr/bin/env bash
# Real-Kafka end-to-end tests: builds kcanary, fetches Apache Kafka 4.3.1
# from Maven Central (cached in ~/.m2) and, each on local 3-broker KRaft
# clusters on 127.0.0.1 it starts and stops itself, runs the SPEC §8
# scenarios S1-S7 against ground truth, S2 again through a real Prometheus
# and Alertmanager to a webhook (the on-call path), topic management and the
# audit (SPEC §6-7), kcanary over SASL/SCRAM and TLS listeners (issue 7),
# and the cluster tool's own tests. Needs Java 17+, Maven,
# Prometheus and Alertmanager (installed by install-deps.sh). About 15
# minutes; prints one table:
# scenario, class, ground truth, kcanary, verdict. Extra arguments go to
# pytest (e.g. tests/e2e/test_scenarios.py -k s2).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${KCANARY_SKIP_BUILD:-0}" = 1 ] || ./scripts/build.sh
./deploy/local/kafka-cluster fetch
tests=(tests/e2e/test_scenarios.py tests/e2e/test_alerting.py
       tests/e2e/test_topic_audit.py tests/e2e/test_secured_cluster.py
       tests/e2e/test_kafka_cluster_tool.py tests/e2e/test_faults.py)
[ $# -eq 0 ] || tests=("$@")
KCANARY_BIN="$PWD/${KCANARY_BUILD_DIR:-build}/app/kcanary" \
  python3 -m pytest -q -p no:cacheprovider "${tests[@]}"
