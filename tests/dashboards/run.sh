#!/usr/bin/env bash
# Checks the Grafana dashboard (dashboards/kcanary.json) and its provisioning
# files. Needs python3 and promtool (Debian package `prometheus`).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "== dashboard: dashboards/kcanary.json"
python3 tests/dashboards/check_dashboard.py

echo "== dashboard provisioning: dashboards/provisioning/*.yaml"
python3 - dashboards/provisioning/kcanary.yaml dashboards/provisioning/datasource.yaml <<'PY'
import re
import sys

kcanary_yaml, datasource_yaml = sys.argv[1:3]
problems = []

try:
    import yaml
except ImportError:  # minimal structural check without PyYAML
    yaml = None
    print("   (PyYAML not installed: textual check only)")


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "\t" in text:
        problems.append(f"{path}: tabs are not allowed in YAML")
    if yaml is None:
        return text, None
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as e:
        problems.append(f"{path}: does not parse as YAML: {e}")
        return text, None


text, doc = load(kcanary_yaml)
if yaml is None:
    for want in (r"^apiVersion:\s*1\s*$", r"^providers:\s*$", r"^\s+type:\s*file\s*$",
                 r"^\s+path:\s*/var/lib/grafana/dashboards/kcanary\s*$"):
        if not re.search(want, text, re.M):
            problems.append(f"{kcanary_yaml}: no line matching {want}")
elif doc is not None:
    if not isinstance(doc, dict) or doc.get("apiVersion") != 1:
        problems.append(f"{kcanary_yaml}: apiVersion must be 1")
    providers = doc.get("providers") if isinstance(doc, dict) else None
    if not isinstance(providers, list) or not providers:
        problems.append(f"{kcanary_yaml}: providers must be a non-empty list")
    else:
        p = providers[0]
        if not p.get("name") or p.get("type") != "file":
            problems.append(f"{kcanary_yaml}: provider needs a name and type: file")
        if (p.get("options") or {}).get("path") != "/var/lib/grafana/dashboards/kcanary":
            problems.append(f"{kcanary_yaml}: options.path must be "
                            "/var/lib/grafana/dashboards/kcanary")

text, doc = load(datasource_yaml)
if yaml is None:
    for want in (r"^apiVersion:\s*1\s*$", r"^datasources:\s*$", r"^\s+type:\s*prometheus\s*$",
                 r"^\s+url:\s*\S+"):
        if not re.search(want, text, re.M):
            problems.append(f"{datasource_yaml}: no line matching {want}")
elif doc is not None:
    if not isinstance(doc, dict) or doc.get("apiVersion") != 1:
        problems.append(f"{datasource_yaml}: apiVersion must be 1")
    sources = doc.get("datasources") if isinstance(doc, dict) else None
    if not isinstance(sources, list) or not sources:
        problems.append(f"{datasource_yaml}: datasources must be a non-empty list")
    else:
        for s in sources:
            if not s.get("name") or s.get("type") != "prometheus" or not s.get("url"):
                problems.append(f"{datasource_yaml}: each data source needs a name, "
                                "type: prometheus and a url")

if problems:
    print("FAIL:", *problems, sep="\n  - ", file=sys.stderr)
    sys.exit(1)
print(f"OK: {kcanary_yaml}, {datasource_yaml}")
PY
