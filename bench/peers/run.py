#!/usr/bin/env python3
"""kcanary's canary and verifier next to Kafka's own verification tools
(issue 6): org.apache.kafka.tools.VerifiableProducer and VerifiableConsumer
from org.apache.kafka:kafka-tools 4.3.1, on a local Apache Kafka 4.3.1 cluster
(3 brokers + 1 controller on 127.0.0.1).

Every topic: 3 partitions, replication factor 3, min.insync.replicas 2;
producers use acks=all (both are idempotent by default).

Producers, per run, each on a fresh topic, --produce-count records:
  kcanary canary --rate R --manage-topic=false  (256-byte values; acked/s
      from kcanary_messages_acked_total, polled every 0.05 s, from the first
      ack to the count; SIGTERM then)
  VerifiableProducer --throughput -1 --max-messages N --acks -1  (values are
      the decimal record number: the tool has no value-size option; acked/s
      from the timestamps of its first and last producer_send_success event)
Consumers, per run, on one topic pre-filled once by `kcanary canary` with
--read-count records (so both read the very same 256-byte canary records):
  kcanary verify  (a fresh verifier starts at the log end, so it was started
      once on the empty topic, which stores its start offset 0, and stopped;
      each run starts from a copy of that state dir; records/s from the
      first received record until kcanary_messages_received_total reaches
      the topic's record count)
  VerifiableConsumer --max-messages <count>, a fresh --group-id per run
      (group-based, commits after every poll batch, as it does by default;
      records/s from its partitions_assigned event to the records_consumed
      event that reaches the count)
Peak RSS: the kernel's ru_maxrss of the child (= VmHWM at exit) for the Java
tools, VmHWM just before SIGTERM for kcanary.

The JVMs get the flags Kafka's own bin/kafka-verifiable-*.sh scripts give
them (KAFKA_HEAP_OPTS=-Xmx512M and kafka-run-class.sh's
KAFKA_JVM_PERFORMANCE_OPTS) unless --jvm-heap / --jvm-opts say otherwise.

    python3 bench/peers/run.py                  # 3 runs, about 8 minutes
    python3 bench/peers/run.py --runs 1 --produce-count 50000 --read-count 50000

Writes bench/results/peers.json.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "bench", "sidecar"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import benchutil  # noqa: E402
from benchutil import KIB_PER_MIB, ProcSampler, row  # noqa: E402
from cluster import ClusterError, LocalKafkaCluster, wait_for  # noqa: E402
from kcanary_proc import KCANARY, Kcanary  # noqa: E402

KAFKA_VERSION = "4.3.1"
TOOL = os.path.join(REPO, "deploy", "local", "kafka-cluster")
# bin/kafka-verifiable-producer.sh / -consumer.sh: KAFKA_HEAP_OPTS="-Xmx512M";
# bin/kafka-run-class.sh: KAFKA_JVM_PERFORMANCE_OPTS
DEFAULT_HEAP = "-Xmx512M"
DEFAULT_JVM_OPTS = ("-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "
                    "-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent "
                    "-XX:MaxInlineLevel=15 -Djava.awt.headless=true")
TOPIC_CONFIGS = {"min.insync.replicas": "2"}


def log(msg, t0=[time.monotonic()]):
    print("[%7.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def classpath():
    r = subprocess.run([sys.executable, TOOL, "--kafka-version", KAFKA_VERSION, "classpath"],
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise RuntimeError("kafka-cluster classpath failed: %s" % r.stderr[-2000:])
    return r.stdout.strip()


def jvm_max_heap(flags):
    """MaxHeapSize (bytes) the JVM picks with these flags."""
    r = subprocess.run(["java"] + flags + ["-XX:+PrintFlagsFinal", "-version"],
                       capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "MaxHeapSize":
            return int(parts[3])
    return None


def total_records(cluster, topic, partitions):
    return sum(hi - lo for lo, hi in (cluster.watermarks(topic, p) for p in range(partitions)))


def total_metric(k, name, attempts=20):
    """A kcanary counter from its /metrics; a refused or reset scrape is
    retried (bounded), it says nothing about the counter."""
    for i in range(attempts):
        try:
            return k.total(name)
        except OSError as e:  # URLError, ConnectionResetError, timeouts
            if i == attempts - 1:
                raise RuntimeError("cannot scrape kcanary %s: %s" % (k.role, e))
            time.sleep(0.1)


def wait_count(k, name, target, timeout, stall=10.0, interval=0.05):
    """Poll a kcanary counter until it reaches target (or stays flat for
    `stall` s, or timeout). Returns (first time it was > 0, value then,
    time it reached target or stalled, value then), monotonic times."""
    t_first = v_first = None
    last_v, last_change = -1, time.monotonic()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if k.proc.poll() is not None:
            raise RuntimeError("kcanary %s exited (rc %s)" % (k.role, k.proc.returncode))
        now = time.monotonic()
        v = total_metric(k, name)
        if v > 0 and t_first is None:
            t_first, v_first = now, v
        if v >= target:
            return t_first, v_first, now, v
        if v != last_v:
            last_v, last_change = v, now
        elif t_first is not None and now - last_change > stall:
            log("  %s stalled at %d of %d" % (name, v, target))
            return t_first, v_first, last_change, v
        time.sleep(interval)
    raise RuntimeError("%s did not reach %d within %ds" % (name, target, timeout))


def kcanary_canary(cluster, topic, wd, name, count, rate, timeout):
    """Run `kcanary canary` until `count` records are acked; returns
    (acked/s, peak RSS MiB, wall s from start, details)."""
    k = None
    t_start = time.monotonic()
    try:
        k = Kcanary("canary", cluster.bootstrap, topic, wd, name=name,
                    extra=["--rate", str(rate), "--manage-topic=false"])
        sampler = ProcSampler(k.proc.pid, interval=0.2, max_seconds=timeout + 60).start()
        try:
            t1, v1, t2, v2 = wait_count(k, "kcanary_messages_acked_total", count, timeout)
        finally:
            sampler.stop()
        failed = (total_metric(k, "kcanary_messages_not_committed_total")
                  + total_metric(k, "kcanary_messages_indeterminate_total"))
        rate_s = (v2 - v1) / (t2 - t1) if t2 > t1 else None
        return rate_s, sampler.peak_hwm_kib() / KIB_PER_MIB, t2 - t_start, {
            "acked": v2, "not_committed_or_indeterminate": failed}
    finally:
        if k is not None:
            k.stop()


def java_cmd(args, cp, main_class, tool_args):
    return (["java"] + args.jvm_heap.split() + args.jvm_opts.split()
            + ["-Dlog4j2.level=WARN", "-cp", cp, main_class] + [str(a) for a in tool_args])


def run_java(cmd, out_path, timeout):
    """Run a Java tool to completion (bounded); returns (rc, peak RSS MiB, wall s)."""
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            rc, maxrss = benchutil.wait_rusage(proc, timeout)
        finally:
            benchutil.kill_quietly(proc)
        wall = time.monotonic() - t0
    if rc != 0:
        with open(out_path + ".err", errors="replace") as f:
            tail = f.read()[-2000:]
        raise RuntimeError("%s exited %s (timeout %ds):\n%s" % (cmd[-1], rc, timeout, tail))
    return maxrss / KIB_PER_MIB, wall


def events(path):
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    pass


def verifiable_producer(args, cp, cluster, topic, wd, name, count):
    out = os.path.join(wd, name + ".out")
    cmd = java_cmd(args, cp, "org.apache.kafka.tools.VerifiableProducer",
                   ["--bootstrap-server", cluster.bootstrap, "--topic", topic,
                    "--max-messages", count, "--throughput", -1, "--acks", -1])
    rss, wall = run_java(cmd, out, args.step_timeout)
    first = last = None
    acked = failed = 0
    tool = {}
    for e in events(out):
        n = e.get("name")
        if n == "producer_send_success":
            acked += 1
            ts = e["timestamp"]
            first = ts if first is None else first
            last = ts
        elif n == "producer_send_error":
            failed += 1
        elif n == "tool_data":
            tool = e
    rate = (acked - 1) / ((last - first) / 1000.0) if last and last > first else None
    return rate, rss, wall, {"acked": acked, "failed": failed,
                             "tool_avg_throughput": tool.get("avg_throughput")}


def verifiable_consumer(args, cp, cluster, topic, wd, name, count, group):
    out = os.path.join(wd, name + ".out")
    cmd = java_cmd(args, cp, "org.apache.kafka.tools.VerifiableConsumer",
                   ["--bootstrap-server", cluster.bootstrap, "--topic", topic,
                    "--group-id", group, "--max-messages", count])
    rss, wall = run_java(cmd, out, args.step_timeout)
    t_assigned = t_last = None
    consumed = 0
    for e in events(out):
        n = e.get("name")
        if n == "partitions_assigned" and e.get("partitions") and t_assigned is None:
            t_assigned = e["timestamp"]
        elif n == "records_consumed":
            consumed += e.get("count", 0)
            t_last = e["timestamp"]
    rate = consumed / ((t_last - t_assigned) / 1000.0) if t_assigned and t_last else None
    return rate, rss, wall, {"consumed": consumed}


def kcanary_verify(cluster, topic, wd, name, prime_state, count, timeout):
    state = os.path.join(wd, name + "-state")
    shutil.copytree(prime_state, state)
    k = None
    t_start = time.monotonic()
    try:
        k = Kcanary("verify", cluster.bootstrap, topic, wd, name=name,
                    extra=["--group", "bench-" + name])
        sampler = ProcSampler(k.proc.pid, interval=0.2, max_seconds=timeout + 60).start()
        try:
            t1, v1, t2, v2 = wait_count(k, "kcanary_messages_received_total", count, timeout)
        finally:
            sampler.stop()
        anomalies = sum(total_metric(k, m) for m in (
            "kcanary_messages_lost_total", "kcanary_messages_duplicated_total",
            "kcanary_messages_reordered_total", "kcanary_records_unexpected_total",
            "kcanary_records_invalid_total", "kcanary_offset_inconsistencies_total"))
        rate_s = (v2 - v1) / (t2 - t1) if t2 > t1 else None
        return rate_s, sampler.peak_hwm_kib() / KIB_PER_MIB, t2 - t_start, {
            "received": v2, "anomalies": anomalies}
    finally:
        if k is not None:
            k.stop()


def prime_verifier(cluster, topic, wd, partitions):
    """Start `kcanary verify` on the empty topic until it has stored its start
    offset 0 of every partition, then SIGTERM it; returns its state dir."""
    k = Kcanary("verify", cluster.bootstrap, topic, wd, name="verify-prime",
                extra=["--group", "bench-verify-prime"])
    try:
        wait_for(lambda: k.log_text().count("verifier: reading %s/" % topic) >= partitions, 60,
                 what="the verifier to store its start offsets")
        if " from offset 0" not in k.log_text():
            raise RuntimeError("verifier did not start at offset 0:\n" + k.log_tail())
    finally:
        k.stop()
    return k.state_dir


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each tool (default 3)")
    ap.add_argument("--produce-count", type=int, default=1000000,
                    help="records per producer run (default 1000000)")
    ap.add_argument("--read-count", type=int, default=1000000,
                    help="records pre-filled for the consumers (default 1000000)")
    ap.add_argument("--canary-rate", type=float, default=100000,
                    help="kcanary canary --rate, records/s per partition (default 100000: "
                    "above what it reaches, i.e. unthrottled)")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--jvm-heap", default=DEFAULT_HEAP,
                    help="heap flags of the Java tools (default %(default)s, as "
                    "kafka-verifiable-*.sh; '' = the JVM's default, 1/4 of RAM)")
    ap.add_argument("--jvm-opts", default=DEFAULT_JVM_OPTS,
                    help="other JVM flags (default kafka-run-class.sh's)")
    ap.add_argument("--step-timeout", type=int, default=240,
                    help="seconds any one tool run may take (default 240)")
    ap.add_argument("--keep", action="store_true", help="keep work dirs and cluster logs")
    ap.add_argument("--out", default="peers", help="results name (default peers)")
    args = ap.parse_args()
    if args.runs < 1 or args.produce_count < 1 or args.read_count < 1:
        ap.error("--runs and the counts must be >= 1")
    if not os.path.exists(KCANARY):
        sys.exit("no kcanary binary at %s: run ./scripts/build.sh" % KCANARY)

    cp = classpath()
    tools_jar = [j for j in cp.split(os.pathsep) if os.path.basename(j).startswith(
        "kafka-tools-%s" % KAFKA_VERSION)]
    if not tools_jar:
        sys.exit("kafka-tools %s is not on the fetched classpath" % KAFKA_VERSION)
    machine = benchutil.machine(kafka_version=KAFKA_VERSION)
    jvm_flags = args.jvm_heap.split() + args.jvm_opts.split()
    max_heap = jvm_max_heap(jvm_flags)
    machine["jvm_flags_of_tools"] = " ".join(jvm_flags)
    machine["jvm_max_heap_mib"] = round(max_heap / 1048576.0) if max_heap else None
    default_heap = jvm_max_heap([])
    machine["jvm_default_max_heap_mib"] = round(default_heap / 1048576.0) if default_heap else None
    log("JVM flags: %s (MaxHeapSize %s MiB; the JVM's default would be %s MiB)" % (
        " ".join(jvm_flags), machine["jvm_max_heap_mib"], machine["jvm_default_max_heap_mib"]))

    wd = tempfile.mkdtemp(prefix="kcanary-bench-peers-")
    res = {k: [] for k in ("canary", "vp", "verify", "vc")}
    try:
        log("starting a 3-broker Kafka cluster")
        with LocalKafkaCluster(nodes=3, controllers=1, keep_logs=args.keep) as c:
            # --- consumers' topic: prime the verifier, then fill it
            read_topic = "peers-read"
            c.create_topic(read_topic, partitions=args.partitions, replication_factor=3,
                           configs=TOPIC_CONFIGS, timeout=60)
            prime = prime_verifier(c, read_topic, wd, args.partitions)
            log("verifier primed at offset 0; filling %s with %d records" % (
                read_topic, args.read_count))
            kcanary_canary(c, read_topic, wd, "fill", args.read_count, args.canary_rate,
                           args.step_timeout)
            n_read = total_records(c, read_topic, args.partitions)
            log("%s holds %d records" % (read_topic, n_read))

            for i in range(1, args.runs + 1):
                # alternate the order so neither side always runs first
                order = ["canary", "vp"] if i % 2 else ["vp", "canary"]
                for tool in order:
                    topic = "peers-%s-%d" % (tool, i)
                    c.create_topic(topic, partitions=args.partitions, replication_factor=3,
                                   configs=TOPIC_CONFIGS, timeout=60)
                    if tool == "canary":
                        r = kcanary_canary(c, topic, wd, "canary-%d" % i, args.produce_count,
                                           args.canary_rate, args.step_timeout)
                    else:
                        r = verifiable_producer(args, cp, c, topic, wd, "vp-%d" % i,
                                                args.produce_count)
                    res[tool].append(r)
                    log("run %d %-6s %8.0f records/s, peak RSS %6.1f MiB, wall %5.1f s, %s" % (
                        i, tool, r[0] or -1, r[1], r[2], r[3]))
                    c.delete_topic(topic)
                order = ["verify", "vc"] if i % 2 else ["vc", "verify"]
                for tool in order:
                    if tool == "verify":
                        r = kcanary_verify(c, read_topic, wd, "verify-%d" % i, prime, n_read,
                                           args.step_timeout)
                    else:
                        r = verifiable_consumer(args, cp, c, read_topic, wd, "vc-%d" % i,
                                                n_read, "bench-vc-%d" % i)
                    res[tool].append(r)
                    log("run %d %-6s %8.0f records/s, peak RSS %6.1f MiB, wall %5.1f s, %s" % (
                        i, tool, r[0] or -1, r[1], r[2], r[3]))
    finally:
        if not args.keep:
            shutil.rmtree(wd, ignore_errors=True)

    P = "real-3-brokers"
    shape = "topic %d partitions, rf 3, min.isr 2, acks=all" % args.partitions
    jvm = "JVM: %s (MaxHeapSize %s MiB)" % (" ".join(jvm_flags), machine["jvm_max_heap_mib"])

    def col(tool, j):
        return [r[j] for r in res[tool]]

    def walls(tool):
        return ", ".join("%.1f" % r[2] for r in res[tool])

    rows = [
        row("producer throughput: kcanary canary vs VerifiableProducer", P, "records/s",
            col("canary", 0), col("vp", 0), "VerifiableProducer", digits=0,
            notes="%s; %d records per run, fresh topic per run; kcanary: --rate %g "
            "(unthrottled), 256-byte values, acked/s from its /metrics between first ack and "
            "the count (not committed/indeterminate: %s); VerifiableProducer --throughput -1: "
            "values are the record number as a string (no value-size option), one JSON line "
            "per ack on stdout (to a file), acked/s between its first and last "
            "producer_send_success; its own avg_throughput incl. start: %s. Wall s incl. "
            "start-up: kcanary %s, VerifiableProducer %s" % (
                shape, args.produce_count, args.canary_rate,
                [r[3]["not_committed_or_indeterminate"] for r in res["canary"]],
                [round(r[3]["tool_avg_throughput"] or 0) for r in res["vp"]],
                walls("canary"), walls("vp"))),
        row("producer peak RSS: kcanary canary vs VerifiableProducer", P, "MiB",
            col("canary", 1), col("vp", 1), "VerifiableProducer", digits=1,
            notes="kcanary: VmHWM before SIGTERM; Java: ru_maxrss of the JVM. " + jvm),
        row("consumer throughput: kcanary verify vs VerifiableConsumer", P, "records/s",
            col("verify", 0), col("vc", 0), "VerifiableConsumer", digits=0,
            notes="%s; both read the same %d records (256-byte kcanary canary records) from "
            "offset 0; kcanary verify: decode, classify, RocksDB, commit, from a state dir "
            "primed at offset 0 (manual assignment), records/s from the first received "
            "record to the count (anomalies: %s); VerifiableConsumer: group-based, fresh "
            "group per run, commitSync after each poll, records/s from partitions_assigned "
            "to the last records_consumed. Wall s incl. start-up: kcanary %s, "
            "VerifiableConsumer %s" % (
                shape, n_read, [r[3]["anomalies"] for r in res["verify"]],
                walls("verify"), walls("vc"))),
        row("consumer peak RSS: kcanary verify vs VerifiableConsumer", P, "MiB",
            col("verify", 1), col("vc", 1), "VerifiableConsumer", digits=1,
            notes="kcanary: VmHWM before SIGTERM; Java: ru_maxrss of the JVM. " + jvm),
    ]
    cmd = "python3 bench/peers/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    path = benchutil.write_results(args.out, cmd.strip(), rows, machine,
                                   kafka_tools_jar=os.path.basename(tools_jar[0]))
    log("wrote %s" % path)
    for r in rows:
        log("%-60s %10s %10s %-10s ratio %s" % (r["benchmark"], r["kcanary"], r["baseline"],
                                                r["metric"], r["ratio"]))


if __name__ == "__main__":
    try:
        main()
    except (ClusterError, RuntimeError, OSError) as e:
        log("failed: %s" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(signal.SIGINT + 128)
