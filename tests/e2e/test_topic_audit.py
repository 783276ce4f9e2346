"""Canary topic management (SPEC §7) and `kcanary audit` (SPEC §6) on a real
3-broker Kafka cluster (deploy/local/kafka-cluster).

The cluster runs Kafka's StandardAuthorizer with allow.everyone.if.no.acl.found,
so everything is allowed except what a test denies with an ACL (the audit's
"DescribeConfigs denied" case).

    python3 -m pytest -q tests/e2e/test_topic_audit.py     # from the repo root
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from cluster import LocalKafkaCluster, wait_for
from kcanary_proc import KCANARY, Kcanary


pytestmark = pytest.mark.e2e

TOPIC_CHECKS = ["replication_factor", "min_insync_replicas", "rf_exceeds_min_isr",
                "unclean_leader_election"]
CLIENT_CHECKS = ["producer_acks", "producer_retries", "consumer_manual_commit"]


@pytest.fixture(scope="module")
def cluster():
    if not os.access(KCANARY, os.X_OK):
        pytest.skip("kcanary binary not found at %s (build it or set KCANARY_BIN)" % KCANARY)
    pytest.importorskip("confluent_kafka")
    config = {"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
              "allow.everyone.if.no.acl.found": "true"}
    with LocalKafkaCluster(nodes=3, controllers=1, broker_config=config,
                           keep_logs=bool(os.environ.get("KCANARY_E2E_KEEP_LOGS"))) as c:
        yield c


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="kcanary-e2e-topic-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def audit(cluster, *args, bootstrap=None, timeout=60):
    """Runs kcanary audit; returns (exit code, stdout, stderr)."""
    r = subprocess.run([KCANARY, "audit", "-b", bootstrap or cluster.bootstrap] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def audit_json(cluster, *args):
    rc, out, err = audit(cluster, "--format", "json", *args)
    assert out, "no JSON output (rc %d): %s" % (rc, err)
    doc = json.loads(out)
    return rc, {(c["topic"], c["check"]): c for c in doc["checks"]}, doc


def results(rows):
    return {k: v["result"] for k, v in rows.items()}


def leads(m, broker):
    return m.get(("kcanary_broker_leads_canary_partition", (("broker", str(broker)),)))


def layout(cluster, topic):
    md = cluster.admin().list_topics(topic, timeout=10).topics[topic]
    return {p: (pm.leader, list(pm.replicas)) for p, pm in md.partitions.items()}


def config_checks(k):
    """kcanary_config_check_passing of a running kcanary: {check: value}."""
    return {dict(l)["check"]: v for (n, l), v in k.metric_map().items()
            if n == "kcanary_config_check_passing"}


def every_config_check(k):
    """config_checks(k) once it has all 7 (topic and client) checks, else None."""
    got = config_checks(k)
    return got if len(got) == len(TOPIC_CHECKS + CLIENT_CHECKS) else None


@contextlib.contextmanager
def describe_configs_denied(cluster, topic, allowed):
    """ACLs on `topic` for the anonymous user: `allowed` allowed, DescribeConfigs
    denied (deny wins); removed on exit."""
    from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation,
                                       AclPermissionType, ResourcePatternType, ResourceType)
    acls = [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:ANONYMOUS",
                       "*", op, perm)
            for op, perm in ((allowed, AclPermissionType.ALLOW),
                             (AclOperation.DESCRIBE_CONFIGS, AclPermissionType.DENY))]
    for f in cluster.admin().create_acls(acls).values():
        f.result(30)
    acl_filter = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, None,
                                  None, AclOperation.ANY, AclPermissionType.ANY)
    removed = False

    def allow():
        """Removes the ACLs before the block ends."""
        nonlocal removed
        for f in cluster.admin().delete_acls([acl_filter]).values():
            f.result(30)
        removed = True
    try:
        yield allow
    finally:
        if not removed:
            allow()


# ------------------------------------------------------------ topic management
def test_canary_topic_created_covering_every_broker_then_a_joining_one(cluster, workdir):
    """kcanary run creates the missing canary topic: rf 3, min.isr 2, one
    partition per broker, each broker the preferred leader (and leader) of
    one; every durability check of it passes. A broker that joins gets a
    partition it leads, which the canary writes and the verifier reads."""
    topic = "tm-canary"
    k = Kcanary("run", cluster.bootstrap, topic, workdir, name="run-" + topic)
    try:
        wait_for(lambda: topic in cluster.admin().list_topics(timeout=10).topics, 30, 0.5,
                 "kcanary to create the canary topic")
        lay = layout(cluster, topic)
        assert len(lay) == 3, lay
        assert all(len(r) == 3 for _, r in lay.values()), lay
        assert sorted(r[0] for _, r in lay.values()) == [1, 2, 3], lay
        assert cluster.topic_config(topic)["min.insync.replicas"] == "2"

        def covered():
            m = k.metric_map()
            return m.get(("kcanary_brokers", ())) == 3 and all(leads(m, b) == 1 for b in (1, 2, 3))
        wait_for(covered, 30, 0.5, "kcanary_broker_leads_canary_partition 1 for brokers 1-3")

        checks = wait_for(lambda: every_config_check(k), 30, 0.5,
                          "the periodic audit in kcanary_config_check_passing")
        assert set(checks) == set(TOPIC_CHECKS + CLIENT_CHECKS)
        assert all(v == 1 for v in checks.values()), checks

        new = cluster.add_broker()
        t_join = time.monotonic()
        try:
            # a joining broker must stay 30 s before it gets a partition
            def partition_for_new():
                return next((p for p, (_, r) in layout(cluster, topic).items() if r[0] == new),
                            None)
            p = wait_for(partition_for_new, 90, 1, "a canary partition led by broker %d" % new)
            waited = time.monotonic() - t_join
            assert waited >= 25, "partition added after %.0f s, before the join grace" % waited
            assert layout(cluster, topic)[p][1][0] == new
            wait_for(lambda: leads(k.metric_map(), new) == 1, 60, 1,
                     "kcanary_broker_leads_canary_partition{broker=%d} 1" % new)

            def read_there():
                for e in k.status().get("partitions", []):
                    if e["partition"] == p and e["counts"]["received"] > 0:
                        return e
                return None
            wait_for(read_there, 60, 1, "canary records read from partition %d" % p)
        finally:
            k.stop()
            cluster.remove_broker(new)
        assert "added partition(s)" in k.log_text()
    finally:
        k.stop()


def test_periodic_audit_retries_soon_what_it_could_not_judge(cluster, workdir):
    """A check kcanary run cannot make (DescribeConfigs denied; also a topic
    so new that the broker asked does not know it) is left out of
    kcanary_config_check_passing, and made within seconds once it can be:
    not at the next one-minute audit."""
    from confluent_kafka.admin import AclOperation
    topic = "tm-audit-retry"
    cluster.create_topic(topic, replica_assignment=[[1, 2, 3], [2, 3, 1], [3, 1, 2]],
                         configs={"min.insync.replicas": 2})
    # ALL: the canary writes and the verifier reads there too
    with describe_configs_denied(cluster, topic, AclOperation.ALL) as allow:
        def denied():
            _, rows, _ = audit_json(cluster, "-t", topic)
            return rows[(topic, "min_insync_replicas")]["result"] == "UNKNOWN"
        wait_for(denied, 30, 1, "the ACL to deny DescribeConfigs")
        k = Kcanary("run", cluster.bootstrap, topic, workdir, ["--manage-topic=false"],
                    name="run-" + topic)
        try:
            # judged without the topic's configs: its layout and kcanary's clients
            judged = wait_for(lambda: config_checks(k) or None, 60, 0.5, "a first (partial) audit")
            assert set(judged) == {"replication_factor"} | set(CLIENT_CHECKS), judged
            allow()
            t_allowed = time.monotonic()
            every = wait_for(lambda: every_config_check(k), 40, 0.5,
                             "the checks that need DescribeConfigs")
            waited = time.monotonic() - t_allowed
            assert all(v == 1 for v in every.values()), every
            # retried 5 s, then 10 s after a partial audit (a minute before the fix)
            assert waited < 25, "checks made %.0f s after DescribeConfigs was allowed" % waited
        finally:
            k.stop()


def test_unmanaged_topic_is_left_alone(cluster, workdir):
    """--manage-topic=false: a missing canary topic is reported, not created."""
    topic = "tm-unmanaged"
    k = Kcanary("canary", cluster.bootstrap, topic, workdir, ["--manage-topic=false"],
                name="canary-" + topic)
    try:
        wait_for(lambda: "--manage-topic=false" in k.log_text(), 30, 0.5, "the missing-topic warning")
        time.sleep(6)  # more than a probe interval
        assert topic not in cluster.admin().list_topics(timeout=10).topics
    finally:
        k.stop()


# ------------------------------------------------------------------ audit
RISKY = {
    # name: (replica assignment, topic configs, expected results of TOPIC_CHECKS)
    "audit-safe": ([[1, 2, 3], [2, 3, 1]], {"min.insync.replicas": 2},
                   ["PASS", "PASS", "PASS", "PASS"]),
    "audit-rf1": ([[1]], {}, ["FAIL", "FAIL", "FAIL", "PASS"]),  # min.isr 1 from the cluster
    "audit-rf2": ([[1, 2]], {"min.insync.replicas": 1}, ["FAIL", "FAIL", "PASS", "PASS"]),
    "audit-minisr1": ([[1, 2, 3]], {"min.insync.replicas": 1}, ["PASS", "FAIL", "PASS", "PASS"]),
    "audit-rf-eq-minisr": ([[1, 2, 3]], {"min.insync.replicas": 3},
                           ["PASS", "PASS", "FAIL", "PASS"]),
    "audit-unclean": ([[1, 2, 3]], {"min.insync.replicas": 2,
                                    "unclean.leader.election.enable": "true"},
                      ["PASS", "PASS", "PASS", "FAIL"]),
    "audit-unclean-off": ([[1, 2, 3]], {"min.insync.replicas": 2,
                                        "unclean.leader.election.enable": "false"},
                          ["PASS", "PASS", "PASS", "PASS"]),
}


@pytest.fixture(scope="module")
def audit_topics(cluster):
    for name, (assignment, configs, _) in RISKY.items():
        cluster.create_topic(name, replica_assignment=assignment, configs=configs)
    return RISKY


def test_audit_flags_each_risky_setting_exactly(cluster, audit_topics):
    rc, rows, doc = audit_json(cluster, "-t", "audit-safe", "--topics", "audit-.*")
    expected = {}
    for name, (_, _, want) in audit_topics.items():
        expected.update({(name, c): w for c, w in zip(TOPIC_CHECKS, want)})
    expected.update({("audit-safe", c): "PASS" for c in CLIENT_CHECKS})
    assert results(rows) == expected
    assert rc == 1 and doc["passing"] is False
    # the value says where a setting comes from
    assert "topic override" in rows[("audit-unclean", "unclean_leader_election")]["value"]
    assert rows[("audit-rf1", "replication_factor")]["value"].startswith("1")
    for row in rows.values():
        assert row["why"] and row["fix"], row
    # the human table: a row per check, why and fix under each failure
    rc, out, _ = audit(cluster, "-t", "audit-safe", "--topics", "audit-.*")
    assert rc == 1
    assert len(re.findall(r"^audit-\S+\s+\w+\s+(PASS|FAIL)\s", out, re.M)) == len(expected)
    fails = list(expected.values()).count("FAIL")
    assert len(re.findall(r"^\s+why: ", out, re.M)) == fails
    assert len(re.findall(r"^\s+fix: ", out, re.M)) == fails


def test_audit_unclean_election_as_a_broker_default(cluster, audit_topics):
    """unclean.leader.election.enable=true as the cluster-wide broker default:
    every topic without an override fails, the one overriding false passes."""
    def set_default(*change):
        # the cluster-wide default (confluent-kafka cannot name it: empty name)
        cluster.run_class("kafka.admin.ConfigCommand", "--bootstrap-server",
                          cluster.live_bootstrap, "--entity-type", "brokers", "--entity-default",
                          "--alter", *change, timeout=60)
    set_default("--add-config", "unclean.leader.election.enable=true")
    try:
        def flagged():
            _, rows, _ = audit_json(cluster, "-t", "audit-safe", "--topics", "audit-.*")
            return rows if rows[("audit-safe", "unclean_leader_election")]["result"] == "FAIL" \
                else None
        rows = wait_for(flagged, 30, 1, "the broker default to reach the audit")
        for name, (_, configs, _) in audit_topics.items():
            override = configs.get("unclean.leader.election.enable")
            want = {None: "FAIL", "true": "FAIL", "false": "PASS"}[override]
            assert rows[(name, "unclean_leader_election")]["result"] == want, (name, rows[(
                name, "unclean_leader_election")])
        assert "true" in rows[("audit-safe", "unclean_leader_election")]["value"]
    finally:
        set_default("--delete-config", "unclean.leader.election.enable")


def test_audit_of_safe_topics_exits_0(cluster, audit_topics):
    rc, rows, doc = audit_json(cluster, "-t", "audit-safe", "--topics", "audit-unclean-off")
    assert rc == 0 and doc["passing"] is True, rows
    assert set(t for t, _ in rows) == {"audit-safe", "audit-unclean-off"}


def test_audit_judges_kcanarys_own_client_settings(cluster, audit_topics):
    rc, rows, _ = audit_json(cluster, "-t", "audit-safe", "-X", "canary.acks=1",
                             "-X", "canary.enable.idempotence=false", "-X", "canary.retries=0",
                             "-X", "verifier.enable.auto.commit=true")
    assert rc == 1
    assert {c: rows[("audit-safe", c)]["result"] for c in CLIENT_CHECKS} == {
        c: "FAIL" for c in CLIENT_CHECKS}


def test_audit_bad_input_gets_a_clear_message(cluster, audit_topics):
    rc, out, err = audit(cluster, "-t", "audit-safe", "--topics", "no-such-.*")
    assert rc == 2 and "matches none" in err and not out
    rc, out, err = audit(cluster, "--topics", "(")
    assert rc == 2 and "--topics" in err and "regular expression" in err
    rc, out, err = audit(cluster, "--format", "yaml")
    assert rc == 2 and "--format" in err
    t0 = time.monotonic()
    rc, out, err = audit(cluster, bootstrap="127.0.0.1:1")
    assert rc == 2 and "cannot read the cluster at 127.0.0.1:1" in err, err
    assert time.monotonic() - t0 < 30
    # a missing canary topic is a failed check, not an error
    rc, rows, _ = audit_json(cluster, "-t", "no-such-canary")
    assert rc == 1 and rows[("no-such-canary", "topic_exists")]["result"] == "FAIL"


def test_audit_describe_configs_denied_is_unknown_not_a_crash(cluster, audit_topics):
    from confluent_kafka.admin import AclOperation
    topic = "audit-denied"
    cluster.create_topic(topic, replica_assignment=[[1, 2, 3]],
                         configs={"min.insync.replicas": 2})
    with describe_configs_denied(cluster, topic, AclOperation.DESCRIBE):
        def denied():
            rc, rows, _ = audit_json(cluster, "-t", "audit-safe", "--topics", topic)
            r = rows.get((topic, "min_insync_replicas"))
            return (rc, rows) if r and r["result"] == "UNKNOWN" else None
        rc, rows = wait_for(denied, 30, 1, "the ACL to deny DescribeConfigs")
        assert rc == 2
        row = rows[(topic, "min_insync_replicas")]
        assert "DescribeConfigs" in row["value"], row
        # the layout still comes from metadata
        assert rows[(topic, "replication_factor")]["result"] == "PASS"
