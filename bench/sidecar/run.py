#!/usr/bin/env python3
"""Sidecar cost of `kcanary run` at a production profile (issue 6).

64 partitions x 10 records/s (640 records/s, 256-byte values) for --duration
seconds after a --warmup, on
  mock            the embedded librdkafka mock cluster (`kcanary run` without
                  -b: the three mock brokers run inside the kcanary process,
                  so their CPU and memory are included in the figures), and
  real-3-brokers  a local Apache Kafka 4.3.1 cluster (3 brokers + 1
                  controller on 127.0.0.1), on a 64-partition topic with
                  replication factor 3 and min.insync.replicas 2 created
                  here (--manage-topic=false).

The kcanary process is sampled once a second from /proc: utime+stime of
/proc/PID/stat (CPU) and VmRSS/VmHWM of /proc/PID/status. Reported: CPU % of
one core as the median of --window-second intervals (ticks are 10 ms, so a
1-s interval is only resolved to 1 %) and as the mean over the measured
span; peak RSS = VmHWM at the end (the whole life of the process, warm-up
included). At the end its /metrics must show the verifier received what the
canary acked (up to the records still in flight) and no anomaly.

    python3 bench/sidecar/run.py                      # both platforms, 5 min each
    python3 bench/sidecar/run.py --duration 60 --platforms mock

Writes bench/results/sidecar.json. Not a test: it never fails on a missed
goal (the row says met=false); it exits non-zero only when it could not
measure.
"""
import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import benchutil  # noqa: E402
from benchutil import KIB_PER_MIB, ProcSampler, median, row  # noqa: E402
from cluster import ClusterError, LocalKafkaCluster, wait_for  # noqa: E402
from kcanary_proc import KCANARY, Kcanary  # noqa: E402

ANOMALIES = ["kcanary_messages_lost_total", "kcanary_messages_expired_total",
             "kcanary_messages_duplicated_total", "kcanary_messages_reordered_total",
             "kcanary_offset_inconsistencies_total", "kcanary_records_unexpected_total",
             "kcanary_records_invalid_total", "kcanary_messages_failed_but_visible_total",
             "kcanary_messages_not_committed_total", "kcanary_messages_indeterminate_total"]


def log(msg, t0=[time.monotonic()]):
    print("[%7.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def totals(proc_like):
    out = {}
    for name, _labels, v in proc_like.metrics():
        out[name] = out.get(name, 0.0) + v
    return out


def ctxt_switches(pid):
    """(voluntary, involuntary) context switches summed over live threads,
    and the thread count."""
    threads = benchutil.thread_stats(pid).values()
    return sum(t[2] for t in threads), sum(t[3] for t in threads), len(threads)


def measure(k, args, label):
    """Sample k.proc for warmup + duration; returns a dict of results."""
    pid = k.proc.pid
    sampler = ProcSampler(pid, interval=1.0,
                          max_seconds=args.warmup + args.duration + 120).start()
    try:
        deadline = time.monotonic() + args.warmup
        while time.monotonic() < deadline:
            if k.proc.poll() is not None:
                raise RuntimeError("kcanary exited during warm-up (rc %s)" % k.proc.returncode)
            time.sleep(0.5)
        t0 = time.monotonic()
        m0 = totals(k)
        cs0 = ctxt_switches(pid)
        log("%s: warm-up done (acked %d, received %d); measuring %ds" % (
            label, m0.get("kcanary_messages_acked_total", 0),
            m0.get("kcanary_messages_received_total", 0), args.duration))
        end = t0 + args.duration
        next_note = t0 + 60
        while time.monotonic() < end:
            if k.proc.poll() is not None:
                raise RuntimeError("kcanary exited during the run (rc %s)" % k.proc.returncode)
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            if time.monotonic() >= next_note:
                next_note += 60
                w, mean = sampler.cpu_percent_windows(t0, args.window)
                log("%s: %.0fs, CPU mean so far %.2f %%, RSS %.1f MiB" % (
                    label, time.monotonic() - t0, mean or 0,
                    (sampler.samples[-1][2] or 0) / KIB_PER_MIB))
        t1 = time.monotonic()
        cs1 = ctxt_switches(pid)
    finally:
        sampler.stop()
    windows, mean = sampler.cpu_percent_windows(t0, args.window)
    windows = [w for w in windows]
    m1 = totals(k)
    # the verifier must catch up with everything acked by the end of the run
    acked = m1.get("kcanary_messages_acked_total", 0)
    try:
        wait_for(lambda: totals(k).get("kcanary_messages_received_total", 0) >= acked, 30,
                 interval=0.5, what="verifier to receive the %d acked records" % acked)
    except ClusterError as e:
        log("%s: %s" % (label, e))
    m2 = totals(k)
    rss_after = [s[2] for s in sampler.samples if s[0] >= t0 and s[2] is not None]
    res = {
        "cpu_windows": windows, "cpu_median": median(windows), "cpu_mean": mean,
        "hwm_mib": (sampler.peak_hwm_kib() or 0) / KIB_PER_MIB,
        "rss_max_mib": max(rss_after) / KIB_PER_MIB if rss_after else None,
        "rss_end_mib": rss_after[-1] / KIB_PER_MIB if rss_after else None,
        "seconds": t1 - t0,
        "acked_in_run": m1.get("kcanary_messages_acked_total", 0)
        - m0.get("kcanary_messages_acked_total", 0),
        "acked": acked, "received": m2.get("kcanary_messages_received_total", 0),
        "produced": m2.get("kcanary_messages_produced_total", 0),
        "anomalies": {a: m2.get(a, 0) for a in ANOMALIES if m2.get(a, 0)},
        "voluntary_cs_per_s": (cs1[0] - cs0[0]) / (t1 - t0),
        "involuntary_cs_per_s": (cs1[1] - cs0[1]) / (t1 - t0),
        "threads": cs1[2],
    }
    log("%s: CPU median %.2f %% mean %.2f %%, VmHWM %.1f MiB, acked %d received %d, "
        "anomalies %s, %.0f voluntary ctx switches/s, %d threads" % (
            label, res["cpu_median"] or -1, res["cpu_mean"] or -1, res["hwm_mib"],
            res["acked"], res["received"], res["anomalies"] or "none",
            res["voluntary_cs_per_s"], res["threads"]))
    return res


def run_mock(args, i):
    wd = tempfile.mkdtemp(prefix="kcanary-bench-sidecar-")
    k = None
    try:
        # no bootstrap: `kcanary run` on its embedded mock cluster
        k = Kcanary("run", None, "kcanary", wd,
                    ["--partitions", str(args.partitions), "--rate", str(args.rate)]
                    + shlex.split(args.extra))
        return measure(k, args, "mock run %d" % i)
    finally:
        if k is not None:
            k.stop()
        if not args.keep:
            shutil.rmtree(wd, ignore_errors=True)


def run_real(args, cluster, i):
    with benchutil.kcanary_on_new_topic(cluster, "sidecar", args.partitions, args.rate,
                                        extra=shlex.split(args.extra), keep=args.keep) as k:
        return measure(k, args, "real run %d" % i)


def rows_for(platform, results, args):
    n = len(results)
    profile = "%d partitions x %g records/s, %d s after %d s warm-up" % (
        args.partitions, args.rate, args.duration, args.warmup)
    where = ("mock cluster in the same process: its 3 brokers' CPU/memory included"
             if platform == "mock" else "3 brokers + 1 controller, topic rf 3, min.isr 2")
    cpu_med = [r["cpu_median"] for r in results]
    cpu_mean = [r["cpu_mean"] for r in results]
    hwm = [r["hwm_mib"] for r in results]
    ratio = [r["received"] / r["acked"] if r["acked"] else None for r in results]
    anomalies = [float(sum(r["anomalies"].values())) for r in results]
    counts = "; ".join("run %d: acked %d, received %d, produced %d" % (
        j + 1, r["acked"], r["received"], r["produced"]) for j, r in enumerate(results))
    cs = "; ".join("%.0f voluntary + %.0f involuntary context switches/s, %d threads" % (
        r["voluntary_cs_per_s"], r["involuntary_cs_per_s"], r["threads"]) for r in results)
    out = [
        row("sidecar CPU (median of %d-s intervals)" % args.window, platform,
            "CPU % of one core", cpu_med, goal="< 2 %",
            met=median(cpu_med) < 2.0 if n else None,
            notes="%s; %s; %s" % (profile, where, cs), digits=2,
            interval_samples=[[round(w, 2) for w in r["cpu_windows"]] for r in results]),
        row("sidecar CPU (mean over the run)", platform, "CPU % of one core", cpu_mean,
            goal="< 2 %", met=median(cpu_mean) < 2.0 if n else None,
            notes="utime+stime of /proc/PID/stat over the measured span; " + where,
            digits=2),
        row("sidecar peak RSS (VmHWM)", platform, "MiB", hwm, goal="< 64 MiB",
            met=median(hwm) < 64.0 if n else None,
            notes="VmHWM at the end of the run (whole process life); VmRSS at the end: %s MiB"
            % ", ".join("%.1f" % r["rss_end_mib"] for r in results), digits=1),
        row("verifier received / canary acked", platform, "ratio", ratio, goal="= 1",
            met=all(x is not None and x >= 1.0 for x in ratio) if n else None,
            notes="from kcanary's /metrics at the end (received waited for up to 30 s); "
            + counts, digits=4),
        row("anomalies counted (lost, duplicated, reordered, unexpected, ...)", platform,
            "count", anomalies, goal="= 0", met=all(a == 0 for a in anomalies) if n else None,
            notes="; ".join("run %d: %s" % (j + 1, r["anomalies"] or "none")
                            for j, r in enumerate(results)), digits=0),
    ]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=300, help="measured seconds (default 300)")
    ap.add_argument("--warmup", type=int, default=30, help="seconds ignored first (default 30)")
    ap.add_argument("--runs", type=int, default=1, help="runs per platform (default 1)")
    ap.add_argument("--window", type=int, default=10,
                    help="CPU interval for the median, seconds (default 10)")
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--rate", type=float, default=10, help="records/s per partition")
    ap.add_argument("--platforms", default="mock,real", help="mock,real (default both)")
    ap.add_argument("--extra", default="",
                    help="more kcanary arguments, one shell-quoted string (e.g. "
                    "'-X canary.linger.ms=20'), for experiments")
    ap.add_argument("--keep", action="store_true", help="keep work dirs and cluster logs")
    ap.add_argument("--out", default="sidecar", help="results name (default sidecar)")
    args = ap.parse_args()
    for v, what in ((args.duration, "--duration"), (args.runs, "--runs"),
                    (args.window, "--window")):
        if v < 1:
            ap.error("%s must be >= 1" % what)
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    if not set(platforms) <= {"mock", "real"}:
        ap.error("--platforms: mock and/or real")
    if not os.path.exists(KCANARY):
        sys.exit("no kcanary binary at %s: run ./scripts/build.sh" % KCANARY)

    machine = benchutil.machine(kafka_version="4.3.1" if "real" in platforms else None)
    rows = []
    if "mock" in platforms:
        res = [run_mock(args, i + 1) for i in range(args.runs)]
        rows += rows_for("mock", res, args)
    if "real" in platforms:
        log("starting a 3-broker Kafka cluster")
        with LocalKafkaCluster(nodes=3, controllers=1, keep_logs=args.keep) as c:
            res = [run_real(args, c, i + 1) for i in range(args.runs)]
        rows += rows_for("real-3-brokers", res, args)
    cmd = "python3 bench/sidecar/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path = benchutil.write_results(args.out, cmd.strip(), rows, machine)
    log("wrote %s" % path)
    for r in rows:
        log("%-16s %-55s %10s %-18s goal %-9s met %s" % (
            r["platform"], r["benchmark"], r["kcanary"], r["metric"], r["goal"], r["met"]))


if __name__ == "__main__":
    main()
