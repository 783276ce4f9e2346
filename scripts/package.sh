#!/usr/bin/env bash
# Builds kcanary's Debian package (CPack, cmake/Packaging.cmake) into
# $KCANARY_BUILD_DIR/package (default build dir: build-pkg, configured without
# the tests) and prints the .deb's path as the last line. An existing build
# dir is reused as it is configured. Needs dpkg-dev (dpkg-shlibdeps computes
# Depends) besides the build dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
command -v dpkg-shlibdeps >/dev/null || {
  echo "package.sh: dpkg-shlibdeps not found: apt-get install dpkg-dev" >&2
  exit 1
}
build="${KCANARY_BUILD_DIR:-build-pkg}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DKCANARY_BUILD_TESTS=OFF \
    -DKCANARY_WERROR="${KCANARY_WERROR:-OFF}" >/dev/null
fi
# Re-runs cmake itself when a CMakeLists.txt changed.
cmake --build "$build" -j"$(nproc)"
out="$PWD/$build/package"
rm -f "$out"/kcanary_*.deb
# cpack's own progress goes to stderr so stdout ends with the path alone.
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" >&2
debs=("$out"/kcanary_*.deb)
[ -f "${debs[0]}" ] || { echo "package.sh: cpack made no kcanary_*.deb in $out" >&2; exit 1; }
echo "${debs[0]}"
