#!/usr/bin/env bash
# Builds kcanary's libFuzzer targets (tests/fuzz) with clang, AddressSanitizer
# and UBSan into ./build-fuzz, and runs each for a bounded time: the record
# decoder (any bytes read from the canary topic) and the -F properties parser.
#
#   scripts/fuzz.sh                      # 60 s per target (KCANARY_FUZZ_SECONDS)
#   scripts/fuzz.sh record_decoder       # one target
#
# The corpus grows in build-fuzz/corpus/<target> (seeded from
# tests/fuzz/seeds/<target>); a crash stops the run with exit 1 and leaves its
# input in build-fuzz/artifacts/. Reproduce with
#   build-fuzz/tests/fuzz/<target>_fuzz build-fuzz/artifacts/<file>
# and turn it into a unit test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
seconds="${KCANARY_FUZZ_SECONDS:-60}"
build="${KCANARY_FUZZ_BUILD_DIR:-build-fuzz}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(record_decoder properties)

cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DKCANARY_FUZZ=ON -DKCANARY_BUILD_TESTS=OFF -DKCANARY_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/%/_fuzz}"

mkdir -p "$build/artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  echo "== fuzz $t: ${seconds} s"
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a leak or a
  # runaway allocation is a finding too.
  log="$build/artifacts/$t.log"
  status=0
  "$build/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$build/corpus/$t" "tests/fuzz/seeds/$t" >"$log" 2>&1 || status=$?
  grep -E '^(INFO: seed corpus|#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz $t: FAILED (exit $status); the input is in $build/artifacts/" >&2
    exit 1
  fi
done
echo "OK: fuzz (${targets[*]}, ${seconds} s each)"
