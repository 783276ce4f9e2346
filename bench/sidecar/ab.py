#!/usr/bin/env python3
"""A/B of the sidecar's CPU: two kcanary builds, alternating, on one cluster.

The sidecar's CPU time moves with the machine: on this shared 2-core host
the same build measured 1.6 % of a core in one session and 2.1-2.5 % in
another, and librdkafka's own threads (code that did not change) moved with
it. So two builds are compared here in alternating runs in one session, each
`kcanary run` on a fresh 64-partition topic of one real 3-broker cluster, and
the result is read per thread: which threads cost what, how often they wake.

    git worktree add /tmp/base <rev> && cmake -S /tmp/base -B /tmp/base/build -G Ninja \\
        -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build /tmp/base/build --target kcanary
    python3 bench/sidecar/ab.py --baseline /tmp/base/build/app/kcanary        # ~20 min

Each pair runs both builds, in alternating order (A B, B A, ...), so slow
drift of the machine falls on both. Per run: the whole process's CPU % of one
core over --duration seconds after --warmup, and per thread name (librdkafka
names every client's threads alike: rdk:broker1 is that broker's thread of
the producer, the consumer and the admin client together) its CPU % and
voluntary context switches a second (its wake-ups). Prints the medians and
the candidate/baseline ratio; writes nothing. Not a test.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

from benchutil import (CLK_TCK, cpu_ticks, kcanary_on_new_topic, median,  # noqa: E402
                       thread_stats)
from cluster import LocalKafkaCluster  # noqa: E402
from kcanary_proc import KCANARY  # noqa: E402


def log(msg, t0=[time.monotonic()]):
    print("[%7.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def measure(binary, cluster, args):
    """One `kcanary run` of `binary`: {"total": %, "threads": {name: (%, wakes/s, n)}}."""
    with kcanary_on_new_topic(cluster, "ab", args.partitions, args.rate, binary=binary) as k:
        pid = k.proc.pid
        time.sleep(args.warmup)
        before, ticks0, t0 = thread_stats(pid), cpu_ticks(pid), time.monotonic()
        time.sleep(args.duration)
        after, ticks1, t1 = thread_stats(pid), cpu_ticks(pid), time.monotonic()
        if k.proc.poll() is not None:
            raise RuntimeError("kcanary exited during the run (rc %s)" % k.proc.returncode)
    seconds = t1 - t0
    threads = {}
    for tid, (name, cpu, vol, _) in after.items():
        _, cpu0, vol0, _ = before.get(tid, (name, 0, 0, 0))
        t = threads.setdefault(name, [0, 0, 0])
        t[0] += cpu - cpu0
        t[1] += vol - vol0
        t[2] += 1
    return {"total": (ticks1 - ticks0) / CLK_TCK / seconds * 100,
            "threads": {n: (c / CLK_TCK / seconds * 100, v / seconds, count)
                        for n, (c, v, count) in threads.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", required=True, help="the kcanary binary to compare against")
    ap.add_argument("--candidate", default=KCANARY, help="default: this tree's build")
    ap.add_argument("--pairs", type=int, default=3, help="runs of each build (default 3)")
    ap.add_argument("--warmup", type=int, default=30, help="seconds ignored first (default 30)")
    ap.add_argument("--duration", type=int, default=120, help="measured seconds (default 120)")
    ap.add_argument("--partitions", type=int, default=64)
    ap.add_argument("--rate", type=float, default=10, help="records/s per partition")
    args = ap.parse_args()
    if args.pairs < 1 or args.duration < 1:
        ap.error("--pairs and --duration must be >= 1")
    builds = {"baseline": args.baseline, "candidate": args.candidate}
    for name, path in builds.items():
        if not os.access(path, os.X_OK):
            sys.exit("--%s: no kcanary binary at %s" % (name, path))

    results = {"baseline": [], "candidate": []}
    log("starting a 3-broker Kafka cluster")
    with LocalKafkaCluster(nodes=3, controllers=1) as cluster:
        for pair in range(args.pairs):
            order = ["candidate", "baseline"] if pair % 2 == 0 else ["baseline", "candidate"]
            for name in order:
                r = measure(builds[name], cluster, args)
                results[name].append(r)
                log("pair %d %-9s: %.2f %% of a core" % (pair + 1, name, r["total"]))

    names = sorted({n for rs in results.values() for r in rs for n in r["threads"]},
                   key=lambda n: -median([r["threads"].get(n, (0, 0, 0))[0]
                                          for r in results["baseline"]]))
    print("\nmedians of %d runs each, %d partitions x %g records/s, %d s after %d s warm-up" % (
        args.pairs, args.partitions, args.rate, args.duration, args.warmup))
    print("%-18s %4s %22s %22s" % ("thread", "n", "baseline %CPU wake/s", "candidate %CPU wake/s"))
    for n in names:
        cols = []
        count = 0
        for build in ("baseline", "candidate"):
            per_run = [r["threads"].get(n, (0, 0, 0)) for r in results[build]]
            count = max(count, max(t[2] for t in per_run))
            cols.append("%9.3f %9.1f" % (median([t[0] for t in per_run]),
                                         median([t[1] for t in per_run])))
        print("%-18s %4d %22s %22s" % (n, count, cols[0], cols[1]))
    base = median([r["total"] for r in results["baseline"]])
    cand = median([r["total"] for r in results["candidate"]])
    print("%-18s %4s %12.2f %22.2f   candidate/baseline %.2f" % (
        "whole process", "", base, cand, cand / base if base else float("nan")))
    for build in ("baseline", "candidate"):
        print("  %s runs: %s" % (build, ", ".join("%.2f" % r["total"] for r in results[build])))


if __name__ == "__main__":
    main()
