#!/usr/bin/env bash
# Regenerates kcanary's benchmark results and the table in bench/README.md:
# builds kcanary and the bench tools (scripts/build.sh installs what they
# need), fetches Apache Kafka (Maven Central, cached) for the real-cluster
# runs, runs each part's harness (bench/<part>/run.py, results into
# bench/results/<part>.json), then bench/report.py.
#
#   bench/run.sh                     # every part
#   bench/run.sh throughput sidecar  # some parts
#   BENCH_ARGS="--runs 5" bench/run.sh throughput   # extra flags for each harness
#
# Benchmarks, not tests: they start and stop their own Kafka clusters and
# kcanary processes on 127.0.0.1 and assert nothing. Run them on an idle
# machine: anything else running skews the absolute numbers (ratios less so).
set -euo pipefail
cd "$(dirname "$0")/.."

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(throughput peers sidecar inprocess)
for part in "${parts[@]}"; do
  [ -f "bench/$part/run.py" ] || { echo "bench/run.sh: no such part: $part" >&2; exit 2; }
done

[ "${KCANARY_SKIP_BUILD:-0}" = 1 ] || ./scripts/build.sh
./deploy/local/kafka-cluster fetch >/dev/null

read -r -a extra <<<"${BENCH_ARGS:-}"
failed=()
for part in "${parts[@]}"; do
  echo "== bench: $part"
  start=$SECONDS
  if python3 "bench/$part/run.py" "${extra[@]}"; then
    echo "== bench: $part done in $((SECONDS - start)) s"
  else
    echo "== bench: $part FAILED after $((SECONDS - start)) s" >&2
    failed+=("$part")
  fi
done
python3 bench/report.py
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench/run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
