"""A real on-call path for tests: Prometheus -> Alertmanager -> a webhook.

MonitoringStack starts, on 127.0.0.1 and in a directory of the test's:
- a webhook receiver (a thread of this process) that records every
  notification Alertmanager posts, with the time it arrived;
- Alertmanager (Debian `prometheus-alertmanager`, HA gossip off) with
  deploy/alertmanager/kcanary.yml as shipped, its pager and ticket receivers'
  URLs replaced by the webhook's /pager and /tickets;
- Prometheus (Debian `prometheus`) scraping the given kcanary listeners as job
  "kcanary" every second and evaluating deploy/prometheus/kcanary-rules.yml,
  unmodified, every second.

Both servers are kill -9'd by stop() (and the context manager's exit).
Prometheus's config is written as JSON, which it reads as YAML.
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

from cluster import ClusterError, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
RULES = os.path.join(REPO, "deploy", "prometheus", "kcanary-rules.yml")
ROUTES = os.path.join(REPO, "deploy", "alertmanager", "kcanary.yml")
# the shipped routes' receiver URLs, and the webhook path each becomes
RECEIVER_URLS = {"https://pager.example.com/hooks/kcanary": "/pager",
                 "https://tickets.example.com/hooks/kcanary": "/tickets"}


def find_binary(*names):
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """HTTP server recording each POSTed JSON body as
    (arrival time.time(), request path, body)."""

    def __init__(self):
        self.received = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                try:
                    doc = json.loads(body)
                except ValueError:
                    doc = {"unparsable": body.decode(errors="replace")}
                with receiver._lock:
                    receiver.received.append((arrived, self.path, doc))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):  # quiet: the test prints what matters
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def notifications(self):
        with self._lock:
            return list(self.received)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


class MonitoringStack:
    def __init__(self, workdir, targets, rules=RULES, interval="1s"):
        """targets: ["127.0.0.1:PORT", ...] of kcanary listeners to scrape."""
        self.prometheus_bin = find_binary("prometheus")
        self.alertmanager_bin = find_binary("prometheus-alertmanager", "alertmanager")
        if not self.prometheus_bin or not self.alertmanager_bin:
            raise ClusterError("prometheus and prometheus-alertmanager are needed "
                               "(Debian: apt-get install prometheus prometheus-alertmanager)")
        self.dir = os.path.join(workdir, "monitoring")
        os.makedirs(self.dir, exist_ok=True)
        self.procs = []
        self.webhook = WebhookReceiver()
        try:
            self.am_port = free_port()
            self._start_alertmanager()
            self.prom_port = free_port()
            self._start_prometheus(targets, rules, interval)
        except Exception:
            self.stop()
            raise

    # -- servers
    def _spawn(self, name, cmd, ready_url):
        log_path = os.path.join(self.dir, name + ".log")
        logf = open(log_path, "ab")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT)
        logf.close()
        self.procs.append((name, proc, log_path))

        def ready():
            if proc.poll() is not None:
                raise ClusterError("%s exited with %s:\n%s" % (name, proc.returncode,
                                                               self.log_tail(name)))
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_for(ready, 30, 0.25, "%s ready at %s" % (name, ready_url))

    def _start_alertmanager(self):
        with open(ROUTES) as f:
            config = f.read()
        for url, path in RECEIVER_URLS.items():
            if url not in config:
                raise ClusterError("%s no longer has the receiver URL %s" % (ROUTES, url))
            config = config.replace(url, self.webhook.url + path)
        path = os.path.join(self.dir, "alertmanager.yml")
        with open(path, "w") as f:
            f.write(config)
        self._spawn("alertmanager", [
            self.alertmanager_bin, "--config.file=" + path,
            "--storage.path=" + os.path.join(self.dir, "alertmanager-data"),
            "--web.listen-address=127.0.0.1:%d" % self.am_port,
            "--cluster.listen-address=",  # no HA gossip: it would listen on every interface
        ], "http://127.0.0.1:%d/-/ready" % self.am_port)

    def _start_prometheus(self, targets, rules, interval):
        config = {
            "global": {"scrape_interval": interval, "scrape_timeout": interval,
                       "evaluation_interval": interval},
            "rule_files": [rules],
            "alerting": {"alertmanagers": [
                {"static_configs": [{"targets": ["127.0.0.1:%d" % self.am_port]}]}]},
            "scrape_configs": [{"job_name": "kcanary",
                                "static_configs": [{"targets": list(targets)}]}],
        }
        path = os.path.join(self.dir, "prometheus.yml")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        self._spawn("prometheus", [
            self.prometheus_bin, "--config.file=" + path,
            "--storage.tsdb.path=" + os.path.join(self.dir, "prometheus-data"),
            "--web.listen-address=127.0.0.1:%d" % self.prom_port,
        ], "http://127.0.0.1:%d/-/ready" % self.prom_port)

    def log_tail(self, name, n=40):
        for nm, _, path in self.procs:
            if nm == name:
                with open(path, errors="replace") as f:
                    return "\n".join(f.read().splitlines()[-n:])
        return ""

    def stop(self):
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        self.webhook.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- Prometheus HTTP API
    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.prom_port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.loads(r.read().decode())
        if doc.get("status") != "success":
            raise ClusterError("Prometheus %s: %s" % (path, doc))
        return doc["data"]

    def query(self, expr, at=None):
        """The instant vector (or scalar) `expr` evaluates to, now or at `at`."""
        params = {"query": expr}
        if at is not None:
            params["time"] = "%.3f" % at
        return self.api("query", **params)["result"]

    def targets_up(self):
        active = self.api("targets")["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)

    def rule_count(self):
        return sum(len(g["rules"]) for g in self.api("rules")["groups"])

    def alerts(self):
        """Prometheus's active alerts: [{"labels", "annotations", "state", ...}]."""
        return self.api("alerts")["alerts"]
