"""pytest glue for the real-Kafka end-to-end scenarios (tests/e2e).

Puts tests/e2e on sys.path (so `import cluster`, `import ground_truth` work
from the repo root: `python3 -m pytest -q tests/e2e/test_scenarios.py`),
registers the `e2e` marker and prints the scenario result tables at the end
of the session, also under -q.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

# filled by test_scenarios.py: one entry per finished scenario
SCENARIO_REPORTS = []


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end scenario against a local real Kafka cluster (slow)")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SCENARIO_REPORTS:
        return
    terminalreporter.section("kcanary e2e scenario results")
    for text in SCENARIO_REPORTS:
        for line in text.splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line("")


import pytest  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """item.rep_call: lets fixtures see whether the test body failed (to print logs)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
