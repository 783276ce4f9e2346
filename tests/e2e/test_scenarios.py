"""kcanary's end-to-end scenarios on a local real Apache Kafka cluster (SPEC §8).

One cluster (3 brokers + 1 dedicated controller, deploy/local/kafka-cluster)
serves every scenario of this module; each scenario gets its own topic (explicit
replica assignment, the scenario's configs) and its own temp dirs, and runs a
verifier and a canary as two kcanary processes (scenario.py), whose verdict is
compared class by class with ground truth at the end.

    python3 -m pytest -q tests/e2e/test_scenarios.py            # from the repo root
    KCANARY_BIN=/path/to/kcanary python3 -m pytest -q tests/e2e/test_scenarios.py -k s2

Needs Java 17 + Maven (the cluster tool fetches Kafka 4.3.1 on first use) and
the confluent-kafka Python package.
"""
import time

import pytest

import report
from cluster import wait_for
from kcanary_proc import log
from scenario import (S2_CANARY_ARGS, S2_TOPIC_CONFIGS, LossWatch, assert_s2_outcome,
                      assert_safe_outcome, leader_of, unclean_election_fault, unique_topic,
                      wait_full_isr)

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------- S1
def test_s1_leader_kill_safe_config(scenario, cluster):
    """rf 3, min.isr 2, acks=all + idempotence (defaults), unclean off; kill -9
    the leader of a canary partition during traffic, restart it, 3 times.
    Expect lost 0 and no false anomaly; not_committed / indeterminate equal
    ground truth exactly."""
    topic = unique_topic("s1")
    s = scenario(topic, [[1, 2, 3], [2, 3, 1], [3, 1, 2]],
                 {"min.insync.replicas": 2, "unclean.leader.election.enable": "false"},
                 rate=50)
    s.start()
    time.sleep(5)
    for i in range(3):
        p = i % 3
        victim = leader_of(cluster, topic, p)
        assert victim and victim > 0, "no leader for %s-%d" % (topic, p)
        cluster.kill(victim)
        log("S1 round %d: kill -9 broker %d (leader of %s-%d)" % (i + 1, victim, topic, p))
        cluster.wait_partition(topic, p, lambda st: st["leader"] not in (victim, -1), 30,
                               "a new leader for %s-%d" % (topic, p))
        log("S1 round %d: new leader of p%d: %s" % (i + 1, p, leader_of(cluster, topic, p)))
        time.sleep(2)
        cluster.start_node(victim)
        wait_full_isr(cluster, topic, 3, 60)
        log("S1 round %d: broker %d back, ISR full" % (i + 1, victim))
        time.sleep(2)
    time.sleep(3)
    kc, truth = s.finish()
    assert_safe_outcome(s, kc, truth)


# --------------------------------------------------------------- S2
@pytest.mark.parametrize("rate", [50, 5])
def test_s2_unclean_election_loses_acked(scenario, cluster, rate):
    """Unsafe profile: acks=1, idempotence off, min.isr 1, unclean on. Followers
    paused until the ISR is [leader], traffic acked by the leader alone (and
    read by the verifier), leader killed, a stale follower elected; the canary
    keeps producing so the new leader writes over the vanished offsets.
    Expect ground-truth lost > 0 and kcanary lost == ground truth. Prints how
    soon after the election kcanary counted the loss (KIP-320: the consumer's
    leader-epoch validation names the divergence point at the leader change),
    at 50 and at 5 records/s: the records read before the election are
    counted at the leader change whatever the rate."""
    s = scenario(unique_topic("s2"), [[1, 2, 3]], S2_TOPIC_CONFIGS, rate=rate,
                 canary_args=S2_CANARY_ARGS)
    s.start()
    watch = LossWatch(s.verifier, s.topic)
    try:
        at = unclean_election_fault(s, cluster)
        kc, truth = s.finish(settle_timeout=120)
    finally:
        watch.stop()
    latency = "%s (seen %.1f s after the leader's kill -9)" % (
        watch.describe(at["stale_elected"], truth.lost),
        at["stale_elected"] - at["leader_killed"])
    log("S2: " + latency)
    report.SCENARIO_ROWS.append(("S2 %d/s" % rate, "(info) detection", "", "", latency))
    assert_s2_outcome(s, kc, truth)


# --------------------------------------------------------------- S3
S3_PROFILES = {
    # kcanary's defaults (acks=all, idempotence on): librdkafka retries
    # NOT_ENOUGH_REPLICAS until message.timeout.ms, so failures end as _MSG_TIMED_OUT
    "idempotent": ["-X", "canary.message.timeout.ms=3000"],
    # acks=all, no idempotence, no retries: the broker's error reaches the canary.
    # request.timeout.ms is short because on Kafka 4.x (ELR, KIP-966) the HW does
    # not advance while ISR < min.isr: the acks=all request sent before the ISR
    # shrank waits in purgatory for its whole timeout (30 s by default), and the
    # broker reads no further request of that connection meanwhile, so without
    # it every record waits until the follower is back and is then acked.
    "no-retries": ["-X", "canary.enable.idempotence=false", "-X", "canary.retries=0",
                   "-X", "canary.request.timeout.ms=2000"],
}


@pytest.mark.parametrize("profile", sorted(S3_PROFILES))
def test_s3_not_enough_replicas(scenario, cluster, profile):
    """rf 3, min.isr 3, acks=all: kill -9 a follower so the ISR falls below
    min.isr for ~10 s, then restart it. Produces fail (NOT_ENOUGH_REPLICAS,
    or time out after canary.message.timeout.ms). Expect not_committed{error}
    and indeterminate{error} == ground truth, lost 0."""
    topic = unique_topic("s3nr")
    s = scenario(topic, [[1, 2, 3]], {"min.insync.replicas": 3}, rate=50,
                 canary_args=S3_PROFILES[profile])
    s.start()
    time.sleep(4)
    cluster.kill(3)
    log("S3: kill -9 follower 3")
    cluster.wait_partition(topic, 0, lambda st: 3 not in st["isr"], 30, "ISR without 3")
    log("S3: ISR below min.isr: %s; %s" % (cluster.describe_partition(topic, 0)["isr"],
                                           s.canary_progress()))
    for _ in range(5):
        time.sleep(2)
        log("S3: %s" % s.canary_progress())
    cluster.start_node(3)
    wait_full_isr(cluster, topic, 1, 60)
    log("S3: broker 3 back, ISR full; %s" % s.canary_progress())
    time.sleep(4)
    kc, truth = s.finish()
    s.assert_matches_ground_truth()
    assert truth.lost == 0 and kc["lost"] == 0
    assert sum(truth.not_committed.values()) + sum(truth.indeterminate.values()) > 0, \
        "no produce failed: the ISR never fell below min.isr long enough"
    if profile == "no-retries":
        assert truth.not_committed.get("NOT_ENOUGH_REPLICAS", 0) > 0, truth.not_committed


def test_s3_oversized_record(scenario, cluster):
    """The topic's max.message.bytes is lowered below the canary's
    --message-size for a while, then raised again: those produces fail
    (MSG_SIZE_TOO_LARGE). Expect not_committed{error} == ground truth, lost 0."""
    topic = unique_topic("s3big")
    s = scenario(topic, [[1, 2, 3]], {"min.insync.replicas": 2}, rate=50,
                 canary_args=["--message-size", "2048"])
    s.start()
    time.sleep(4)
    cluster.alter_topic_config(topic, {"max.message.bytes": 1024})
    log("S3: max.message.bytes=1024 (< message size 2048)")
    time.sleep(6)
    cluster.alter_topic_config(topic, {"max.message.bytes": 1048588})
    log("S3: max.message.bytes back to 1048588")
    time.sleep(5)
    kc, truth = s.finish()
    s.assert_matches_ground_truth()
    assert truth.lost == 0 and kc["lost"] == 0
    assert sum(truth.not_committed.values()) > 0, "no record was rejected as too large"


# --------------------------------------------------------------- S4
def test_s4_verifier_kill9_restarts(scenario, cluster):
    """Safe config, 3 partitions; kill -9 the verifier 8 times during traffic
    (some while it is still starting up) and restart it on the same state dir.
    Expect no false anomaly of any class; redelivered is allowed."""
    topic = unique_topic("s4")
    s = scenario(topic, [[1, 2, 3], [2, 3, 1], [3, 1, 2]], {"min.insync.replicas": 2},
                 rate=100)
    s.start()
    time.sleep(3)
    # irregular moments: mid-batch, right after a store, before it consumes
    for delay, consuming in [(0.7, True), (0.05, False), (2.3, True), (0.2, True),
                             (0.0, False), (1.1, True), (3.0, True), (0.4, True)]:
        time.sleep(delay)
        s.kill_and_restart("verify", wait_consuming=consuming)
    wait_for(lambda: s._consuming(), 60, 0.5, "verifier /status consuming")
    time.sleep(3)
    kc, truth = s.finish()
    s.assert_matches_ground_truth()
    assert truth.lost == 0 and kc["lost"] == 0
    for cls in ("expired", "failed_but_visible", "duplicated", "reordered", "unexpected",
                "recovered"):
        assert kc[cls] == 0, "false anomaly %s = %d" % (cls, kc[cls])
    assert not kc["invalid"] and not kc["not_committed"] and not kc["indeterminate"], kc
    assert kc["received"] >= truth.acked > 0


# --------------------------------------------------------------- S5
def test_s5_canary_kill9_restarts(scenario, cluster):
    """Safe config, 3 partitions; kill -9 the canary 4 times during traffic and
    restart it on the same state dir (same run, sequences go on). Records in
    flight at a kill end as recovered (in the log) or indeterminate
    {canary_restart} (not); expect exactly ground truth and no false anomaly."""
    topic = unique_topic("s5")
    s = scenario(topic, [[1, 2, 3], [2, 3, 1], [3, 1, 2]], {"min.insync.replicas": 2},
                 rate=100)
    s.start()
    for delay in (3.0, 0.6, 2.2, 1.4):
        time.sleep(delay)
        s.kill_and_restart("canary")
    time.sleep(3)
    kc, truth = s.finish()
    s.assert_matches_ground_truth()
    assert truth.lost == 0 and kc["lost"] == 0
    for cls in ("expired", "failed_but_visible", "duplicated", "reordered", "unexpected"):
        assert kc[cls] == 0, "false anomaly %s = %d" % (cls, kc[cls])
    assert set(kc["indeterminate"]) <= {"canary_restart"}, kc["indeterminate"]
    assert not kc["invalid"] and not kc["not_committed"], kc
    in_doubt = sum(truth.indeterminate.values()) + truth.recovered
    log("S5: %d record(s) in doubt at the kills (%d recovered)" % (in_doubt, truth.recovered))


# --------------------------------------------------------------- S6
def test_s6_verifier_paused_beyond_retention(scenario, cluster):
    """rf 3, retention 3 s in 1 s segments. The verifier reads everything, is
    SIGSTOPped while the canary goes on until retention has deleted records it
    never read, then SIGCONTed. Expect expired == the acked records deleted
    unread (ground truth: acked, absent, between the verifier's position at
    the pause and the log start when it resumed) and nothing else."""
    topic = unique_topic("s6")
    s = scenario(topic, [[1, 2, 3]], {"min.insync.replicas": 2, "segment.ms": 1000,
                                       "retention.ms": 3000}, rate=50)
    s.start()
    time.sleep(6)
    # Make the pause position exact: hold the canary until the verifier has
    # read the whole log, pause the verifier there, then let the canary go on.
    s.canary.pause()

    seen = []

    def caught_up():
        # the high watermark still moves while records sent before the
        # canary stopped get replicated: wait until it stood still for 1 s
        high = cluster.watermarks(topic, 0)[1]
        e = s.verifier_partition(0)
        seen.append(high if e is not None and e["position"] == high and high > 0 else None)
        return seen[-1] if len(seen) >= 5 and len(set(seen[-5:])) == 1 else None
    paused_at = wait_for(caught_up, 20, 0.25, "verifier to read the whole log")
    s.verifier.pause()
    # The verifier's last fetch request is still parked at the leader (long
    # poll, fetch.wait.max.ms 500): let it come back empty before the log
    # grows, or its answer would hand the resumed verifier the next records.
    time.sleep(1.5)
    assert cluster.watermarks(topic, 0)[1] == paused_at, "the log grew while the canary stood"
    s.canary.resume()
    log("S6: verifier SIGSTOPped at offset %d; canary goes on" % paused_at)

    def deleted_unread():
        low = cluster.watermarks(topic, 0)[0]
        return low if low >= paused_at + 3 * s.rate else None
    low = wait_for(deleted_unread, 90, 1, "retention to delete records the verifier never read")
    log("S6: log start %d: retention deleted %d offsets unread; %s" % (
        low, low - paused_at, s.canary_progress()))
    # Retention off before the verifier resumes, so what it reads afterwards
    # stays: ground truth can then tell 'deleted unread' from 'read, deleted'.
    cluster.alter_topic_config(topic, {"retention.ms": -1})
    time.sleep(7)  # > log.retention.check.interval.ms: no deletion in flight
    low = cluster.watermarks(topic, 0)[0]
    s.verifier.resume()
    log("S6: verifier SIGCONTed; log start %d" % low)
    time.sleep(5)
    kc, truth = s.finish(start={0: paused_at})
    assert s.final_log.low[0] == low, "retention moved the log start after the resume"
    s.assert_matches_ground_truth()
    assert truth.expired > 0, "retention deleted no acked record unread"
    assert kc["expired"] == truth.expired
    for cls in ("lost", "failed_but_visible", "duplicated", "reordered", "unexpected"):
        assert kc[cls] == 0, "false anomaly %s = %d" % (cls, kc[cls])


# --------------------------------------------------------------- S7
S7_PROFILE = [
    # At-least-once without idempotence, one record a request, retried at
    # once. A retried request the broker had already appended is written
    # twice (duplicate). A request refused while the next one in flight is
    # taken lands behind it (reorder): that needs the ISR to grow back
    # between two requests of one connection, which the broker takes one at
    # a time -- with 5 in flight it never happened in 6 tries, with 100 the
    # window is wide enough.
    "-X", "canary.enable.idempotence=false", "-X", "canary.acks=all",
    "-X", "canary.retries=10000000", "-X", "canary.retry.backoff.ms=1",
    # librdkafka >= 2.3 backs retries off exponentially up to this (1 s by
    # default, KIP-580): kept at 1 ms, a retry goes at once, as in 2.0.2.
    # With the default a run on 2.8.0 had no reorder at all.
    "-X", "canary.retry.backoff.max.ms=1",
    "-X", "canary.max.in.flight.requests.per.connection=100",
    "-X", "canary.batch.num.messages=1",
    "-X", "canary.request.timeout.ms=1000", "-X", "canary.message.timeout.ms=120000",
]


def test_s7_retries_without_idempotence(scenario, cluster):
    """rf 3, min.isr 3, acks=all, idempotence off, retries on. Faults:
    (a) both followers SIGSTOPped for 2.5 s, twice: the leader appends,
    acks=all waits, the request times out and is retried, and the first
    copy commits once they are back (duplicates); (b) a follower SIGSTOPped
    until it leaves the ISR, four times: NOT_ENOUGH_REPLICAS refuses every
    request until it is back, and at that moment a refused request can have
    a taken one behind it (reorders); (c) the leader killed. Expect
    duplicated and reordered == ground truth, both > 0, lost 0."""
    topic = unique_topic("s7")
    # the broker takes one request of a connection at a time, acks=all,
    # one record each: a rate it keeps up with, so an outage's backlog drains
    s = scenario(topic, [[1, 2, 3]], {"min.insync.replicas": 3}, rate=30,
                 canary_args=S7_PROFILE)
    s.start()
    time.sleep(4)
    for i in range(2):
        leader = leader_of(cluster, topic, 0)
        followers = [b for b in (1, 2, 3) if b != leader]
        for b in followers:
            cluster.pause(b)
        log("S7 (a%d): SIGSTOP followers %s of leader %s" % (i + 1, followers, leader))
        time.sleep(2.5)
        for b in followers:
            cluster.resume(b)
        log("S7 (a%d): SIGCONT; %s" % (i + 1, s.canary_progress()))
        wait_full_isr(cluster, topic, 1, 60)
        time.sleep(2)
    for i in range(4):
        leader = leader_of(cluster, topic, 0)
        follower = [b for b in (1, 2, 3) if b != leader][i % 2]
        cluster.pause(follower)
        log("S7 (b%d): SIGSTOP follower %s" % (i + 1, follower))
        cluster.wait_partition(topic, 0, lambda st: follower not in st["isr"], 30,
                               "ISR without %s" % follower)
        time.sleep(1)
        cluster.resume(follower)
        wait_full_isr(cluster, topic, 1, 60)
        log("S7 (b%d): follower %s back in the ISR; %s" % (i + 1, follower, s.canary_progress()))
        time.sleep(1.5)
    leader = leader_of(cluster, topic, 0)
    cluster.kill(leader)
    log("S7 (c): kill -9 leader %s" % leader)
    cluster.wait_partition(topic, 0, lambda st: st["leader"] not in (leader, -1), 30,
                           "a new leader")
    time.sleep(2)
    cluster.start_node(leader)
    wait_full_isr(cluster, topic, 1, 60)
    time.sleep(3)
    kc, truth = s.finish()
    s.assert_matches_ground_truth()
    assert truth.duplicated > 0, "no record was written twice: the scenario proves nothing"
    assert truth.reordered > 0, "no record landed out of order: the scenario proves nothing"
    assert truth.lost == 0 and kc["lost"] == 0
    log("S7: duplicated %d reordered %d (ground truth %d / %d)" % (
        kc["duplicated"], kc["reordered"], truth.duplicated, truth.reordered))
