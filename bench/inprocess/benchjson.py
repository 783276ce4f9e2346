"""Results file and machine description for the in-process benchmarks.

    doc = results_doc("inprocess", "bench/inprocess/run.py", rows)
    write(doc, "bench/results/inprocess.json")

Rows follow the shape every bench/ results file shares (see bench/report.py).
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import machine_info, median  # noqa: E402,F401  (bench/machine.py)


def machine():
    return machine_info()


def row(benchmark, metric, samples, platform_name="in-process", baseline_samples=None,
        baseline_name=None, goal=None, met=None, notes=""):
    """One table row: medians of `samples` (and of `baseline_samples`)."""
    value = median(samples)
    base = median(baseline_samples or [])
    ratio = value / base if value is not None and base else None
    return {"benchmark": benchmark, "platform": platform_name, "metric": metric,
            "kcanary": value, "baseline": base, "baseline_name": baseline_name if base else None,
            "ratio": ratio, "goal": goal, "met": met, "runs": len(samples),
            "samples": list(samples), "baseline_samples": list(baseline_samples or []),
            "notes": notes}


def results_doc(name, command, rows):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {"name": name, "generated": now.isoformat().replace("+00:00", "Z"),
            "command": command, "machine": machine(), "rows": rows}


def write(doc, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def table(rows):
    """Plain-text table of rows, for the terminal."""
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, bool):
            return "yes" if v else "NO"
        if isinstance(v, float):
            return "%.4g" % v
        return str(v)
    head = ("benchmark", "metric", "kcanary", "baseline", "ratio", "goal", "met", "runs")
    body = [(r["benchmark"], r["metric"], fmt(r["kcanary"]), fmt(r["baseline"]), fmt(r["ratio"]),
             r["goal"] or "-", fmt(r["met"]), str(r["runs"])) for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in [head] + body]
    return "\n".join(lines)
