"""Helpers shared by bench/sidecar/run.py and bench/peers/run.py.

- machine(): the machine a result was measured on (nproc, CPU model, memory,
  kernel, librdkafka, Java, Kafka, kcanary commit).
- write_results(): bench/results/<name>.json in the suite's common shape.
- thread_stats(): CPU ticks and context switches of each live thread.
- ProcSampler: samples a process's CPU time (utime+stime of /proc/PID/stat,
  which includes its exited threads) and VmRSS/VmHWM (/proc/PID/status)
  in a background thread, once per `interval` seconds.
- wait_rusage(): waits for a child and returns its exit code and ru_maxrss
  (the kernel's exact peak RSS of that process, as VmHWM just before exit).
- row(): one result row with medians over the runs.
- kcanary_on_new_topic(): `kcanary run` on a fresh topic of a real cluster.

Nothing here starts a process it does not also know how to stop; the callers
kill what they start in `finally` blocks.
"""
import contextlib
import datetime
import itertools
import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RESULTS = os.path.join(REPO, "bench", "results")
CLK_TCK = os.sysconf("SC_CLK_TCK")
KIB_PER_MIB = 1024.0

sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from machine import machine_info, median  # noqa: E402,F401  (bench/machine.py)
from kcanary_proc import Kcanary  # noqa: E402  (tests/e2e)


def machine(kafka_version=None):
    return machine_info(kafka_version)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(benchmark, platform_, metric, samples, baseline_samples=None, baseline_name=None,
        goal=None, met=None, notes="", digits=3, **extra):
    """One result row: kcanary/baseline are medians of the samples."""
    k = median(samples)
    b = median(baseline_samples or [])
    r = {"benchmark": benchmark, "platform": platform_, "metric": metric,
         "kcanary": None if k is None else round(k, digits),
         "baseline": None if b is None else round(b, digits),
         "baseline_name": baseline_name if b is not None else None,
         "ratio": round(k / b, 3) if k is not None and b else None,
         "goal": goal, "met": met, "runs": len(samples),
         "samples": [None if s is None else round(s, digits) for s in samples],
         "baseline_samples": [None if s is None else round(s, digits)
                              for s in (baseline_samples or [])],
         "notes": notes}
    r.update(extra)
    return r


def write_results(name, command, rows, machine_info, **extra):
    os.makedirs(RESULTS, exist_ok=True)
    doc = {"name": name, "generated": utc_now(), "command": command,
           "machine": machine_info, "rows": rows}
    doc.update(extra)
    path = os.path.join(RESULTS, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return path


# ------------------------------------------------------------------ /proc
def _stat_ticks(path):
    """utime + stime from a /proc .../stat file, in ticks."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after "pid (comm)": state is fields[0]; utime = field 14 -> index 11
    return int(fields[11]) + int(fields[12])


def cpu_ticks(pid):
    """utime + stime of the process (its exited threads included), in ticks."""
    return _stat_ticks("/proc/%d/stat" % pid)


def thread_stats(pid):
    """{tid: (name, cpu ticks, voluntary, involuntary context switches)} of
    the process's live threads (a thread that exits meanwhile is left out)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            ticks = _stat_ticks(base + "stat")
            switches = {}
            with open(base + "status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                        switches[key] = int(value)
        except OSError:
            continue
        out[tid] = (name, ticks, switches.get("voluntary_ctxt_switches", 0),
                    switches.get("nonvoluntary_ctxt_switches", 0))
    return out


def mem_kib(pid):
    """(VmRSS, VmHWM) in KiB."""
    rss = hwm = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class ProcSampler:
    """Samples (monotonic time, cpu ticks, VmRSS KiB, VmHWM KiB) of one pid
    every `interval` s until stop() or the process is gone; bounded by
    max_seconds in any case."""

    def __init__(self, pid, interval=1.0, max_seconds=3600):
        self.pid = pid
        self.interval = interval
        self.max_seconds = max_seconds
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._sample()
        self._thread.start()
        return self

    def _sample(self):
        try:
            t = time.monotonic()
            ticks = cpu_ticks(self.pid)
            rss, hwm = mem_kib(self.pid)
        except (OSError, IndexError, ValueError):
            return False
        self.samples.append((t, ticks, rss, hwm))
        return True

    def _loop(self):
        end = time.monotonic() + self.max_seconds
        nxt = time.monotonic() + self.interval
        while not self._stop.is_set() and time.monotonic() < end:
            self._stop.wait(max(0.0, nxt - time.monotonic()))
            nxt += self.interval
            if self._stop.is_set() or not self._sample():
                break

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()
        return self.samples

    def peak_hwm_kib(self):
        vals = [s[3] for s in self.samples if s[3] is not None]
        return max(vals) if vals else None

    def cpu_percent_windows(self, since, window):
        """CPU % of one core per window of `window` s starting at `since`
        (monotonic), from the per-interval samples; and the mean over
        [since, last sample]."""
        pts = [s for s in self.samples if s[0] >= since]
        if len(pts) < 2:
            return [], None
        out = []
        start = pts[0]
        for s in pts[1:]:
            if s[0] - start[0] >= window - self.interval / 2:
                out.append(100.0 * (s[1] - start[1]) / CLK_TCK / (s[0] - start[0]))
                start = s
        mean = 100.0 * (pts[-1][1] - pts[0][1]) / CLK_TCK / (pts[-1][0] - pts[0][0])
        return out, mean


def wait_rusage(proc, timeout):
    """Wait (bounded) for a Popen child; returns (exit code, ru_maxrss KiB).
    Kills it (SIGKILL) if it is still running after timeout, and then
    returns exit code None."""
    end = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, ru.ru_maxrss
        if time.monotonic() >= end:
            proc.send_signal(signal.SIGKILL)
            pid, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return None, ru.ru_maxrss
        time.sleep(0.05)


def kill_quietly(proc):
    """SIGKILL and reap a Popen child if it still runs (cleanup paths)."""
    if proc is None or proc.returncode is not None:
        return
    try:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    except (OSError, subprocess.TimeoutExpired, ChildProcessError):
        pass


_topic_numbers = itertools.count(1)


@contextlib.contextmanager
def kcanary_on_new_topic(cluster, name, partitions, rate, extra=(), binary=None, keep=False):
    """`kcanary run` (tests/e2e Kcanary; `binary` default: this tree's build)
    on a new topic of `cluster` with `partitions`, replication factor 3 and
    min.insync.replicas 2, at `rate` records/s per partition, in a new work
    dir. On exit kcanary is stopped, the topic deleted and, unless `keep`,
    the work dir removed."""
    wd = tempfile.mkdtemp(prefix="kcanary-bench-%s-" % name)
    topic = "%s-%d-%d" % (name, os.getpid(), next(_topic_numbers))
    k = None
    try:
        cluster.create_topic(topic, partitions=partitions, replication_factor=3,
                             configs={"min.insync.replicas": "2"}, timeout=60)
        k = Kcanary("run", cluster.bootstrap, topic, wd, binary=binary,
                    extra=["--rate", str(rate), "--manage-topic=false"] + list(extra))
        yield k
    finally:
        if k is not None:
            k.stop()
        try:
            cluster.delete_topic(topic)
        except Exception as e:  # the cluster goes away at the end anyway
            print("delete topic %s: %s" % (topic, e), flush=True)
        if not keep:
            shutil.rmtree(wd, ignore_errors=True)
