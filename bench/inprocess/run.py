#!/usr/bin/env python3
"""In-process benchmarks of kcanary: bounded state, detection latency, restart.

    bench/inprocess/run.py                       # ~10 minutes: 10^6 and 10^7 records
    bench/inprocess/run.py --records 1e8         # adds the 10^8 checkpoint
    bench/inprocess/run.py --runs 5 --skip restart

Writes bench/results/inprocess.json and prints the table. Needs the build
(./scripts/build.sh): build/bench/inprocess/kcanary-bench-state,
kcanary-bench-mock-cluster and build/app/kcanary. What each part measures is in
bench/inprocess/README.md.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import benchjson  # noqa: E402

BUILD = os.path.join(REPO, "build")
STATE_BIN = os.path.join(BUILD, "bench", "inprocess", "kcanary-bench-state")
MOCK_BIN = os.path.join(BUILD, "bench", "inprocess", "kcanary-bench-mock-cluster")
KCANARY = os.environ.get("KCANARY_BIN") or os.path.join(BUILD, "app", "kcanary")
MIB = 1024.0 * 1024.0


def log(msg, t0=[time.monotonic()]):
    print("[%6.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def exponent(n):
    e = len(str(int(n))) - 1
    return "10^%d" % e if int(n) == 10 ** e else "{:,}".format(int(n))


# ------------------------------------------------------------ in-process tool

def state_tool(args, workdir, name, extra, timeout):
    """Runs kcanary-bench-state; returns its JSON events."""
    state_dir = os.path.join(workdir, name)
    cmd = [STATE_BIN, "--state-dir", state_dir] + [str(x) for x in extra]
    log("  " + " ".join(cmd[1:]))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (cmd, out.returncode, out.stderr[-3000:]))
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    shutil.rmtree(state_dir, ignore_errors=True)
    return events


def tool_timeout(records):
    # Bounded, but generous: the pipeline runs at a few 10^5 records/s.
    return max(600, int(records / 20000))


def flat(values, previous, slack):
    """Flat: at most 10 % above the earlier checkpoint, or within `slack` of it."""
    return values <= previous * 1.10 or values - previous <= slack


STATE_METRICS = [
    # (key, benchmark label, metric, scale, flatness slack in the metric's unit)
    ("detector_state_bytes", "detector state (serialized PartitionStates)", "bytes", 1, 1024),
    ("dir_bytes_settled", "RocksDB dir on disk, flushed", "MiB", MIB, 1.0),
    ("state_bytes_metric", "kcanary_state_bytes (SST+WAL+memtables)", "MiB", MIB, 4.0),
    ("vm_rss_bytes", "process VmRSS", "MiB", MIB, 8.0),
    ("vm_hwm_bytes", "process VmHWM (peak RSS)", "MiB", MIB, 8.0),
]


def bounded_state(args, workdir):
    rows = []
    partitions = args.partitions
    common = ["--partitions", partitions, "--records", args.records]
    runs = []
    for i in range(args.runs):
        log("bounded state, healthy, run %d/%d" % (i + 1, args.runs))
        events = state_tool(args, workdir, "state-%d" % i, common, tool_timeout(args.records))
        runs.append([e for e in events if e["event"] == "checkpoint"])
    checkpoints = [c["records"] for c in runs[0]]
    for key, label, metric, scale, slack in STATE_METRICS:
        prev = None
        for k, n in enumerate(checkpoints):
            samples = [r[k][key] / scale for r in runs]
            goal = met = None
            base = None
            if prev is not None:
                base = prev
                goal = "flat"
                met = flat(statistics.median(samples), statistics.median(prev), slack)
            notes = ""
            if key == "vm_rss_bytes":
                notes = ("includes the benchmark's own log ring (%.0f MiB, fixed size), not "
                         "part of kcanary" % (runs[0][k]["ring_bytes"] / MIB))
            rows.append(benchjson.row(
                "bounded state: %s after %s records (%d partitions, healthy)" % (
                    label, exponent(n), partitions),
                metric, samples, baseline_samples=base,
                baseline_name=("same after %s" % exponent(checkpoints[k - 1])) if base else None,
                goal=goal, met=met, notes=notes))
            prev = samples
    for k, n in enumerate(checkpoints):
        rows.append(benchjson.row(
            "pipeline speed (decode, detect, RocksDB write per batch) up to %s records" %
            exponent(n), "records/s", [r[k]["pipeline_records_per_s"] for r in runs],
            notes="time inside the pipeline only; generating and encoding the records is "
                  "excluded. Batches of %d, fetch chunks of 4096 per partition" % 10000))

    if args.anomaly_per_million > 0:
        log("bounded state, %.1f losses + %.1f duplicates per million, 1 run" % (
            args.anomaly_per_million, args.anomaly_per_million))
        events = state_tool(args, workdir, "sprinkle", common + [
            "--loss-per-million", args.anomaly_per_million,
            "--dup-per-million", args.anomaly_per_million], tool_timeout(args.records))
        cps = [e for e in events if e["event"] == "checkpoint"]
        done = [e for e in events if e["event"] == "done"][0]
        for c in cps:
            rows.append(benchjson.row(
                "bounded state with anomalies: detector state after %s records" %
                exponent(c["records"]), "bytes", [c["detector_state_bytes"]],
                notes="%d anomalies injected so far (%.1f lost + %.1f duplicated per million); "
                      "state grows with anomalies only, each map capped at 50,000 runs" % (
                          c["anomalies"], args.anomaly_per_million, args.anomaly_per_million)))
        for c in cps:
            rows.append(benchjson.row(
                "bounded state with anomalies: VmRSS after %s records" % exponent(c["records"]),
                "MiB", [c["vm_rss_bytes"] / MIB],
                notes="detected lost: %d (all injected losses)" % done["lost"]))
    return rows


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def latency_runs(args, workdir, live):
    """Per-run (median, p99, events) of one fetch model."""
    out = []
    # A live batch carries one record per partition: far fewer records per second.
    records = args.live_latency_records if live else args.latency_records
    for i in range(args.runs):
        log("detection latency (%s), run %d/%d" % ("live" if live else "backlog", i + 1,
                                                   args.runs))
        events = state_tool(args, workdir, "latency-%d" % i, [
            "--mode", "latency", "--partitions", args.partitions, "--live", int(live),
            "--records", records, "--loss-every", args.loss_every], tool_timeout(records))
        lat = [e for e in events if e["event"] == "latency"][0]["seconds"]
        if not lat:
            raise RuntimeError("no loss was detected")
        out.append((statistics.median(lat), percentile(lat, 0.99), len(lat)))
    return out


def detection_latency(args, workdir):
    rows = []
    for live in (True, False):
        runs = latency_runs(args, workdir, live)
        model = ("live: verifier caught up, each batch one new record per partition"
                 if live else
                 "backlog: batches of 10,000 in 4096-record chunks round-robin over %d "
                 "partitions, so the re-read waits its turn" % args.partitions)
        notes = ("%s. From the batch holding the proof (the record now at the lost one's acked "
                 "offset, whose summary names the lost one there) being handed to the pipeline "
                 "to the lost total growing in the Metrics object; includes the detector's "
                 "re-read from 10,000 offsets below (its rewind). Losses per run: %s. A running "
                 "kcanary adds the seek's fetch round trips, the 100 ms batch window per batch "
                 "and the scrape interval (counters sync on /metrics)" % (
                     model, ", ".join(str(n) for _, _, n in runs)))
        name = "live" if live else "backlog"
        rows.append(benchjson.row(
            "detection latency (%s): lost record read past -> lost counter, median" % name,
            "s", [m for m, _, _ in runs], notes=notes))
        rows.append(benchjson.row(
            "detection latency (%s): lost record read past -> lost counter, p99" % name,
            "s", [p for _, p, _ in runs], notes="per-run p99 of the events above"))
    return rows


# ------------------------------------------------------------ restart

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1) as r:
        return r.status, r.read().decode()


def poll(fn, limit, step=0.02):
    """Calls fn() every `step` s until it returns true; its time, or None past `limit`."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            if fn():
                return time.monotonic()
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        time.sleep(step)
    return None


class Mock:
    """kcanary-bench-mock-cluster in its own process."""

    def __init__(self, topic, partitions, prefill, max_seconds):
        cmd = [MOCK_BIN, "--topic", topic, "--partitions", str(partitions),
               "--max-seconds", str(max_seconds)]
        if prefill:
            cmd += ["--prefill", prefill]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.bootstrap = None
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()
        reader.join(180)
        if not self.bootstrap:
            self.stop()
            raise RuntimeError("mock cluster did not start")

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("bootstrap="):
                self.bootstrap = line.strip().split("=", 1)[1]
                return

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Verify:
    """One `kcanary verify` process on a fixed port."""

    def __init__(self, bootstrap, topic, state_dir, log_path):
        self.port = free_port()
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [KCANARY, "verify", "-b", bootstrap, "-t", topic, "--state-dir", state_dir,
             "--listen", "127.0.0.1:%d" % self.port], stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self):
        return http_get(self.port, "/readyz")[0] == 200

    def consuming(self):
        return json.loads(http_get(self.port, "/status")[1]).get("consuming") is True

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def restart_cycles(bootstrap, topic, state_dir, workdir, cycles):
    """Warm-up start, then `cycles` times kill -9 and restart; seconds to ready/consuming."""
    log_path = os.path.join(workdir, os.path.basename(state_dir) + ".log")
    v = Verify(bootstrap, topic, state_dir, log_path)
    procs = [v]
    ready, consuming = [], []
    try:
        if poll(v.consuming, 120) is None:
            raise RuntimeError("kcanary verify never consumed; see %s" % log_path)
        time.sleep(2)
        for _ in range(cycles):
            t0 = time.monotonic()
            v.kill()
            v = Verify(bootstrap, topic, state_dir, log_path)
            procs.append(v)
            t_ready = poll(v.ready, 120)
            t_consuming = poll(v.consuming, 120)
            if t_ready is None or t_consuming is None:
                raise RuntimeError("kcanary verify not ready after restart; see %s" % log_path)
            ready.append(t_ready - t0)
            consuming.append(t_consuming - t0)
            time.sleep(2)  # let it run (prune, metadata) before the next kill
    finally:
        for p in procs:
            p.kill()
    return ready, consuming


def restart(args, workdir):
    topic = "kcanary-bench"
    p, k = args.restart_partitions, args.restart_records_per_partition
    big = os.path.join(workdir, "restart-large")
    log("restart: building a large verifier state (%d partitions x %d sequences, one duplicate "
        "in %d)" % (p, k, args.dup_every))
    cmd = [STATE_BIN, "--mode", "build", "--state-dir", big, "--namespace", topic,
           "--partitions", str(p), "--records", str(p * k), "--chunk", str(k),
           "--dup-every", str(args.dup_every), "--checkpoints", str(p * k)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError("build failed:\n" + out.stderr[-3000:])
    done = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")][-1]
    prefill = os.path.join(workdir, "prefill.txt")
    with open(prefill, "w") as f:
        for part, pos in sorted(done["positions"].items(), key=lambda x: int(x[0])):
            f.write("%s %d\n" % (part, pos))
    log("restart: mock cluster with %d partitions, prefilled to the state's positions" % p)
    mock = Mock(topic, p, prefill, max_seconds=1800)
    try:
        small = os.path.join(workdir, "restart-small")
        log("restart: %d kill -9 cycles, small (healthy) state" % args.restart_cycles)
        small_ready, small_cons = restart_cycles(mock.bootstrap, topic, small, workdir,
                                                 args.restart_cycles)
        small_mib = benchjson_dir_mib(small)
        big_mib_before = benchjson_dir_mib(big)
        log("restart: %d kill -9 cycles, large state (%.1f MiB)" % (
            args.restart_cycles, big_mib_before))
        big_ready, big_cons = restart_cycles(mock.bootstrap, topic, big, workdir,
                                             args.restart_cycles)
        big_mib = benchjson_dir_mib(big)
    finally:
        mock.stop()
    what = "kcanary verify, %d partitions, mock cluster in another process" % p
    base_name = "same, healthy state (%.2f MiB dir)" % small_mib
    notes = ("large state: %d duplicates per partition from kcanary-bench-state --mode build, "
             "detector state %.1f MiB serialized; dir %.1f MiB before the cycles, %.1f MiB "
             "after. Timed from sending SIGKILL (the harness waits for the exit, then execs) "
             "to the first 200 of /readyz, polled every 20 ms" % (
                 k // args.dup_every, done["detector_state_bytes"] / MIB, big_mib_before,
                 big_mib))
    return [
        benchjson.row("restart: kill -9 -> /readyz ready, large state (%s)" % what, "s",
                      big_ready, platform_name="mock", baseline_samples=small_ready,
                      baseline_name=base_name, notes=notes),
        benchjson.row("restart: kill -9 -> consuming (partitions assigned at stored "
                      "positions), large state", "s", big_cons, platform_name="mock",
                      baseline_samples=small_cons, baseline_name=base_name,
                      notes="/status consuming=true, polled every 20 ms after ready"),
        benchjson.row("restart: state dir size, large state", "MiB", [big_mib],
                      platform_name="mock", baseline_samples=[small_mib],
                      baseline_name="healthy state", notes="after the cycles"),
    ]


def benchjson_dir_mib(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / MIB


# ------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--records", type=float, default=1e7,
                    help="records for the bounded-state runs (1e8 adds the 10^8 checkpoint)")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--anomaly-per-million", type=float, default=3.0,
                    help="losses and duplicates per million in the extra anomaly run (0: none)")
    ap.add_argument("--latency-records", type=float, default=2e6)
    ap.add_argument("--live-latency-records", type=float, default=1e6)
    ap.add_argument("--loss-every", type=int, default=20000,
                    help="latency runs: one loss per this many sequences of a partition")
    ap.add_argument("--restart-partitions", type=int, default=256)
    ap.add_argument("--restart-records-per-partition", type=int, default=6000)
    ap.add_argument("--dup-every", type=int, default=3)
    ap.add_argument("--restart-cycles", type=int, default=5)
    ap.add_argument("--skip", action="append", default=[],
                    choices=["state", "latency", "restart"])
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "inprocess.json"))
    args = ap.parse_args()
    args.records = int(args.records)
    args.latency_records = int(args.latency_records)
    args.live_latency_records = int(args.live_latency_records)
    for path in (STATE_BIN, MOCK_BIN, KCANARY):
        if not os.access(path, os.X_OK):
            sys.exit("%s missing: build first (./scripts/build.sh)" % path)

    workdir = tempfile.mkdtemp(prefix="kcanary-bench-inprocess-")
    rows = []
    try:
        if "state" not in args.skip:
            rows += bounded_state(args, workdir)
        if "latency" not in args.skip:
            rows += detection_latency(args, workdir)
        if "restart" not in args.skip:
            rows += restart(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    command = "bench/inprocess/run.py " + " ".join(sys.argv[1:])
    name = os.path.splitext(os.path.basename(args.out))[0]
    doc = benchjson.results_doc(name, command.strip(), rows)
    benchjson.write(doc, args.out)
    print(benchjson.table(rows))
    log("wrote %s" % os.path.relpath(args.out, REPO))


if __name__ == "__main__":
    main()
