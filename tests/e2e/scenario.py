"""A kcanary verifier + canary pair on one fresh topic of a real Kafka
cluster, driven into a fault and compared with ground truth (SPEC §8).

kcanary runs as two processes, as in a cross-process deployment:

    kcanary verify -b B -t T --state-dir D2 --listen 127.0.0.1:0
    kcanary canary -b B -t T --state-dir D1 --listen 127.0.0.1:0 --rate R \
                   --delivery-journal J --manage-topic=false [-X canary.k=v ...]

The verifier starts first (it must judge every record) and reads close behind
the canary while the fault happens. At the end the canary is SIGTERMed (it
drains and writes a closing record per partition carrying the last outcomes),
the verifier is waited on until nothing is pending, unseen or lagging, and its
/metrics are compared class by class with ground_truth.py: an independent
re-read of the topic against the canary's delivery journal.

Used by test_scenarios.py (S1-S7) and test_alerting.py (S2 under a real
Prometheus and Alertmanager); the pytest fixtures are in conftest.py.
"""
import collections
import json
import os
import re
import threading
import time

import ground_truth as gt
import report
from cluster import ClusterError, wait_for
from kcanary_proc import Kcanary, log

# classes compared with ground truth; dict-valued ones are per error / reason
SCALAR = ["lost", "expired", "recovered", "failed_but_visible", "duplicated",
          "reordered", "unexpected"]
LABELLED = ["not_committed", "indeterminate", "invalid"]
METRIC = {
    "lost": "kcanary_messages_lost_total",
    "expired": "kcanary_messages_expired_total",
    "recovered": "kcanary_messages_recovered_total",
    "failed_but_visible": "kcanary_messages_failed_but_visible_total",
    "duplicated": "kcanary_messages_duplicated_total",
    "reordered": "kcanary_messages_reordered_total",
    "unexpected": "kcanary_records_unexpected_total",
    "not_committed": "kcanary_messages_not_committed_total",
    "indeterminate": "kcanary_messages_indeterminate_total",
    "invalid": "kcanary_records_invalid_total",
    "offset_inconsistencies": "kcanary_offset_inconsistencies_total",
    "received": "kcanary_messages_received_total",
    "redelivered": "kcanary_messages_redelivered_total",
}
LABEL = {"not_committed": "error", "indeterminate": "error", "invalid": "reason"}




class Scenario:
    """A verifier + canary pair on one fresh topic, and the final comparison."""

    def __init__(self, name, cl, workdir, topic, assignment, configs, rate,
                 canary_args=()):
        self.name, self.cl, self.workdir, self.topic = name, cl, workdir, topic
        # test_s3_not_enough_replicas[no-retries] -> S3 not_enough_replicas[no-retries]
        m = re.match(r"test_s(\d+)_(.*)", name)
        self.label = "S%s %s" % m.groups() if m else name
        self.rate = rate
        self.canary_args = list(canary_args)
        self.verifier = self.canary = None
        self.journal = os.path.join(workdir, "delivery.journal")
        self.t0 = time.monotonic()
        cl.create_topic(topic, replica_assignment=assignment,
                        configs={k: str(v) for k, v in configs.items()})
        self.partitions = len(assignment)
        log("%s: topic %s created %s %s" % (name, topic, assignment, configs))

    # -- processes
    def start(self):
        self.start_verifier()
        self.start_canary()

    def start_verifier(self, wait_consuming=True):
        self.verifier = Kcanary("verify", self.cl.bootstrap, self.topic, self.workdir)
        if wait_consuming:
            wait_for(lambda: self._consuming(), 60, 0.5, "verifier /status consuming")
            log("%s: verifier consuming (port %d)" % (self.name, self.verifier.port))

    def start_canary(self):
        # each scenario lays its topic out by hand: kcanary must not add
        # partitions for the brokers that lead none
        self.canary = Kcanary("canary", self.cl.bootstrap, self.topic, self.workdir,
                              ["--delivery-journal", self.journal, "--manage-topic=false",
                               "--rate", str(self.rate)] + self.canary_args)
        log("%s: canary producing at %s/s per partition (port %d) %s" % (
            self.name, self.rate, self.canary.port, " ".join(self.canary_args)))

    def kill_and_restart(self, role, wait_consuming=True):
        """kill -9 one kcanary process and start it again on the same state."""
        old = self.verifier if role == "verify" else self.canary
        old.kill()
        log("%s: kill -9 %s (pid %d)" % (self.name, role, old.proc.pid))
        if role == "verify":
            self.start_verifier(wait_consuming)
        else:
            self.start_canary()

    def _consuming(self):
        if self.verifier.proc.poll() is not None:
            raise ClusterError("verifier exited:\n" + self.verifier.log_tail())
        try:
            return self.verifier.status().get("consuming") is True
        except Exception:
            return False

    def canary_progress(self):
        """'produced N acked M' from the canary's /metrics (for the scenario log)."""
        try:
            m = self.canary.metrics()
        except Exception as e:
            return "canary metrics unavailable (%s)" % e
        tot = lambda n: int(sum(v for name, labels, v in m if name == n))
        return "canary produced %d acked %d" % (tot("kcanary_messages_produced_total"),
                                               tot("kcanary_messages_acked_total"))

    def verifier_partition(self, p):
        for e in self.verifier.status()["partitions"]:
            if e["partition"] == p:
                return e
        return None

    def cleanup(self):
        for proc in (self.canary, self.verifier):
            if proc is not None:
                proc.kill()

    def dump_logs(self):
        for proc in (self.verifier, self.canary):
            if proc is not None:
                print("----- kcanary %s log (%s), last 150 lines -----" % (
                    proc.role, proc.log_path))
                print(proc.log_tail(150))

    # -- end of scenario
    def finish(self, settle_timeout=90, start=None):
        """SIGTERM the canary, wait for the verifier to settle, compare.
        start: per partition, the offset below which ground truth judges no
        acked record (see ground_truth.classify)."""
        rc = self.canary.stop()
        log("%s: canary stopped (rc %s)" % (self.name, rc))
        assert rc == 0, "canary exited with %s" % rc
        last = [None]

        def settled():
            if self.verifier.proc.poll() is not None:
                raise ClusterError("verifier exited:\n" + self.verifier.log_tail())
            try:
                st = self.verifier.status()
            except Exception:
                return False
            last[0] = st
            parts = st.get("partitions", [])
            if len(parts) != self.partitions or not all(
                    e.get("pending_checks") == 0 and e["counts"].get("unseen") == 0
                    for e in parts):
                return False
            # /status's lag is refreshed every 10 s: ask the broker, or the
            # closing records (they carry the last outcomes) may be unread
            return all(e["position"] >= self.cl.watermarks(self.topic, e["partition"])[1]
                       for e in parts)
        try:
            wait_for(settled, settle_timeout, 0.5, "verifier to settle")
        except ClusterError:
            print("last verifier /status:", json.dumps(last[0], indent=1)[:6000])
            raise
        log("%s: verifier settled" % self.name)
        samples = self.verifier.metrics()
        journal = gt.read_journal([self.journal])
        self.final_log = gt.read_log(self.cl.live_bootstrap, self.topic)
        truth = gt.classify(journal, self.final_log, start)
        rc = self.verifier.stop()
        log("%s: verifier stopped (rc %s)" % (self.name, rc))
        kc = self._kcanary_counts(samples)
        self.result = (kc, truth)
        print(self._table(kc, truth, samples))
        report.SCENARIO_ROWS.extend(self._summary_rows(kc, truth))
        return kc, truth

    def _kcanary_counts(self, samples):
        kc = {}
        for cls, metric in METRIC.items():
            if cls in LABEL:
                d = collections.Counter()
                for name, labels, v in samples:
                    if name == metric and labels.get("topic") == self.topic:
                        d[labels.get(LABEL[cls], "")] += int(v)
                kc[cls] = {k: v for k, v in d.items() if v}
            else:
                kc[cls] = int(sum(v for name, labels, v in samples
                                  if name == metric and labels.get("topic") == self.topic))
        return kc

    def _rows(self, kc, truth):
        """(scenario, class, ground truth, kcanary, verdict) for every class."""
        rows = []
        td = truth.as_dict()
        for cls in SCALAR:
            rows.append((self.label, cls, td[cls], kc[cls], "ok" if td[cls] == kc[cls] else "MISMATCH"))
        for cls in LABELLED:
            t = {k: v for k, v in td[cls].items() if v}
            keys = sorted(set(t) | set(kc[cls])) or [""]
            for k in keys:
                a, b = t.get(k, 0), kc[cls].get(k, 0)
                rows.append((self.label, "%s{%s}" % (cls, k) if k else cls, a, b,
                             "ok" if a == b else "MISMATCH"))
        oi_ok = (kc["offset_inconsistencies"] >= 1) if truth.lost > 0 else \
            (kc["offset_inconsistencies"] == 0)
        rows.append((self.label, "offset_inconsistencies (gt: acked_offset_mismatches)",
                     truth.acked_offset_mismatches, kc["offset_inconsistencies"],
                     "ok" if oi_ok else "MISMATCH"))
        return rows

    def _table(self, kc, truth, samples):
        rows = self._rows(kc, truth)
        rows.append((self.label, "(info) acked / present in log", "%d / %d" % (
            truth.acked, truth.present), "", ""))
        rows.append((self.label, "(info) received / redelivered", "",
                     "%d / %d" % (kc["received"], kc["redelivered"]), ""))
        lines = report.format_table(rows)
        lines.append("(%s: %.0f s from topic creation to verdict)" % (
            self.label, time.monotonic() - self.t0))
        if truth.lost_records:
            lines.append("ground-truth lost (first): %s" % truth.lost_records[:5])
        return "\n".join(lines)

    def _summary_rows(self, kc, truth):
        """The classes that happened (either side), for the suite's one table."""
        rows = [r for r in self._rows(kc, truth)
                if r[2] or r[3] or r[4] != "ok"]
        if not rows:
            rows = [(self.label, "every class", 0, 0, "ok")]
        return rows + [(self.label, "(info: acked, received, wall time)", truth.acked, kc["received"],
                        "%.0f s" % (time.monotonic() - self.t0))]

    def assert_matches_ground_truth(self):
        kc, truth = self.result
        td = truth.as_dict()
        bad = []
        for cls in SCALAR:
            if td[cls] != kc[cls]:
                bad.append("%s: ground truth %s, kcanary %s" % (cls, td[cls], kc[cls]))
        for cls in LABELLED:
            t = {k: v for k, v in td[cls].items() if v}
            if t != kc[cls]:
                bad.append("%s: ground truth %s, kcanary %s" % (cls, t, kc[cls]))
        if truth.lost > 0 and kc["offset_inconsistencies"] < 1:
            bad.append("offset_inconsistencies: 0 although ground truth lost %d" % truth.lost)
        if truth.lost == 0 and kc["offset_inconsistencies"] != 0:
            bad.append("offset_inconsistencies: %d although nothing was lost"
                       % kc["offset_inconsistencies"])
        assert not bad, "kcanary disagrees with ground truth in %s:\n  %s" % (
            self.name, "\n  ".join(bad))


def assert_safe_outcome(s, kc, truth):
    """A safe config under faults: kcanary = ground truth, nothing lost and no
    false anomaly of any class (failures to commit are allowed and exact)."""
    s.assert_matches_ground_truth()
    assert truth.lost == 0 and kc["lost"] == 0
    for cls in ("expired", "failed_but_visible", "duplicated", "reordered", "unexpected"):
        assert kc[cls] == 0, "false anomaly %s = %d" % (cls, kc[cls])
    assert not kc["invalid"], kc["invalid"]
    assert truth.acked > 0


def unique_topic(prefix):
    return "%s-%d" % (prefix, int(time.time() * 1000) % 10**9)


def leader_of(cl, topic, p):
    try:
        return cl.describe_partition(topic, p, timeout=5)["leader"]
    except Exception:
        return None


def wait_full_isr(cl, topic, partitions, timeout=60):
    for p in range(partitions):
        cl.wait_partition(topic, p, lambda s: sorted(s["isr"]) == sorted(s["replicas"])
                          and s["leader"] >= 0, timeout, "full ISR of %s-%d" % (topic, p))


# --------------------------------------------------------------- S2's fault
S2_TOPIC_CONFIGS = {"min.insync.replicas": 1, "unclean.leader.election.enable": "true"}
S2_CANARY_ARGS = ["-X", "canary.acks=1", "-X", "canary.enable.idempotence=false"]


def unclean_election_fault(s, cluster):
    """SPEC §8 S2 on partition 0 of s.topic (replicas [1, 2, 3], S2_TOPIC_CONFIGS,
    the canary running S2_CANARY_ARGS): followers paused until the ISR is [1],
    traffic acked by the leader alone (and read by the verifier), leader killed,
    a stale follower elected; the canary keeps producing so the new leader
    writes over the vanished offsets; broker 1 comes back truncated.
    Returns the wall-clock times (time.time()) of the steps: "leader_killed",
    "stale_elected" (the acked records are gone from the log from then on),
    "broker1_back"."""
    at = {}
    topic = s.topic
    # phase A: everything in sync
    time.sleep(4)
    cluster.wait_partition(topic, 0, lambda st: st["leader"] == 1 and sorted(st["isr"]) == [1, 2, 3],
                           20, "leader 1, ISR [1,2,3]")
    time.sleep(1)
    cluster.pause(2)
    cluster.pause(3)
    log("S2: SIGSTOP brokers 2 and 3 (followers)")
    cluster.wait_partition(topic, 0, lambda st: st["isr"] == [1], 40, "ISR to shrink to [1]")
    log("S2: ISR shrank to [1]")
    time.sleep(3)  # records acked by the leader alone, committed (ISR [1] >= min.isr 1)

    def close_behind():
        e = s.verifier_partition(0)
        return e is not None and e.get("lag") is not None and e["lag"] <= s.rate
    wait_for(close_behind, 20, 0.25, "verifier to read close behind the leader")
    log("S2: verifier position %s lag %s" % (s.verifier_partition(0)["position"],
                                             s.verifier_partition(0)["lag"]))
    cluster.kill(1)
    at["leader_killed"] = time.time()
    log("S2: kill -9 broker 1 (leader)")
    cluster.resume(2)
    log("S2: SIGCONT broker 2 (stale)")
    try:
        cluster.wait_partition(topic, 0, lambda st: st["leader"] == 2, 25,
                               "controller to elect stale broker 2")
        log("S2: broker 2 elected by the controller")
    except ClusterError:
        log("S2: no election within 25 s; ElectLeaders(UNCLEAN)")
        cluster.elect_leaders(topic, [0], "unclean")
        cluster.wait_partition(topic, 0, lambda st: st["leader"] == 2, 20, "leader 2")
    at["stale_elected"] = time.time()
    cluster.resume(3)
    # the canary goes on: the new leader writes over the vanished offsets
    time.sleep(8)
    cluster.start_node(1)
    wait_full_isr(cluster, topic, 1, 60)
    at["broker1_back"] = time.time()
    log("S2: broker 1 back (truncated), ISR full")
    time.sleep(3)
    return at


class LossWatch:
    """Polls the verifier's /metrics every 0.1 s in a thread and keeps the
    wall time (time.time()) at which kcanary_messages_lost_total of the topic
    first reached each new value: how soon a loss is counted, and how soon
    all of it."""

    def __init__(self, verifier, topic):
        self.steps = []  # [(time, lost)], lost increasing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(verifier, topic), daemon=True)
        self._thread.start()

    def _run(self, verifier, topic):
        while not self._stop.is_set():
            try:
                lost = verifier.total("kcanary_messages_lost_total", topic=topic)
                if lost > (self.steps[-1][1] if self.steps else 0):
                    self.steps.append((time.time(), lost))
            except Exception:
                pass
            self._stop.wait(0.1)

    @property
    def first_counted(self):
        return self.steps[0][0] if self.steps else None

    def reached(self, n):
        """When the count first reached n (None if it never did)."""
        return next((t for t, lost in self.steps if lost >= n), None)

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def describe(self, since, total):
        """One line: the first count and the count of `total` records, in
        seconds after `since`."""
        first, full = self.first_counted, self.reached(total)
        if first is None:
            return "kcanary's count was not seen by the 0.1 s poller"
        return "first lost counted %.1f s, all %d (= ground truth) %s after the election" % (
            first - since, total, "%.1f s" % (full - since) if full else "never")


def assert_s2_outcome(s, kc, truth):
    """S2's verdict: the fault really lost committed records, over offsets the
    new leader rewrote, and kcanary counted exactly those."""
    vlog = s.verifier.log_text()
    hints = [line for line in vlog.splitlines() if "outside the log" in line or "re-read" in line]
    print("verifier re-read lines (%d):\n%s" % (len(hints), "\n".join(hints[:10])))
    assert truth.lost > 0, "the fault lost nothing (ground truth): the scenario proves nothing"
    assert truth.acked_offset_mismatches > 0, \
        "no vanished offset was rewritten by the new leader (SPEC §2's hard case not exercised)"
    s.assert_matches_ground_truth()
    assert kc["lost"] == truth.lost
