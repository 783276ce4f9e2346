#!/usr/bin/env python3
"""Soak: an hour's worth of records through a separate canary and verifier,
both killed -9 and restarted over and over, on a real 3-broker cluster (issue 7).

"Hour-equivalent": the production profile is 64 partitions x 10 records/s,
i.e. 64 x 10 x 3600 = 2,304,000 records an hour. The soak pushes that many
records (--records) through the canary, only faster (--rate, per partition),
so an hour of production traffic passes in minutes.

What it does, every step bounded in time and count:
  1. starts a local Apache Kafka 4.3.1 cluster (3 combined broker+controller
     nodes on 127.0.0.1, deploy/local/kafka-cluster) and creates the canary
     topic the way `kcanary canary` would (replication factor 3,
     min.insync.replicas 2), with --partitions partitions;
  2. runs `kcanary verify` and `kcanary canary` as two processes, each with
     its own state dir and listener (127.0.0.1, a free port);
  3. every --kill-every seconds (jittered +-20 %, at most --max-kills times)
     kill -9s one of them, alternately verifier and canary, and restarts it
     on the same state dir;
  4. every --sample-every seconds samples, per process: VmRSS / VmHWM
     (/proc/PID/status), the state dir's size on disk, kcanary_state_bytes,
     and from /metrics produced / acked (canary), received and every class
     counter of SPEC section 2 (verifier);
  5. once the canary has acked --records records, stops it (SIGTERM: it
     sends its closing records), waits (bounded) for the verifier to read to
     the end of every partition and settle, re-reads the whole topic
     independently (ground truth: the canary's --delivery-journal against the
     final log, tests/e2e/ground_truth.py), stops the verifier and tears the
     cluster down (also on Ctrl-C, SIGTERM or an error).

Checks (exit 1 if any fails, 2 if it could not measure):
  - target reached: acked >= --records;
  - received covers acked: the verifier's received >= the canary's acked,
    unseen = 0, and (ground truth) every acked record is in the final log and
    received = the distinct records in the log;
  - no false anomaly: lost, expired, duplicated, reordered, offset
    inconsistencies, unexpected, invalid, failed-but-visible and not
    committed are 0. A canary kill -9 legitimately leaves the records that
    were in flight in doubt (SPEC S5): indeterminate{error="canary_restart"}
    when they never reached the log, recovered when they did; both must
    equal ground truth, and no other indeterminate error may appear.
    redelivered (verifier restarts re-reading) is allowed;
  - flat: per process, the median of the samples in the last third of the
    production phase over the median in the first third (after --warmup,
    and leaving out each process's first --settle seconds after a (re)start)
    is at most --flat-max, for VmRSS;
  - bounded: kcanary_state_bytes (SST + WAL + memtables) never above
    --state-bytes-max, and the state dir on disk never above --dir-bytes-max.
    Their thirds are reported but not judged: the memtables and the WAL make
    them a sawtooth (a few KiB to 8 MiB) that follows how long the current
    incarnation has lived, not how many records went before. (Before the
    store stopped preallocating its WAL, the dir sat at a constant ~8.5 MiB
    and passed a ratio check; without preallocation a short run starts from
    a few KiB, and a ratio says nothing.)

The canary's acked counter starts at 0 in each incarnation (only the
verifier's class totals are restored), so progress is summed over
incarnations here, with a scrape right before each canary kill.

    python3 bench/soak/run.py                    # 2,304,000 records (an hour's worth)
    python3 bench/soak/run.py --quick            # 200,000 records at 64 x 100/s, kills every ~6 s

Writes bench/results/soak.json (--quick: soak-quick.json).
"""
import argparse
import json
import os
import random
import shlex
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "sidecar"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import benchutil  # noqa: E402
from benchutil import KIB_PER_MIB, median, row  # noqa: E402
from cluster import ClusterError, LocalKafkaCluster, wait_for  # noqa: E402
from kcanary_proc import KCANARY, Kcanary  # noqa: E402
import ground_truth as gt  # noqa: E402

HOUR_RECORDS = 64 * 10 * 3600  # the production profile's hour: 2,304,000

# Classes that nothing in this soak can legitimately produce (no broker
# fault, no retention, idempotent acks=all producer): any count is false.
MUST_BE_ZERO = {
    "lost": "kcanary_messages_lost_total",
    "expired": "kcanary_messages_expired_total",
    "duplicated": "kcanary_messages_duplicated_total",
    "reordered": "kcanary_messages_reordered_total",
    "offset_inconsistencies": "kcanary_offset_inconsistencies_total",
    "unexpected": "kcanary_records_unexpected_total",
    "invalid": "kcanary_records_invalid_total",
    "failed_but_visible": "kcanary_messages_failed_but_visible_total",
    "not_committed": "kcanary_messages_not_committed_total",
}
# What a canary kill -9 may leave (SPEC S5), and verifier restarts' re-reads.
IN_DOUBT = {
    "indeterminate": "kcanary_messages_indeterminate_total",
    "recovered": "kcanary_messages_recovered_total",
    "redelivered": "kcanary_messages_redelivered_total",
}
COUNTERS = dict(MUST_BE_ZERO, **IN_DOUBT,
                received="kcanary_messages_received_total",
                unseen="kcanary_messages_unseen",
                produced="kcanary_messages_produced_total",
                acked="kcanary_messages_acked_total",
                state_bytes="kcanary_state_bytes")
ROLES = ("verify", "canary")


class Interrupted(Exception):
    pass


def _on_sigterm(signum, _frame):
    raise Interrupted("signal %d" % signum)


def log(msg, t0=[time.monotonic()]):
    print("[%7.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def dir_bytes(path):
    """Size on disk (allocated blocks, like du) of every file under path."""
    total = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    total += e.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return total


def scrape(k):
    """{short name: value} summed over labels, and indeterminate per error,
    from one /metrics of a kcanary process."""
    by_metric = {v: k_ for k_, v in COUNTERS.items()}
    out = {}
    indeterminate = {}
    for name, labels, v in k.metrics():
        short = by_metric.get(name)
        if short is None:
            continue
        out[short] = out.get(short, 0.0) + v
        if short == "indeterminate" and v:
            e = labels.get("error", "")
            indeterminate[e] = indeterminate.get(e, 0) + int(v)
    out["indeterminate_by_error"] = indeterminate
    return out


class Soak:
    def __init__(self, args, cluster, workdir, topic, partitions):
        self.args = args
        self.cluster = cluster
        self.workdir = workdir
        self.topic = topic
        self.partitions = partitions
        self.journal = os.path.join(workdir, "delivery.journal")
        self.procs = {"verify": None, "canary": None}
        self.started_at = {}          # role -> monotonic start of the current incarnation
        self.incarnation = {"verify": 0, "canary": 0}
        self.samples = []             # dicts, see sample()
        self.kills = []               # dicts, see kill_and_restart()
        self.failures = []            # harness-level problems (unexpected exits, ...)
        self.t0 = time.monotonic()
        self.last = {"verify": {}, "canary": {}}
        # kcanary canary's produced/acked counters start at 0 in every
        # incarnation (only the verifier's class totals are restored), so the
        # acked total is kept here the way Prometheus' increase() does:
        # a value below the previous one is a reset.
        self.acked_base = 0
        self.acked_raw = 0
        self.acked_resets = 0

    # ---------------------------------------------------------------- processes
    def start(self, role):
        if role == "verify":
            extra = shlex.split(self.args.verifier_args)
        else:
            extra = (["--rate", "%g" % self.args.rate, "--manage-topic=false"]
                     + (["--delivery-journal", self.journal] if self.args.ground_truth else [])
                     + shlex.split(self.args.canary_args))
        t = time.monotonic()
        k = Kcanary(role, self.cluster.bootstrap, self.topic, self.workdir, extra, name=role)
        self.procs[role] = k
        self.started_at[role] = t
        self.incarnation[role] += 1
        if role == "verify":
            wait_for(lambda: self._consuming(k), 90, 0.25, "verifier /status consuming")
        else:
            wait_for(lambda: self._producing(k), 90, 0.25, "canary /status producing")
        return time.monotonic() - t

    @staticmethod
    def _status_flag(k, key):
        if k.proc.poll() is not None:
            raise ClusterError("kcanary %s exited with %s:\n%s" % (
                k.role, k.proc.returncode, k.log_tail()))
        try:
            return k.status().get(key) is True
        except Exception:
            return False

    def _consuming(self, k):
        return self._status_flag(k, "consuming")

    def _producing(self, k):
        return self._status_flag(k, "producing")

    def kill_and_restart(self, role):
        k = self.procs[role]
        if role == "canary":
            self.sample("produce", only="canary")  # the acked count right before the kill
        t = time.monotonic()
        uptime = t - self.started_at[role]
        pid = k.proc.pid
        k.kill()
        ready = self.start(role)
        ev = {"t": round(t - self.t0, 1), "role": role, "pid": pid,
              "new_pid": self.procs[role].proc.pid,
              "uptime_s": round(uptime, 1),
              "restart_to_ready_s": round(ready, 2),
              "acked_before": self.last["canary"].get("acked"),
              "received_before": self.last["verify"].get("received")}
        self.kills.append(ev)
        log("kill -9 %s (pid %d) #%d; restarted as pid %d, %s in %.1f s" % (
            role, pid, len(self.kills), ev["new_pid"],
            "consuming" if role == "verify" else "producing", ready))

    def check_alive(self):
        for role, k in self.procs.items():
            if k is not None and k.proc.poll() is not None:
                raise ClusterError("kcanary %s exited on its own (rc %s):\n%s" % (
                    role, k.proc.returncode, k.log_tail(40)))

    # ---------------------------------------------------------------- sampling
    def sample(self, phase, only=None):
        now = time.monotonic()
        for role, k in self.procs.items():
            if k is None or k.proc.poll() is not None or only not in (None, role):
                continue
            try:
                rss, hwm = benchutil.mem_kib(k.proc.pid)
                m = scrape(k)
            except Exception as e:  # a scrape racing a restart: skip this one
                log("sample %s: %s" % (role, e))
                continue
            if role == "canary":
                raw = int(m.get("acked", 0))
                if raw < self.acked_raw:
                    self.acked_base += self.acked_raw
                    self.acked_resets += 1
                self.acked_raw = raw
                m["acked_raw"] = raw
                m["acked"] = self.acked_base + raw
            self.last[role] = m
            self.samples.append({
                "t": round(now - self.t0, 2), "phase": phase, "role": role,
                "pid": k.proc.pid, "incarnation": self.incarnation[role],
                "since_start": round(now - self.started_at[role], 2),
                "rss_kib": rss, "hwm_kib": hwm, "dir_bytes": dir_bytes(k.state_dir),
                "metrics": {n: (v if isinstance(v, dict) else round(v))
                            for n, v in m.items()},
            })

    def acked(self):
        return int(self.last["canary"].get("acked", 0))

    def received(self):
        return int(self.last["verify"].get("received", 0))

    # ---------------------------------------------------------------- phases
    def produce_phase(self):
        """Runs until the canary has acked --records (or --max-seconds)."""
        a = self.args
        rng = random.Random(a.seed)
        start = time.monotonic()
        deadline = start + a.max_seconds
        next_sample = start
        next_kill = start + a.warmup_kill + a.kill_every * rng.uniform(0.8, 1.2)
        next_note = start + 30
        role_i = 0
        while True:
            now = time.monotonic()
            if now >= deadline:
                self.failures.append("the canary acked %d of %d records within --max-seconds %d" % (
                    self.acked(), a.records, a.max_seconds))
                log(self.failures[-1])
                break
            self.check_alive()
            if now >= next_sample:
                self.sample("produce")
                next_sample += a.sample_every
                if next_sample < now:
                    next_sample = now + a.sample_every
                if self.acked() >= a.records:
                    break
            if now >= next_kill and len(self.kills) < a.max_kills:
                self.kill_and_restart(ROLES[role_i % 2])
                role_i += 1
                next_kill = time.monotonic() + a.kill_every * rng.uniform(0.8, 1.2)
                self.sample("produce")
            if now >= next_note:
                next_note += 30
                el = now - start
                log("%.0f s: acked %d (%.0f/s), received %d, kills %d, RSS verify %.1f / "
                    "canary %.1f MiB" % (el, self.acked(), self.acked() / el if el else 0,
                                         self.received(), len(self.kills),
                                         self._rss("verify"), self._rss("canary")))
            time.sleep(max(0.0, min(0.5, next_sample - time.monotonic())))
        self.produce_seconds = time.monotonic() - start
        self.produce_end = time.monotonic() - self.t0
        self.acked_at_stop = self.acked()

    def _rss(self, role):
        for s in reversed(self.samples):
            if s["role"] == role:
                return (s["rss_kib"] or 0) / KIB_PER_MIB
        return 0.0

    def stop_canary(self):
        k = self.procs["canary"]
        rc = k.stop(timeout=120)
        self.procs["canary"] = None
        log("canary stopped (SIGTERM, rc %s) after acking %d records" % (rc, self.acked_at_stop))
        if rc != 0:
            self.failures.append("the canary exited with %s on SIGTERM" % rc)

    def catch_up(self):
        """Waits (bounded) until the verifier has read to the end of every
        partition and has nothing pending or unseen."""
        from confluent_kafka import Consumer, TopicPartition
        k = self.procs["verify"]
        c = Consumer({"bootstrap.servers": self.cluster.bootstrap,
                      "group.id": "kcanary-soak-watermarks", "enable.auto.commit": False})
        last = [None]
        t = time.monotonic()
        next_sample = t

        def settled():
            nonlocal next_sample
            if time.monotonic() >= next_sample:
                self.sample("catch-up")
                next_sample += self.args.sample_every
            self.check_alive()
            try:
                st = k.status()
            except Exception:
                return False
            last[0] = st
            parts = st.get("partitions", [])
            if len(parts) != self.partitions:
                return False
            if not all(e.get("pending_checks") == 0 and e["counts"].get("unseen") == 0
                       for e in parts):
                return False
            return all(e["position"] >= c.get_watermark_offsets(
                TopicPartition(self.topic, e["partition"]), timeout=10)[1] for e in parts)
        try:
            wait_for(settled, self.args.catchup_timeout, 1.0, "the verifier to catch up")
            self.catchup_seconds = time.monotonic() - t
            log("verifier caught up in %.1f s" % self.catchup_seconds)
        except ClusterError as e:
            self.catchup_seconds = None
            self.failures.append(str(e))
            log("%s; last /status totals: %s" % (e, json.dumps((last[0] or {}).get("totals"))))
        finally:
            c.close()
        self.sample("final")
        self.final_status = last[0]


# -------------------------------------------------------------------- analysis
def thirds(samples, role, key, warmup, settle, end):
    """(median of the first third, median of the last third, n first, n last)
    of `key` over the production phase after `warmup`, without the first
    `settle` s of each incarnation."""
    pts = [(s["t"], s[key]) for s in samples
           if s["role"] == role and s["phase"] == "produce" and s["t"] >= warmup
           and s["since_start"] >= settle and s[key] is not None and s["t"] <= end]
    if len(pts) < 2:
        return None, None, 0, 0
    lo, hi = pts[0][0], pts[-1][0]
    span = hi - lo
    first = [v for t, v in pts if t <= lo + span / 3]
    last = [v for t, v in pts if t >= hi - span / 3]
    return median(first), median(last), len(first), len(last)


def analyse(soak, truth, args):
    checks = []  # (name, ok, detail)

    def check(name, ok, detail):
        checks.append({"check": name, "ok": bool(ok), "detail": detail})
        log("%-4s %s: %s" % ("ok" if ok else "FAIL", name, detail))

    v = soak.last["verify"]
    acked = soak.acked_at_stop
    check("target reached", acked >= args.records,
          "canary acked %d, target %d" % (acked, args.records))
    check("harness", not soak.failures, "; ".join(soak.failures) or "no unexpected exit, caught up")
    received = int(v.get("received", 0))
    check("received covers acked", received >= acked and int(v.get("unseen", 0)) == 0,
          "verifier received %d >= canary acked %d (at the canary's stop); unseen %d" % (
              received, acked, int(v.get("unseen", 0))))
    false = {n: int(v.get(n, 0)) for n in MUST_BE_ZERO}
    check("no false anomaly", not any(false.values()),
          ", ".join("%s %d" % kv for kv in false.items()))
    ind = v.get("indeterminate_by_error", {})
    other = {e: n for e, n in ind.items() if e != "canary_restart"}
    check("in doubt only from canary kills", not other,
          "indeterminate %s, recovered %d, redelivered %d (allowed)" % (
              json.dumps(ind, sort_keys=True) if ind else "{}", int(v.get("recovered", 0)),
              int(v.get("redelivered", 0))))
    if truth is not None:
        t_ind = sum(truth.indeterminate.values())
        ok = (truth.lost == 0 and truth.acked_offset_mismatches == 0
              and truth.duplicated == 0 and truth.reordered == 0 and truth.unexpected == 0
              and not truth.invalid and truth.expired == 0)
        check("ground truth: every acked record in the log", ok,
              "journal acked %d, log holds %d distinct records; lost %d, acked-offset "
              "mismatches %d, duplicated %d, reordered %d, unexpected %d, invalid %s" % (
                  truth.acked, truth.present, truth.lost, truth.acked_offset_mismatches,
                  truth.duplicated, truth.reordered, truth.unexpected, dict(truth.invalid)))
        check("ground truth: received = records in the log", received == truth.present,
              "verifier received %d, distinct records in the log %d" % (received, truth.present))
        same = (int(v.get("indeterminate", 0)) == t_ind
                and int(v.get("recovered", 0)) == truth.recovered
                and int(v.get("not_committed", 0)) == sum(truth.not_committed.values()))
        check("ground truth: in-doubt classes exact", same,
              "indeterminate kcanary %d / truth %d, recovered %d / %d, not committed %d / %d" % (
                  int(v.get("indeterminate", 0)), t_ind, int(v.get("recovered", 0)),
                  truth.recovered, int(v.get("not_committed", 0)),
                  sum(truth.not_committed.values())))
    flat = {}
    for role in ROLES:
        for key, what in (("rss_kib", "VmRSS"), ("dir_bytes", "state dir on disk"),
                          ("state_bytes", "kcanary_state_bytes")):
            if key == "state_bytes":
                pts = [dict(s, state_bytes=s["metrics"].get("state_bytes")) for s in soak.samples]
            else:
                pts = soak.samples
            first, last, n1, n2 = thirds(pts, role, key, args.warmup, args.settle,
                                         soak.produce_end)
            ratio = last / first if first and last is not None else None
            flat[(role, key)] = (first, last, ratio, n1, n2)
            detail = "last third / first third = %s (medians %s -> %s, %d and %d samples" % (
                "%.3f" % ratio if ratio is not None else "n/a", first, last, n1, n2)
            if key == "rss_kib":
                check("flat %s %s" % (role, what), ratio is not None and ratio <= args.flat_max,
                      detail + "; limit %.2f)" % args.flat_max)
                continue
            # RocksDB's memtables (2 x 4 MiB) and WAL (16 MiB cap) make these a
            # sawtooth that follows the age of the incarnation, not the
            # records behind it: their thirds are reported, their peak checked
            limit = args.state_bytes_max if key == "state_bytes" else args.dir_bytes_max
            peak = max((s.get(key) or 0) for s in pts if s["role"] == role)
            check("bounded %s %s" % (role, what), peak <= limit * 1024 * 1024,
                  "peak %.2f MiB <= %g MiB; %s, not judged)" % (
                      peak / 1024.0 / 1024.0, limit, detail))
    return checks, flat


def rows_for(soak, truth, checks, flat, args, wall):
    v = soak.last["verify"]
    kills = {r: sum(1 for k in soak.kills if k["role"] == r) for r in ROLES}
    profile = ("%d partitions x %g records/s per partition (%.0f records/s), %d records "
               "= %.2f h of the 64 x 10/s production profile; kill -9 every ~%g s, "
               "alternating verifier/canary; 3-broker Kafka 4.3.1, rf 3, min.isr 2" % (
                   soak.partitions, args.rate, soak.partitions * args.rate, args.records,
                   args.records / HOUR_RECORDS, args.kill_every))
    ok = {c["check"]: c["ok"] for c in checks}
    P = "real-3-brokers"
    out = [
        row("soak: records acked by the canary", P, "records", [soak.acked_at_stop],
            goal=">= %d" % args.records, met=ok["target reached"], digits=0,
            notes="%s; summed over canary incarnations (its acked counter restarted at 0 "
            "%d times); the delivery journal counts %s acked records incl. those acked "
            "after the last scrape" % (profile, soak.acked_resets,
                                       truth.acked if truth is not None else "n/a")),
        row("soak: production phase wall time", P, "s", [soak.produce_seconds], digits=1,
            notes="first canary start to the N-th ack; %.0f acked records/s; whole run "
            "(cluster start to teardown) %.0f s; verifier catch-up after the canary stopped "
            "%s s" % (soak.acked_at_stop / soak.produce_seconds, wall,
                      "%.1f" % soak.catchup_seconds if soak.catchup_seconds is not None
                      else "n/a (timed out)")),
        row("soak: kill -9 + restart, verifier", P, "kills", [kills["verify"]], digits=0,
            notes="restart to consuming: median %s s" % _med_restart(soak, "verify")),
        row("soak: kill -9 + restart, canary", P, "kills", [kills["canary"]], digits=0,
            notes="restart to producing: median %s s" % _med_restart(soak, "canary")),
        row("soak: verifier received / canary acked", P, "ratio",
            [int(v.get("received", 0)) / soak.acked_at_stop if soak.acked_at_stop else None],
            goal=">= 1, unseen 0", met=ok["received covers acked"], digits=4,
            notes="received %d (incl. closing records and in-doubt records that were "
            "recovered), acked %d when the canary stopped" % (
                int(v.get("received", 0)), soak.acked_at_stop)),
        row("soak: false anomalies (lost, expired, duplicated, reordered, offset "
            "inconsistencies, unexpected, invalid, failed-but-visible, not committed)", P,
            "records", [float(sum(int(v.get(n, 0)) for n in MUST_BE_ZERO))], goal="= 0",
            met=ok["no false anomaly"], digits=0,
            notes=", ".join("%s %d" % (n, int(v.get(n, 0))) for n in MUST_BE_ZERO)),
        row("soak: in doubt after canary kills (indeterminate{canary_restart} + recovered)", P,
            "records", [float(int(v.get("indeterminate", 0)) + int(v.get("recovered", 0)))],
            goal="= ground truth" if truth is not None else None,
            met=ok.get("ground truth: in-doubt classes exact"), digits=0,
            notes="indeterminate %s, recovered %d; redelivered %d (verifier re-reads after its "
            "kills, not an anomaly)" % (json.dumps(v.get("indeterminate_by_error", {})),
                                        int(v.get("recovered", 0)),
                                        int(v.get("redelivered", 0)))),
    ]
    if truth is not None:
        out.append(row("soak: verifier received / distinct records in the final log (ground "
                       "truth)", P, "ratio",
                       [int(v.get("received", 0)) / truth.present if truth.present else None],
                       goal="= 1", met=ok["ground truth: received = records in the log"],
                       digits=5, notes="received %d, records in the log %d: a record in the "
                       "log that the verifier never counted was skipped, in no class" % (
                           int(v.get("received", 0)), truth.present)))
        out.append(row("soak: ground truth lost (journal vs full re-read of the topic)", P,
                       "records", [float(truth.lost)], goal="= 0",
                       met=ok["ground truth: every acked record in the log"], digits=0,
                       notes="journal acked %d; log %d distinct records; verifier "
                       "received %d" % (truth.acked, truth.present, int(v.get("received", 0)))))
    names = {"verify": "verifier", "canary": "canary"}
    for role in ROLES:
        for key, what, unit, scale in (
                ("rss_kib", "VmRSS", "MiB", 1 / KIB_PER_MIB),
                ("dir_bytes", "state dir on disk", "MiB", 1 / (1024.0 * 1024.0)),
                ("state_bytes", "kcanary_state_bytes", "MiB", 1 / (1024.0 * 1024.0))):
            first, last, ratio, n1, n2 = flat[(role, key)]
            out.append(row(
                "soak: %s %s, last third vs first third" % (names[role], what), P, unit,
                [None if last is None else last * scale],
                [None if first is None else first * scale], "first third",
                goal=("<= %.2fx" % args.flat_max) if key == "rss_kib" else
                "peak <= %g MiB" % (args.state_bytes_max if key == "state_bytes"
                                    else args.dir_bytes_max),
                met=ok.get("flat %s %s" % (role, what), ok.get("bounded %s %s" % (role, what))),
                digits=2,
                notes="medians of the samples every %g s of the production phase after %g s, "
                "leaving out the first %g s after each (re)start; %d and %d samples" % (
                    args.sample_every, args.warmup, args.settle, n1, n2)))
        hwm = [s["hwm_kib"] for s in soak.samples if s["role"] == role and s["hwm_kib"]]
        out.append(row("soak: %s peak RSS of any incarnation (VmHWM)" % names[role], P, "MiB",
                       [max(hwm) / KIB_PER_MIB if hwm else None], digits=1,
                       notes="%d incarnations" % soak.incarnation[role]))
    return out


def _med_restart(soak, role):
    v = median([k["restart_to_ready_s"] for k in soak.kills if k["role"] == role])
    return "%.2f" % v if v is not None else "n/a"


# ------------------------------------------------------------------------ main
def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=float, default=None,
                    help="records the canary must ack (default %d = 64 partitions x 10/s "
                    "for an hour; --quick: 200000)" % HOUR_RECORDS)
    ap.add_argument("--rate", type=float, default=None,
                    help="canary records/s per partition (default 250, 16,000/s in all: "
                    "below the ~330/s per partition the canary reached here with its "
                    "librdkafka queue full; --quick: 100)")
    ap.add_argument("--partitions", type=int, default=64, help="canary topic partitions (64)")
    ap.add_argument("--kill-every", type=float, default=None,
                    help="seconds between kills, jittered +-20%% (default 20; --quick 6)")
    ap.add_argument("--max-kills", type=int, default=40, help="bound on kills (40)")
    ap.add_argument("--warmup-kill", type=float, default=0,
                    help="extra seconds before the first kill (0)")
    ap.add_argument("--sample-every", type=float, default=None,
                    help="seconds between samples (default 5; --quick 1)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds at the start left out of the flatness comparison "
                    "(default 30; --quick 5)")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds after each (re)start of a process left out of its "
                    "flatness samples (default 5; --quick 2)")
    ap.add_argument("--flat-max", type=float, default=1.25,
                    help="last-third / first-third median ratio still called flat (1.25)")
    ap.add_argument("--state-bytes-max", type=float, default=32,
                    help="bound on kcanary_state_bytes, MiB: 2 x 4 MiB memtables + 16 MiB "
                    "WAL (the store's caps) + 8 MiB of SST files (32)")
    ap.add_argument("--dir-bytes-max", type=float, default=40,
                    help="bound on the state dir on disk, MiB: --state-bytes-max plus "
                    "RocksDB's LOG (3 x 1 MiB), OPTIONS and MANIFEST files (40)")
    ap.add_argument("--max-seconds", type=int, default=2400,
                    help="bound on the production phase (2400)")
    ap.add_argument("--catchup-timeout", type=int, default=300,
                    help="bound on the verifier's catch-up at the end (300)")
    ap.add_argument("--no-ground-truth", dest="ground_truth", action="store_false",
                    help="no delivery journal and no independent re-read at the end")
    ap.add_argument("--seed", type=int, default=7, help="kill-time jitter seed (7)")
    ap.add_argument("--quick", action="store_true",
                    help="a quick look: 200k records at 100/s per partition, kills every ~6 s, "
                    "samples every 1 s")
    ap.add_argument("--canary-args", default="", help="more kcanary canary arguments (one "
                    "shell-quoted string), for experiments")
    ap.add_argument("--verifier-args", default="", help="more kcanary verify arguments")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work dir and cluster logs (kept anyway when a check fails)")
    ap.add_argument("--out", default=None, help="results name (soak; --quick: soak-quick)")
    a = ap.parse_args()
    q = a.quick
    for name, full, quick in (("records", HOUR_RECORDS, 200000), ("rate", 250, 100),
                              ("kill_every", 20, 6), ("sample_every", 5, 1),
                              ("warmup", 30, 5), ("settle", 5, 2),
                              ("out", "soak", "soak-quick")):
        if getattr(a, name) is None:
            setattr(a, name, quick if q else full)
    a.records = int(a.records)
    if a.records < 1 or a.rate <= 0 or a.partitions < 1 or a.kill_every <= 0 \
            or a.sample_every <= 0 or a.max_kills < 0 or a.flat_max < 1:
        ap.error("--records, --rate, --partitions, --kill-every, --sample-every must be > 0, "
                 "--max-kills >= 0, --flat-max >= 1")
    return a


def main():
    args = parse_args()
    if not os.path.exists(KCANARY):
        sys.exit("no kcanary binary at %s: run ./scripts/build.sh" % KCANARY)
    signal.signal(signal.SIGTERM, _on_sigterm)
    wall0 = time.monotonic()
    machine = benchutil.machine(kafka_version="4.3.1")
    workdir = tempfile.mkdtemp(prefix="kcanary-soak-")
    topic = "soak-%d" % os.getpid()
    log("soak: %d records, %d partitions x %g/s, kill every ~%g s (max %d); work dir %s" % (
        args.records, args.partitions, args.rate, args.kill_every, args.max_kills, workdir))
    cluster = LocalKafkaCluster(nodes=3, controllers=0, keep_logs=args.keep)
    soak = None
    truth = None
    failed = True
    rc = 2
    try:
        log("starting a 3-broker Kafka cluster (combined broker+controller nodes)")
        cluster.start()
        # what `kcanary canary` creates on its own (SPEC section 7): rf min(3,
        # brokers) = 3, min.insync.replicas 2; only with the profile's 64
        # partitions instead of one per broker
        cluster.create_topic(topic, partitions=args.partitions, replication_factor=3,
                             configs={"min.insync.replicas": "2"}, timeout=120)
        log("topic %s: %d partitions, rf 3, min.insync.replicas 2" % (topic, args.partitions))
        soak = Soak(args, cluster, workdir, topic, args.partitions)
        soak.start("verify")
        soak.start("canary")
        log("verifier and canary running; producing %d records" % args.records)
        soak.produce_phase()
        soak.stop_canary()
        soak.catch_up()
        if args.ground_truth:
            log("ground truth: reading the journal and re-reading the whole topic")
            t = time.monotonic()
            journal = gt.read_journal([soak.journal])
            final_log = gt.read_log(cluster.bootstrap, topic, timeout_s=600)
            truth = gt.classify(journal, final_log)
            del journal, final_log
            log("ground truth in %.0f s: acked %d, present %d, lost %d, recovered %d, "
                "indeterminate %s" % (time.monotonic() - t, truth.acked, truth.present,
                                      truth.lost, truth.recovered, dict(truth.indeterminate)))
        rc_v = soak.procs["verify"].stop(timeout=120)
        soak.procs["verify"] = None
        if rc_v != 0:
            soak.failures.append("the verifier exited with %s on SIGTERM" % rc_v)
        checks, flat = analyse(soak, truth, args)
        failed = not all(c["ok"] for c in checks)
        rc = 1 if failed else 0
    except (KeyboardInterrupt, Interrupted) as e:
        log("interrupted (%s): stopping everything" % (e or "Ctrl-C"))
        rc = 130
        failed = False  # nothing to keep unless --keep
    except Exception as e:
        log("soak could not finish: %s: %s" % (type(e).__name__, e))
        rc = 2
    finally:
        if soak is not None:
            for k in soak.procs.values():
                if k is not None:
                    k.kill()
        keep = args.keep or failed
        try:
            cluster.teardown(keep_logs=keep)
        except Exception as e:
            log("cluster teardown: %s" % e)
        if keep:
            log("kept for inspection: %s (kcanary logs, state, journal); cluster dir %s" % (
                workdir, cluster.dir))
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if rc in (2, 130):
        return rc
    wall = time.monotonic() - wall0
    rows = rows_for(soak, truth, checks, flat, args, wall)
    cmd = "python3 bench/soak/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path = benchutil.write_results(
        args.out, cmd.strip(), rows, machine, checks=checks, kills=soak.kills,
        wall_seconds=round(wall, 1), profile={
            "records": args.records, "partitions": args.partitions, "rate": args.rate,
            "kill_every": args.kill_every, "max_kills": args.max_kills,
            "sample_every": args.sample_every, "warmup": args.warmup, "settle": args.settle,
            "flat_max": args.flat_max, "state_bytes_max_mib": args.state_bytes_max},
        acked_counter_resets=soak.acked_resets,
        ground_truth=truth.as_dict() if truth is not None else None,
        final_verifier=soak.last["verify"],
        samples=[{k: s[k] for k in ("t", "phase", "role", "incarnation", "since_start",
                                    "rss_kib", "hwm_kib", "dir_bytes")}
                 | {"state_bytes": s["metrics"].get("state_bytes"),
                    "acked": s["metrics"].get("acked"),
                    "received": s["metrics"].get("received")}
                 for s in soak.samples])
    log("wrote %s (whole run %.0f s)" % (path, wall))
    for r in rows:
        log("%-90s %12s %-8s %s" % (r["benchmark"], r["kcanary"], r["metric"],
                                    "" if r["met"] is None else ("met" if r["met"] else "NOT MET")))
    log("soak %s" % ("PASSED" if rc == 0 else "FAILED: " + ", ".join(
        c["check"] for c in checks if not c["ok"])))
    return rc


if __name__ == "__main__":
    sys.exit(main())
