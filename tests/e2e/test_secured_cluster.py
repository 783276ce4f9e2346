"""kcanary on a secured real Kafka cluster (issue 7): one 3-broker cluster
(+1 controller) with extra client listeners next to PLAINTEXT, made by
`deploy/local/kafka-cluster start --sasl-plain U:PW_FILE --sasl-scram U:PW_FILE
--ssl-dir DIR`: SASL_PLAINTEXT and SASL_SSL (PLAIN, SCRAM-SHA-512 and
SCRAM-SHA-256), and SSL.
kcanary is configured with the settings librdkafka users already have
(security.protocol, sasl.mechanisms, sasl.username, sasl.password,
ssl.ca.location), the password as ${file:...} or ${env:...} in -F files.

- SASL PLAIN over SASL_PLAINTEXT (password from a file) and over SASL_SSL
  (from the environment), and SSL alone: kcanary run gets ready, records are
  acked and read back, kcanary_kafka_up 1, no anomaly of any class. The broker
  certificate (SAN IP:127.0.0.1) is signed by a CA this module makes with
  openssl; librdkafka checks the broker's name against it.
- SCRAM-SHA-512 and SCRAM-SHA-256, over SASL_PLAINTEXT and SASL_SSL: the
  same healthy run. librdkafka < 2.6.1 (Debian 12's 2.0.2) computes the SCRAM
  proof over a wrong nonce, which Kafka 4.x rejects (confluentinc/librdkafka
  #4895); kcanary links 2.8.0 and must authenticate.
- A wrong password (PLAIN, and SCRAM): kcanary keeps running and serving,
  kafka_up 0, and its own "Kafka cluster unreachable" line names the SASL
  failure.
- The password never shows in kcanary's log (debug level, which dumps the
  effective client configs), /status, /, /metrics or --help.

    python3 -m pytest -q -p no:cacheprovider tests/e2e/test_secured_cluster.py

Every wait is bounded; the cluster is torn down also when a test fails.
"""
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error

import pytest

from cluster import LocalKafkaCluster, make_test_certs, wait_for
from kcanary_proc import KCANARY, Kcanary, http_get, log

pytestmark = pytest.mark.e2e

USER = "kcanary"              # PLAIN
SCRAM_USER = "kcanary-scram"  # SCRAM-SHA-512 and -256, the same password
# Distinctive, so that finding it anywhere means it leaked.
PASSWORD = "kcZebra-S3cret-" + secrets.token_hex(6)
WRONG_PASSWORD = "kcWrong-S3cret-" + secrets.token_hex(6)

# Every class that is an anomaly: all must stay 0 on a healthy cluster.
ANOMALIES = ["kcanary_messages_lost_total", "kcanary_messages_expired_total",
             "kcanary_messages_not_committed_total", "kcanary_messages_indeterminate_total",
             "kcanary_messages_failed_but_visible_total", "kcanary_messages_duplicated_total",
             "kcanary_messages_reordered_total", "kcanary_offset_inconsistencies_total",
             "kcanary_records_invalid_total", "kcanary_records_unexpected_total"]


@pytest.fixture(scope="module")
def secured(request):
    """(cluster, dir holding password file + certificates) for the module."""
    if not os.access(KCANARY, os.X_OK):
        pytest.skip("kcanary binary not found at %s (build it or set KCANARY_BIN)" % KCANARY)
    pytest.importorskip("confluent_kafka")
    for tool in ("java", "openssl"):
        if not shutil.which(tool):
            pytest.skip("%s not on PATH (scripts/install-deps.sh)" % tool)
    d = tempfile.mkdtemp(prefix="kcanary-e2e-secured-")
    pw_file = os.path.join(d, "sasl-password")
    with open(pw_file, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pw_file, 0o600)
    make_test_certs(os.path.join(d, "ssl"))
    failed_before = request.session.testsfailed
    t0 = time.monotonic()
    with LocalKafkaCluster(nodes=3, controllers=1, sasl_plain=[(USER, pw_file)],
                           sasl_scram=[(SCRAM_USER, pw_file)], ssl_dir=os.path.join(d, "ssl"),
                           keep_logs=bool(os.environ.get("KCANARY_E2E_KEEP_LOGS"))) as c:
        log("secured cluster up in %.1fs: sasl %s, ssl %s, sasl_ssl %s" % (
            time.monotonic() - t0, c.listener_bootstrap("sasl"), c.listener_bootstrap("ssl"),
            c.listener_bootstrap("sasl_ssl")))
        yield c, d
        if request.session.testsfailed > failed_before:
            c.keep_logs = True
    if request.session.testsfailed == failed_before:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print("secured-cluster test files kept in %s" % d)


@pytest.fixture
def workdir(request):
    d = tempfile.mkdtemp(prefix="kcanary-e2e-%s-" % request.node.name.split("[")[0])
    yield d
    if hasattr(request.node, "rep_call") and request.node.rep_call.passed:
        shutil.rmtree(d, ignore_errors=True)
    else:
        print("kcanary logs of %s kept in %s" % (request.node.name, d))


def client_properties(workdir, lines):
    path = os.path.join(workdir, "client.properties")
    with open(path, "w") as f:
        f.write("# kcanary e2e: a secured cluster\n" + "".join(l + "\n" for l in lines))
    os.chmod(path, 0o600)
    return path


def sasl_lines(password_value, protocol="SASL_PLAINTEXT", mechanism="PLAIN", user=USER):
    return ["security.protocol=" + protocol, "sasl.mechanisms=" + mechanism,
            "sasl.username=" + user, "sasl.password=" + password_value]


def http_status(port, path):
    try:
        http_get(port, path, timeout=5)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


def librdkafka_version(k):
    """kcanary's librdkafka, from kcanary_build_info{librdkafka}: (2, 0, 2)."""
    for name, labels, _ in k.metrics():
        if name == "kcanary_build_info":
            return tuple(int(x) for x in re.findall(r"\d+", labels["librdkafka"])[:3])
    raise AssertionError("no kcanary_build_info")


def assert_no_leak(text, where):
    assert PASSWORD not in text, "the SASL password leaked into %s" % where
    assert WRONG_PASSWORD not in text, "the (wrong) SASL password leaked into %s" % where


def expect_healthy_run(k, min_received=30):
    """kcanary run over a secured listener: ready, Kafka up, records acked and
    read back, no anomaly of any class. Returns its /metrics samples."""
    def progressed():
        if k.proc.poll() is not None:
            raise AssertionError("kcanary exited (%s):\n%s" % (k.proc.returncode, k.log_tail()))
        if http_status(k.port, "/readyz") != 200 or k.total("kcanary_kafka_up") != 1:
            return None
        acked = k.total("kcanary_messages_acked_total")
        received = k.total("kcanary_messages_received_total")
        return (acked, received) if acked > 0 and received >= min_received else None
    try:
        acked, received = wait_for(progressed, 90, 1, "records acked and received")
    except Exception:
        print(k.log_tail(80))
        raise
    log("acked %d received %d" % (acked, received))
    m = k.metrics()
    bad = {(n, tuple(sorted(ls.items()))): v for n, ls, v in m if n in ANOMALIES and v != 0}
    assert not bad, "anomalies on a healthy secured cluster: %s" % bad
    assert k.status().get("kafka_up") is True
    return m


def test_run_over_sasl_plain_password_from_file(secured, workdir):
    """-F client.properties with sasl.password=${file:...}: kcanary run
    creates its topic, produces and verifies over SASL_PLAINTEXT (PLAIN)."""
    c, d = secured
    props = client_properties(workdir, sasl_lines("${file:%s}" % os.path.join(d, "sasl-password")))
    topic = "secured-sasl-file"
    k = Kcanary("run", c.listener_bootstrap("sasl"), topic, workdir,
                ["-F", props, "--rate", "20"], name="run-sasl-file")
    try:
        expect_healthy_run(k)
        # it was made through the SASL listener, with the canary layout
        md = c.admin().list_topics(topic, timeout=10).topics[topic]
        assert len(md.partitions) == 3
        assert_no_leak(k.log_text(whole=True), "kcanary's log")
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()


def test_run_over_sasl_ssl_password_from_env(secured, workdir, monkeypatch):
    """SASL_SSL (PLAIN inside TLS, trusting the test CA) with
    sasl.password=${env:NAME}, the variable set only in kcanary's environment."""
    c, d = secured
    monkeypatch.setenv("KCANARY_E2E_SASL_PASSWORD", PASSWORD)
    props = client_properties(workdir, sasl_lines("${env:KCANARY_E2E_SASL_PASSWORD}",
                                                  protocol="SASL_SSL") +
                              ["ssl.ca.location=" + os.path.join(d, "ssl", "ca.crt")])
    k = Kcanary("run", c.listener_bootstrap("sasl_ssl"), "secured-sasl-ssl-env", workdir,
                ["-F", props, "--rate", "20"], name="run-sasl-ssl-env")
    try:
        expect_healthy_run(k)
        assert_no_leak(k.log_text(whole=True), "kcanary's log")
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()


def test_run_over_ssl_trusting_the_test_ca(secured, workdir):
    """security.protocol=SSL, ssl.ca.location = the module's CA; librdkafka
    verifies the broker certificate and its SAN (IP:127.0.0.1)."""
    c, d = secured
    props = client_properties(workdir, [
        "security.protocol=SSL", "ssl.ca.location=" + os.path.join(d, "ssl", "ca.crt"),
        "ssl.endpoint.identification.algorithm=https"])
    k = Kcanary("run", c.listener_bootstrap("ssl"), "secured-ssl", workdir,
                ["-F", props, "--rate", "20"], name="run-ssl")
    try:
        expect_healthy_run(k)
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()


@pytest.mark.parametrize("mechanism,user,seconds", [("PLAIN", USER, 30),
                                                     ("SCRAM-SHA-512", SCRAM_USER, 20)])
def test_wrong_sasl_password_is_reported_not_a_crash(secured, workdir, mechanism, user, seconds):
    """A wrong password, for a PLAIN and for a SCRAM user: kcanary stays up
    and serving, ready (its own health), kcanary_kafka_up 0, and its own
    'Kafka cluster unreachable' line names the SASL authentication failure."""
    c, d = secured
    wrong = os.path.join(workdir, "wrong-password")
    with open(wrong, "w") as f:
        f.write(WRONG_PASSWORD + "\n")
    props = client_properties(workdir, sasl_lines("${file:%s}" % wrong, mechanism=mechanism,
                                                  user=user))
    k = Kcanary("run", c.listener_bootstrap("sasl"), "secured-wrong-pw-" + mechanism.lower(),
                workdir, ["-F", props, "--rate", "20"], name="run-wrong-password")
    try:
        expect_auth_failure_reported(k, seconds)
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()


def expect_auth_failure_reported(k, seconds):
    """For `seconds`: kcanary alive, /healthz 200, kafka_up 0; then ready
    (its own health), nothing acked, and its own 'Kafka cluster unreachable'
    line says that SASL authentication failed."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        assert k.proc.poll() is None, "kcanary exited (%s) on failed authentication:\n%s" % (
            k.proc.returncode, k.log_tail())
        assert http_status(k.port, "/healthz") == 200
        assert k.total("kcanary_kafka_up") == 0
        time.sleep(2)
    assert http_status(k.port, "/readyz") == 200
    assert k.status()["kafka_up"] is False
    assert k.total("kcanary_messages_acked_total") == 0
    text = k.log_text(whole=True)
    own = [l for l in text.splitlines() if "Kafka cluster unreachable" in l]
    assert own, "no 'Kafka cluster unreachable' line:\n" + k.log_tail()
    # SCRAM: "... due to invalid credentials ...", PLAIN: "Invalid username or password"
    why = re.compile(r"SASL authentication error.*(invalid credentials|invalid username or "
                     r"password)", re.I)
    assert any(why.search(l) for l in own), (
        "kcanary's own line does not say why:\n" + "\n".join(own))
    log("kcanary said: %s" % own[0])
    assert_no_leak(text, "kcanary's log")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "SCRAM-SHA-256"])
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_run_over_sasl_scram(secured, workdir, mechanism, protocol):
    """SCRAM against Kafka 4.x, as Strimzi, MSK and most self-run clusters
    set it up: kcanary run verifies records end to end (S1-style traffic,
    nothing lost, nothing false). librdkafka before 2.6.1 (Debian 12's
    2.0.2) failed here (Kafka 4.x rejects its SCRAM proof, librdkafka #4895);
    kcanary links 2.8.0, and must say so in kcanary_build_info."""
    c, d = secured
    listener = {"SASL_PLAINTEXT": "sasl", "SASL_SSL": "sasl_ssl"}[protocol]
    lines = sasl_lines("${file:%s}" % os.path.join(d, "sasl-password"), protocol=protocol,
                       mechanism=mechanism, user=SCRAM_USER)
    if protocol == "SASL_SSL":
        lines.append("ssl.ca.location=" + os.path.join(d, "ssl", "ca.crt"))
    props = client_properties(workdir, lines)
    topic = "secured-%s-%s" % (mechanism.lower(), listener.replace("_", "-"))
    k = Kcanary("run", c.listener_bootstrap(listener), topic, workdir,
                ["-F", props, "--rate", "20"], name="run-" + topic)
    try:
        version = librdkafka_version(k)
        log("kcanary's librdkafka: %s" % ".".join(map(str, version)))
        assert version >= (2, 6, 1), "kcanary links a librdkafka that fails SCRAM on Kafka 4.x"
        expect_healthy_run(k)
        assert_no_leak(k.log_text(whole=True), "kcanary's log")
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()


def test_password_never_leaks(secured, workdir, monkeypatch):
    """The password given in the clearest possible way, -X sasl.password=...
    on the command line (and once more in -F as ${env:}, for the verifier
    role), with --log-level debug, which dumps each role's effective client
    config: it must appear in none of the log, /status, /, /metrics and
    `kcanary --help` / `kcanary run --help` (the same arguments)."""
    c, _ = secured
    monkeypatch.setenv("KCANARY_E2E_SASL_PASSWORD", PASSWORD)
    props = client_properties(workdir, sasl_lines("${env:KCANARY_E2E_SASL_PASSWORD}"))
    args = ["-F", props, "-X", "sasl.password=" + PASSWORD,
            "-X", "canary.sasl.password=" + PASSWORD, "--rate", "20", "--log-level", "debug"]
    k = Kcanary("run", c.listener_bootstrap("sasl"), "secured-no-leak", workdir, args,
                name="run-no-leak")
    try:
        expect_healthy_run(k, min_received=10)
        log_text = k.log_text(whole=True)
        # the dumps were really written (else the check below proves nothing)
        assert "canary config:" in log_text and "verifier config:" in log_text, k.log_tail()
        assert_no_leak(log_text, "kcanary's debug log")
        assert "sasl.password=[redacted]" in log_text, k.log_tail()
        assert_no_leak(http_get(k.port, "/status"), "GET /status")
        assert_no_leak(http_get(k.port, "/"), "GET /")
        assert_no_leak(http_get(k.port, "/metrics"), "GET /metrics")
    finally:
        rc = k.stop()
    assert rc == 0, k.log_tail()
    assert_no_leak(k.log_text(whole=True), "kcanary's log after its stop")
    for help_args in (["--help"], ["run", "--help"], ["run", "-b", "127.0.0.1:1"] + args +
                      ["--help"]):
        r = subprocess.run([KCANARY] + help_args, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (help_args, r.stderr)
        assert_no_leak(r.stdout + r.stderr, "kcanary %s" % " ".join(help_args[:2]))


def test_added_broker_gets_the_secured_listeners(secured):
    """kafka-cluster add-broker: the new broker has the SASL (PLAIN) listener
    too, a client bootstrapped to it alone authenticates and is told about
    it; remove-broker drops it from the listener's bootstrap string again."""
    from confluent_kafka.admin import AdminClient
    c, _ = secured
    new = c.add_broker(timeout=90)
    try:
        port = [n for n in c.state["nodes"] if n["id"] == new][0]["client_ports"]["sasl"]
        assert "127.0.0.1:%d" % port in c.listener_bootstrap("sasl").split(",")
        a = AdminClient({"bootstrap.servers": "127.0.0.1:%d" % port,
                         "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
                         "sasl.username": USER, "sasl.password": PASSWORD})
        brokers = a.list_topics(timeout=20).brokers
        del a  # no reconnect attempts to the removed broker
        assert new in brokers and brokers[new].port == port, brokers
    finally:
        c.remove_broker(new)
    assert len(c.listener_bootstrap("sasl").split(",")) == 3
