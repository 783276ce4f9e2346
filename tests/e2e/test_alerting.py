"""The on-call path end to end: loss on a real broker -> kcanary's metric ->
Prometheus rule -> Alertmanager -> a notification (issue 5).

SPEC §8's S2 (acks=1 canary, min.isr 1, unclean election of a stale follower)
runs on a real 3-broker cluster while a real Prometheus scrapes the verifier
and the canary every second and evaluates deploy/prometheus/kcanary-rules.yml
as shipped, and a real Alertmanager with deploy/alertmanager/kcanary.yml routes to a
webhook this test runs (monitoring.py). The test checks that
- KcanaryMessagesLost reaches the pager route, critical, for the partition that
  lost records, with a count no higher than ground truth's, and that every
  alert that fired stands for a class ground truth really has (no false page);
- kcanary's final counts equal ground truth, as in test_scenarios.py's S2;
- every query of dashboards/kcanary.json returns data from that Prometheus
  while both kcanary processes run;
- KcanaryDurabilityCheckFailing is pending for the unsafe topic config.
It reports the notification payload and the time from the loss (the stale
replica's election) to kcanary's count and to the notification.

    ./scripts/e2e.sh tests/e2e/test_alerting.py      # from the repo root
"""
import json
import os
import re
import subprocess
import sys

import pytest

import report
from cluster import ClusterError, wait_for
from kcanary_proc import log
from monitoring import MonitoringStack, find_binary
from scenario import (S2_CANARY_ARGS, S2_TOPIC_CONFIGS, LossWatch, assert_s2_outcome,
                      unclean_election_fault, unique_topic)

pytestmark = pytest.mark.e2e

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DASHBOARD_CHECK = os.path.join(REPO, "tests", "dashboards", "check_dashboard.py")

# Alerts that page or warn about a class of SPEC §2: each may fire only when
# ground truth has that class (read from ground_truth.Truth).
ALERT_CLASS = {
    "KcanaryMessagesLost": "lost",
    "KcanaryOffsetInconsistency": "acked_offset_mismatches",
    "KcanaryMessagesExpired": "expired",
    "KcanaryDuplicates": "duplicated",
    "KcanaryReorders": "reordered",
    "KcanaryInvalidRecords": "invalid",
}


@pytest.fixture
def monitoring_bins():
    if not (find_binary("prometheus") and
            find_binary("prometheus-alertmanager", "alertmanager")):
        pytest.skip("needs prometheus and prometheus-alertmanager (scripts/install-deps.sh)")


def firing(notifications, alertname, **labels):
    """[(arrival, webhook path, alert)] of every firing alert named alertname
    whose labels include `labels`, in arrival order."""
    out = []
    for arrived, path, doc in notifications:
        for a in doc.get("alerts", []):
            ls = a.get("labels", {})
            if (a.get("status") == "firing" and ls.get("alertname") == alertname
                    and all(ls.get(k) == v for k, v in labels.items())):
                out.append((arrived, path, a))
    return out


def backed_by_truth(alertname, truth_counts):
    """Whether ground truth has the class the alert stands for (> 0)."""
    v = truth_counts.get(ALERT_CLASS.get(alertname))
    return bool(sum(v.values()) if isinstance(v, dict) else v)


def dashboard_queries():
    out = subprocess.run([sys.executable, DASHBOARD_CHECK, "--list-queries"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [q for q in out.splitlines() if q.strip()]


def empty_dashboard_queries(stack, queries):
    """The queries that return no sample from Prometheus now."""
    return [q for q in queries if not stack.query(q)]


def test_s2_loss_pages_through_prometheus_and_alertmanager(scenario, cluster, workdir,
                                                           monitoring_bins):
    topic = unique_topic("alert")
    s = scenario(topic, [[1, 2, 3]], S2_TOPIC_CONFIGS, rate=50, canary_args=S2_CANARY_ARGS)
    s.start()
    with MonitoringStack(workdir, ["127.0.0.1:%d" % s.verifier.port,
                                   "127.0.0.1:%d" % s.canary.port]) as stack:
        wait_for(stack.targets_up, 30, 0.5, "Prometheus to scrape both kcanary processes")
        rules = stack.rule_count()
        assert rules >= 13, "Prometheus loaded %d rules from the rules file" % rules
        log("alerting: Prometheus :%d (%d rules) -> Alertmanager :%d -> %s" % (
            stack.prom_port, rules, stack.am_port, stack.webhook.url))

        watch = LossWatch(s.verifier, topic)
        at = unclean_election_fault(s, cluster)
        try:
            wait_for(lambda: firing(stack.webhook.notifications(), "KcanaryMessagesLost",
                                    topic=topic, partition="0"),
                     120, 0.25, "KcanaryMessagesLost at the webhook")
        except ClusterError:
            print("Prometheus alerts:", json.dumps(stack.alerts(), indent=1)[:4000])
            print("Prometheus log:\n" + stack.log_tail("prometheus"))
            print("Alertmanager log:\n" + stack.log_tail("alertmanager"))
            raise
        finally:
            watch.stop()
        arrived, lost_path, lost_alert = firing(
            stack.webhook.notifications(), "KcanaryMessagesLost", topic=topic, partition="0")[0]
        log("alerting: KcanaryMessagesLost notified")

        # Every dashboard query has data while both processes run (a rate
        # needs two scrapes: allow a few seconds for the youngest series).
        queries = dashboard_queries()
        assert len(queries) > 40, "only %d dashboard queries listed" % len(queries)
        try:
            wait_for(lambda: not empty_dashboard_queries(stack, queries), 20, 1,
                     "every dashboard query to return data")
        except ClusterError:
            empty = empty_dashboard_queries(stack, queries)
            pytest.fail("%d of %d dashboard queries return no data from Prometheus:\n  %s" % (
                len(empty), len(queries), "\n  ".join(empty)))
        log("alerting: all %d dashboard queries return data" % len(queries))
        active = stack.alerts()
        notifications = stack.webhook.notifications()

    kc, truth = s.finish(settle_timeout=120)
    assert_s2_outcome(s, kc, truth)
    td = truth.as_dict()
    td["acked_offset_mismatches"] = truth.acked_offset_mismatches

    # What reached the webhook: the page, and nothing ground truth does not back.
    assert lost_alert["labels"]["severity"] == "critical"
    assert lost_path == "/pager", "the page went to %s, not the pager route" % lost_path
    assert lost_alert["annotations"]["runbook_url"].endswith("docs/runbook.md#kcanarymessageslost")
    m = re.match(r"(\d+) canary record", lost_alert["annotations"]["description"])
    assert m, lost_alert["annotations"]["description"]
    assert 0 < int(m.group(1)) <= truth.lost, (
        "the alert says %s lost, ground truth %d" % (m.group(1), truth.lost))
    fired = {a["labels"]["alertname"] for _, _, doc in notifications
             for a in doc.get("alerts", []) if a.get("status") == "firing"}
    unbacked = [name for name in fired if not backed_by_truth(name, td)]
    assert not unbacked, "alerts fired that ground truth does not back: %s (truth %s)" % (
        unbacked, td)
    # The unsafe topic config is seen too (it fires after its 10 minutes).
    pending = {(a["labels"]["alertname"], a["labels"].get("check")) for a in active
               if a["labels"].get("topic") == topic and a["state"] == "pending"}
    for check in ("min_insync_replicas", "unclean_leader_election"):
        assert ("KcanaryDurabilityCheckFailing", check) in pending, (
            "no KcanaryDurabilityCheckFailing for %s among %s" % (check, sorted(pending)))

    elected = at["stale_elected"]
    lines = [
        "loss (stale replica elected leader) -> kcanary counts it:   %.1f s" % (
            watch.first_counted - elected) if watch.first_counted else
        "kcanary's count was not seen by the 0.1 s poller",
        "loss -> notification at the pager webhook:                  %.1f s" % (arrived - elected),
        "  (Prometheus scrapes and evaluates every 1 s; the shipped route waits 10 s)",
        "alerts that fired: %s; pending for the topic: %s" % (
            sorted(fired), sorted("%s{check=%s}" % p if p[1] else p[0] for p in pending)),
        "first KcanaryMessagesLost notification (Alertmanager webhook payload):",
    ]
    first_doc = next(doc for t, _, doc in notifications if t == arrived)
    lines += json.dumps(first_doc, indent=1, sort_keys=True).splitlines()
    report.SECTIONS.append(("on-call path: S2 loss -> Prometheus -> Alertmanager -> webhook",
                            lines))
    print("\n".join(lines))
