"""deploy/local/kafka-cluster itself, on a real local cluster: a broker joins a
running cluster (`add-broker`) and leaves it again (`remove-broker`), with
dedicated controllers and in combined mode.

    python3 -m pytest -q -p no:cacheprovider tests/e2e/test_kafka_cluster_tool.py

Needs Java 17 + Maven (Kafka 4.3.1 is fetched on first use) and the
confluent-kafka Python package. Every wait is bounded; the clusters are torn
down (kill -9, dir deleted) also when a test fails.
"""
import re
import shutil
import time

import pytest

from cluster import LocalKafkaCluster, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _needs():
    pytest.importorskip("confluent_kafka")
    if not shutil.which("java"):
        pytest.skip("java not on PATH (deploy/local/kafka-cluster install-prereqs)")


def registered_brokers(c):
    """Ids of the brokers in a fresh metadata response (registered AND
    unfenced: a fenced broker is already left out of it)."""
    return set(c.admin().list_topics(timeout=10).brokers)


def registered_with_fenced(c):
    """Ids of every registered broker, fenced ones included (ClusterTool
    list-endpoints --include-fenced-brokers): only unregistering drops one."""
    r = c.run_class("org.apache.kafka.tools.ClusterTool", "list-endpoints",
                    "--include-fenced-brokers", "--bootstrap-server", c.live_bootstrap)
    return {int(m.group(1)) for m in re.finditer(r"^(\d+)\s+\S+\s+\d+.*\bbroker\b", r.stdout, re.M)}


def produce_one(bootstrap, topic, key, value, timeout=20):
    """One record with acks=all through `bootstrap` only; returns its offset."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                  "message.timeout.ms": timeout * 1000})
    got = []
    p.produce(topic, key=key, value=value, on_delivery=lambda err, m: got.append((err, m)))
    left = p.flush(timeout + 5)
    assert left == 0 and got, "record not delivered in %ds" % timeout
    err, m = got[0]
    assert err is None, "delivery failed: %s" % err
    return m.offset()


def load_tool():
    """deploy/local/kafka-cluster as a Python module (it has no .py suffix)."""
    from importlib.machinery import SourceFileLoader
    from importlib.util import module_from_spec, spec_from_loader
    from cluster import TOOL
    loader = SourceFileLoader("kafka_cluster_tool", TOOL)
    tool = module_from_spec(spec_from_loader(loader.name, loader))
    loader.exec_module(tool)
    return tool


def test_cluster_ids_never_look_like_an_option():
    """Kafka's StorageTool reads `-t -Abc...` as a missing cluster id: one
    urlsafe-base64 id in 64 starts with "-" (a CI run once failed on it)."""
    tool = load_tool()
    ids = [tool.new_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids) and all(len(i) == 22 for i in ids)


def test_secured_listener_options_are_checked_and_rendered(tmp_path):
    """--sasl-plain/--sasl-scram/--ssl-dir without a cluster: bad input is
    refused naming the flag (never echoing the password), the listeners
    and their server.properties entries come out as documented."""
    tool = load_tool()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_text("Pa55-word.x\n")
    bad.write_text("has space,and-comma\n")
    assert tool.read_sasl_users(["alice:%s" % good], "--sasl-plain") == [("alice", "Pa55-word.x")]
    for spec, words in ((["alice:%s" % bad], ["--sasl-scram", str(bad)]),
                        (["alice"], ["USER:PASSWORD_FILE"]),
                        (["alice:%s" % (tmp_path / "absent")], ["cannot read"])):
        with pytest.raises(tool.ToolError) as e:
            tool.read_sasl_users(spec, "--sasl-scram")
        assert all(w in str(e.value) for w in words), str(e.value)
        assert "has space" not in str(e.value)
    with pytest.raises(tool.ToolError, match="broker.pem"):
        tool.check_ssl_dir(str(tmp_path))
    assert tool.client_listeners(True, None) == ["sasl"]
    assert tool.client_listeners(False, "d") == ["ssl"]
    assert tool.client_listeners(True, "d") == ["sasl", "ssl", "sasl_ssl"]
    p = tool.listener_properties(["sasl", "ssl", "sasl_ssl"], [("s", "pw1")], [("alice", "pw2")],
                                 "/x")
    assert p["listener.name.sasl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"
    for mech in ("scram-sha-512", "scram-sha-256"):
        assert p["listener.name.sasl.%s.sasl.jaas.config" % mech] == (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;")
    assert p["listener.name.sasl_ssl.plain.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="pw2";')
    assert "pw1" not in "".join(p.values())  # SCRAM users are made at format time
    assert p["listener.name.ssl.ssl.keystore.location"] == "/x/broker.pem"
    assert "listener.name.sasl.ssl.keystore.location" not in p


def test_add_and_remove_broker_dedicated_controller():
    with LocalKafkaCluster(nodes=3, controllers=1,
                           broker_config={"log.retention.check.interval.ms": 7000}) as c:
        assert registered_brokers(c) == {1, 2, 3}
        t0 = time.monotonic()
        new = c.add_broker(timeout=90)
        t_add = time.monotonic() - t0
        assert new == 4
        assert c.broker_ids == [1, 2, 3, 4]
        node = [n for n in c.state["nodes"] if n["id"] == 4][0]
        assert node["roles"] == "broker" and node["name"] == "4"
        addr4 = "127.0.0.1:%d" % node["broker_port"]
        assert addr4 in c.bootstrap.split(",") and addr4 in c.live_bootstrap.split(",")
        assert c.node_status(4) == "up"
        wait_for(lambda: registered_brokers(c) == {1, 2, 3, 4}, 30,
                 what="4 registered brokers")

        # the cluster's --broker-config reached the new broker too
        from confluent_kafka.admin import ConfigResource
        res = ConfigResource(ConfigResource.Type.BROKER, "4")
        cfg = c.admin().describe_configs([res], request_timeout=10)[res].result(10)
        assert cfg["log.retention.check.interval.ms"].value == "7000"

        c.create_topic("joined", replica_assignment=[[4, 1, 2]])
        st = c.wait_partition("joined", 0,
                              lambda s: s["leader"] == 4 and sorted(s["isr"]) == [1, 2, 4],
                              30, "broker 4 leading joined-0 with the full ISR")
        assert st["replicas"] == [4, 1, 2]
        # produce through the new broker alone, read back (from its leader, 4)
        assert produce_one(addr4, "joined", b"k", b"via-broker-4") == 0
        assert c.read_partition("joined", 0) == [(0, b"k", b"via-broker-4")]

        t0 = time.monotonic()
        c.remove_broker(4)
        t_remove = time.monotonic() - t0
        assert c.broker_ids == [1, 2, 3]
        assert addr4 not in c.bootstrap.split(",")
        assert all(n["id"] != 4 for n in c.status()["nodes"])
        wait_for(lambda: registered_brokers(c) == {1, 2, 3}, 30, what="3 registered brokers")
        # unregistered, not merely fenced
        wait_for(lambda: registered_with_fenced(c) == {1, 2, 3}, 30,
                 interval=1, what="broker 4 unregistered")
        # controlled shutdown moved the leadership; the record is still there
        c.wait_partition("joined", 0, lambda s: s["leader"] in (1, 2), 30)
        assert c.read_partition("joined", 0) == [(0, b"k", b"via-broker-4")]
        print("dedicated controller: add-broker %.1fs, remove-broker %.1fs" % (t_add, t_remove))


def test_add_and_remove_broker_combined_mode():
    with LocalKafkaCluster(nodes=3, controllers=0) as c:
        t0 = time.monotonic()
        assert c.add_broker(timeout=90) == 4
        t_add = time.monotonic() - t0
        assert [n["roles"] for n in c.state["nodes"]] == ["broker,controller"] * 3 + ["broker"]
        wait_for(lambda: registered_brokers(c) == {1, 2, 3, 4}, 30,
                 what="4 registered brokers")
        # a broker only: the voter set stays 1, 2, 3
        q = c.run_class("org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server",
                        c.live_bootstrap, "describe", "--status").stdout
        voters = re.search(r"CurrentVoters:\s*\[(.*)\]", q).group(1)
        assert sorted(int(x) for x in re.findall(r'"id":\s*(\d+)', voters)) == [1, 2, 3], q
        c.create_topic("joined", replica_assignment=[[4, 1]])
        c.wait_partition("joined", 0, lambda s: s["leader"] == 4 and sorted(s["isr"]) == [1, 4],
                         30, "broker 4 leading joined-0 with the full ISR")
        t0 = time.monotonic()
        c.remove_broker(4)
        t_remove = time.monotonic() - t0
        assert c.broker_ids == [1, 2, 3]
        wait_for(lambda: registered_with_fenced(c) == {1, 2, 3}, 30,
                 interval=1, what="broker 4 unregistered")
        assert registered_brokers(c) == {1, 2, 3}
        print("combined mode: add-broker %.1fs, remove-broker %.1fs" % (t_add, t_remove))
