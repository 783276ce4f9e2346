#!/usr/bin/env python3
"""Feasibility probe for scenario S2: can acknowledged records really be lost
through an unclean leader election on Apache Kafka 4.x (KRaft)?

Steps (all on 127.0.0.1, every wait bounded; whole run < 3 minutes):
  1. cluster: 3 brokers + 1 dedicated controller (so pausing brokers never
     touches the metadata quorum); topic rf=3, replicas [1,2,3] (leader 1),
     min.insync.replicas=1, unclean.leader.election.enable=true.
  2. phase A: produce with all replicas in sync (acks=1, idempotence off).
  3. SIGSTOP brokers 2 and 3; keep producing to leader 1 until the ISR has
     shrunk to [1] (replica.lag.time.max.ms); then produce phase C, acked
     by the leader alone and committed (HW = LEO once ISR = [1]).
  4. kill -9 broker 1; SIGCONT broker 2 (stale: it misses everything since
     the pause); wait for the controller to elect it on its own (the topic has
     unclean election enabled); if it does not within --auto-wait seconds,
     issue ElectLeaders(UNCLEAN) explicitly.
  5. SIGCONT broker 3, produce a few post-election records (they land on the
     offsets the lost records had), restart broker 1 (it truncates to the new
     leader), and read the partition back with a fresh consumer.
  6. compare every acked (offset, record) with the final log.

A "verifier" consumer runs from the start, reading close behind, as in S2.

Usage: python3 tests/e2e/probe_unclean_election.py [--elr on|off] [--json]
Exit 0 = loss demonstrated, 2 = no loss, 1 = error.
"""

import argparse
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import ClusterError, LocalKafkaCluster, wait_for  # noqa: E402

TOPIC = "s2-probe"


class Producer:
    """acks=1, no idempotence, no retries: a delivery report without error
    means the leader alone wrote it and answered."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer as P
        self.p = P({"bootstrap.servers": bootstrap, "acks": "1",
                    "enable.idempotence": False, "retries": 0,
                    "linger.ms": 2, "message.timeout.ms": 10000,
                    "socket.timeout.ms": 5000,
                           "log_level": 2})
        self.seq = 0
        self.acked = []      # (offset, seq, phase, value), delivery-report order
        self.failed = 0
        self.sent = 0

    def send(self, n, phase):
        for _ in range(n):
            s = self.seq
            self.seq += 1
            val = ("%s:%06d" % (phase, s)).encode()

            def cb(err, msg, s=s, phase=phase):
                if err is None:
                    self.acked.append((msg.offset(), s, phase, msg.value()))
                else:
                    self.failed += 1
            self.p.produce(TOPIC, value=val, partition=0, on_delivery=cb)
            self.sent += 1
            self.p.poll(0)

    def flush(self, timeout=15):
        left = self.p.flush(timeout)
        if left:
            raise ClusterError("%d records undelivered after %ss" % (left, timeout))


class Verifier(threading.Thread):
    """Reads the partition continuously from the beginning, like kcanary's
    verifier; remembers everything it saw and any errors/offset regressions."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "s2-probe-verifier",
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           "fetch.wait.max.ms": 100, "socket.timeout.ms": 5000,
                           "log_level": 2})
        self.c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        self.seen = {}       # offset -> value (first seen)
        self.max_offset = -1
        self.errors = []
        self.rewinds = []    # (max offset read so far, offset read next) when it went back
        self.n_reread = 0    # records read at an offset at or below one already read
        self.stop_ev = threading.Event()

    def run(self):
        end = time.monotonic() + 170
        while not self.stop_ev.is_set() and time.monotonic() < end:
            m = self.c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if len(self.errors) < 20:
                    self.errors.append(str(m.error()))
                continue
            off = m.offset()
            if off <= self.max_offset:
                self.n_reread += 1
                if not self.rewinds or self.rewinds[-1][2] + 1 != off:
                    self.rewinds.append([self.max_offset, off, off])
                else:
                    self.rewinds[-1][2] = off
            self.max_offset = max(self.max_offset, off)
            self.seen.setdefault(off, m.value())
        self.c.close()


def state_str(c):
    try:
        s = c.describe_partition(TOPIC, 0, timeout=5)
        return "leader=%s isr=%s" % (s["leader"], s["isr"])
    except Exception as e:  # a paused broker may stall one metadata request
        return "describe failed: %s" % e


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--elr", choices=["on", "off"], default="on",
                    help="eligible.leader.replicas.version at format (4.3 default: on)")
    ap.add_argument("--unclean", choices=["on", "off"], default="on",
                    help="the topic's unclean.leader.election.enable (off = control run: "
                         "no election is expected, the old leader is restarted instead)")
    ap.add_argument("--auto-wait", type=float, default=25,
                    help="seconds to wait for the controller's own election")
    ap.add_argument("--no-explicit", action="store_true",
                    help="never issue ElectLeaders(UNCLEAN) when the controller did not elect")
    ap.add_argument("--explicit", action="store_true",
                    help="with --unclean off: still issue ElectLeaders(UNCLEAN) after "
                         "--auto-wait (the admin API ignores the topic config)")
    ap.add_argument("--elect-tool", choices=["python", "java"], default="python",
                    help="ElectLeaders through librdkafka or Kafka's LeaderElectionCommand")
    ap.add_argument("--phase-a", type=int, default=200)
    ap.add_argument("--phase-c", type=int, default=300)
    ap.add_argument("--post", type=int, default=50)
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    a = ap.parse_args()
    if a.unclean == "off" and not a.explicit:
        a.no_explicit = True

    t_start = time.monotonic()
    feats = ["eligible.leader.replicas.version=%d" % (1 if a.elr == "on" else 0)]
    res = {"elr": a.elr, "unclean": a.unclean, "events": []}

    def ev(msg):
        t = time.monotonic() - t_start
        res["events"].append("%6.1fs %s" % (t, msg))
        print("[%6.1fs] %s" % (t, msg), flush=True)

    def jdescribe(label):
        try:
            raw = cl.describe_partition_java(TOPIC, 0)["raw"]
        except Exception as e:
            raw = "TopicCommand failed: %s" % e
        ev("%s: %s" % (label, " ".join(raw.split())))
        return raw

    cl = LocalKafkaCluster(nodes=3, controllers=1, features=feats, keep_logs=a.keep_logs)
    with cl:
        res["kafka_version"] = cl.state["kafka_version"]
        ev("cluster up (Kafka %s, 3 brokers + 1 controller, ELR %s), bootstrap %s" % (
            cl.state["kafka_version"], a.elr, cl.bootstrap))
        cl.create_topic(TOPIC, replica_assignment=[[1, 2, 3]],
                        configs={"min.insync.replicas": "1",
                                 "unclean.leader.election.enable":
                                     "true" if a.unclean == "on" else "false"})
        ev("topic %s created: %s" % (TOPIC, state_str(cl)))
        ver = Verifier(cl.bootstrap)
        ver.start()
        prod = Producer(cl.bootstrap)

        # phase A: everything in sync
        prod.send(a.phase_a, "A")
        prod.flush()
        cl.wait_partition(TOPIC, 0, lambda s: sorted(s["isr"]) == [1, 2, 3] and s["leader"] == 1,
                          20, "ISR [1,2,3] leader 1")
        # HW = LEO proves both followers have phase A (the leader learns a
        # follower's LEO only from its next fetch)
        wait_for(lambda: cl.watermarks(TOPIC, 0)[1] >= a.phase_a, 20,
                 what="HW to cover phase A")
        time.sleep(1.0)
        ev("phase A: %d acked, replicated (HW %d), ISR [1,2,3]" % (
            len(prod.acked), cl.watermarks(TOPIC, 0)[1]))

        # phase B: followers stopped; produce until ISR = [1]
        cl.pause(2)
        cl.pause(3)
        ev("SIGSTOP brokers 2 and 3")
        t_pause = time.monotonic()
        shrunk = None
        while time.monotonic() - t_pause < 40:
            prod.send(10, "B")
            time.sleep(0.2)   # ~50 records/s while waiting
            prod.p.poll(0)
            try:
                if cl.describe_partition(TOPIC, 0, timeout=3)["isr"] == [1]:
                    shrunk = time.monotonic() - t_pause
                    break
            except Exception:
                pass
        if shrunk is None:
            raise ClusterError("ISR did not shrink to [1] within 40s: %s" % state_str(cl))
        prod.flush()
        n_b = sum(1 for x in prod.acked if x[2] == "B")
        ev("ISR shrank to [1] %.1fs after the pause; phase B acked %d" % (shrunk, n_b))
        res["isr_shrink_s"] = round(shrunk, 1)

        # phase C: acked by the leader alone, committed (ISR = [1] >= min.isr 1)
        prod.send(a.phase_c, "C")
        prod.flush()
        leo = max(x[0] for x in prod.acked) + 1
        hw_before = wait_for(lambda: (lambda h: h if h >= leo else None)(
            cl.watermarks(TOPIC, 0)[1]), 15, what="HW to reach the leader's LEO %d" % leo)
        wait_for(lambda: ver.max_offset >= hw_before - 1, 15, what="verifier to catch up")
        ev("phase C: total acked %d, failed %d; leader HW %d; verifier read up to offset %d" % (
            len(prod.acked), prod.failed, hw_before, ver.max_offset))
        res["hw_before_kill"] = hw_before
        res["verifier_max_before_kill"] = ver.max_offset

        # kill the leader, wake one stale follower
        cl.kill(1)
        ev("kill -9 broker 1 (the leader)")
        cl.resume(2)
        t_res = time.monotonic()
        ev("SIGCONT broker 2 (stale follower)")
        elected_by = None

        def leader_is(b):
            def f():
                try:
                    s = cl.describe_partition(TOPIC, 0, timeout=3)
                except Exception:
                    return None
                return s if s["leader"] == b else None
            return f
        end = time.monotonic() + a.auto_wait
        t_next_j = time.monotonic() + 3
        while time.monotonic() < end:
            if leader_is(2)():
                elected_by = "controller, on its own"
                break
            if time.monotonic() >= t_next_j:
                jdescribe("partition while waiting")
                t_next_j = time.monotonic() + 6
            time.sleep(0.25)
        res["auto_wait_s"] = a.auto_wait
        if elected_by is None and not a.no_explicit:
            ev("no election by the controller within %.0fs (%s); ElectLeaders(UNCLEAN)" % (
                a.auto_wait, state_str(cl)))
            ev("ElectLeaders(UNCLEAN) via %s -> %s" % (
                a.elect_tool, cl.elect_leaders(TOPIC, [0], "unclean", tool=a.elect_tool)))
            wait_for(leader_is(2), 20, what="leader 2 after explicit election")
            elected_by = "explicit ElectLeaders(UNCLEAN)"
        res["elected_by"] = elected_by
        cl.resume(3)
        if elected_by is not None:
            res["election_after_resume_s"] = round(time.monotonic() - t_res, 1)
            res["partition_after_election"] = " ".join(jdescribe("stale broker 2 elected "
                                                                 "by " + elected_by).split())
        else:
            res["partition_after_wait"] = " ".join(jdescribe("no leader elected").split())

        # post-election writes (they reuse the offsets of lost records)
        if elected_by is not None:
            prod.send(a.post, "P")
            prod.flush()
            post = sorted(x[0] for x in prod.acked if x[2] == "P")
            res["post_offsets"] = "%d..%d" % (post[0], post[-1]) if post else None
            ev("post-election: %d records acked by broker 2 at offsets %s" % (
                len(post), res["post_offsets"]))
        # the old leader comes back (and truncates to the new leader if there is one)
        cl.start_node(1)
        cl.wait_partition(TOPIC, 0, lambda s: sorted(s["isr"]) == [1, 2, 3], 45,
                          "ISR [1,2,3] after broker 1 rejoined")
        ev("broker 1 restarted, ISR full again: %s" % state_str(cl))
        if elected_by is None:
            prod.send(a.post, "P")
            prod.flush()
        wait_for(lambda: ver.max_offset >= cl.watermarks(TOPIC, 0)[1] - 1, 20,
                 what="verifier to catch up after the faults")
        ver.stop_ev.set()
        ver.join(10)
        final = {off: val for off, _, val in cl.read_partition(TOPIC, 0, timeout=30)}
        ev("final read by a fresh consumer: %d records, offsets %s..%s" % (
            len(final), min(final) if final else None, max(final) if final else None))

    # ------------------------------------------------------------ analysis
    missing, overwritten, kept = [], [], 0
    by_phase = {}
    lost_recs = []        # (offset, value) of acked records the final log lacks
    for off, seq, phase, val in prod.acked:
        got = final.get(off)
        if got == val:
            kept += 1
            continue
        (missing if got is None else overwritten).append(off)
        lost_recs.append((off, val))
        by_phase[phase] = by_phase.get(phase, 0) + 1
    lost = sorted(missing + overwritten)
    final_vals = set(final.values())
    acked_vals = {x[3] for x in prod.acked}
    res.update({
        "acked": len(prod.acked), "send_failed": prod.failed,
        "acked_kept": kept, "acked_lost": len(lost),
        "lost_overwritten": len(overwritten), "lost_missing_offset": len(missing),
        "lost_by_phase": by_phase,
        "lost_offsets": ("%d..%d" % (lost[0], lost[-1])) if lost else None,
        "lost_contiguous": bool(lost) and lost[-1] - lost[0] + 1 == len(lost),
        "lost_read_by_verifier": sum(1 for o, v in lost_recs if ver.seen.get(o) == v),
        "lost_found_elsewhere_in_log": sum(1 for o, v in lost_recs if v in final_vals),
        "final_records": len(final),
        "final_unacked_records": sum(1 for v in final.values() if v not in acked_vals),
        "verifier_errors": ver.errors,
        "verifier_rewinds": [tuple(r) for r in ver.rewinds],
        "verifier_records_reread_at_old_offsets": ver.n_reread,
        "elapsed_s": round(time.monotonic() - t_start, 1),
    })
    print()
    print("S2 probe result (Kafka %s, ELR %s, topic unclean.leader.election.enable=%s)" % (
        res["kafka_version"], a.elr, a.unclean))
    for k in ("elected_by", "isr_shrink_s", "election_after_resume_s", "hw_before_kill",
              "verifier_max_before_kill", "acked", "send_failed", "acked_kept", "acked_lost",
              "lost_overwritten", "lost_missing_offset", "lost_by_phase", "lost_offsets",
              "lost_contiguous", "post_offsets", "lost_read_by_verifier",
              "lost_found_elsewhere_in_log", "final_records", "final_unacked_records",
              "verifier_rewinds", "verifier_records_reread_at_old_offsets", "verifier_errors",
              "partition_after_election", "partition_after_wait", "elapsed_s"):
        if k in res:
            print("  %-40s %s" % (k, res[k]))
    if a.json:
        print(json.dumps(res, indent=2, sort_keys=True))
    return 0 if lost else 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ClusterError as e:
        print("probe failed: %s" % e, file=sys.stderr)
        sys.exit(1)
