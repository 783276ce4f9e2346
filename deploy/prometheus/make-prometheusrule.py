#!/usr/bin/env python3
"""Generates deploy/kubernetes/prometheusrule.yaml from kcanary-rules.yml.

The PrometheusRule (monitoring.coreos.com/v1, Prometheus Operator) carries the
same groups as the plain rules file under `spec:`. The rules file is copied
text-for-text from its `groups:` line on, indented by two spaces, so the
comments that explain each threshold stay next to the rules. Indenting every
line by the same amount keeps YAML block scalars (`|`, `>-`) intact, so no
YAML library is needed; when PyYAML is installed the result is also parsed
and compared with the rules file as data.

  make-prometheusrule.py           write the PrometheusRule
  make-prometheusrule.py --check   exit 1 (with a diff) if it is out of date
"""

import argparse
import difflib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
RULES = HERE / "kcanary-rules.yml"
OUTPUT = HERE.parent / "kubernetes" / "prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/kcanary-rules.yml by
# deploy/prometheus/make-prometheusrule.py. Do not edit: edit the rules file,
# then run the script (tests/alerts/run.sh checks that both agree).
#
# The Prometheus Operator loads a PrometheusRule only if its labels match the
# Prometheus resource's ruleSelector (kube-prometheus-stack's default wants
# `release: <helm release name>`): add that label below. Apply it in the
# namespace your Prometheus watches for rules:
#   kubectl apply -n monitoring -f deploy/kubernetes/prometheusrule.yaml
#
# KcanaryDown expects the scrape job of kcanary to contain "kcanary" (a
# ServiceMonitor for a Service named kcanary, or a PodMonitor named kcanary);
# see the comments in the rules below and docs/runbook.md.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: kcanary
  labels:
    app.kubernetes.io/name: kcanary
    app.kubernetes.io/component: alerting
spec:
"""


def render(rules_text: str) -> str:
    lines = rules_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("groups:"))
    except StopIteration:
        raise SystemExit(f"{RULES}: no top-level 'groups:' line") from None
    body = [("  " + line) if line.strip() else "" for line in lines[start:]]
    while body and not body[-1]:
        body.pop()
    return HEADER + "\n".join(body) + "\n"


def check_as_data(rules_text: str, generated: str) -> None:
    """With PyYAML, the PrometheusRule's spec must equal the rules file."""
    try:
        import yaml  # type: ignore
    except ImportError:
        return
    rules = yaml.safe_load(rules_text)
    resource = yaml.safe_load(generated)
    if resource.get("spec") != rules:
        raise SystemExit("make-prometheusrule: generated spec differs from the rules file as YAML data")
    if resource.get("kind") != "PrometheusRule":
        raise SystemExit("make-prometheusrule: generated document is not a PrometheusRule")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if the PrometheusRule is out of date")
    parser.add_argument("--rules", type=pathlib.Path, default=RULES)
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args()

    rules_text = args.rules.read_text(encoding="utf-8")
    generated = render(rules_text)
    check_as_data(rules_text, generated)

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != generated:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), generated.splitlines(keepends=True),
                str(args.output), "generated"))
            print(f"{args.output} is out of date with {args.rules}: "
                  f"run {pathlib.Path(__file__).name}", file=sys.stderr)
            return 1
        return 0

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(generated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
