"""One kcanary process under test: start, read its HTTP endpoints, signal it.

Shared by the real-Kafka tests (test_scenarios.py, test_topic_audit.py,
test_alerting.py). Each process listens on 127.0.0.1:0; the port is read from
its "serving ... on http://127.0.0.1:PORT" log line.
"""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request

from cluster import ClusterError, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
KCANARY = os.environ.get("KCANARY_BIN") or os.path.join(REPO, "build", "app", "kcanary")


def log(msg, t0=[time.monotonic()]):
    print("[%7.1fs] %s" % (time.monotonic() - t0[0], msg), flush=True)


def http_get(port, path, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read().decode()


def parse_prometheus(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


class Kcanary:
    """One kcanary process (run, canary or verify) with its state dir and log,
    both named after `name` (default: the role) inside workdir. bootstrap
    None: no -b (`kcanary run` on its embedded mock cluster). binary: another
    kcanary build (default KCANARY), for A/B benchmarks."""

    def __init__(self, role, bootstrap, topic, workdir, extra=(), name=None, binary=None):
        name = name or role
        self.role = role
        self.state_dir = os.path.join(workdir, name + "-state")
        self.log_path = os.path.join(workdir, name + ".log")
        # a restarted process appends to the same log: look for its own lines only
        self._log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.cmd = ([binary or KCANARY, role] +
                    (["-b", bootstrap] if bootstrap is not None else []) +
                    ["-t", topic, "--state-dir", self.state_dir, "--listen", "127.0.0.1:0"] +
                    list(extra))
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.port = wait_for(self._port, 20, what="%s HTTP listener" % role)

    def _port(self):
        if self.proc.poll() is not None:
            raise ClusterError("kcanary %s exited with %s:\n%s" % (
                self.role, self.proc.returncode, self.log_tail()))
        m = re.search(r"serving .* on http://127\.0\.0\.1:(\d+)", self.log_text())
        return int(m.group(1)) if m else None

    def log_text(self, whole=False):
        with open(self.log_path, errors="replace") as f:
            if not whole:
                f.seek(self._log_start)
            return f.read()

    def log_tail(self, n=60):
        return "\n".join(self.log_text(whole=True).splitlines()[-n:])

    def status(self):
        return json.loads(http_get(self.port, "/status"))

    def metrics(self):
        return parse_prometheus(http_get(self.port, "/metrics"))

    def metric_map(self):
        """{(name, ((label, value), ...sorted)): value} of every sample."""
        return {(name, tuple(sorted(labels.items()))): v for name, labels, v in self.metrics()}

    def total(self, name, **labels):
        """Sum of the samples of one metric whose labels include `labels`."""
        return sum(v for n, ls, v in self.metrics()
                   if n == name and all(ls.get(k) == str(x) for k, x in labels.items()))

    def stop(self, timeout=60):
        """SIGTERM and wait (bounded); returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise ClusterError("kcanary %s did not stop within %ds after SIGTERM" % (
                    self.role, timeout))
        self._log.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
