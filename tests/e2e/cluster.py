"""Local real-Kafka cluster for kcanary's end-to-end scenarios.

LocalKafkaCluster drives deploy/local/kafka-cluster (the single source of
truth for how nodes are configured, started and signalled) and adds the small
admin helpers the scenarios need, through the confluent-kafka Python package
(librdkafka's AdminClient; `pip install confluent-kafka`). Where librdkafka
does not expose something (ELR / LastKnownELR of a partition), Kafka's own
Java tools are run through the fetched classpath.

    with LocalKafkaCluster(nodes=3) as c:
        c.create_topic("t", replica_assignment=[[1, 2, 3]],
                       configs={"min.insync.replicas": "2"})
        c.kill(c.describe_partition("t", 0)["leader"])

The context manager always tears the cluster down (kill -9 + delete its dir,
or keep the logs with keep_logs=True), also when the body raises.
"""

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TOOL = os.path.join(REPO, "deploy", "local", "kafka-cluster")


class ClusterError(RuntimeError):
    pass


def wait_for(pred, timeout, interval=0.25, what="condition"):
    """Poll pred() until it returns a truthy value (returned) or timeout (raise)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= end:
            raise ClusterError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def make_test_certs(d, days=2):
    """A throw-away CA and a broker certificate for 127.0.0.1, with openssl:
    d/ca.crt (what clients trust: ssl.ca.location), d/broker.pem (the
    broker's unencrypted PKCS#8 key + its certificate, what `kafka-cluster
    start --ssl-dir d` reads). Returns the path of ca.crt."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, "broker" + x) for x in (".key", ".csr", ".crt"))
    ext = os.path.join(d, "broker.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    steps = [
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
         "-out", ca_crt, "-days", str(days), "-subj", "/CN=kcanary test CA"],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
         "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise ClusterError("%s failed: %s" % (" ".join(cmd[:3]), r.stderr[-1000:]))
    with open(os.path.join(d, "broker.pem"), "w") as out:
        for path in (key, crt):
            with open(path) as f:
                out.write(f.read())
    return ca_crt


class LocalKafkaCluster:
    def __init__(self, nodes=3, controllers=0, dir=None, base_port=None,
                 features=(), broker_config=None, heap=None, kafka_version=None,
                 keep_logs=False, start_timeout=120, sasl_scram=(), sasl_plain=(),
                 ssl_dir=None):
        """nodes: brokers. controllers: 0 = every node is broker+controller
        (KRaft combined mode); K > 0 = K extra controller-only nodes (c1..cK),
        so that pausing or killing brokers never touches the metadata quorum.
        features: storage-format features, e.g. ["eligible.leader.replicas.version=0"].
        broker_config: dict of server.properties overrides for every node.
        sasl_scram, sasl_plain: [(user, password_file)]: a SASL_PLAINTEXT
        client listener with these SCRAM-SHA-512 / PLAIN users; ssl_dir: an
        SSL client listener with DIR/broker.pem (make_test_certs makes one),
        and SASL_SSL too with SASL users. Their bootstrap strings:
        listener_bootstrap("sasl"), ("ssl"), ("sasl_ssl")."""
        self.sasl_scram = list(sasl_scram)
        self.sasl_plain = list(sasl_plain)
        self.ssl_dir = ssl_dir
        self.nodes = nodes
        self.controllers = controllers
        self._own_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else tempfile.mkdtemp(prefix="kcanary-kafka-")
        self.base_port = base_port
        self.features = list(features)
        self.broker_config = dict(broker_config or {})
        self.heap = heap
        self.kafka_version = kafka_version
        self.keep_logs = keep_logs
        self.start_timeout = start_timeout
        self.state = None
        self._admin = None
        self._unavailable = set()  # node names this object paused or killed
        self._torn_down = False

    # ---------------------------------------------------------------- tool
    def _tool(self, *args, timeout=180, check=True, capture=True):
        cmd = [sys.executable, TOOL, "--dir", self.dir]
        if self.kafka_version:
            cmd += ["--kafka-version", self.kafka_version]
        cmd += [str(a) for a in args]
        try:
            r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ClusterError("kafka-cluster %s timed out after %ds" % (args[0], timeout))
        if check and r.returncode != 0:
            raise ClusterError("kafka-cluster %s failed (rc %d):\n%s" % (
                " ".join(map(str, args)), r.returncode, (r.stderr or "")[-3000:]))
        return r

    # ----------------------------------------------------------- lifecycle
    def start(self):
        args = ["start", "--json", "--nodes", self.nodes, "--controllers", self.controllers,
                "--timeout", self.start_timeout]
        if self.base_port:
            args += ["--base-port", self.base_port]
        if self.heap:
            args += ["--heap", self.heap]
        for f in self.features:
            args += ["--feature", f]
        for k, v in self.broker_config.items():
            args += ["--broker-config", "%s=%s" % (k, v)]
        for user, password_file in self.sasl_scram:
            args += ["--sasl-scram", "%s:%s" % (user, password_file)]
        for user, password_file in self.sasl_plain:
            args += ["--sasl-plain", "%s:%s" % (user, password_file)]
        if self.ssl_dir:
            args += ["--ssl-dir", self.ssl_dir]
        atexit.register(self._atexit)
        r = self._tool(*args, timeout=self.start_timeout + 120)
        self.state = json.loads(r.stdout)
        return self

    def _atexit(self):
        if not self._torn_down and self.state is not None:
            try:
                self.teardown()
            except Exception:
                pass

    def stop(self):
        self._tool("stop", timeout=300)

    def kill(self, node):
        self._tool("kill", node)
        self._unavailable.add(str(node))
        self._admin = None

    def pause(self, node):
        self._tool("pause", node)
        self._unavailable.add(str(node))
        self._admin = None

    def resume(self, node):
        self._tool("resume", node)
        self._unavailable.discard(str(node))

    def restart(self, node, hard=False, wait=True):
        args = ["restart", node] + (["--hard"] if hard else []) + ([] if wait else ["--no-wait"])
        self._unavailable.add(str(node))
        self._admin = None
        self._tool(*args, timeout=300)
        self._unavailable.discard(str(node))

    def start_node(self, node, wait=True):
        self._tool("start-node", node, *([] if wait else ["--no-wait"]), timeout=300)
        self._unavailable.discard(str(node))

    def add_broker(self, timeout=90):
        """Format and start one more broker-only node in the running cluster
        (next broker id, the brokers' common configuration; in combined mode
        too it is a broker only, not a voter). Waits until it is registered
        and unfenced; returns its id. bootstrap / live_bootstrap / broker_ids
        include it afterwards."""
        r = self._tool("add-broker", "--json", "--timeout", timeout, timeout=timeout + 180)
        node = json.loads(r.stdout)
        self._reload_state()
        self._admin = None  # bootstrap it with the new broker too
        return node["id"]

    def remove_broker(self, node, timeout=30):
        """Stop a broker-only node (SIGTERM, SIGKILL after timeout), unregister
        it from the controllers and drop it from the cluster (its dir goes,
        or only its data with keep_logs)."""
        self._admin = None
        self._tool("remove-broker", node, "--timeout", timeout,
                   *(["--keep-logs"] if self.keep_logs else []), timeout=2 * timeout + 120)
        self._unavailable.discard(str(node))
        self._reload_state()

    def _reload_state(self):
        """self.state from DIR/cluster.json, after the node set changed."""
        with open(os.path.join(self.dir, "cluster.json")) as f:
            self.state = json.load(f)

    def status(self):
        return json.loads(self._tool("status", "--json").stdout)

    def node_status(self, node):
        for n in self.status()["nodes"]:
            if str(node) in (str(n["id"]), n["name"]):
                return n["status"]
        raise ClusterError("no node %r" % node)

    def logs(self, node, lines=100):
        return self._tool("logs", node, "-n", lines).stdout

    def log_path(self, node):
        return self._tool("logs", node, "--path").stdout.strip()

    def teardown(self, keep_logs=None):
        if self._torn_down:
            return
        if self._admin is not None:
            self._admin = None
        keep = self.keep_logs if keep_logs is None else keep_logs
        self._tool("teardown", *(["--keep-logs"] if keep else []), timeout=120)
        if self._own_dir and not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._torn_down = True

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self._atexit_force()
            raise

    def _atexit_force(self):
        try:
            self._tool("teardown", *(["--keep-logs"] if self.keep_logs else []),
                       timeout=120, check=False)
        finally:
            self._torn_down = True

    def __exit__(self, *exc):
        self.teardown()
        return False

    @property
    def bootstrap(self):
        if self.state is None:
            raise ClusterError("cluster not started")
        return self.state["bootstrap"]

    def listener_bootstrap(self, listener):
        """Bootstrap string of an extra client listener: "sasl", "ssl", "sasl_ssl"."""
        got = (self.state or {}).get("listener_bootstrap", {})
        if listener not in got:
            raise ClusterError("the cluster has no %s listener (it has %s)" % (
                listener, sorted(got)))
        return got[listener]

    @property
    def live_bootstrap(self):
        """Bootstrap string of the brokers this object has not paused or
        killed. A client bootstrapped to a SIGSTOPped broker waits out its
        request timeout there (TCP still accepts), so admin calls use this."""
        live = ["127.0.0.1:%d" % n["broker_port"] for n in self.state["nodes"]
                if n["broker_port"] and n["name"] not in self._unavailable]
        return ",".join(live) or self.bootstrap

    @property
    def broker_ids(self):
        return [n["id"] for n in self.state["nodes"] if "broker" in n["roles"]]

    # ----------------------------------------------------- java tools
    def run_class(self, main_class, *args, timeout=120, check=True):
        r = self._tool("run-class", main_class, "--", *args, timeout=timeout, check=False)
        if check and r.returncode != 0:
            raise ClusterError("%s failed (rc %d): %s" % (main_class, r.returncode,
                                                          (r.stdout + r.stderr)[-2000:]))
        return r

    def describe_partition_java(self, topic, partition=0):
        """TopicCommand --describe, parsed: leader, replicas, isr, elr,
        last_known_elr (ELR fields are not exposed by librdkafka)."""
        r = self.run_class("org.apache.kafka.tools.TopicCommand", "--bootstrap-server",
                           self.live_bootstrap, "--describe", "--topic", topic)
        for line in r.stdout.splitlines():
            m = re.search(r"Partition:\s*(\d+)\s+Leader:\s*(-?\w+)\s+Replicas:\s*([\d,]*)\s+"
                          r"Isr:\s*([\d,]*)(?:\s+Elr:\s*([\d,]*))?(?:\s+LastKnownElr:\s*([\d,]*))?",
                          line)
            if m and int(m.group(1)) == partition:
                ids = lambda s: [int(x) for x in (s or "").split(",") if x]
                leader = m.group(2)
                return {"leader": int(leader) if leader.lstrip("-").isdigit() else -1,
                        "replicas": ids(m.group(3)), "isr": ids(m.group(4)),
                        "elr": ids(m.group(5)), "last_known_elr": ids(m.group(6)),
                        "raw": line.strip()}
        raise ClusterError("partition %s-%d not in TopicCommand output:\n%s" % (
            topic, partition, r.stdout[-2000:]))

    # ----------------------------------------------------- admin (librdkafka)
    def admin(self):
        """An AdminClient bootstrapped to the live brokers; rebuilt after a
        pause/kill so it does not keep asking a stopped broker."""
        if self._admin is None:
            from confluent_kafka.admin import AdminClient
            self._admin = AdminClient({"bootstrap.servers": self.live_bootstrap,
                                       "socket.timeout.ms": 5000})
        return self._admin

    def create_topic(self, name, partitions=1, replication_factor=None,
                     replica_assignment=None, configs=None, timeout=30):
        """replica_assignment: list per partition of broker ids, first = preferred
        leader, e.g. [[1, 2, 3]]. Waits until every partition has a leader."""
        from confluent_kafka.admin import NewTopic
        kw = {}
        if replica_assignment is not None:
            kw["replica_assignment"] = replica_assignment
            kw["num_partitions"] = len(replica_assignment)
            kw["replication_factor"] = -1
            partitions = len(replica_assignment)
        else:
            kw["num_partitions"] = partitions
            kw["replication_factor"] = replication_factor or min(3, len(self.broker_ids))
        if configs:
            kw["config"] = {k: str(v) for k, v in configs.items()}
        fut = self.admin().create_topics([NewTopic(name, **kw)], request_timeout=timeout)[name]
        fut.result(timeout=timeout)
        for p in range(partitions):
            self.wait_partition(name, p, lambda s: s["leader"] >= 0, timeout,
                                "a leader for new partition %s-%d" % (name, p))

    def delete_topic(self, name, timeout=30):
        self.admin().delete_topics([name], request_timeout=timeout)[name].result(timeout=timeout)

    def describe_partition(self, topic, partition=0, timeout=10):
        """{'leader': id or -1, 'replicas': [...], 'isr': [...]} from a fresh
        metadata request (whichever broker answers)."""
        md = self.admin().list_topics(topic=topic, timeout=timeout)
        t = md.topics.get(topic)
        if t is None or t.error is not None and not t.partitions:
            raise ClusterError("topic %s: %s" % (topic, t.error if t else "absent"))
        p = t.partitions.get(partition)
        if p is None:
            raise ClusterError("no partition %s-%d" % (topic, partition))
        return {"leader": p.leader, "replicas": list(p.replicas), "isr": list(p.isrs)}

    def topic_config(self, topic, timeout=10):
        """The topic's configs. A topic just created may be unknown for a
        moment to the broker that answers: in KRaft each broker applies the
        metadata log on its own, so one may list the topic while another has
        not applied it yet. That answer is retried until the timeout."""
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import ConfigResource
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        deadline = time.monotonic() + timeout
        while True:
            try:
                entries = self.admin().describe_configs(
                    [res], request_timeout=timeout)[res].result(timeout)
                return {k: e.value for k, e in entries.items()}
            except KafkaException as e:
                unknown = e.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                if not unknown or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def alter_topic_config(self, topic, set_configs=None, delete=(), timeout=10):
        """Incremental: set the given keys, delete (revert to default) others."""
        from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry,
                                           ConfigResource)
        entries = [ConfigEntry(k, str(v), incremental_operation=AlterConfigOpType.SET)
                   for k, v in (set_configs or {}).items()]
        entries += [ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE)
                    for k in delete]
        res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=entries)
        self.admin().incremental_alter_configs([res], request_timeout=timeout)[res].result(timeout)

    def elect_leaders(self, topic, partitions=(0,), election="unclean", timeout=30,
                      tool="python"):
        """ElectLeaders (KIP-460). 'unclean' elects any live replica of a
        LEADERLESS partition, whatever the topic's unclean.leader.election.enable;
        'preferred' moves leadership to replicas[0] if it is in the ISR.
        tool='python' (librdkafka) returns {partition: None or error string};
        tool='java' runs org.apache.kafka.tools.LeaderElectionCommand and
        returns {partition: its output line}."""
        if tool == "java":
            out = {}
            for p in partitions:
                r = self.run_class("org.apache.kafka.tools.LeaderElectionCommand",
                                   "--bootstrap-server", self.live_bootstrap,
                                   "--election-type", election.upper(), "--topic", topic,
                                   "--partition", p, timeout=timeout + 30, check=False)
                out[p] = (r.stdout + r.stderr).strip().splitlines()[-1:] or [""]
                out[p] = out[p][0]
            return out
        from confluent_kafka import ElectionType, TopicPartition
        et = ElectionType.UNCLEAN if election == "unclean" else ElectionType.PREFERRED
        tps = [TopicPartition(topic, p) for p in partitions]
        # confluent-kafka 2.16.1 rejects request_timeout/operation_timeout here
        # (TypeError from the C binding), so no kwargs; bounded by result()
        res = self.admin().elect_leaders(et, tps).result(timeout)
        return {tp.partition: (None if err is None else str(err)) for tp, err in res.items()}

    def wait_partition(self, topic, partition, pred, timeout, what=None, interval=0.25):
        """Poll describe_partition until pred(state) holds; returns the state."""
        def probe():
            try:
                s = self.describe_partition(topic, partition, timeout=5)
            except Exception:
                return None
            return s if pred(s) else None
        return wait_for(probe, timeout, interval, what or "%s-%d state" % (topic, partition))

    def watermarks(self, topic, partition=0, timeout=10):
        """(low, high) offsets of the partition, from its current leader."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.live_bootstrap, "group.id": "kcanary-e2e-wm",
                      "enable.auto.commit": False})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
        finally:
            c.close()

    def read_partition(self, topic, partition=0, timeout=30, isolation="read_uncommitted"):
        """Every record of the partition from its log start to the current high
        watermark, by a fresh consumer: [(offset, key, value)]."""
        from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
        c = Consumer({"bootstrap.servers": self.live_bootstrap, "group.id": "kcanary-e2e-read",
                      "enable.auto.commit": False, "isolation.level": isolation,
                      "enable.partition.eof": True})
        out = []
        try:
            low, high = c.get_watermark_offsets(TopicPartition(topic, partition),
                                                timeout=timeout)
            if high <= low:
                return out
            c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                m = c.poll(0.5)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == -191:  # _PARTITION_EOF: reached the HW
                        break
                    raise ClusterError("consume error: %s" % m.error())
                out.append((m.offset(), m.key(), m.value()))
                if m.offset() >= high - 1:
                    break
            else:
                raise ClusterError("read of %s-%d did not reach offset %d in %ds" % (
                    topic, partition, high, timeout))
            return out
        finally:
            c.close()
