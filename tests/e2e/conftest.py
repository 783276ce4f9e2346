"""pytest glue for the real-Kafka end-to-end tests (tests/e2e).

Puts tests/e2e on sys.path (so `import cluster`, `import ground_truth` work
from the repo root: `python3 -m pytest -q tests/e2e/test_scenarios.py`),
registers the `e2e` marker, provides the fixtures the scenario modules share
(`cluster`, `workdir`, `scenario`; a module may define its own) and prints the
scenario result tables at the end of the session, also under -q.
"""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import pytest  # noqa: E402

import report  # noqa: E402
from cluster import LocalKafkaCluster  # noqa: E402
from kcanary_proc import KCANARY  # noqa: E402
from scenario import Scenario  # noqa: E402

KEEP_LOGS = bool(os.environ.get("KCANARY_E2E_KEEP_LOGS"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end scenario against a local real Kafka cluster (slow)")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One table for the whole run: the classes each scenario produced, ground
    truth against kcanary (every class not listed was 0 on both sides)."""
    if report.KEPT_LOGS:
        terminalreporter.section("logs kept for failed scenarios")
        for text in report.KEPT_LOGS:
            terminalreporter.write_line(text)
    for title, lines in report.SECTIONS:
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
    if report.SCENARIO_ROWS:
        terminalreporter.section("kcanary e2e scenarios: ground truth vs kcanary")
        for line in report.format_table(report.SCENARIO_ROWS):
            terminalreporter.write_line(line)
        terminalreporter.write_line("(classes not listed: 0 in ground truth and in kcanary)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """item.rep_call: lets fixtures see whether the test body failed (to print logs)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    return request.node.rep_call.failed if hasattr(request.node, "rep_call") else True


@pytest.fixture(scope="module")
def cluster(request):
    """3 brokers + 1 dedicated controller, shared by the scenarios of a module."""
    if not os.access(KCANARY, os.X_OK):
        pytest.skip("kcanary binary not found at %s (build it or set KCANARY_BIN)" % KCANARY)
    pytest.importorskip("confluent_kafka")
    failed_before = request.session.testsfailed
    with LocalKafkaCluster(nodes=3, controllers=1, keep_logs=KEEP_LOGS) as c:
        yield c
        if request.session.testsfailed > failed_before:
            # a scenario failed: keep the brokers' logs, and show their ends
            c.keep_logs = True
            for node in c.status()["nodes"]:
                report.KEPT_LOGS.append("broker log %s: %s\n%s" % (
                    node["name"], c.log_path(node["name"]), c.logs(node["name"], 40)))


@pytest.fixture
def workdir(request):
    d = tempfile.mkdtemp(prefix="kcanary-e2e-%s-" % request.node.name.split("[")[0])
    yield d
    if _failed(request):
        report.KEPT_LOGS.append("kcanary logs, state and journal of %s: %s" % (
            request.node.name, d))
    elif not KEEP_LOGS:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def scenario(cluster, workdir, request):
    """scenario(topic, assignment, configs, rate, canary_args=()) -> Scenario;
    every one made is killed at the end (its logs printed if the test failed)."""
    made = []

    def make(*a, **kw):
        s = Scenario(request.node.name, cluster, workdir, *a, **kw)
        made.append(s)
        return s
    yield make
    failed = _failed(request)
    for s in made:
        if failed:
            s.dump_logs()
        s.cleanup()
