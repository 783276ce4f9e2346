"""The machine a benchmark ran on, and the median every harness reports.

Shared by the harnesses' result helpers (throughput/results_json.py,
inprocess/benchjson.py, sidecar/benchutil.py). Stdlib only.
"""
import os
import platform
import re
import statistics
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _out(cmd, stderr=False):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (r.stderr if stderr else r.stdout).strip()
    return text if r.returncode == 0 and text else None


def linked_librdkafka():
    """The librdkafka linked into the kcanary binary the benchmarks run
    (KCANARY_BIN, else build/app/kcanary): `kcanary --version` names it, as
    it is linked statically (deps/librdkafka.pin)."""
    binary = os.environ.get("KCANARY_BIN") or os.path.join(REPO, "build", "app", "kcanary")
    m = re.search(r"\(librdkafka ([^)]+)\)", _out([binary, "--version"]) or "")
    return m.group(1) if m else None


def machine_info(kafka_version=None):
    """nproc, CPU model, memory, kernel, librdkafka, Java, the kcanary commit
    and the load average at the time of the call (how busy the machine was)."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    java = _out(["java", "-version"], stderr=True)
    info = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu.group(1).strip() if cpu else None,
        "memory_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "kernel": platform.release(),
        "librdkafka": linked_librdkafka(),
        "java": java.splitlines()[0] if java else None,
        "python": platform.python_version(),
        "kcanary_commit": _out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "loadavg_at_start": [float(x) for x in _read("/proc/loadavg").split()[:3]],
    }
    if kafka_version:
        info["kafka"] = kafka_version
    return info


def median(values):
    """The median of the values that are not None; None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
