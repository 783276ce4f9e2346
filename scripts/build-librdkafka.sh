#!/usr/bin/env bash
# Builds the librdkafka that kcanary links statically, from Debian's source
# package pinned in deps/librdkafka.pin, into a cache outside the work tree:
#   ${KCANARY_DEPS_DIR:-~/.cache/kcanary}/librdkafka-<debian version>
# A second run finds it there and does nothing. CMake asks for the path with
#   scripts/build-librdkafka.sh --print-prefix
#
# How the source is trusted: apt fetches the suite's InRelease with a private
# sources list (the machine's own apt setup is left alone) and checks its
# signature against Debian's archive keyring; the Sources index it signs
# lists the package's files with their SHA-256 sums, which apt checks on
# download; and the sums must also equal the ones pinned in the repo, so a
# rebuilt package of the same version is noticed, not silently used.
#
# Only the C library is built; its dependencies stay bookworm's shared
# libraries (OpenSSL 3, Cyrus SASL, zstd, lz4, curl, zlib), so the binary
# and its .deb run on a stock Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

# The pin is data (KEY=value lines), read here, never run.
pin=deps/librdkafka.pin
pinned() {
  local v
  v=$(sed -n "s/^$1=//p" "$pin")
  [ -n "$v" ] || { echo "build-librdkafka: $pin has no $1" >&2; exit 1; }
  echo "$v"
}
LIBRDKAFKA_SUITE=$(pinned LIBRDKAFKA_SUITE)
LIBRDKAFKA_DEBIAN_VERSION=$(pinned LIBRDKAFKA_DEBIAN_VERSION)
LIBRDKAFKA_VERSION=$(pinned LIBRDKAFKA_VERSION)
LIBRDKAFKA_SHA256_DSC=$(pinned LIBRDKAFKA_SHA256_DSC)
LIBRDKAFKA_SHA256_ORIG=$(pinned LIBRDKAFKA_SHA256_ORIG)
LIBRDKAFKA_SHA256_DEBIAN=$(pinned LIBRDKAFKA_SHA256_DEBIAN)
deps_dir="${KCANARY_DEPS_DIR:-${HOME:?}/.cache/kcanary}"
prefix="$deps_dir/librdkafka-$LIBRDKAFKA_DEBIAN_VERSION"
# The stamp names the pinned sums: a changed pin rebuilds.
stamp_text="$LIBRDKAFKA_DEBIAN_VERSION $LIBRDKAFKA_SHA256_DSC"

if [ "${1:-}" = --print-prefix ]; then
  echo "$prefix"
  exit 0
fi
if [ -f "$prefix/.built" ] && [ "$(cat "$prefix/.built")" = "$stamp_text" ]; then
  exit 0
fi

mkdir -p "$deps_dir"
exec 9>"$deps_dir/.librdkafka.lock"
flock 9  # a concurrent run waits, then finds the result
if [ -f "$prefix/.built" ] && [ "$(cat "$prefix/.built")" = "$stamp_text" ]; then
  exit 0
fi

echo "build-librdkafka: building librdkafka $LIBRDKAFKA_DEBIAN_VERSION from Debian's $LIBRDKAFKA_SUITE source package"
work=$(mktemp -d "$deps_dir/.librdkafka-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The machine's Debian mirror (the one its main suite comes from), unless
# KCANARY_DEBIAN_MIRROR names another: the suite is fetched from there.
mirror="${KCANARY_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
  # shellcheck disable=SC2016  # $(...) here is apt's format syntax, not the shell's
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT)' 2>/dev/null |
    awk -v c="$codename" '$2 == c && $3 == "main" {print $1; exit}')
fi
[ -n "$mirror" ] || {
  echo "build-librdkafka: no Debian mirror found in apt's sources; set KCANARY_DEBIAN_MIRROR" >&2
  exit 1
}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=$keyring] $mirror $LIBRDKAFKA_SUITE main" >"$work/sources.list"
apt_opts=(
  -o "Dir::Etc::sourcelist=$work/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
  -o APT::Sandbox::User=root -qq
)
apt-get "${apt_opts[@]}" update
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only \
  "librdkafka=$LIBRDKAFKA_DEBIAN_VERSION" >/dev/null)

upstream=${LIBRDKAFKA_DEBIAN_VERSION%-*}
(cd "$work/src" && sha256sum --quiet -c - <<SUMS)
$LIBRDKAFKA_SHA256_DSC  librdkafka_$LIBRDKAFKA_DEBIAN_VERSION.dsc
$LIBRDKAFKA_SHA256_ORIG  librdkafka_$upstream.orig.tar.gz
$LIBRDKAFKA_SHA256_DEBIAN  librdkafka_$LIBRDKAFKA_DEBIAN_VERSION.debian.tar.xz
SUMS
# dpkg-source checks the files against the .dsc and applies Debian's patches.
# (It cannot check the maintainer's signature of the .dsc, whose key is in no
# keyring here, and says so: the signed Sources index and the pin vouch for it.)
dpkg-source -x "$work/src/librdkafka_$LIBRDKAFKA_DEBIAN_VERSION.dsc" "$work/librdkafka" \
  >"$work/unpack.log" 2>&1 || { cat "$work/unpack.log" >&2; exit 1; }

staging="$work/prefix"
(
  cd "$work/librdkafka"
  # librdkafka's own configure (mklove): system libraries only, nothing
  # downloaded (--no-download); the build flags Debian's package uses.
  ./configure --prefix="$staging" --no-download --enable-ssl --enable-gssapi \
    --enable-zstd --enable-lz4-ext --enable-curl --enable-zlib >"$work/configure.log" 2>&1 ||
    { tail -n 30 "$work/configure.log" >&2; exit 1; }
  make -C src -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log" >&2; exit 1; }
  make -C src install >>"$work/make.log" 2>&1
)
built=$(PKG_CONFIG_PATH="$staging/lib/pkgconfig" pkg-config --modversion rdkafka-static)
[ "$built" = "$LIBRDKAFKA_VERSION" ] || {
  echo "build-librdkafka: built version $built, pinned $LIBRDKAFKA_VERSION" >&2
  exit 1
}
# Static only: with no shared library in the prefix nothing can link it
# by accident. rdkafka-static.pc names librdkafka.a and its shared deps.
rm -f "$staging"/lib/librdkafka.so* "$staging"/lib/librdkafka-static.a \
  "$staging"/lib/pkgconfig/rdkafka.pc
echo "$stamp_text" >"$staging/.built"
rm -rf "$prefix"
mv "$staging" "$prefix"
# The .pc files name the staging dir; point them at the final one.
sed -i "s|$staging|$prefix|g" "$prefix"/lib/pkgconfig/*.pc
echo "build-librdkafka: librdkafka $built in $prefix"
