#!/usr/bin/env bash
# Checks kcanary's alerting: the Prometheus rules are valid and pass their unit
# tests, the example Alertmanager routing is valid, the Kubernetes
# PrometheusRule is in sync with the rules, every metric they
# (and their tests and runbook) name is one kcanary exports, and every alert
# links to a runbook section that exists.
#
#   bash tests/alerts/run.sh        (needs promtool and amtool: apt-get install
#                                    prometheus prometheus-alertmanager)
set -euo pipefail
cd "$(dirname "$0")/../.."

rules=deploy/prometheus/kcanary-rules.yml
tests=tests/alerts/kcanary-rules.test.yml
runbook=docs/runbook.md
metrics_src=common/metrics/metrics.cc

fail() {
  echo "alerts: FAIL: $*" >&2
  exit 1
}

command -v promtool >/dev/null ||
  fail "promtool not found (Debian: apt-get install prometheus)"
command -v python3 >/dev/null || fail "python3 not found"

echo "== promtool check rules"
promtool check rules "$rules" || fail "promtool check rules $rules"

echo "== promtool test rules"
promtool test rules "$tests" || fail "promtool test rules $tests"

echo "== amtool check-config (example Alertmanager routing)"
command -v amtool >/dev/null ||
  fail "amtool not found (Debian: apt-get install prometheus-alertmanager)"
amtool check-config deploy/alertmanager/kcanary.yml ||
  fail "amtool check-config deploy/alertmanager/kcanary.yml"

echo "== PrometheusRule in sync"
python3 deploy/prometheus/make-prometheusrule.py --check ||
  fail "deploy/kubernetes/prometheusrule.yaml is out of date: run python3 deploy/prometheus/make-prometheusrule.py"

echo "== metric names exported by kcanary"
# Names registered in metrics.cc are its "kcanary_..." string literals.
exported=$(grep -oE '"kcanary_[a-z0-9_]+"' "$metrics_src" | tr -d '"' | sort -u)
[ -n "$exported" ] || fail "no kcanary_* metric names found in $metrics_src"
# Names used: histogram series carry a _bucket/_sum/_count suffix.
used=$(grep -ohE 'kcanary_[a-z0-9_]+' "$rules" "$tests" "$runbook" |
  sed -E 's/_(bucket|sum|count)$//' | sort -u)
unknown=$(comm -23 <(printf '%s\n' "$used") <(printf '%s\n' "$exported"))
if [ -n "$unknown" ]; then
  fail "metric names used in $rules, $tests or $runbook but not exported by $metrics_src: $(echo "$unknown" | tr '\n' ' ')"
fi
echo "$(printf '%s\n' "$used" | wc -l) names used, all exported"

echo "== runbook links"
python3 - "$rules" "$runbook" <<'PY' || fail "runbook links (see above)"
import re
import sys

rules_path, runbook_path = sys.argv[1], sys.argv[2]
rules = open(rules_path, encoding="utf-8").read()
runbook = open(runbook_path, encoding="utf-8").read()


def slug(heading):  # GitHub's anchor for a Markdown heading
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


anchors = {slug(h) for h in re.findall(r"^#{1,6} +(.+)$", runbook, re.M)}
alerts = re.findall(r"^\s*- alert: *(\S+)", rules, re.M)
links = re.findall(r"runbook_url: *\S*docs/runbook\.md#(\S+)", rules)
problems = []
if len(alerts) != len(links):
    problems.append("%d alerts but %d runbook_url annotations" % (len(alerts), len(links)))
for alert, link in zip(alerts, links):
    if link != alert.lower():
        problems.append("%s links to #%s, expected #%s" % (alert, link, alert.lower()))
    if link not in anchors:
        problems.append("%s: no heading for #%s in %s" % (alert, link, runbook_path))
for p in problems:
    print("alerts: " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print("%d alerts, each with a runbook section" % len(alerts))
PY

echo "alerts: OK"
