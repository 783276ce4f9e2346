#!/usr/bin/env bash
# Installs kcanary's build and test dependencies from Debian's packages.
# Idempotent: packages already present are left as they are.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  prometheus-cpp-dev librocksdb-dev libspdlog-dev
  libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libcivetweb-dev zlib1g-dev
  # the listener's TLS (OpenSSL 3); the openssl tool for the README's example
  libssl-dev openssl
  # librdkafka, built from Debian's source package (scripts/build-librdkafka.sh):
  # the archive keyring that vouches for the source, and the libraries it links
  debian-archive-keyring libsasl2-dev libzstd-dev liblz4-dev libcurl4-openssl-dev
  curl python3
  # the scrape flood test (tests/integration/binary/scrape_flood_test.cc)
  wrk
  # the real-Kafka scenarios: the broker runs on Java 17, Maven fetches it;
  # openssl makes the test CA of the TLS listener (test_secured_cluster.py)
  openjdk-17-jre-headless maven openssl
  # promtool, for the alert rules' and the dashboard's checks; the real
  # Prometheus and Alertmanager of the on-call path test (test_alerting.py)
  prometheus prometheus-alertmanager
  # the deployment checks: the Debian package (dpkg-shlibdeps), the systemd
  # unit (systemd-analyze), the manifests (PyYAML) and the unit's sandbox
  # rebuilt for a test run (seccomp); lint of YAML and shell files
  dpkg-dev systemd python3-yaml python3-seccomp yamllint shellcheck
  # the libFuzzer targets (scripts/fuzz.sh): clang and its sanitizer runtimes
  clang-14 libclang-rt-14-dev
)

# Python side of the tests: the ground-truth checker and its Kafka client.
python_ok() {
  python3 - <<'PY' 2>/dev/null
import confluent_kafka, pytest  # noqa: F401
PY
}
if ! python_ok; then
  echo "install-deps: installing Python test packages (pytest, confluent-kafka)"
  python3 -m pip install --quiet --disable-pip-version-check pytest confluent-kafka==2.16.1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
