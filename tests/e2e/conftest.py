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

# filled by test_scenarios.py: (scenario, class, ground truth, kcanary, verdict)
SCENARIO_ROWS = []
# paths (and tails) of logs kept because a scenario failed
KEPT_LOGS = []
HEADER = ("scenario", "class", "ground truth", "kcanary", "verdict")


def format_table(rows, header=HEADER):
    """Aligned text lines: the header, a rule, then one line per row."""
    rows = [header] + list(rows)
    w = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return lines


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end scenario against a local real Kafka cluster (slow)")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One table for the whole run: the classes each scenario produced, ground
    truth against kcanary (every class not listed was 0 on both sides)."""
    if KEPT_LOGS:
        terminalreporter.section("logs kept for failed scenarios")
        for text in KEPT_LOGS:
            terminalreporter.write_line(text)
    if SCENARIO_ROWS:
        terminalreporter.section("kcanary e2e scenarios: ground truth vs kcanary")
        for line in format_table(SCENARIO_ROWS):
            terminalreporter.write_line(line)
        terminalreporter.write_line("(classes not listed: 0 in ground truth and in kcanary)")


import pytest  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """item.rep_call: lets fixtures see whether the test body failed (to print logs)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
