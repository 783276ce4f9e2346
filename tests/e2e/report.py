"""What the real-Kafka tests report at the end of a pytest session.

The tests append here; conftest.py prints it in the terminal summary (also
under -q): one table of every scenario's classes, ground truth against
kcanary, and where the logs of failed tests were kept.
"""

# (scenario, class, ground truth, kcanary, verdict) rows
SCENARIO_ROWS = []
# paths (and tails) of logs kept because a test failed
KEPT_LOGS = []
# free-form sections: (title, [lines])
SECTIONS = []
HEADER = ("scenario", "class", "ground truth", "kcanary", "verdict")


def format_table(rows, header=HEADER):
    """Aligned text lines: the header, a rule, then one line per row."""
    rows = [header] + list(rows)
    w = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * x for x in w))
    return lines
