"""Results file and machine description for the throughput benchmarks.

The shape is the one every bench/ script writes (bench/results/<name>.json):
name, generated, command, machine, rows. Stdlib only.
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import machine_info, median  # noqa: E402,F401  (bench/machine.py)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def loadavg():
    """The 1, 5 and 15 minute load averages: how busy the machine was."""
    return [float(x) for x in _read("/proc/loadavg").split()[:3]]


def row(benchmark, platform_name, metric, samples, baseline_samples=None, baseline_name=None,
        goal=None, met=None, notes=""):
    """One result row: medians of the samples; ratio = kcanary / baseline."""
    k = median(samples)
    b = median(baseline_samples or [])
    ratio = k / b if k is not None and b else None
    return {
        "benchmark": benchmark,
        "platform": platform_name,
        "metric": metric,
        "kcanary": k,
        "baseline": b,
        "baseline_name": baseline_name if baseline_samples else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "goal": goal,
        "met": met(ratio) if (met is not None and ratio is not None) else None,
        "runs": len(samples),
        "samples": list(samples),
        "baseline_samples": list(baseline_samples or []),
        "notes": notes,
    }


def write(path, name, command, rows, machine_extra=None):
    doc = {
        "name": name,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "machine": dict(machine_info(), **(machine_extra or {})),
        "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    return doc
