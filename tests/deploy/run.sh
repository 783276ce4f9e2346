#!/usr/bin/env bash
# Checks kcanary's deployment artefacts for real:
#  1. builds the Debian package (scripts/package.sh; KCANARY_BUILD_DIR reuses a
#     build dir) and checks its control fields, file list, modes and conffiles;
#  2. installs it with dpkg into a throw-away root (maintainer scripts run,
#     Depends resolved against this host's packages), then upgrades and purges;
#  3. runs the installed binary: --help, then `kcanary run` with the shipped
#     client.properties inside the sandbox kcanary.service asks systemd for
#     (tests/deploy/sandbox.py: syscall filter, address families, no W+X
#     memory) until it is ready and acks records, then SIGTERM;
#  4. `systemd-analyze verify` and `security` on the installed unit;
#  5. the Kubernetes manifests, unit and defaults (tests/deploy/check_manifests.py).
# Needs (Debian): dpkg-dev systemd python3-yaml python3-seccomp curl, plus the
# build dependencies. Root is not needed (dpkg --force-not-root).
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "FAIL: $*" >&2; exit 1; }
# /usr/bin/python3: Debian's python3-yaml and python3-seccomp live there.
py=/usr/bin/python3
for tool in dpkg-deb systemd-analyze curl; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done
"$py" -c 'import yaml, seccomp' || fail "needs python3-yaml and python3-seccomp"

tmp=$(mktemp -d)
kcanary_pid=""
cleanup() {
  if [ -n "$kcanary_pid" ]; then kill -KILL "$kcanary_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== package: scripts/package.sh"
deb=$(./scripts/package.sh | tail -n 1)
[ -f "$deb" ] || fail "scripts/package.sh printed no .deb path (got: $deb)"
echo "   $deb"

echo "== control fields"
version=$(sed -n 's/^project(kcanary VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = kcanary ] || fail "Package is '$(field Package)', want kcanary"
[ "$(field Version)" = "$version" ] || fail "Version is '$(field Version)', want $version (project())"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
[[ "$(field Maintainer)" =~ ^.+\ \<.+@.+\>$ ]] || fail "Maintainer '$(field Maintainer)' is not 'Name <email>'"
[ -n "$(field Section)" ] || fail "no Section"
[ -n "$(field Description)" ] || fail "no Description"
# Depends comes from dpkg-shlibdeps: it must name the libraries kcanary links,
# librdkafka's own (it is linked statically: deps/librdkafka.pin) among them,
# and never Debian 12's librdkafka1 (2.0.2), which would be the wrong client.
depends=$(field Depends)
for lib in libc6 librocksdb libprotobuf libcivetweb1 libprometheus-cpp-core \
  libssl3 libsasl2-2 libzstd1 liblz4-1 libcurl4; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ "$depends" != *librdkafka* ]] || fail "Depends names a shared librdkafka: $depends"

echo "== contents"
listing=$(dpkg-deb -c "$deb")
want_files=(
  "-rwxr-xr-x ./usr/bin/kcanary"
  "-rw-r--r-- ./lib/systemd/system/kcanary.service"
  "-rw-r--r-- ./etc/default/kcanary"
  "-rw------- ./etc/kcanary/client.properties"
  "-rw-r--r-- ./usr/share/doc/kcanary/README.md"
  "-rw-r--r-- ./usr/share/doc/kcanary/runbook.md"
  "-rw-r--r-- ./usr/share/kcanary/prometheus/kcanary-rules.yml"
  "-rw-r--r-- ./usr/share/kcanary/grafana/kcanary.json"
)
for want in "${want_files[@]}"; do
  mode=${want%% *} path=${want#* }
  line=$(awk -v p="$path" '$NF == p' <<<"$listing")
  [ -n "$line" ] || fail "the package lacks $path"
  [[ "$line" == "$mode root/root "* ]] || fail "$path is not $mode root/root: $line"
done
conffiles=$(dpkg-deb -I "$deb" conffiles)
[ "$conffiles" = $'/etc/default/kcanary\n/etc/kcanary/client.properties' ] ||
  fail "conffiles are not exactly /etc/default/kcanary and /etc/kcanary/client.properties: $conffiles"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/kcanary >"$tmp/kcanary.bin"
if readelf -S "$tmp/kcanary.bin" | grep -q '\.debug_info'; then fail "usr/bin/kcanary is not stripped"; fi

echo "== dpkg -i into a throw-away root"
root="$tmp/root"
admin="$root/var/lib/dpkg"
mkdir -p "$admin/info" "$admin/updates"
# This host's package database, so that Depends must really be satisfied.
cp /var/lib/dpkg/status "$admin/status"
dpkg-query -W -f='${binary:Package}\n' | while read -r p; do : >"$admin/info/$p.list"; done
# --force-not-root: as a user, dpkg leaves the files that user's.
dpkg_root() { dpkg --root="$root" --force-not-root --force-script-chrootless --log=/dev/null "$@"; }
dpkg_root -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i failed"; }
status=$(dpkg --root="$root" -s kcanary)
grep -q '^Status: install ok installed$' <<<"$status" || fail "kcanary is not installed ok: $status"
for f in /etc/default/kcanary /etc/kcanary/client.properties; do
  grep -q "^ $f [0-9a-f]\{32\}$" <<<"$status" || fail "dpkg did not register conffile $f"
done
# An upgrade keeps a local edit of a conffile.
echo '# local edit' >>"$root/etc/default/kcanary"
dpkg_root -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "reinstall failed"; }
[ "$(tail -n 1 "$root/etc/default/kcanary")" = '# local edit' ] || fail "reinstall overwrote a conffile"

echo "== installed binary"
bin="$root/usr/bin/kcanary"
# librdkafka is in the binary (deps/librdkafka.pin), not a shared library,
# and --version names the one really linked.
! ldd "$bin" | grep -q librdkafka || fail "kcanary links a shared librdkafka: $(ldd "$bin" | grep librdkafka)"
rdkafka_version=$(sed -n 's/^LIBRDKAFKA_VERSION=//p' deps/librdkafka.pin)
[ "$("$bin" --version)" = "kcanary $version (librdkafka $rdkafka_version)" ] ||
  fail "kcanary --version says '$("$bin" --version)', want librdkafka $rdkafka_version"
# Into a file, not a pipe: grep -q exits at the first match, and once the help
# is longer than stdio's 4 KiB buffer kcanary's second write would die of
# SIGPIPE, which pipefail reports as a failure.
"$bin" --help >"$tmp/help.txt" || fail "kcanary --help exits $?"
grep -q '^Usage: kcanary' "$tmp/help.txt" || fail "kcanary --help prints no usage line"
"$bin" run --help >"$tmp/run-help.txt" || fail "kcanary run --help"
set +e
"$bin" run --no-such-flag >/dev/null 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a bad flag exits $rc, want 2"

echo "== kcanary run in kcanary.service's sandbox, with the shipped client.properties"
unit="$root/lib/systemd/system/kcanary.service"
log="$tmp/kcanary.log"
# Created here: the background job opens it only when it gets to run, and the
# loop below must never read a log that does not exist yet.
: >"$log"
"$py" tests/deploy/sandbox.py "$unit" -- "$bin" run -F "$root/etc/kcanary/client.properties" \
  --listen 127.0.0.1:0 --state-dir "$tmp/state" 2>"$log" &
kcanary_pid=$!
port=""
ready=""
acked=0
for _ in $(seq 1 150); do
  if ! kill -0 "$kcanary_pid" 2>/dev/null; then
    rc=0
    wait "$kcanary_pid" || rc=$?
    kcanary_pid=""
    cat "$log" >&2
    # 159 = 128 + SIGSYS: sandbox.py kills on any syscall outside the filter.
    [ "$rc" -ne 159 ] || fail "kcanary made a syscall outside SystemCallFilter= (strace -f finds it)"
    fail "kcanary exited $rc in the sandbox"
  fi
  [ -n "$port" ] || port=$(sed -n 's|.*serving .* on http://127.0.0.1:\([0-9]*\)$|\1|p' "$log")
  if [ -n "$port" ]; then
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz does not answer 200"
    ready=$(curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null || true)
    acked=$(curl -fsS "http://127.0.0.1:$port/metrics" |
      awk '/^kcanary_messages_acked_total/ { s += $2 } END { print s + 0 }')
    [ "$ready" = ready ] && [ "$acked" -gt 0 ] && break
  fi
  sleep 0.2
done
[ -n "$port" ] || { cat "$log" >&2; fail "kcanary never logged its listen port"; }
[ "$ready" = ready ] || fail "/readyz never answered ready"
[ "$acked" -gt 0 ] || fail "no record was acked in 30 s"
echo "   ready on port $port, $acked records acked"
kill -TERM "$kcanary_pid"
# kcanary.service gives it TimeoutStopSec=45s; it drains in at most 30 s.
for _ in $(seq 1 400); do
  kill -0 "$kcanary_pid" 2>/dev/null || break
  sleep 0.1
done
! kill -0 "$kcanary_pid" 2>/dev/null || fail "kcanary still runs 40 s after SIGTERM"
rc=0
wait "$kcanary_pid" || rc=$?
kcanary_pid=""
[ "$rc" -eq 0 ] || { cat "$log" >&2; fail "kcanary exited $rc on SIGTERM, want 0"; }
grep -q 'stopped cleanly' "$log" || fail "no 'stopped cleanly' in the log"

echo "== systemd-analyze verify / security (installed unit)"
# Targets the unit names (and nothing else) come from this host.
cp -n /lib/systemd/system/*.target /lib/systemd/system/*.slice "$root/lib/systemd/system/"
out=$(systemd-analyze verify --root="$root" kcanary.service 2>&1) || fail "verify: $out"
# verify exits 0 on unknown keys and bad values; it must say nothing at all.
[ -z "$out" ] || fail "systemd-analyze verify: $out"
score=$(systemd-analyze security --offline=yes --root="$root" kcanary.service 2>&1 |
  sed -n 's/.*Overall exposure level for kcanary.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security gave no score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score > 2.0: hardening regressed"
echo "   exposure level $score"

echo "== dpkg --purge"
mkdir -p "$root/var/lib/private/kcanary"
dpkg_root --purge kcanary >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "purge failed"; }
for f in usr/bin/kcanary etc/default/kcanary etc/kcanary/client.properties var/lib/private/kcanary; do
  [ ! -e "$root/$f" ] || fail "purge left $f"
done

echo "== Kubernetes manifests, unit and defaults"
"$py" tests/deploy/check_manifests.py . "$tmp/run-help.txt"
echo "OK: deploy"
