#!/usr/bin/env bash
# Checks that scripts/build-librdkafka.sh really holds Debian's source to the
# pin: a copy of the script with one pinned SHA-256 changed must refuse the
# download and leave nothing in its cache (it fetches from the machine's
# Debian mirror, ~15 MB, builds nothing); --print-prefix names the cache
# under KCANARY_DEPS_DIR. The good pin is exercised by every build (CMake
# runs the script).
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree/scripts" "$tmp/tree/deps"
cp scripts/build-librdkafka.sh "$tmp/tree/scripts/"
# The orig tarball's sum with its last hex digit changed.
orig=$(sed -n 's/^LIBRDKAFKA_SHA256_ORIG=//p' deps/librdkafka.pin)
[ "${orig: -1}" = 0 ] && digit=1 || digit=0
sed "s/^LIBRDKAFKA_SHA256_ORIG=.*/LIBRDKAFKA_SHA256_ORIG=${orig%?}$digit/" deps/librdkafka.pin \
  >"$tmp/tree/deps/librdkafka.pin"
cmp -s deps/librdkafka.pin "$tmp/tree/deps/librdkafka.pin" && fail "the altered pin equals the real one"

cache="$tmp/cache"
prefix=$(KCANARY_DEPS_DIR="$cache" "$tmp/tree/scripts/build-librdkafka.sh" --print-prefix)
version=$(sed -n 's/^LIBRDKAFKA_DEBIAN_VERSION=//p' deps/librdkafka.pin)
[ "$prefix" = "$cache/librdkafka-$version" ] || fail "--print-prefix says $prefix"

echo "== a pinned SHA-256 that does not match Debian's file"
set +e
KCANARY_DEPS_DIR="$cache" "$tmp/tree/scripts/build-librdkafka.sh" >"$tmp/out.log" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || { cat "$tmp/out.log" >&2; fail "build-librdkafka.sh accepted a file that does not match the pin"; }
grep -q "orig.tar.gz: FAILED" "$tmp/out.log" || { cat "$tmp/out.log" >&2; fail "no checksum failure named"; }
[ ! -e "$prefix" ] || fail "a build was left in $prefix"
echo "OK: librdkafka pin (refused: $(grep -m1 FAILED "$tmp/out.log"))"
