#!/usr/bin/env python3
"""Throughput of kcanary's verifier and canary against bare librdkafka clients.

For each platform (the librdkafka mock cluster in a process of its own, a real
3-broker Kafka cluster on 127.0.0.1) and each run:

  verifier   `kcanary verify` is started once on the empty canary topic (it
             stores its start positions, 0) and stopped; the canary fills the
             topic; the verifier is started again on the same state and timed
             until it has received every record in the topic. The bare
             consumer (kcanary-bench-consume) reads the same topic.
  canary     the canary fill above, at --rate 1000000 per partition, is timed
             from its first ack to the N-th (its /metrics); the bare producer
             (kcanary-bench-produce) writes N records to another fresh topic
             with the same partitions and record size.

kcanary and the bare client swap order on every other run. Results (medians of
the runs, ratio kcanary/bare) go to bench/results/throughput.json and a table
on stdout. See README.md next to this file.

    python3 bench/throughput/run.py [--platform mock|real|both] [--runs 3]
"""
import argparse
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
sys.path.insert(0, HERE)

from cluster import ClusterError, LocalKafkaCluster, wait_for  # noqa: E402
from kcanary_proc import Kcanary, http_get  # noqa: E402
import results_json  # noqa: E402

BUILD = os.environ.get("KCANARY_BUILD_DIR") or os.path.join(REPO, "build")
TOOLS = os.path.join(BUILD, "bench", "throughput")
MOCK = os.path.join(TOOLS, "kcanary-bench-mock")
CONSUME = os.path.join(TOOLS, "kcanary-bench-consume")
PRODUCE = os.path.join(TOOLS, "kcanary-bench-produce")
RESULTS = os.path.join(REPO, "bench", "results", "throughput.json")

CANARY_RATE = "1000000"  # per partition: the CLI's maximum
# Seconds between /metrics samples. A scrape is not free: at 72 partitions
# /metrics is ~110 KB, ~9 ms of kcanary's CPU to render, and the bare clients
# pay nothing like it; at 20 scrapes a second it took a fifth of a core from
# the verifier. Rates come from kcanary's own stamps, so fewer samples cost no
# precision.
POLL = 0.25
# Classes that must stay at 0 in a healthy run (SPEC §2).
ANOMALIES = ("lost", "expired", "duplicated", "reordered", "offset_inconsistencies",
             "unexpected", "failed_but_visible", "not_committed", "indeterminate", "invalid")

_live = []  # every process this script started and has not reaped yet


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def kill_all():
    for p in reversed(_live):
        try:
            if isinstance(p, Kcanary):
                p.kill()
            elif p.poll() is None:
                p.kill()
                p.wait(10)
        except Exception as e:  # cleanup goes on with the others
            log("cleanup: %s" % e)
    _live.clear()


def start_kcanary(role, bootstrap, topic, workdir, extra=(), name=None):
    k = Kcanary(role, bootstrap, topic, workdir, extra=["--log-level", "info"] + list(extra),
                name=name)
    _live.append(k)
    return k


def stop_kcanary(k):
    try:
        k.stop(timeout=60)
    finally:
        if k in _live:
            _live.remove(k)


def run_tool(cmd, timeout):
    """Runs a bare tool to completion (bounded); returns its JSON line."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _live.append(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise ClusterError("%s timed out after %ds" % (os.path.basename(cmd[0]), timeout))
    finally:
        _live.remove(p)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        raise ClusterError("%s exited %s without a result:\n%s" % (
            os.path.basename(cmd[0]), p.returncode, err[-2000:]))
    result = json.loads(lines[-1])
    result["exit_code"] = p.returncode
    return result


class MockCluster:
    """kcanary-bench-mock in a process of its own, with the given topics."""

    def __init__(self, topics, max_seconds):
        spec = ",".join("%s:%d" % tp for tp in topics.items())
        self.proc = subprocess.Popen([MOCK, "--topics", spec, "--max-seconds", str(max_seconds)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        _live.append(self.proc)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line:
            raise ClusterError("kcanary-bench-mock printed no bootstrap servers")
        self.bootstrap = line

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        _live.remove(self.proc)


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_until(k, counter, stamp, target, timeout):
    """Samples (count, stamp, cpu) every POLL s until count >= target or
    timeout: count is the sum of `counter` over partitions, stamp the gauge
    `stamp` (the wall time kcanary took the latest record at), cpu the
    process's CPU seconds. Each (count, stamp) pair comes from one scrape, so
    rates from them do not depend on when the scrape ran."""
    samples = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if k.proc.poll() is not None:
            raise ClusterError("kcanary %s exited with %s:\n%s" % (
                k.role, k.proc.returncode, k.log_tail()))
        count, ts = 0, 0.0
        # Only the two metrics' lines are parsed (the full parser on every
        # sample cost the harness, on the same 2 cores, more than kcanary).
        for line in http_get(k.port, "/metrics").splitlines():
            if not line.startswith(("kcanary_messages_", "kcanary_last_")):
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name == counter:
                count += float(line.rsplit(" ", 1)[1])
            elif name == stamp:
                ts = max(ts, float(line.rsplit(" ", 1)[1]))
        samples.append((count, ts, cpu_seconds(k.proc.pid), time.monotonic()))
        if count >= target:
            return samples, True
        time.sleep(POLL)
    return samples, False


def steady(samples, target):
    """Rate (records/s) and CPU µs per record between the first sample with a
    record and the first at target, timed by kcanary's own timestamps."""
    first = next((s for s in samples if s[0] > 0), None)
    last = next((s for s in samples if s[0] >= target), None)
    if first is None or last is None or last[1] <= first[1] or last[0] <= first[0]:
        return None, None
    n = last[0] - first[0]
    return n / (last[1] - first[1]), (last[2] - first[2]) * 1e6 / n


def anomalies(status):
    totals = status["totals"]
    found = {}
    for name in ANOMALIES:
        v = totals.get(name, 0)
        n = sum(v.values()) if isinstance(v, dict) else v
        if n:
            found[name] = n
    return found


def canary_fill(bootstrap, topic, workdir, records, size, rate, timeout):
    """Runs `kcanary canary` on topic until `records` are acked; returns its
    steady rate, CPU per record and the rate from process start."""
    t0 = time.monotonic()
    k = start_kcanary("canary", bootstrap, topic, workdir,
                      ["--rate", str(rate), "--message-size", str(size),
                       "--manage-topic", "false"], name="canary-" + topic)
    try:
        samples, done = sample_until(k, "kcanary_messages_acked_total",
                                     "kcanary_last_acked_timestamp_seconds", records, timeout)
    finally:
        stop_kcanary(k)
    if not done:
        raise ClusterError("canary acked %d of %d records in %ds" % (
            samples[-1][0] if samples else 0, records, timeout))
    rate, cpu = steady(samples, records)
    return {"rate": rate, "cpu_us": cpu, "rate_from_start": records / (samples[-1][3] - t0)}


def measure_verifier(bootstrap, topic, workdir, expected, timeout, extra):
    t0 = time.monotonic()
    k = start_kcanary("verify", bootstrap, topic, workdir, extra, name="verify-" + topic)
    try:
        samples, done = sample_until(k, "kcanary_messages_received_total",
                                     "kcanary_last_received_timestamp_seconds", expected, timeout)
        status = k.status()
    finally:
        stop_kcanary(k)
    if not done:
        raise ClusterError("verifier received %d of %d records in %ds" % (
            samples[-1][0] if samples else 0, expected, timeout))
    rate, cpu = steady(samples, expected)
    return {"rate": rate, "cpu_us": cpu, "rate_from_start": expected / (samples[-1][3] - t0),
            "received": status["totals"]["received"], "anomalies": anomalies(status)}


def prime_verifier(bootstrap, topic, workdir):
    """First start on the empty topic: the verifier stores its start offsets
    (the log end, 0), so its next start reads everything the canary wrote."""
    k = start_kcanary("verify", bootstrap, topic, workdir, name="verify-" + topic)
    try:
        wait_for(lambda: k.status().get("consuming"), 30, interval=0.1,
                 what="the verifier to store its start offsets")
    finally:
        stop_kcanary(k)


def one_run(platform, bootstrap, topics, args, run, workdir):
    """topics: {"canary", "produce", "verify"} -> name. Returns the run's numbers."""
    records, size, timeout = args.records_for[platform], args.message_size, args.timeout
    fill, fill_rate = args.fill_for[platform]
    kcanary_first = run % 2 == 0
    # The mock answers a fetch that reaches only drained partitions after
    # fetch.wait.max.ms (500 ms by default) while the others wait behind it:
    # stalls of half a second that make either reader's rate a lottery. Both
    # readers get the same shorter wait there; real Kafka answers as soon as
    # data arrives, so it keeps the defaults.
    fetch = ["-X", "fetch.wait.max.ms=10"] if platform == "mock" else []
    # librdkafka stops fetching once the application has 100,000 messages
    # (or 64 MiB) waiting, and fetches again only about a second later,
    # however soon the queue drains (2.0.2 always; 2.4 made that pause
    # fetch.queue.backoff.ms, still 1 s by default in 2.8.0, which 2.0.2
    # would refuse as unknown: the thresholds work in both). A reader slower than its fetcher then reads at
    # the pause's pace, not its own: both readers swung between 180,000 and
    # 520,000 records/s on the same data. Lifting the thresholds measures
    # each reader's own speed. (kcanary keeps librdkafka's defaults: its
    # catch-up after an outage is still hundreds of times a canary's rate.)
    fetch += ["-X", "queued.min.messages=10000000", "-X", "queued.max.messages.kbytes=2097151"]
    tag = "%s run %d" % (platform, run + 1)
    out = {"kcanary_first": kcanary_first}

    def canary():
        log("%s: canary, %d records" % (tag, records))
        out["canary"] = canary_fill(bootstrap, topics["canary"], workdir, records, size,
                                    CANARY_RATE, timeout)

    def producer():
        log("%s: bare producer, %d records" % (tag, records))
        r = run_tool([PRODUCE, "-b", bootstrap, "-t", topics["produce"], "--records",
                      str(records), "--message-size", str(size), "--seconds", str(timeout)],
                     timeout + 60)
        if r["persisted"] != records:
            raise ClusterError("bare producer: %s" % r)
        out["produce"] = r

    for step in ((canary, producer) if kcanary_first else (producer, canary)):
        step()

    # The verifier's topic: start positions stored while it is empty, then a fill.
    prime_verifier(bootstrap, topics["verify"], workdir)
    log("%s: filling %s with %d canary records" % (tag, topics["verify"], fill))
    canary_fill(bootstrap, topics["verify"], workdir, fill, size, fill_rate, timeout)
    wm = run_tool([CONSUME, "-b", bootstrap, "-t", topics["verify"],
                   "--watermarks-only", "true"], 60)
    if wm["low"] != 0:
        raise ClusterError("%s lost its oldest records before the read (log start %d): the "
                           "mock keeps about 5 MiB per partition; use fewer records"
                           % (topics["verify"], wm["low"]))
    expected = out["expected"] = wm["expected"]

    def verifier():
        log("%s: verifier, %d records" % (tag, expected))
        out["verify"] = measure_verifier(bootstrap, topics["verify"], workdir, expected, timeout,
                                         fetch)

    def consumer():
        log("%s: bare consumer, %d records" % (tag, expected))
        r = run_tool([CONSUME, "-b", bootstrap, "-t", topics["verify"],
                      "--timeout-seconds", str(timeout)] + fetch, timeout + 60)
        if not r["complete"] or r["records"] != expected:
            raise ClusterError("bare consumer: %s" % r)
        out["consume"] = r

    for step in ((verifier, consumer) if kcanary_first else (consumer, verifier)):
        step()
    log("%s: verifier %.0f/s, bare consumer %.0f/s; canary %.0f/s, bare producer %.0f/s"
        % (tag, out["verify"]["rate"] or 0, out["consume"]["records_per_s"],
           out["canary"]["rate"] or 0, out["produce"]["records_per_s"]))
    return out


def run_topics(run):
    return {"canary": "kcanary-canary-%d" % run, "produce": "bare-produce-%d" % run,
            "verify": "kcanary-verify-%d" % run}


def run_mock(args, workdir):
    results = []
    for run in range(args.runs):
        topics = run_topics(run)
        spec = {topics["canary"]: args.partitions, topics["produce"]: args.partitions,
                topics["verify"]: args.mock_verify_partitions}
        mock = MockCluster(spec, max_seconds=1800)
        try:
            results.append(one_run("mock", mock.bootstrap, topics, args, run, workdir))
        finally:
            mock.close()
    return results


def run_real(args, workdir):
    results = []
    with LocalKafkaCluster(nodes=3, controllers=1) as cluster:
        brokers = sorted(cluster.broker_ids)
        # Every broker leads as many partitions as the others (kcanary's own layout).
        layout = [[brokers[(p + i) % len(brokers)] for i in range(3)]
                  for p in range(args.partitions)]
        for run in range(args.runs):
            topics = run_topics(run)
            for t in topics.values():
                cluster.create_topic(t, replica_assignment=layout,
                                     configs={"min.insync.replicas": "2"})
            results.append(one_run("real", cluster.bootstrap, topics, args, run, workdir))
    return results


def rows_for(platform, runs, args):
    name = {"mock": "mock", "real": "real-3-brokers"}[platform]
    records = args.records_for[platform]
    vparts = args.mock_verify_partitions if platform == "mock" else args.partitions
    real = ", rf 3, min.insync.replicas 2" if platform == "real" else ""
    order = "kcanary ran first in runs %s" % ",".join(
        str(i + 1) for i, r in enumerate(runs) if r["kcanary_first"])
    vshape = "%d partitions%s, %d-byte canary records, %s records per run" % (
        vparts, real, args.message_size, "/".join(str(r["expected"]) for r in runs))
    cshape = "%d partitions%s, %d-byte records, %d records per run" % (
        args.partitions, real, args.message_size, records)

    def ok(r):
        return r >= 0.8

    def cpu_per_record(r, key):
        return r["cpu_seconds"] * 1e6 / r[key]

    found = [r["verify"]["anomalies"] for r in runs]
    consumer, producer = "bare librdkafka consumer", "bare librdkafka producer"
    return [
        results_json.row(
            "verifier throughput (pre-filled topic, first record to last)", name, "records/s",
            [r["verify"]["rate"] for r in runs], [r["consume"]["records_per_s"] for r in runs],
            consumer, "≥ 0.8", ok,
            "kcanary verify (decode, classify, RocksDB write and commit per batch) from its "
            "stored start offset 0; timed by kcanary_last_received_timestamp_seconds; %s; %s%s"
            % (vshape, order, "; both readers with fetch.wait.max.ms=10 (see README)"
               if platform == "mock" else "")),
        results_json.row(
            "verifier throughput incl. startup (process start to last record)", name,
            "records/s", [r["verify"]["rate_from_start"] for r in runs],
            [r["consume"]["records_per_s_from_start"] for r in runs], consumer, None, None,
            "includes exec, RocksDB open, metadata and assignment (and up to %d ms of "
            "sampling); informational" % (POLL * 1000)),
        results_json.row(
            "verifier CPU per record", name, "CPU µs per record",
            [r["verify"]["cpu_us"] for r in runs],
            [cpu_per_record(r["consume"], "records") for r in runs], consumer, None, None,
            "user+sys of the whole process; kcanary: between its first and last samples, "
            "bare: whole process life. Less sensitive to other load on the machine than "
            "records/s"),
        results_json.row(
            "verifier anomalies in the bench run (lost, duplicated, unexpected, ...)", name,
            "records", [sum(f.values()) for f in found], None, None, "= 0", None,
            "classes that must stay 0 (%s); per run: %s; received %s of %s" % (
                ", ".join(ANOMALIES), json.dumps(found),
                [r["verify"]["received"] for r in runs], [r["expected"] for r in runs])),
        results_json.row(
            "canary throughput (acked records/s, first ack to the N-th)", name, "records/s",
            [r["canary"]["rate"] for r in runs], [r["produce"]["records_per_s"] for r in runs],
            producer, "≥ 0.8", ok,
            "kcanary canary --rate %s per partition (encode with outcome summary, state write "
            "per tick, delivery report per record) timed by "
            "kcanary_last_acked_timestamp_seconds; bare: same acks=all, idempotence, "
            "linger.ms=5, a delivery report per record; %s; %s" % (CANARY_RATE, cshape, order)),
        results_json.row(
            "canary throughput incl. startup (process start to the N-th ack)", name,
            "records/s", [r["canary"]["rate_from_start"] for r in runs],
            [r["produce"]["records_per_s_from_start"] for r in runs], producer, None, None,
            "includes exec, state load and metadata; informational"),
        results_json.row(
            "canary CPU per record", name, "CPU µs per record",
            [r["canary"]["cpu_us"] for r in runs],
            [cpu_per_record(r["produce"], "persisted") for r in runs], producer, None, None,
            "user+sys of the whole process, as for the verifier"),
    ]


def finish_anomaly_row(rows):
    for r in rows:
        if r["goal"] == "= 0":
            r["met"] = all(s == 0 for s in r["samples"])
    return rows


def print_table(rows):
    def fmt(v):
        if v is None:
            return "-"
        return "%.3f" % v if isinstance(v, float) and v < 10 else "%.0f" % v
    head = ("platform", "benchmark", "metric", "kcanary", "baseline", "ratio", "goal", "met")
    lines = [head]
    for r in rows:
        lines.append((r["platform"], r["benchmark"], r["metric"], fmt(r["kcanary"]),
                      fmt(r["baseline"]), fmt(r["ratio"]), r["goal"] or "-",
                      {True: "yes", False: "NO", None: "-"}[r["met"]]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for line in lines:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--platform", choices=("mock", "real", "both"), default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--records", type=int, default=None,
                    help="records the canary and the bare producer write per run (default: "
                    "2000000 on the mock, 300000 on the real cluster)")
    ap.add_argument("--verify-records", type=int, default=None,
                    help="records in the verifier's pre-filled topic (default: 12000 per "
                    "partition on the mock, which keeps about 5 MiB per partition; 1500000 "
                    "on the real cluster)")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--mock-verify-partitions", type=int, default=240,
                    help="partitions of the verifier's topic on the mock (its small logs need "
                    "more partitions for a read long enough to time)")
    ap.add_argument("--message-size", type=int, default=256)
    ap.add_argument("--timeout", type=int, default=180,
                    help="bound in seconds on each timed step")
    ap.add_argument("--out", default=RESULTS)
    ap.add_argument("--keep-workdir", action="store_true")
    args = ap.parse_args()
    if args.runs < 1 or args.partitions < 1:
        ap.error("--runs and --partitions must be at least 1")
    args.records_for = {"mock": args.records or 2_000_000, "real": args.records or 300_000}
    mock_fill = args.verify_records or 12_000 * args.mock_verify_partitions
    # On the mock the fill is paced to take about 3 s, so that the records the
    # canary writes after the target (before SIGTERM lands) stay few and the
    # mock's small logs keep every record.
    args.fill_for = {
        "mock": (mock_fill, max(1, round(mock_fill / args.mock_verify_partitions / 3))),
        # With the fetch-queue thresholds lifted the real cluster hands over
        # ~1 million records/s: 1.5 million make a read of over a second.
        "real": (args.verify_records or 1_500_000, CANARY_RATE),
    }
    for tool in (MOCK, CONSUME, PRODUCE):
        if not os.access(tool, os.X_OK):
            sys.exit("%s missing: build first (./scripts/build.sh)" % tool)

    platforms = ("mock", "real") if args.platform == "both" else (args.platform,)
    load_start = results_json.loadavg()
    workdir = tempfile.mkdtemp(prefix="kcanary-bench-throughput-")
    rows = []
    try:
        for platform in platforms:
            log("platform %s: %d run(s)" % (platform, args.runs))
            # State of its own per platform: a canary or verifier that resumed
            # state from another cluster would rightly report inconsistencies.
            pdir = os.path.join(workdir, platform)
            os.makedirs(pdir)
            runs = run_mock(args, pdir) if platform == "mock" else run_real(args, pdir)
            rows += finish_anomaly_row(rows_for(platform, runs, args))
    finally:
        kill_all()
        if args.keep_workdir:
            log("logs and state kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    command = " ".join(["python3", "bench/throughput/run.py"] + sys.argv[1:])
    results_json.write(args.out, "throughput", command, rows,
                       {"loadavg_start": load_start, "loadavg_end": results_json.loadavg()})
    print_table(rows)
    log("wrote %s" % os.path.relpath(args.out, os.getcwd()))


if __name__ == "__main__":
    main()
